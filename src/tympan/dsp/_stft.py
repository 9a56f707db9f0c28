"""The STFT engine shared by ``spectrum``, ``features`` and ``tonal`` (private to ``tympan.dsp``).

Frames are laid out ``(..., frames, bins)`` here so that the FFT and the filterbank products run
over contiguous memory; the public functions turn that into ``(..., bins, frames)`` (librosa's
layout) with :func:`to_public` only.  ``PAD_MODES`` and :func:`resolve_stft_params` are public
as ``tympan.dsp.spectrum.PAD_MODES`` and ``tympan.dsp.spectrum.resolve_stft_params``.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp.frames import n_frames
from tympan.errors import ParameterError

PAD_MODES = ("constant", "reflect", "edge", "symmetric", "wrap")


def float_dtype(y: np.ndarray) -> np.dtype:
    return np.dtype(np.float64) if y.dtype == np.float64 else np.dtype(np.float32)


def to_public(tf: np.ndarray) -> np.ndarray:
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


def checked_signal(y, pad_mode) -> np.ndarray:
    y = v.valid_audio(y)
    v.choice("pad_mode", pad_mode, PAD_MODES)
    if y.shape[-1] == 0:
        raise ParameterError(f"y must contain at least one sample, got shape {y.shape}")
    return y.astype(float_dtype(y), copy=False)


def padded_signal(y, *, n_fft, hop_length, win_length, window, center, pad_mode):
    """The checked signal (padded by ``n_fft // 2`` each side when ``center``), the float64
    window zero-padded to ``n_fft``, and the frame count (from :func:`n_frames`)."""
    y = checked_signal(y, pad_mode)
    count = n_frames(y.shape[-1], n_fft=n_fft, hop_length=hop_length, center=center)
    if center:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(n_fft // 2, n_fft // 2)], mode=pad_mode)
    return y, filters.get_window(window, win_length, n_fft=n_fft, dtype=np.float64), count


def stft_tf(y, *, n_fft, hop_length, win_length, window, center, pad_mode) -> np.ndarray:
    """Complex STFT laid out ``(..., frames, 1 + n_fft // 2)``."""
    y, win, count = padded_signal(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                  window=window, center=center, pad_mode=pad_mode)
    dtype = float_dtype(y)
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft, axis=-1)
    frames = frames[..., : (count - 1) * hop_length + 1 : hop_length, :]
    # float64 FFT, cast back (as librosa): float32 FFT noise would swamp quiet bins
    complex_out = np.complex128 if dtype == np.float64 else np.complex64
    return scipy.fft.rfft(frames * win, axis=-1, workers=-1).astype(complex_out, copy=False)


def spectrogram_tf(y, *, n_fft, hop_length, win_length, window, center, pad_mode, power,
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
    y, win, count = padded_signal(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                  window=window, center=center, pad_mode=pad_mode)
    dtype = float_dtype(y)
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
