"""Pure builders of constant matrices: windows, mel and chroma filterbanks, the DCT, delta operators.

These are the only place such matrices are made.  Numpy features use them directly; Keras
layers call them in ``build()`` and keep the result as non-trainable weights.  Results are
cached and returned read-only, so a caller cannot corrupt the cache.  The constant-Q kernels
live in :mod:`tympan.dsp.constantq`.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import scipy.fft

from tympan import _validate as v
from tympan.dsp.frames import pad_center
from tympan.errors import ParameterError


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


# ----------------------------------------------------------------------------------- windows
def get_window(window, win_length: int, *, n_fft: int | None = None, dtype=np.float32) -> np.ndarray:
    """A periodic ("fftbins") window of ``win_length`` samples, zero-padded centred to ``n_fft``.

    ``window`` is a scipy window name (``"hann"``, ``"hamming"``, ``("kaiser", 8.0)``, ...) or an
    array of exactly ``win_length`` values.
    """
    win_length = v.positive_int("win_length", win_length)
    n_fft = win_length if n_fft is None else v.positive_int("n_fft", n_fft)
    if win_length > n_fft:
        raise ParameterError(f"win_length must be <= n_fft={n_fft}, got {win_length}")
    if isinstance(window, (str, tuple)):
        return _cached_window(window, win_length, n_fft, np.dtype(dtype).name)
    w = np.asarray(window, dtype=dtype)
    if w.ndim != 1 or w.shape[0] != win_length:
        raise ParameterError(
            f"window array must have shape ({win_length},) to match win_length, got {w.shape}"
        )
    return _readonly(pad_center(w, n_fft))


def _periodic_hann(n: int) -> np.ndarray:
    if n == 1:
        return np.ones(1)  # scipy's convention for a one-sample window
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


@functools.lru_cache(maxsize=64)
def _cached_window(window, win_length: int, n_fft: int, dtype: str) -> np.ndarray:
    # The default window is computed here because importing scipy.signal costs ~0.8 s (it pulls
    # in scipy.stats), most of a cold `tympan predict`; every other window comes from scipy.
    # tests/dsp/test_filters.py checks the Hann formula against scipy.signal.get_window.
    if window == "hann":
        return _readonly(pad_center(_periodic_hann(win_length).astype(dtype), n_fft))
    import scipy.signal

    try:
        w = scipy.signal.get_window(window, win_length, fftbins=True)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"window must be a scipy window name or array, got {window!r}") from exc
    return _readonly(pad_center(w.astype(dtype), n_fft))


# ------------------------------------------------------------------------------- frequencies
def fft_frequencies(*, sr: float, n_fft: int) -> np.ndarray:
    """Centre frequency in Hz of each of the ``1 + n_fft // 2`` rFFT bins."""
    return np.fft.rfftfreq(v.positive_int("n_fft", n_fft), d=1.0 / v.positive_number("sr", sr))


_F_SP = 200.0 / 3  # Slaney: linear below 1 kHz, 200/3 Hz per mel
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies, *, htk: bool = False):
    """Hz to mels, on the Slaney (default, as librosa) or HTK scale."""
    f = np.asanyarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    mels = f / _F_SP
    log_part = f >= _MIN_LOG_HZ
    return np.where(
        log_part, _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mels
    )


def mel_to_hz(mels, *, htk: bool = False):
    """Mels to Hz, inverse of :func:`hz_to_mel`."""
    m = np.asanyarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


def mel_frequencies(n_mels: int = 128, *, fmin: float = 0.0, fmax: float = 11025.0, htk: bool = False):
    """``n_mels`` frequencies in Hz, evenly spaced on the mel scale from ``fmin`` to ``fmax``."""
    mels = np.linspace(hz_to_mel(fmin, htk=htk), hz_to_mel(fmax, htk=htk), n_mels)
    return mel_to_hz(mels, htk=htk)


