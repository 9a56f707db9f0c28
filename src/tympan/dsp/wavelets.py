"""Wavelets over PyWavelets: the discrete wavelet transform and its features, the scalogram.

* :func:`dwt` / :func:`idwt`: ``pywt.wavedec`` / ``pywt.waverec`` over the last axis, batched
  over leading axes; :func:`dwt_features` turns the coefficients into a fixed-length vector.
* :func:`scalogram`: the magnitude of the continuous wavelet transform (``pywt.cwt``) at
  log-spaced centre frequencies in Hz, read at frames ``t = k * hop_length`` (the centred STFT
  convention, ``n_frames = 1 + n_samples // hop_length``).
* :func:`wavelet_bank`: the same transform as a bank of time-domain kernels (cached, read-only)
  for the :class:`tympan.layers.Scalogram` layer, which convolves with it.

The continuous wavelet is PyWavelets' complex Morlet ``"cmorB-C"`` (default ``"cmor1.5-1.0"``):
``psi(t) = exp(-t^2 / B) exp(2 pi i C t) / sqrt(pi B)``, whose frequency response is a Gaussian
centred on ``C``; the bin of centre frequency ``f`` uses the scale ``C * sr / f``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pywt

from tympan import _validate as v
from tympan.dsp.frames import n_frames
from tympan.errors import ParameterError

MAX_KERNEL_SECONDS = 4.0  # longest wavelet kernel wavelet_bank (and so the layer) accepts
_OVERSAMPLE = 64  # automatic precision: wavelet samples per signal sample at the largest scale
_MAX_PRECISION = 18


def _float_dtype(a: np.ndarray) -> np.dtype:
    return np.dtype(np.float64) if a.dtype == np.float64 else np.dtype(np.float32)


# ------------------------------------------------------------------------------------ DWT
def _discrete_wavelet(wavelet) -> pywt.Wavelet:
    if isinstance(wavelet, pywt.Wavelet):
        return wavelet
    try:
        return pywt.Wavelet(wavelet)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"wavelet must be a PyWavelets discrete wavelet name such as 'db4', 'haar', 'sym8' "
            f"(pywt.wavelist(kind='discrete')), got {wavelet!r}"
        ) from exc


def _dwt_level(n: int, w: pywt.Wavelet, level) -> int:
    top = pywt.dwt_max_level(n, w.dec_len)
    if level is None:
        if top < 1:
            raise ParameterError(
                f"a signal of {n} samples is too short for one level of wavelet={w.name!r} "
                f"(filter length {w.dec_len})")
        return top
    level = v.positive_int("level", level)
    if level > top:
        raise ParameterError(
            f"level must be <= {top} (the most a {n}-sample signal allows with wavelet={w.name!r}), "
            f"got {level}")
    return level


def dwt(y: np.ndarray, *, wavelet="db4", level: int | None = None,
        mode: str = "symmetric") -> list[np.ndarray]:
    """Multilevel discrete wavelet transform of the last axis: ``[cA_n, cD_n, ..., cD_1]``.

    ``pywt.wavedec`` with ``axis=-1``: each array keeps the leading axes of ``y``; float32 in
    gives float32 out.  ``level`` defaults to the most the signal length allows; more is an
    error (every coefficient would be a boundary effect).  ``mode`` is the signal extension
    (``pywt.Modes.modes``).
    """
    y = v.valid_audio(y)
    w = _discrete_wavelet(wavelet)
    v.choice("mode", mode, pywt.Modes.modes)
    level = _dwt_level(y.shape[-1], w, level)
    y = y.astype(_float_dtype(y), copy=not y.flags.writeable)  # pywt refuses read-only buffers
    return pywt.wavedec(y, w, mode=mode, level=level, axis=-1)


def idwt(coeffs, *, wavelet="db4", mode: str = "symmetric", length: int | None = None) -> np.ndarray:
    """Inverse of :func:`dwt` (``pywt.waverec``), ``(..., samples)``.

    The reconstruction of an odd-length signal is one sample longer; pass ``length`` to get
    exactly the original length back.
    """
    if not isinstance(coeffs, (list, tuple)) or len(coeffs) < 2:
        raise ParameterError(
            f"coeffs must be the list [cA_n, cD_n, ..., cD_1] that dwt returns, got {type(coeffs).__name__}")
    w = _discrete_wavelet(wavelet)
    v.choice("mode", mode, pywt.Modes.modes)
    y = pywt.waverec([np.array(c, copy=not np.asarray(c).flags.writeable) for c in coeffs], w,
                     mode=mode, axis=-1)
    if length is None:
        return y
    length = v.positive_int("length", length)
    if length > y.shape[-1]:
        raise ParameterError(f"length must be <= {y.shape[-1]} (the reconstruction), got {length}")
    return y[..., :length]


DWT_STATS = ("log_energy", "mean_abs", "std")


def dwt_feature_names(*, level: int = 5) -> list[str]:
    """Names of the :func:`dwt_features` columns, e.g. ``"cA5_log_energy"``, ``"cD1_std"``."""
    level = v.positive_int("level", level)
    bands = [f"cA{level}"] + [f"cD{k}" for k in range(level, 0, -1)]
    return [f"{band}_{stat}" for band in bands for stat in DWT_STATS]


def dwt_features(y: np.ndarray, *, wavelet="db4", level: int = 5, mode: str = "symmetric",
                 amin: float = 1e-10) -> np.ndarray:
    """A fixed-length summary of :func:`dwt`: ``(..., 3 * (level + 1))``, for a classifier.

    For each coefficient array, from ``cA_level`` down to ``cD_1``: ``log(max(amin, mean(c**2)))``
    (log energy per coefficient), ``mean(|c|)`` and the standard deviation of ``c``; the order
    is :func:`dwt_feature_names`.  Computed in float64, returned in the input's precision.
    """
    amin = v.positive_number("amin", amin)
    coeffs = dwt(y, wavelet=wavelet, level=level, mode=mode)
    stats = []
    for c in coeffs:
        c = c.astype(np.float64)
        stats += [np.log(np.maximum(amin, np.mean(c * c, axis=-1))), np.mean(np.abs(c), axis=-1),
                  np.std(c, axis=-1)]
    return np.stack(stats, axis=-1).astype(_float_dtype(y), copy=False)


# ----------------------------------------------------------------------------------- CWT
def _continuous_wavelet(wavelet: str) -> pywt.ContinuousWavelet:
    if not (isinstance(wavelet, str) and wavelet.startswith("cmor")):
        raise ParameterError(
            f"wavelet must be a complex Morlet 'cmorB-C' (bandwidth B, centre frequency C, e.g. "
            f"'cmor1.5-1.0'), got {wavelet!r}")
    try:
        w = pywt.ContinuousWavelet(wavelet)
    except ValueError as exc:
        raise ParameterError(f"wavelet {wavelet!r} is not a valid PyWavelets name: {exc}") from exc
    if not w.center_frequency or w.center_frequency <= 0:
        raise ParameterError(f"wavelet must have a positive centre frequency, got {wavelet!r}")
    return w


def scalogram_frequencies(*, sr: float = 22050, fmin: float = 32.70, fmax: float | None = None,
                          n_bins: int = 84) -> np.ndarray:
    """``n_bins`` centre frequencies in Hz, log-spaced from ``fmin`` to ``fmax`` (both included).

    ``fmax`` defaults to the Nyquist frequency ``sr / 2``.
    """
    sr = v.positive_number("sr", sr)
    fmin = v.positive_number("fmin", fmin)
    fmax = sr / 2.0 if fmax is None else v.positive_number("fmax", fmax)
    n_bins = v.positive_int("n_bins", n_bins)
    if fmax > sr / 2.0 + 1e-9:
        raise ParameterError(f"fmax must be <= sr/2 = {sr / 2.0}, got {fmax}")
    if fmin > fmax or (fmin == fmax and n_bins > 1):
        raise ParameterError(f"fmin must be below fmax={fmax}, got fmin={fmin}")
    return np.geomspace(fmin, fmax, n_bins)


def _resolve(sr, fmin, fmax, n_bins, wavelet, precision):
    """Validated ``(wavelet object, frequencies, scales, precision)``.

    ``precision=None`` picks the smallest ``2 ** precision`` (from PyWavelets' default 12 up
    to 18) that samples the wavelet 64 times per signal sample at the largest scale.
    PyWavelets reads its integrated wavelet at the nearest coarser sample, and that jitter
    adds a broadband floor to each kernel's response (the "zipper" effect it warns about):
    for a 40 Hz bin at 8 kHz the worst response far from 40 Hz is -14 dB of the peak with
    PyWavelets' default 12, -36 dB at 16 and -60 dB at 18 (the automatic choice there).
    """
    w = _continuous_wavelet(wavelet)
    freqs = scalogram_frequencies(sr=sr, fmin=fmin, fmax=fmax, n_bins=n_bins)
    scales = w.center_frequency * float(sr) / freqs
    if precision is None:
        span = (w.upper_bound - w.lower_bound) * scales.max()
        precision = min(_MAX_PRECISION, max(12, math.ceil(math.log2(_OVERSAMPLE * span))))
    else:
        precision = v.positive_int("precision", precision)
    return w, freqs, scales, precision


def scalogram(
    y: np.ndarray,
    *,
    sr: float = 22050,
    hop_length: int = 512,
    fmin: float = 32.70,
    fmax: float | None = None,
    n_bins: int = 84,
    wavelet: str = "cmor1.5-1.0",
    precision: int | None = None,
) -> np.ndarray:
    """Magnitude of the continuous wavelet transform, ``(..., n_bins, n_frames)``.

    ``|pywt.cwt(y, scales, wavelet, method="fft")|`` at the centre frequencies
    :func:`scalogram_frequencies` (bin ``b`` uses scale ``C * sr / f_b``), read at the samples
    ``t = k * hop_length`` for ``k = 0 .. n_samples // hop_length``: the centred frame
    convention of :func:`~tympan.dsp.frames.n_frames` (``center=True``); beyond the signal it
    is zero.  PyWavelets' normalisation is kept: a sine of amplitude ``a`` at a bin's centre
    frequency gives about ``a * sqrt(scale) / 2`` there, so low bins read larger.  The
    transform runs in float64 and is cast back to the input's precision.  ``precision`` is
    PyWavelets' (``2 ** precision`` wavelet samples); ``None`` chooses it (see ``_resolve``).

    PyWavelets computes every sample before the frames are picked, so this is slow (a few
    seconds of 22.05 kHz audio per second with 84 bins); :class:`tympan.layers.Scalogram`
    computes only the frames.
    """
    y = v.valid_audio(y)
    hop_length = v.positive_int("hop_length", hop_length)
    w, _, scales, precision = _resolve(sr, fmin, fmax, n_bins, wavelet, precision)
    if y.shape[-1] == 0:
        raise ParameterError(f"y must contain at least one sample, got shape {y.shape}")
    n = y.shape[-1]
    count = n_frames(n, n_fft=2, hop_length=hop_length, center=True)  # 1 + n // hop_length
    rows = y.reshape(-1, n).astype(np.float64)
    rows = np.pad(rows, [(0, 0), (0, 1)])  # a zero at t = n: the last frame when hop divides n
    out = np.empty((rows.shape[0], len(scales), count), dtype=_float_dtype(y))
    block = max(1, (1 << 24) // (rows.shape[0] * (n + 1)))  # <= 256 MB of complex coefficients
    for b0 in range(0, len(scales), block):
        coef, _ = pywt.cwt(rows, scales[b0 : b0 + block], w, method="fft", axis=-1,
                           precision=precision)
        out[:, b0 : b0 + block] = np.abs(coef[..., ::hop_length]).swapaxes(0, 1)
    return out.reshape(*y.shape[:-1], len(scales), count)


# ------------------------------------------------------------------------ the kernel bank
def wavelet_bank(*, sr: float = 22050, fmin: float = 32.70, fmax: float | None = None,
                 n_bins: int = 84, wavelet: str = "cmor1.5-1.0", precision: int | None = None,
                 dtype=np.complex64) -> np.ndarray:
    """The continuous wavelet transform as time-domain kernels, ``(n_taps, n_bins)`` complex.

    ``n_taps`` is even and the kernels are centred on tap ``n_taps // 2``: the (complex)
    transform of ``y`` at sample ``t`` is ``sum_i bank[i, b] * y[t + i - n_taps // 2]`` (zero
    outside the signal), exactly PyWavelets' discretisation in :func:`scalogram` (its
    integrated-wavelet differences, conjugated), so ``|.|`` at ``t = k * hop_length`` equals
    :func:`scalogram` with the same arguments (to about 1e-14 in complex128).  As in PyWavelets,
    each kernel ends in one tap of ``sqrt(scale)`` times the wavelet's integral (its small DC
    response, about 4e-7 for ``cmor1.5-1.0``), which keeps the kernels at their full support.

    The longest kernel (the ``fmin`` bin) spans about ``(upper_bound - lower_bound) * C / fmin``
    seconds (the wavelet's support is [-8, 8]): 16 / fmin s for ``cmorB-1.0``; over
    :data:`MAX_KERNEL_SECONDS` (4 s, ``fmin`` below 4 Hz at ``C = 1``) is refused.  The bank takes
    ``n_taps * n_bins * 8`` bytes (complex64).  Cached and read-only.
    """
    w, _, scales, precision = _resolve(sr, fmin, fmax, n_bins, wavelet, precision)
    seconds = (w.upper_bound - w.lower_bound) * scales.max() / float(sr)
    if seconds > MAX_KERNEL_SECONDS:
        raise ParameterError(
            f"fmin={fmin} Hz at sr={sr} needs a {seconds:.1f} s wavelet kernel ({wavelet!r}), over "
            f"the {MAX_KERNEL_SECONDS:g} s limit; raise fmin above "
            f"{fmin * seconds / MAX_KERNEL_SECONDS:.3g} Hz or use numpy's dsp.scalogram")
    if np.dtype(dtype).kind != "c":
        raise ParameterError(f"dtype must be a complex dtype, got {np.dtype(dtype)}")
    fmax = sr / 2.0 if fmax is None else fmax
    return _cached_bank(float(sr), float(fmin), float(fmax), n_bins, wavelet, precision,
                        np.dtype(dtype).name)


@functools.lru_cache(maxsize=8)
def _cached_bank(sr, fmin, fmax, n_bins, wavelet, precision, dtype) -> np.ndarray:
    w, _, scales, _ = _resolve(sr, fmin, fmax, n_bins, wavelet, precision)
    int_psi, x = pywt.integrate_wavelet(w, precision=precision)
    if w.complex_cwt:
        int_psi = np.conj(int_psi)
    int_psi = np.asarray(int_psi, dtype=np.complex128)
    x = np.asarray(x, dtype=np.float64)
    step = x[1] - x[0]
    kernels = []
    for scale in scales:
        # pywt.cwt: convolve with the integrated wavelet sampled at 1 / scale, difference, crop.
        j = (np.arange(scale * (x[-1] - x[0]) + 1) / (scale * step)).astype(int)
        g = int_psi[j[j < int_psi.size]][::-1]
        h = -np.sqrt(scale) * np.diff(g, prepend=0, append=0)  # the differenced kernel
        c = (g.size - 2) // 2 + 1  # output t is (y * h)[t + c]: lag tau = c - k
        kernels.append((h, c))
    half = max(max(h.size - 1 - c, c + 1) for h, c in kernels)
    bank = np.zeros((2 * half, len(scales)), dtype=np.complex128)
    for b, (h, c) in enumerate(kernels):
        lags = c - np.arange(h.size)  # tap half + tau holds h[c - tau]
        bank[half + lags, b] = h
    bank = bank.astype(dtype)
    bank.setflags(write=False)
    return bank
