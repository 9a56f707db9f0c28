"""Spectra: STFT and its exact inverse, the whole-signal FFT, and decibel conversions.

Internally frames are laid out ``(..., frames, bins)`` so that the FFT and the filterbank
products run over contiguous memory; the public functions return ``(..., bins, frames)``
(librosa's layout), swapping axes in :func:`_to_public` only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.fft

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp.frames import n_frames, overlap_add
from tympan.errors import ParameterError

PAD_MODES = ("constant", "reflect", "edge", "symmetric", "wrap")


def _float_dtype(y: np.ndarray) -> np.dtype:
    return np.dtype(np.float64) if y.dtype == np.float64 else np.dtype(np.float32)


def _to_public(tf: np.ndarray) -> np.ndarray:
    """The one place the internal ``(..., frames, feature)`` becomes ``(..., feature, frames)``."""
    return np.swapaxes(tf, -1, -2)


def resolve_stft_params(n_fft, hop_length, win_length) -> tuple[int, int, int]:
    """librosa defaults: ``win_length = n_fft``, ``hop_length = win_length // 4``."""
    n_fft = v.positive_int("n_fft", n_fft)
    win_length = n_fft if win_length is None else v.positive_int("win_length", win_length)
    if win_length > n_fft:
        raise ParameterError(f"win_length must be <= n_fft={n_fft}, got {win_length}")
    hop_length = max(1, win_length // 4) if hop_length is None else hop_length
    return n_fft, v.positive_int("hop_length", hop_length), win_length


# ---------------------------------------------------------------------------------- STFT
def _checked_signal(y, pad_mode) -> np.ndarray:
    y = v.valid_audio(y)
    v.choice("pad_mode", pad_mode, PAD_MODES)
    if y.shape[-1] == 0:
        raise ParameterError(f"y must contain at least one sample, got shape {y.shape}")
    return y.astype(_float_dtype(y), copy=False)


def _padded_signal(y, *, n_fft, hop_length, win_length, window, center, pad_mode):
    """The checked signal (padded by ``n_fft // 2`` each side when ``center``), the float64
    window zero-padded to ``n_fft``, and the frame count (from :func:`n_frames`)."""
    y = _checked_signal(y, pad_mode)
    count = n_frames(y.shape[-1], n_fft=n_fft, hop_length=hop_length, center=center)
    if center:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(n_fft // 2, n_fft // 2)], mode=pad_mode)
    return y, filters.get_window(window, win_length, n_fft=n_fft, dtype=np.float64), count


def _stft_tf(y, *, n_fft, hop_length, win_length, window, center, pad_mode) -> np.ndarray:
    """Complex STFT laid out ``(..., frames, 1 + n_fft // 2)``."""
    y, win, count = _padded_signal(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                   window=window, center=center, pad_mode=pad_mode)
    dtype = _float_dtype(y)
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft, axis=-1)
    frames = frames[..., : (count - 1) * hop_length + 1 : hop_length, :]
    # float64 FFT, cast back (as librosa): float32 FFT noise would swamp quiet bins
    complex_out = np.complex128 if dtype == np.float64 else np.complex64
    return scipy.fft.rfft(frames * win, axis=-1, workers=-1).astype(complex_out, copy=False)


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
    tf = _stft_tf(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                  center=center, pad_mode=pad_mode)
    return _to_public(tf)


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
    return _to_public(_spectrogram_tf(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                      window=window, center=center, pad_mode=pad_mode, power=power))


def _spectrogram_tf(y, *, n_fft, hop_length, win_length, window, center, pad_mode, power,
                    project: np.ndarray | None = None):
    """``|STFT| ** power`` laid out ``(..., frames, bins)``, optionally times ``project``.

    Works through the frames in blocks of about 2 MB so the complex spectrum of a long batch is
    never held whole and each block's FFT, power and projection (e.g. the mel filterbank,
    ``(bins, n_mels)``) run while it is still in cache.  The window, FFT, power and projection
    run in float64 (as librosa's FFT does; float32 FFT noise reaches 1e-2 dB in quiet bins) and
    the result is cast to the input's precision.
    """
    n_fft, hop_length, win_length = resolve_stft_params(n_fft, hop_length, win_length)
    power = v.positive_number("power", power)
    y, win, count = _padded_signal(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                   window=window, center=center, pad_mode=pad_mode)
    dtype = _float_dtype(y)
    lead = y.shape[:-1]
    rows = y.reshape(-1, y.shape[-1])
    width = n_fft // 2 + 1 if project is None else project.shape[1]
    project64 = None if project is None else np.asarray(project, dtype=np.float64)
    out = np.empty((rows.shape[0], count, width), dtype=dtype)
    block = max(1, (1 << 17) // n_fft)
    for r in range(rows.shape[0]):
        frames = np.lib.stride_tricks.sliding_window_view(rows[r], n_fft)[::hop_length][:count]
        for t0 in range(0, count, block):
            X = scipy.fft.rfft(frames[t0 : t0 + block] * win, axis=-1, workers=-1)
            parts = X.view(np.float64)  # interleaved real, imag
            np.square(parts, out=parts)
            P = parts[:, 0::2] + parts[:, 1::2]
            if power == 1.0:
                np.sqrt(P, out=P)
            elif power != 2.0:
                np.power(P, power / 2.0, out=P)
            out[r, t0 : t0 + block] = P if project is None else P @ project64
    return out.reshape(*lead, count, width)


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
        y = y * filters.get_window(window, y.shape[-1], dtype=_float_dtype(y))
    mag = np.abs(scipy.fft.rfft(y, n=n, axis=-1, workers=-1)).astype(_float_dtype(y), copy=False)
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
    dtype = _float_dtype(S)
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
    return (ref * np.power(10.0, 0.1 * S_db)).astype(_float_dtype(S_db), copy=False)


def db_to_amplitude(S_db: np.ndarray, *, ref: float = 1.0) -> np.ndarray:
    """Inverse of :func:`amplitude_to_db`: ``ref * 10 ** (S_db / 20)``."""
    S_db = np.asarray(S_db)
    return (ref * np.power(10.0, 0.05 * S_db)).astype(_float_dtype(S_db), copy=False)
