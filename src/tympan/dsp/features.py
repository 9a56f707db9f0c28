"""Spectral features: mel spectrogram, MFCC and deltas.

Each takes an audio signal ``y`` or a precomputed spectrogram ``S`` (as librosa does); the
"y or S" choice is resolved in one place, :func:`_mel_tf`.
"""

from __future__ import annotations

import math

import numpy as np

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp._stft import spectrogram_tf, to_public
from tympan.dsp.spectrum import power_to_db
from tympan.errors import ParameterError


def default_n_fft(sr: float) -> int:
    """The power of two nearest to 25 ms: 256 at 8 kHz, 512 at 16-22.05 kHz, 1024 at 44.1-48 kHz."""
    return int(2 ** round(math.log2(0.025 * sr)))


def default_hop_length(sr: float) -> int:
    """10 ms: 80 samples at 8 kHz, 160 at 16 kHz."""
    return max(1, round(0.010 * sr))


def default_n_mels(sr: float) -> int:
    """40 mel bands below 16 kHz (no empty bands with a 32 ms window at 8 kHz), else 64."""
    return 40 if sr < 16000 else 64


def _mel_tf(y, S, *, sr, n_fft, hop_length, win_length, window, center, pad_mode, power, n_mels,
            fmin, fmax, htk, norm) -> np.ndarray:
    """Mel spectrogram laid out ``(..., frames, n_mels)``."""
    if (y is None) == (S is None):
        raise ParameterError("pass exactly one of y (audio) or S (a power spectrogram)")
    if S is not None:
        S = np.asarray(S)
        if S.ndim < 2:
            raise ParameterError(f"S must be (..., 1 + n_fft // 2, frames), got shape {S.shape}")
        dtype = np.float64 if S.dtype == np.float64 else np.float32
        basis = filters.mel(sr=sr, n_fft=2 * (S.shape[-2] - 1), n_mels=n_mels, fmin=fmin,
                            fmax=fmax, htk=htk, norm=norm, dtype=dtype)
        return np.swapaxes(S, -1, -2).astype(dtype, copy=False) @ basis.T
    dtype = np.float64 if np.asarray(y).dtype == np.float64 else np.float32
    basis = filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
                        norm=norm, dtype=dtype)
    return spectrogram_tf(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                          window=window, center=center, pad_mode=pad_mode, power=power,
                          project=basis.T)


def melspectrogram(
    y: np.ndarray | None = None,
    *,
    sr: float = 22050,
    S: np.ndarray | None = None,
    n_fft: int = 2048,
    hop_length: int = 512,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Mel-scaled spectrogram ``(..., n_mels, n_frames)``, equal to ``librosa.feature.melspectrogram``.

    ``S``, if given, is a magnitude-or-power spectrogram ``(..., 1 + n_fft // 2, frames)`` used
    as is (``n_fft`` is taken from its shape).
    """
    return to_public(_mel_tf(y, S, sr=sr, n_fft=n_fft, hop_length=hop_length,
                             win_length=win_length, window=window, center=center,
                             pad_mode=pad_mode, power=power, n_mels=n_mels, fmin=fmin, fmax=fmax,
                             htk=htk, norm=norm))


def mfcc(
    y: np.ndarray | None = None,
    *,
    sr: float = 22050,
    S: np.ndarray | None = None,
    n_mfcc: int = 20,
    dct_type: int = 2,
    norm: str | None = "ortho",
    lifter: float = 0,
    top_db: float | None = 80.0,
    mel_norm: str | None = "slaney",
    **mel_kwargs,
) -> np.ndarray:
    """Mel-frequency cepstral coefficients ``(..., n_mfcc, n_frames)``, as ``librosa.feature.mfcc``.

    From ``y``: ``power_to_db(melspectrogram(y, sr=sr, **mel_kwargs), top_db=top_db)`` (the dB
    clipping per example) then an orthonormal DCT-II over the mel axis.  ``S``, if given, is a
    log-power mel spectrogram ``(..., n_mels, frames)``.  As in librosa, ``norm`` is the DCT's
    normalisation and ``mel_norm`` the mel filterbank's.  The DCT runs in float64 (the first
    coefficient sums n_mels values of a few hundred dB) and is cast back to the input's dtype.
    """
    if dct_type != 2:
        raise ParameterError(f"dct_type must be 2 (DCT-II), got {dct_type!r}")
    if (y is None) == (S is None):
        raise ParameterError("pass exactly one of y (audio) or S (a log-power mel spectrogram)")
    if S is None:
        S = power_to_db(melspectrogram(y, sr=sr, norm=mel_norm, **mel_kwargs), top_db=top_db)
    S = np.asarray(S)
    dtype = np.float64 if S.dtype == np.float64 else np.float32
    basis = filters.dct(n_mfcc, S.shape[-2], norm=norm, dtype=np.float64)
    out = basis @ S.astype(np.float64)
    if lifter:
        lifter = v.positive_number("lifter", lifter)
        out *= filters.lifter_weights(n_mfcc, lifter, dtype=np.float64)[:, None]
    return out.astype(dtype, copy=False)


def delta(data: np.ndarray, *, width: int = 9, order: int = 1, axis: int = -1) -> np.ndarray:
    """Local derivative of a feature sequence by Savitzky-Golay filtering (librosa's ``delta``).

    The edges are handled by polynomial fits (``mode="interp"``), so the sequence along ``axis``
    needs at least ``width`` frames.
    """
    filters.delta_operator(width, order)  # validates width and order
    data = np.asarray(data)
    if not -data.ndim <= axis < data.ndim:
        raise ParameterError(f"axis {axis} is out of range for data of shape {data.shape}")
    if data.shape[axis] < width:
        raise ParameterError(
            f"delta needs at least width={width} frames along axis {axis}, got {data.shape[axis]}; "
            "use a smaller odd width"
        )
    dtype = np.float64 if data.dtype == np.float64 else np.float32
    import scipy.signal  # lazily: importing it costs ~0.8 s (see filters._cached_window)

    out = scipy.signal.savgol_filter(data, width, deriv=order, polyorder=order, axis=axis,
                                     mode="interp")
    return out.astype(dtype, copy=False)