# ------------------------------------------------------------------------------------- mel
def mel(
    *,
    sr: float,
    n_fft: int,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
    dtype=np.float32,
) -> np.ndarray:
    """Mel filterbank of shape ``(n_mels, 1 + n_fft // 2)``, equal to ``librosa.filters.mel``.

    ``htk=False`` uses the Slaney mel scale; ``norm="slaney"`` divides each triangle by its
    width in Hz (constant energy per channel); ``norm=None`` leaves peaks at 1.
    """
    sr = v.positive_number("sr", sr)
    n_fft = v.positive_int("n_fft", n_fft)
    n_mels = v.positive_int("n_mels", n_mels)
    fmin = v.non_negative_number("fmin", fmin)
    fmax = sr / 2.0 if fmax is None else v.positive_number("fmax", fmax)
    if fmin >= fmax:
        raise ParameterError(f"fmin must be below fmax={fmax}, got fmin={fmin}")
    if fmax > sr / 2.0 + 1e-9:
        raise ParameterError(f"fmax must be <= sr/2 = {sr / 2.0}, got {fmax}")
    v.choice("norm", norm, ("slaney", None))
    return _cached_mel(sr, n_fft, n_mels, fmin, fmax, bool(htk), norm, np.dtype(dtype).name)


@functools.lru_cache(maxsize=32)
def _cached_mel(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype) -> np.ndarray:
    fftfreqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    empty = np.flatnonzero(weights.max(axis=1) <= 0)
    if empty.size:
        warnings.warn(
            f"mel filterbank: {empty.size} of n_mels={n_mels} channels are empty "
            f"(n_fft={n_fft} is too small for that many mel bands); try fewer n_mels or a larger n_fft",
            UserWarning,
            stacklevel=3,
        )
    return _readonly(weights.astype(dtype))


# ---------------------------------------------------------------------------------- chroma
def check_norm(name: str, norm):
    """``None``, ``np.inf`` or a positive number (a p-norm), as ``librosa.util.normalize`` takes."""
    if norm is None or (not isinstance(norm, bool) and isinstance(norm, (int, float, np.number))
                        and norm > 0 and not np.isnan(norm)):
        return None if norm is None else float(norm)
    raise ParameterError(f"{name} must be None, np.inf or a positive number, got {norm!r}")


def chroma(
    *,
    sr: float,
    n_fft: int,
    n_chroma: int = 12,
    tuning: float = 0.0,
    ctroct: float = 5.0,
    octwidth: float | None = 2,
    norm: float | None = 2,
    base_c: bool = True,
    dtype=np.float32,
) -> np.ndarray:
    """Chroma filterbank ``(n_chroma, 1 + n_fft // 2)``, equal to ``librosa.filters.chroma``.

    Each FFT bin spreads onto the pitch classes by a Gaussian bump (in chroma bins) around its
    own pitch; columns are ``norm``-normalised, then weighted by a Gaussian over octaves centred
    on ``ctroct`` (octaves above A0 = 27.5 Hz) with half-width ``octwidth`` (``None``: flat).
    ``tuning`` is the deviation from A440 in fractions of a chroma bin; row 0 is C
    (``base_c=True``) or A.
    """
    sr = v.positive_number("sr", sr)
    n_fft = v.positive_int("n_fft", n_fft)
    n_chroma = v.positive_int("n_chroma", n_chroma)
    tuning = v.finite_number("tuning", tuning)
    ctroct = v.finite_number("ctroct", ctroct)
    octwidth = None if octwidth is None else v.positive_number("octwidth", octwidth)
    norm = check_norm("norm", norm)
    return _cached_chroma(sr, n_fft, n_chroma, tuning, ctroct, octwidth, norm, bool(base_c),
                          np.dtype(dtype).name)


