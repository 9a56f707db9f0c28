"""tympan.dsp.descriptors against librosa.feature on real recordings, known answers, batches.

Reference: librosa 0.11 with the same arguments (identity parameter mapping; librosa's are
keyword-only, ours take ``y`` positionally).  Tolerances, float32 audio in: RMS 1e-6 of the
clip's peak RMS; zero-crossing rate and rolloff exact; centroid and bandwidth 1e-6 relative
(observed <= 5e-8 of the peak, 2e-4 Hz); flatness 1e-5 absolute (observed 7e-7); contrast 1e-4
dB (observed 2.6e-6).
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from tympan import dsp
from tympan.errors import ParameterError

# (corpus, file, STFT settings): EMO-DB is 22.05 kHz, FSDD 8 kHz.
CASES = [
    pytest.param("emodb", "03a01Fa", dict(sr=22050, n_fft=2048, hop_length=512), id="emodb-03a01Fa-2048"),
    pytest.param("emodb", "16b03Wb", dict(sr=22050, n_fft=1024, hop_length=300, window="hamming",
                                          center=False), id="emodb-16b03Wb-1024-hamming-nocenter"),
    pytest.param("fsdd", "3_jackson_5", dict(sr=8000, n_fft=256, hop_length=80), id="fsdd-3_jackson_5-256"),
    pytest.param("fsdd", "0_george_0", dict(sr=8000, n_fft=512, hop_length=128, pad_mode="reflect"),
                 id="fsdd-0_george_0-512-reflect"),
]


def _frame_args(params: dict) -> dict:
    """rms / zero_crossing_rate name the frame ``frame_length`` (there is no window)."""
    out = dict(frame_length=params["n_fft"], hop_length=params["hop_length"])
    if "center" in params:
        out["center"] = params["center"]
    return out


def _no_sr(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "sr"}


def _check(ours, ref, *, rtol=0.0, atol=0.0):
    assert ours.dtype == np.float32
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol)


# ------------------------------------------------------------------ librosa references
@pytest.mark.parametrize(("corpus", "name", "params"), CASES)
def test_time_domain_equal_librosa(recording, corpus, name, params):
    y, sr = recording(corpus, name)
    assert sr == params["sr"]
    fa = _frame_args(params)
    ref = librosa.feature.rms(y=y, **fa)
    _check(dsp.rms(y, **fa), ref, atol=1e-6 * ref.max())
    _check(dsp.zero_crossing_rate(y, **fa), librosa.feature.zero_crossing_rate(y, **fa).astype(np.float32))
    # from a spectrogram (Parseval, as librosa: S of frame_length with a rectangular window)
    S = np.abs(librosa.stft(y, n_fft=fa["frame_length"], hop_length=fa["hop_length"], window="ones"))
    ref = librosa.feature.rms(S=S, frame_length=fa["frame_length"])
    _check(dsp.rms(S=S, frame_length=fa["frame_length"]), ref, atol=1e-6 * ref.max())


@pytest.mark.parametrize(("corpus", "name", "params"), CASES)
def test_spectral_descriptors_equal_librosa(recording, corpus, name, params):
    y, _ = recording(corpus, name)
    ref = librosa.feature.spectral_centroid(y=y, **params)
    _check(dsp.spectral_centroid(y, **params), ref, rtol=1e-6, atol=1e-3)
    for p, norm in ((2.0, True), (1.0, False)):
        ref = librosa.feature.spectral_bandwidth(y=y, p=p, norm=norm, **params)
        _check(dsp.spectral_bandwidth(y, p=p, norm=norm, **params), ref, rtol=1e-6, atol=1e-6 * ref.max())
    for roll in (0.85, 0.3):
        ref = librosa.feature.spectral_rolloff(y=y, roll_percent=roll, **params)
        _check(dsp.spectral_rolloff(y, roll_percent=roll, **params), ref)
    for power in (2.0, 1.0):
        ref = librosa.feature.spectral_flatness(y=y, power=power, **_no_sr(params))
        _check(dsp.spectral_flatness(y, power=power, **_no_sr(params)), ref, atol=1e-5)


@pytest.mark.parametrize(("corpus", "name", "params"), CASES)
def test_spectral_contrast_equals_librosa(recording, corpus, name, params):
    y, sr = recording(corpus, name)
    bands = dict(fmin=200.0, n_bands=6) if sr == 22050 else dict(fmin=100.0, n_bands=5)
    for extra in (bands, {**bands, "quantile": 0.1}, {**bands, "linear": True}):
        ref = librosa.feature.spectral_contrast(y=y, **params, **extra).astype(np.float32)
        assert ref.shape[-2] == extra["n_bands"] + 1
        _check(dsp.spectral_contrast(y, **params, **extra), ref, atol=1e-4 * max(1.0, np.abs(ref).max()))


def test_descriptors_from_S_equal_from_y(recording):
    y, sr = recording("fsdd", "5_lucas_20")
    params = dict(n_fft=256, hop_length=64)
    S = dsp.spectrogram(y, **params)
    for fn, extra in ((dsp.spectral_centroid, dict(sr=sr)), (dsp.spectral_bandwidth, dict(sr=sr)),
                      (dsp.spectral_rolloff, dict(sr=sr)), (dsp.spectral_flatness, {}),
                      (dsp.spectral_contrast, dict(sr=sr, fmin=100.0, n_bands=5))):
        np.testing.assert_array_equal(fn(S=S, **extra), fn(y, **params, **extra))


# -------------------------------------------------------------------------- known answers
def test_silence_known_answers():
    silence = np.zeros(4000, np.float32)
    assert np.all(dsp.rms(silence, frame_length=256, hop_length=64) == 0.0)
    assert np.all(dsp.rms(S=np.zeros((129, 10), np.float32), frame_length=256) == 0.0)
    assert np.all(dsp.zero_crossing_rate(silence, frame_length=256, hop_length=64) == 0.0)
    assert np.all(dsp.spectral_centroid(silence, sr=8000, n_fft=256, hop_length=64) == 0.0)
    assert np.all(dsp.spectral_rolloff(silence, sr=8000, n_fft=256, hop_length=64) == 0.0)


def test_single_bin_spectrum_known_answers():
    freq = dsp.filters.fft_frequencies(sr=8000, n_fft=256)
    S = np.zeros((129, 5), np.float32)
    for t, b in enumerate((0, 3, 40, 100, 128)):
        S[b, t] = 0.5 + t
    bins = [0, 3, 40, 100, 128]
    np.testing.assert_allclose(dsp.spectral_centroid(S=S, sr=8000)[0], freq[bins], rtol=1e-6)
    np.testing.assert_allclose(dsp.spectral_rolloff(S=S, sr=8000)[0], freq[bins], rtol=1e-6)
    np.testing.assert_allclose(dsp.spectral_bandwidth(S=S, sr=8000)[0], 0.0, atol=1e-3)
    # two equal bins: centroid halfway, bandwidth half their distance
    S2 = np.zeros((129, 1))
    S2[[10, 30], 0] = 1.0
    assert dsp.spectral_centroid(S=S2, sr=8000)[0, 0] == pytest.approx(freq[20])
    assert dsp.spectral_bandwidth(S=S2, sr=8000)[0, 0] == pytest.approx((freq[30] - freq[10]) / 2)


@pytest.mark.parametrize("f", [100.0, 440.0, 1234.5, 3000.0])
def test_sine_zero_crossing_rate_and_rms(f):
    sr = 8000
    y = (0.5 * np.sin(2 * np.pi * f * np.arange(sr) / sr + 0.3)).astype(np.float32)
    zcr = dsp.zero_crossing_rate(y, frame_length=1024, hop_length=256)[0, 4:-4]  # whole frames
    np.testing.assert_allclose(zcr, 2 * f / sr, atol=1.5 / 1024)  # +-1 crossing per frame
    np.testing.assert_allclose(dsp.rms(y, frame_length=1024, hop_length=256)[0, 4:-4], 0.5 / np.sqrt(2),
                               rtol=2e-2)


def test_flatness_white_noise_vs_sine(rng):
    noise = rng.standard_normal(22050).astype(np.float32)
    tone = np.sin(2 * np.pi * 1000 * np.arange(22050) / 22050).astype(np.float32)
    flat_noise = dsp.spectral_flatness(noise)[0, 2:-2]
    flat_tone = dsp.spectral_flatness(tone)[0, 2:-2]
    # a flat power spectrum seen through one frame: exponential bins, E[geo/arith] = exp(-0.577)
    assert 0.45 < flat_noise.mean() < 0.65
    assert 0.75 < dsp.spectral_flatness(noise, power=1.0)[0, 2:-2].mean() < 0.95
    assert flat_tone.max() < 1e-3


# ------------------------------------------------------------------------- batches, dtype
BATCH_FUNCS = {
    "rms": lambda x: dsp.rms(x, frame_length=256, hop_length=80),
    "zcr": lambda x: dsp.zero_crossing_rate(x, frame_length=256, hop_length=80),
    "centroid": lambda x: dsp.spectral_centroid(x, sr=8000, n_fft=256, hop_length=80),
    "bandwidth": lambda x: dsp.spectral_bandwidth(x, sr=8000, n_fft=256, hop_length=80),
    "rolloff": lambda x: dsp.spectral_rolloff(x, sr=8000, n_fft=256, hop_length=80),
    "flatness": lambda x: dsp.spectral_flatness(x, n_fft=256, hop_length=80),
    "contrast": lambda x: dsp.spectral_contrast(x, sr=8000, n_fft=256, hop_length=80, fmin=100.0,
                                                n_bands=5),
}


@pytest.mark.parametrize("fn", BATCH_FUNCS.values(), ids=BATCH_FUNCS.keys())
def test_batch_equals_single_and_keeps_dtype(recording, fn):
    y = recording("fsdd", "3_jackson_5")[0][:3200]
    batch = np.stack([y, y * np.float32(1e-3), np.zeros_like(y)]).reshape(3, 1, -1)  # (3, 1, n)
    out = fn(batch)
    assert out.dtype == np.float32 and out.shape[:2] == (3, 1)
    for i in range(3):
        np.testing.assert_allclose(out[i, 0], fn(batch[i, 0]), rtol=1e-6, atol=1e-7)
    assert fn(y.astype(np.float64)).dtype == np.float64


def test_contrast_decibels_are_per_example(recording):
    y = recording("fsdd", "3_jackson_5")[0]
    batch = np.stack([y, y * np.float32(1e-5)])  # the same clip 100 dB down
    kw = dict(sr=8000, n_fft=256, hop_length=80, fmin=100.0, n_bands=5)
    out = dsp.spectral_contrast(batch, **kw)
    np.testing.assert_allclose(out[1], dsp.spectral_contrast(batch[1], **kw), atol=1e-5)
    np.testing.assert_allclose(out[1], out[0], atol=1e-3)  # a level-free descriptor stays so
    # the check has teeth: librosa clips top_db over the whole stack, changing the quiet one
    assert np.abs(librosa.feature.spectral_contrast(y=batch, **kw)[1] - out[1]).max() > 1.0


# -------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda y: dsp.spectral_centroid(y, S=np.ones((129, 3))), "exactly one"),
        (lambda y: dsp.spectral_centroid(), "exactly one"),
        (lambda y: dsp.spectral_centroid(S=-np.ones((129, 3))), "non-negative"),
        (lambda y: dsp.spectral_flatness(S=np.ones((129, 3), np.complex64)), "real"),
        (lambda y: dsp.spectral_rolloff(y, roll_percent=1.5), "roll_percent"),
        (lambda y: dsp.spectral_bandwidth(y, p=0), "p must be"),
        (lambda y: dsp.spectral_flatness(y, amin=0.0), "amin"),
        (lambda y: dsp.spectral_contrast(y, sr=8000, fmin=200.0, n_bands=6), "fmin=200.0 with n_bands=6"),
        (lambda y: dsp.spectral_contrast(y, sr=8000, n_fft=64, fmin=20.0, n_bands=5), "n_fft"),
        (lambda y: dsp.spectral_contrast(y, quantile=0.0), "quantile"),
        (lambda y: dsp.spectral_contrast(y, n_bands=0), "n_bands"),
        (lambda y: dsp.spectral_centroid(y, n_fft=256, hop_length=0), "hop_length"),
        (lambda y: dsp.rms(S=np.ones((129, 3)), frame_length=512), "frame_length=512"),
        (lambda y: dsp.rms(y, S=np.ones((129, 3))), "exactly one"),
        (lambda y: dsp.rms(y, pad_mode="mirror"), "pad_mode"),
        (lambda y: dsp.zero_crossing_rate(y, threshold=-1.0), "threshold"),
        (lambda y: dsp.zero_crossing_rate(y[:100], frame_length=256, center=False), "frame_length=256"),
        (lambda y: dsp.zero_crossing_rate((y * 32768).astype(np.int16)), "floating-point"),
    ],
)
def test_errors(recording, call, match):
    y = recording("fsdd", "3_jackson_5")[0]
    with pytest.raises(ParameterError, match=match):
        call(y)
