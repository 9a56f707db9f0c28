"""tympan.dsp.fft_features: known answers (a sine lands in its bin), bin selection, scaling,
batching, agreement with fft_spectrum / spectrogram, errors."""

from __future__ import annotations

import numpy as np
import pytest

from tympan import dsp
from tympan.errors import ParameterError


def sine(freq: float, sr: int = 8000, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return np.sin(2 * np.pi * freq * t).astype(np.float32)


@pytest.mark.parametrize("freq", [250.0, 1000.0, 3125.0])
def test_sine_peaks_in_its_bin_whole_and_framed(freq):
    y = sine(freq)
    whole = dsp.fft_features(y, 8000)
    freqs = dsp.fft_frequencies_kept(sr=8000, n_fft=8000)
    assert whole.shape == (4001,) and whole.dtype == np.float32
    assert freqs[np.argmax(whole)] == pytest.approx(freq)
    assert whole.max() == pytest.approx(0.0)  # normalize="max" in dB puts the peak at 0 dB
    framed = dsp.fft_features(y, 8000, framed=True, n_fft=256, hop_length=80)
    assert framed.shape == (129, 101)
    peak = np.argmax(framed[:, 50])
    assert dsp.fft_frequencies_kept(sr=8000, n_fft=256)[peak] == pytest.approx(freq, abs=8000 / 256)


def test_bins_kept_by_count_and_by_fmax():
    y = sine(440.0)
    assert dsp.fft_features(y, 8000, n_bins=100).shape == (100,)
    kept = dsp.fft_features(y, 8000, fmax=1000.0)
    assert kept.shape == (1001,)  # 0, 1, ..., 1000 Hz at 1 Hz resolution
    f = dsp.fft_frequencies_kept(sr=8000, n_fft=8000, fmax=1000.0)
    assert f[-1] == 1000.0 and len(f) == 1001
    assert dsp.fft_bin_count(sr=8000, n_fft=256, fmax=1000.0) == 33  # 1000 / 31.25 = 32 -> 0..32
    assert dsp.fft_features(y, 8000, framed=True, n_fft=256, fmax=1000.0).shape[0] == 33


def test_linear_scale_equals_fft_spectrum_and_spectrogram(recording):
    y, sr = recording("fsdd", "3_theo_0")
    ref = dsp.fft_spectrum(y, sr, window="hann").magnitude
    got = dsp.fft_features(y, sr, scale="linear", normalize=None)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6 * ref.max())
    spec = dsp.spectrogram(y, n_fft=256, hop_length=80, power=1.0)[:64]
    got = dsp.fft_features(y, sr, framed=True, n_fft=256, hop_length=80, n_bins=64, scale="linear",
                           normalize=None)
    np.testing.assert_allclose(got, spec, rtol=1e-6, atol=1e-7)


def test_scaling_and_normalisation_per_example(recording):
    y, sr = recording("fsdd", "3_theo_0")
    db = dsp.fft_features(y, sr, normalize=None)
    expected = 20 * np.log10(np.maximum(dsp.fft_features(y, sr, scale="linear", normalize=None), 1e-5))
    expected = np.maximum(expected, expected.max() - 80.0)
    np.testing.assert_allclose(db, expected, atol=1e-3)
    lin = dsp.fft_features(y, sr, scale="linear")
    assert lin.max() == pytest.approx(1.0) and lin.min() >= 0
    std = dsp.fft_features(y, sr, normalize="standard")
    assert abs(std.mean()) < 1e-4 and std.std() == pytest.approx(1.0, abs=1e-3)
    # one loud and one quiet copy: normalised features do not depend on the level
    pair = np.stack([y, 0.01 * y])
    out = dsp.fft_features(pair, sr, top_db=60.0)  # clipped above the -100 dB floor
    np.testing.assert_allclose(out[0], out[1], atol=1e-3)


def test_batch_equals_single(recording):
    a, sr = recording("fsdd", "3_theo_0")
    b, _ = recording("fsdd", "7_jackson_5")
    n = min(len(a), len(b))
    batch = np.stack([a[:n], b[:n]])
    for kw in ({}, {"framed": True, "n_fft": 256, "hop_length": 80, "fmax": 2000.0}):
        out = dsp.fft_features(batch, sr, **kw)
        for i, y in enumerate((a[:n], b[:n])):
            np.testing.assert_allclose(out[i], dsp.fft_features(y, sr, **kw), atol=1e-5)


def test_n_fft_pads_and_crops():
    y = sine(1000.0)
    padded = dsp.fft_features(y, 8000, n_fft=16000, scale="linear", normalize=None)
    assert padded.shape == (8001,) and np.argmax(padded) == 2000  # 0.5 Hz bins
    cropped = dsp.fft_features(y, 8000, n_fft=800, scale="linear", normalize=None)
    assert cropped.shape == (401,) and np.argmax(cropped) == 100  # 10 Hz bins, first 0.1 s


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale": "log10"}, "scale"),
        ({"normalize": "l2"}, "normalize"),
        ({"n_bins": 10, "fmax": 100.0}, "n_bins or fmax"),
        ({"n_bins": 5000}, "n_bins=5000"),
        ({"fmax": 5000.0}, "fmax=5000.0 is above the Nyquist"),
        ({"top_db": -1.0}, "top_db"),
        ({"framed": True, "window": None}, "window"),
    ],
)
def test_errors_name_the_parameter(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        dsp.fft_features(sine(100.0), 8000, **kwargs)


def test_empty_and_integer_input_are_refused():
    with pytest.raises(ParameterError, match="empty"):
        dsp.fft_features(np.zeros(0, np.float32), 8000)
    with pytest.raises(ParameterError, match="floating-point"):
        dsp.fft_features(np.zeros(10, np.int16), 8000)
