"""Spectra: STFT and its exact inverse, the whole-signal FFT, and decibel conversions.

Internally frames are laid out ``(..., frames, bins)`` so that the FFT and the filterbank
products run over contiguous memory; the public functions return ``(..., bins, frames)``
(librosa's layout), swapping axes in one place.  That engine (framing, window, FFT, power) lives
in ``tympan.dsp._stft``, shared with ``features`` and ``tonal``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.fft

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp._stft import PAD_MODES as PAD_MODES  # public here, defined with the engine
from tympan.dsp._stft import float_dtype, resolve_stft_params, spectrogram_tf, stft_tf, to_public
from tympan.dsp.frames import overlap_add
from tympan.errors import ParameterError


# ---------------------------------------------------------------------------------- STFT
def stft(
    y: np.ndarray,
    *,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    pad_mode: str = "constant",
) -> np.ndarray:
    """Short-time Fourier transform, ``(..., 1 + n_fft // 2, n_frames)`` complex.

    Equal to ``librosa.stft`` with the same arguments (float32 in, complex64 out).
    """
    n_fft, hop_length, win_length = resolve_stft_params(n_fft, hop_length, win_length)
    tf = stft_tf(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                 center=center, pad_mode=pad_mode)
    return to_public(tf)


def istft(
    stft_matrix: np.ndarray,
    *,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_fft: int | None = None,
    window="hann",
    center: bool = True,
    length: int | None = None,
) -> np.ndarray:
    """Inverse STFT by weighted overlap-add, ``(..., n_samples)``.

    With ``center=True`` and a window satisfying the overlap-add condition (Hann with
    ``hop_length <= n_fft // 2``), the whole signal is reconstructed, edges included (about 140
    dB SNR in float32; with ``hop_length = n_fft // 2`` the last few samples, under only the
    tail of the last window, can drop to about 90 dB for some lengths, as in librosa).  Pass
    ``length`` to get exactly the original number of samples.
    """
    S = np.asarray(stft_matrix)
    if S.ndim < 2 or not np.iscomplexobj(S):
        raise ParameterError(
            f"stft_matrix must be a complex array (..., bins, frames), got {S.dtype} {S.shape}"
        )
    n_fft = 2 * (S.shape[-2] - 1) if n_fft is None else n_fft
    n_fft, hop_length, win_length = resolve_stft_params(n_fft, hop_length, win_length)
    if S.shape[-2] != 1 + n_fft // 2:
        raise ParameterError(
            f"stft_matrix has {S.shape[-2]} bins but n_fft={n_fft} needs {1 + n_fft // 2}"
        )
    real = np.float64 if S.dtype == np.complex128 else np.float32
    win = filters.get_window(window, win_length, n_fft=n_fft, dtype=real)
    frames = scipy.fft.irfft(np.swapaxes(S, -1, -2), n=n_fft, axis=-1, workers=-1).astype(real)
    y = overlap_add(frames * win, hop_length=hop_length)
    wss = overlap_add(np.broadcast_to(win * win, (S.shape[-1], n_fft)), hop_length=hop_length)
    nonzero = wss > np.finfo(real).tiny
    y[..., nonzero] /= wss[nonzero]
    start = n_fft // 2 if center else 0
    if length is None:
        stop = y.shape[-1] - (n_fft // 2 if center else 0)
        return y[..., start:stop]
    length = v.positive_int("length", length)
    y = y[..., start : start + length]
    if y.shape[-1] < length:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, length - y.shape[-1])])
    return y


def spectrogram(
    y: np.ndarray | None = None,
    *,
    S: np.ndarray | None = None,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 1.0,
) -> np.ndarray:
    """``|STFT| ** power`` as ``(..., 1 + n_fft // 2, n_frames)``; or ``S`` itself if given."""
    if S is not None:
        if y is not None:
            raise ParameterError("pass either y or S, not both")
        return np.asarray(S)
    if y is None:
        raise ParameterError("pass an audio signal y or a spectrogram S")
    return to_public(spectrogram_tf(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                    window=window, center=center, pad_mode=pad_mode, power=power))


# --------------------------------------------------------------------------- whole-signal FFT
class Spectrum(NamedTuple):
    """Whole-signal magnitude spectrum: ``magnitude`` (..., bins) and ``frequencies`` in Hz."""

    magnitude: np.ndarray
    frequencies: np.ndarray


def fft_spectrum(y: np.ndarray, sr: float, *, n_fft: int | None = None, window=None) -> Spectrum:
    """Magnitude (modulus) of the FFT of the whole signal, with its frequency axis in Hz.

    ``n_fft`` defaults to the signal length (longer zero-pads, shorter crops); ``window`` (e.g.
    ``"hann"``) tapers the signal first to reduce leakage.  Batched over leading axes.
    """
    y = v.valid_audio(y)
    sr = v.positive_number("sr", sr)
    n = y.shape[-1] if n_fft is None else v.positive_int("n_fft", n_fft)
    if y.shape[-1] == 0:
        raise ParameterError("y must contain at least one sample, got an empty signal")
    if window is not None:
        y = y * filters.get_window(window, y.shape[-1], dtype=float_dtype(y))
    mag = np.abs(scipy.fft.rfft(y, n=n, axis=-1, workers=-1)).astype(float_dtype(y), copy=False)
    return Spectrum(mag, filters.fft_frequencies(sr=sr, n_fft=n))


# ------------------------------------------------------------------------------------ decibels
def _example_axes(ndim: int, axis) -> tuple[int, ...]:
    if axis is None:
        axis = (-2, -1) if ndim >= 2 else (-1,)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ParameterError(f"axis {a} is out of range for an array with {ndim} dimension(s)")
    return axes


def power_to_db(
    S: np.ndarray,
    *,
    ref: float | Callable = 1.0,
    amin: float = 1e-10,
    top_db: float | None = 80.0,
    axis=None,
) -> np.ndarray:
    """``10 log10(S / ref)``, floored at ``amin`` and clipped to ``top_db`` below the peak.

    ``ref`` may be a callable such as ``np.max``.  The peak for ``top_db`` and a callable
    ``ref`` are taken **per example**: over ``axis``, by default the last two axes (one
    ``(feature, frames)`` matrix), never over a batch.  For a batch of 1-D spectra pass
    ``axis=-1``.
    """
    S = np.asarray(S)
    if np.iscomplexobj(S):
        raise ParameterError("power_to_db takes a real power spectrogram; use np.abs(S) ** 2 first")
    amin = v.positive_number("amin", amin)
    axes = _example_axes(S.ndim, axis)
    dtype = float_dtype(S)
    mag = S.astype(dtype, copy=False)
    ref_value = ref(mag, axis=axes, keepdims=True) if callable(ref) else np.abs(ref)
    log_spec = 10.0 * np.log10(np.maximum(amin, mag))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref_value))
    if top_db is not None:
        top_db = v.non_negative_number("top_db", top_db)
        np.maximum(log_spec, log_spec.max(axis=axes, keepdims=True) - top_db, out=log_spec)
    return log_spec.astype(dtype, copy=False)