@functools.lru_cache(maxsize=16)
def _cached_chroma(sr, n_fft, n_chroma, tuning, ctroct, octwidth, norm, base_c, dtype) -> np.ndarray:
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (a440 / 16.0))
    # the 0 Hz bin: 1.5 octaves below bin 1 (so chroma is 50% rotated from it, and broad)
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1.0]))
    D = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype=np.float64)).T
    half = np.round(n_chroma / 2.0)
    D = np.remainder(D + half + 10 * n_chroma, n_chroma) - half  # into -n_chroma/2 .. n_chroma/2
    wts = np.exp(-0.5 * (2 * D / binwidthbins[None, :]) ** 2)
    if norm is not None:
        length = wts.max(axis=0) if np.isinf(norm) else np.sum(wts**norm, axis=0) ** (1.0 / norm)
        wts /= np.where(length < np.finfo(np.float64).tiny, 1.0, length)
    if octwidth is not None:
        wts *= np.exp(-0.5 * ((frqbins / n_chroma - ctroct) / octwidth) ** 2)[None, :]
    if base_c:
        wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    return _readonly(np.ascontiguousarray(wts[:, : 1 + n_fft // 2], dtype=dtype))


# ------------------------------------------------------------------------------------- DCT
def dct(n_filters: int, n_input: int, *, norm: str | None = "ortho", dtype=np.float32) -> np.ndarray:
    """DCT-II matrix of shape ``(n_filters, n_input)``: ``mfcc = dct(n_mfcc, n_mels) @ log_mel``."""
    n_filters = v.positive_int("n_mfcc", n_filters)
    n_input = v.positive_int("n_mels", n_input)
    if n_filters > n_input:
        raise ParameterError(f"n_mfcc must be <= n_mels={n_input}, got {n_filters}")
    v.choice("norm", norm, ("ortho", None))
    return _cached_dct(n_filters, n_input, norm, np.dtype(dtype).name)


@functools.lru_cache(maxsize=16)
def _cached_dct(n_filters, n_input, norm, dtype) -> np.ndarray:
    basis = scipy.fft.dct(np.eye(n_input), type=2, norm=norm, axis=0)[:n_filters]
    return _readonly(basis.astype(dtype))


def lifter_weights(n_mfcc: int, lifter: float, *, dtype=np.float32) -> np.ndarray:
    """Cepstral liftering weights ``1 + (lifter / 2) sin(pi (k + 1) / lifter)`` (librosa's)."""
    k = np.arange(1, 1 + n_mfcc, dtype=np.float64)
    return _readonly((1.0 + (lifter / 2.0) * np.sin(np.pi * k / lifter)).astype(dtype))


# ----------------------------------------------------------------------------------- delta
def delta_operator(width: int = 9, order: int = 1, *, dtype=np.float32):
    """The Savitzky-Golay delta as a linear operator, as ``librosa.feature.delta(mode="interp")``.

    Returns ``(kernel, head, tail)``: ``kernel`` (width,) gives interior outputs
    ``out[t] = sum_j kernel[j] * x[t - width // 2 + j]``; ``head`` (width // 2, width) maps the
    first ``width`` inputs to the first ``width // 2`` outputs, ``tail`` the last ``width`` inputs
    to the last ``width // 2`` outputs (polynomial fits at the edges).
    """
    width = v.positive_int("width", width)
    order = v.positive_int("order", order)
    if width < 3 or width % 2 == 0:
        raise ParameterError(f"width must be an odd integer >= 3, got {width}")
    if order >= width:
        raise ParameterError(f"order must be smaller than width={width}, got {order}")
    return _cached_delta(width, order, np.dtype(dtype).name)


@functools.lru_cache(maxsize=16)
def _cached_delta(width, order, dtype):
    import scipy.signal  # lazily: see _cached_window

    op = scipy.signal.savgol_filter(
        np.eye(width), width, polyorder=order, deriv=order, axis=0, mode="interp"
    )
    half = width // 2
    kernel, head, tail = op[half], op[:half], op[width - half :]
    return tuple(_readonly(np.ascontiguousarray(a, dtype=dtype)) for a in (kernel, head, tail))
