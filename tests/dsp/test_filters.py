"""tympan.dsp.filters: windows, mel filterbanks, the DCT and the delta operator.

Reference values come from librosa 0.11 (the issue asks for librosa 1.0, which is not released;
0.11 is the newest available) and scipy.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.fft
import scipy.signal

from tympan.dsp import filters
from tympan.errors import ParameterError

# One dict drives both libraries: tympan's and librosa's parameter names are the same.
MEL_PARAMS = {
    "22k-default": dict(sr=22050, n_fft=2048, n_mels=128, fmin=0.0, fmax=None, htk=False, norm="slaney"),
    "22k-htk-band": dict(sr=22050, n_fft=512, n_mels=64, fmin=50.0, fmax=8000.0, htk=True, norm="slaney"),
    "22k-nonorm": dict(sr=22050, n_fft=1024, n_mels=40, fmin=0.0, fmax=11025.0, htk=False, norm=None),
    "8k-htk": dict(sr=8000, n_fft=256, n_mels=40, fmin=20.0, fmax=4000.0, htk=True, norm="slaney"),
    "16k-odd-nfft": dict(sr=16000, n_fft=400, n_mels=80, fmin=50.0, fmax=7600.0, htk=False, norm=None),
}


# ------------------------------------------------------------------------------------ mel
@pytest.mark.parametrize("params", MEL_PARAMS.values(), ids=MEL_PARAMS.keys())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mel_equals_librosa(params, dtype):
    ours = filters.mel(**params, dtype=dtype)
    ref = librosa.filters.mel(**params, dtype=dtype)
    assert ours.dtype == dtype
    assert ours.shape == (params["n_mels"], 1 + params["n_fft"] // 2)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize(
    ("sr", "n_fft", "n_mels", "fmin", "fmax", "htk"),
    [
        (16000, 8192, 40, 0.0, None, False),
        (22050, 8192, 64, 100.0, 8000.0, True),
        (8000, 4096, 32, 0.0, None, False),
    ],
)
def test_mel_slaney_norm_gives_unit_area_triangles(sr, n_fft, n_mels, fmin, fmax, htk):
    """Slaney norm divides each triangle by half its width in Hz, so each integrates to 1."""
    M = filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, dtype=np.float64)
    area = M.sum(axis=1) * (sr / n_fft)  # Riemann sum over Hz
    np.testing.assert_allclose(area, 1.0, rtol=2e-3)
    # and the peak height is 2 / (f[i+2] - f[i])
    edges = filters.mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax or sr / 2, htk=htk)
    np.testing.assert_allclose(M.max(axis=1), 2.0 / (edges[2:] - edges[:-2]), rtol=0.05)


@pytest.mark.parametrize(
    ("sr", "n_fft", "n_mels", "htk"), [(16000, 8192, 40, False), (22050, 8192, 64, True)]
)
def test_mel_triangles_peak_at_their_centre_frequency(sr, n_fft, n_mels, htk):
    M = filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, htk=htk, norm=None, dtype=np.float64)
    centres = filters.mel_frequencies(n_mels + 2, fmin=0.0, fmax=sr / 2, htk=htk)[1:-1]
    peak_hz = filters.fft_frequencies(sr=sr, n_fft=n_fft)[M.argmax(axis=1)]
    bin_hz = sr / n_fft
    assert np.all(np.abs(peak_hz - centres) <= bin_hz)
    assert M.max() <= 1.0
    assert M.max(axis=1).min() > 0.9  # with fine bins, each triangle's sampled peak is near 1
    assert np.all(np.diff(peak_hz) > 0)  # channels are in increasing frequency


def test_mel_scale_known_values():
    assert filters.hz_to_mel(1000.0) == pytest.approx(15.0)  # Slaney: linear to 1 kHz, 200/3 Hz per mel
    assert filters.hz_to_mel(200.0 / 3) == pytest.approx(1.0)
    assert filters.hz_to_mel(700.0, htk=True) == pytest.approx(2595.0 * np.log10(2.0))
    f = np.array([0.0, 60.0, 999.0, 1000.0, 1001.0, 4000.0, 11025.0])
    for htk in (False, True):
        np.testing.assert_allclose(filters.hz_to_mel(f, htk=htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-12)
        np.testing.assert_allclose(filters.mel_to_hz(filters.hz_to_mel(f, htk=htk), htk=htk), f, atol=1e-9)


def test_mel_warns_about_empty_channels():
    with pytest.warns(UserWarning, match="empty"):
        filters.mel(sr=22050, n_fft=64, n_mels=128)


def test_mel_is_cached_and_read_only():
    M = filters.mel(sr=8000, n_fft=256, n_mels=40)
    assert M is filters.mel(sr=8000, n_fft=256, n_mels=40)
    with pytest.raises(ValueError, match="read-only"):
        M[0, 0] = 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(sr=8000, n_fft=256, fmin=4000.0, fmax=4000.0), "fmin"),
        (dict(sr=8000, n_fft=256, fmin=3000.0, fmax=1000.0), "fmin"),
        (dict(sr=8000, n_fft=256, fmax=5000.0), "fmax"),
        (dict(sr=8000, n_fft=256, fmin=-1.0), "fmin"),
        (dict(sr=8000, n_fft=256, n_mels=0), "n_mels"),
        (dict(sr=0, n_fft=256), "sr"),
        (dict(sr=8000, n_fft=256, norm="l2"), "norm"),
    ],
)
def test_mel_errors_name_the_parameter(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        filters.mel(**kwargs)


# ------------------------------------------------------------------------------------ DCT
@pytest.mark.parametrize("n", [13, 40, 128])
def test_dct_ortho_is_orthonormal(n):
    D = filters.dct(n, n, dtype=np.float64)
    np.testing.assert_allclose(D @ D.T, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(D.T @ D, np.eye(n), atol=1e-12)


def test_dct_truncated_rows_are_orthonormal_and_equal_scipy(rng):
    D = filters.dct(20, 64, dtype=np.float64)
    np.testing.assert_allclose(D @ D.T, np.eye(20), atol=1e-12)
    x = rng.standard_normal((64, 7))
    np.testing.assert_allclose(D @ x, scipy.fft.dct(x, type=2, norm="ortho", axis=0)[:20], atol=1e-12)


def test_dct_unnormalised_equals_scipy(rng):
    x = rng.standard_normal((32, 5))
    D = filters.dct(32, 32, norm=None, dtype=np.float64)
    np.testing.assert_allclose(D @ x, scipy.fft.dct(x, type=2, norm=None, axis=0), atol=1e-10)


def test_dct_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="n_mfcc"):
        filters.dct(41, 40)
    with pytest.raises(ParameterError, match="norm"):
        filters.dct(13, 40, norm="forward")


def test_lifter_weights_match_librosa_formula():
    k = np.arange(1, 21)
    np.testing.assert_allclose(
        filters.lifter_weights(20, 22.0, dtype=np.float64), 1 + 11.0 * np.sin(np.pi * k / 22.0)
    )


# --------------------------------------------------------------------------------- windows
@pytest.mark.parametrize("window", ["hann", "hamming", "blackman", ("kaiser", 8.0)])
@pytest.mark.parametrize("n", [256, 255, 2, 1])
def test_get_window_is_periodic_scipy_window(window, n):
    w = filters.get_window(window, n, dtype=np.float64)
    np.testing.assert_allclose(w, scipy.signal.get_window(window, n, fftbins=True), atol=1e-15)
    np.testing.assert_allclose(w, librosa.filters.get_window(window, n, fftbins=True), atol=1e-15)


def test_get_window_zero_pads_centred():
    w = filters.get_window("hann", 200, n_fft=256, dtype=np.float64)
    assert w.shape == (256,)
    np.testing.assert_array_equal(w[:28], 0.0)
    np.testing.assert_array_equal(w[228:], 0.0)
    np.testing.assert_allclose(w[28:228], scipy.signal.get_window("hann", 200))


def test_get_window_accepts_an_array_and_returns_read_only():
    w = filters.get_window(np.ones(100), 100, n_fft=128)
    assert w.dtype == np.float32
    assert w.sum() == 100.0
    assert not w.flags.writeable


@pytest.mark.parametrize(
    ("window", "win_length", "n_fft", "match"),
    [
        ("no-such-window", 256, None, "window"),
        (("nope", 2.0), 256, None, "window"),
        (np.ones(100), 256, None, "window"),
        ("hann", 300, 256, "win_length"),
        ("hann", 0, None, "win_length"),
    ],
)
def test_get_window_errors_name_the_parameter(window, win_length, n_fft, match):
    with pytest.raises(ParameterError, match=match):
        filters.get_window(window, win_length, n_fft=n_fft)


# ---------------------------------------------------------------------------------- delta
@pytest.mark.parametrize(("width", "order"), [(9, 1), (9, 2), (5, 1), (3, 1), (7, 3)])
def test_delta_operator_applied_by_hand_equals_librosa_delta(rng, width, order):
    x = rng.standard_normal((4, 30))
    kernel, head, tail = filters.delta_operator(width, order, dtype=np.float64)
    half = width // 2
    inner = x.shape[-1] - 2 * half
    interior = sum(kernel[j] * x[:, j : j + inner] for j in range(width))
    out = np.concatenate([x[:, :width] @ head.T, interior, x[:, -width:] @ tail.T], axis=-1)
    np.testing.assert_allclose(out, librosa.feature.delta(x, width=width, order=order), atol=1e-10)


@pytest.mark.parametrize(
    ("width", "order", "match"),
    [(8, 1, "width"), (1, 1, "width"), (0, 1, "width"), (5, 0, "order"), (3, 3, "order")],
)
def test_delta_operator_errors_name_the_parameter(width, order, match):
    with pytest.raises(ParameterError, match=match):
        filters.delta_operator(width, order)