def amplitude_to_db(
    S: np.ndarray,
    *,
    ref: float | Callable = 1.0,
    amin: float = 1e-5,
    top_db: float | None = 80.0,
    axis=None,
) -> np.ndarray:
    """``20 log10(|S| / ref)``: :func:`power_to_db` of ``|S| ** 2``, per example."""
    mag = np.abs(np.asarray(S))
    axes = _example_axes(mag.ndim, axis)
    ref_value = ref(mag, axis=axes, keepdims=True) if callable(ref) else np.abs(ref)
    amin = v.positive_number("amin", amin)
    return power_to_db(mag * mag, ref=np.square(ref_value), amin=amin * amin, top_db=top_db,
                       axis=axes)


def db_to_power(S_db: np.ndarray, *, ref: float = 1.0) -> np.ndarray:
    """Inverse of :func:`power_to_db` (without the clipping): ``ref * 10 ** (S_db / 10)``."""
    S_db = np.asarray(S_db)
    return (ref * np.power(10.0, 0.1 * S_db)).astype(float_dtype(S_db), copy=False)


def db_to_amplitude(S_db: np.ndarray, *, ref: float = 1.0) -> np.ndarray:
    """Inverse of :func:`amplitude_to_db`: ``ref * 10 ** (S_db / 20)``."""
    S_db = np.asarray(S_db)
    return (ref * np.power(10.0, 0.05 * S_db)).astype(float_dtype(S_db), copy=False)
