"""Frame-wise descriptors: RMS, zero-crossing rate, and the spectral centroid, bandwidth,
rolloff, flatness and contrast, as ``librosa.feature``'s.

Each returns ``(..., 1, n_frames)`` (contrast: ``(..., n_bands + 1, n_frames)``), batched over
leading axes, float32 in -> float32 out (the reductions run in float64).  The spectral ones take
an audio signal ``y`` or a magnitude spectrogram ``S`` (as librosa does), resolved in one place,
:func:`_magnitude`; the frames are those of :func:`tympan.dsp.stft` (``n_fft``, ``hop_length``,
``center``, ...), so they line up with the mel spectrogram computed with the same settings.
"""

from __future__ import annotations

import itertools

import numpy as np

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp.frames import frame
from tympan.dsp.spectrum import PAD_MODES, power_to_db, spectrogram
from tympan.errors import ParameterError


def _out_dtype(a: np.ndarray) -> np.dtype:
    return np.dtype(np.float64) if a.dtype == np.float64 else np.dtype(np.float32)


def _magnitude(y, S, *, n_fft, hop_length, win_length, window, center, pad_mode):
    """``(S as float64, n_fft, output dtype)`` from a signal or a magnitude spectrogram."""
    if (y is None) == (S is None):
        raise ParameterError("pass exactly one of y (audio) or S (a magnitude spectrogram)")
    if S is not None:
        S = np.asarray(S)
        if S.ndim < 2 or np.iscomplexobj(S):
            raise ParameterError(
                f"S must be a real magnitude spectrogram (..., 1 + n_fft // 2, frames), got "
                f"{S.dtype} of shape {S.shape}; pass np.abs(stft) for a complex STFT")
        if np.any(S < 0):
            raise ParameterError("S must be non-negative (a magnitude spectrogram), found values < 0")
        return S.astype(np.float64), 2 * (S.shape[-2] - 1), _out_dtype(S)
    dtype = _out_dtype(np.asarray(y))
    mag = spectrogram(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                      center=center, pad_mode=pad_mode, power=1.0)
    return mag.astype(np.float64), n_fft, dtype


def _l1_normalized(S: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Each frame divided by its sum; frames summing below ``tiny(dtype)`` are left as they are
    (``librosa.util.normalize(S, norm=1, axis=-2)``), so silence has centroid 0."""
    total = S.sum(axis=-2, keepdims=True)
    return S / np.where(total < np.finfo(dtype).tiny, 1.0, total)


def _centroid(S: np.ndarray, freq: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.einsum("f,...ft->...t", freq, _l1_normalized(S, dtype))[..., None, :]


# ------------------------------------------------------------------------- time domain
def rms(
    y: np.ndarray | None = None,
    *,
    S: np.ndarray | None = None,
    frame_length: int = 2048,
    hop_length: int = 512,
    center: bool = True,
    pad_mode: str = "constant",
) -> np.ndarray:
    """Root-mean-square of each frame, ``(..., 1, n_frames)``, as ``librosa.feature.rms``.

    From ``y``: the frames (no window) of the signal padded by ``frame_length // 2`` on both
    sides when ``center``.  From ``S`` (an STFT or its magnitude, ``(..., 1 + frame_length //
    2, frames)``): Parseval, ``sqrt(2 * sum |S|^2 / frame_length^2)`` with the DC (and Nyquist,
    for even ``frame_length``) bins counted half.
    """
    frame_length = v.positive_int("frame_length", frame_length)
    hop_length = v.positive_int("hop_length", hop_length)
    if (y is None) == (S is None):
        raise ParameterError("pass exactly one of y (audio) or S (a spectrogram)")
    if S is not None:
        S = np.asarray(S)
        if S.ndim < 2 or S.shape[-2] != frame_length // 2 + 1:
            raise ParameterError(
                f"frame_length={frame_length} needs S with {frame_length // 2 + 1} bins on axis -2, "
                f"got shape {S.shape}")
        x = np.abs(S).astype(np.float64) ** 2
        x[..., 0, :] *= 0.5
        if frame_length % 2 == 0:
            x[..., -1, :] *= 0.5
        power = 2.0 * x.sum(axis=-2, keepdims=True) / frame_length**2
        dtype = np.dtype(np.float64) if S.dtype in (np.float64, np.complex128) else np.dtype(np.float32)
        return np.sqrt(power).astype(dtype, copy=False)
    y = v.valid_audio(y)
    v.choice("pad_mode", pad_mode, PAD_MODES)
    dtype = _out_dtype(y)
    y = y.astype(np.float64)
    if center:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(frame_length // 2, frame_length // 2)],
                   mode=pad_mode)
    frames = frame(y, frame_length=frame_length, hop_length=hop_length)
    return np.sqrt(np.mean(np.square(frames), axis=-2, keepdims=True)).astype(dtype, copy=False)


def zero_crossing_rate(
    y: np.ndarray,
    *,
    frame_length: int = 2048,
    hop_length: int = 512,
    center: bool = True,
    threshold: float = 1e-10,
) -> np.ndarray:
    """Fraction of sign changes per frame, ``(..., 1, n_frames)``, as
    ``librosa.feature.zero_crossing_rate``.

    Samples with ``|y| <= threshold`` count as 0, and 0 counts as positive; a frame's crossings
    are those between its consecutive samples, divided by ``frame_length``.  With ``center`` the
    signal is padded by repeating its edge samples (librosa's choice).  A sine of frequency
    ``f`` gives about ``2 f / sr``.
    """
    frame_length = v.positive_int("frame_length", frame_length)
    hop_length = v.positive_int("hop_length", hop_length)
    threshold = v.non_negative_number("threshold", threshold)
    y = v.valid_audio(y)
    dtype = _out_dtype(y)
    if center:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(frame_length // 2, frame_length // 2)], mode="edge")
    negative = np.signbit(np.where(np.abs(y) <= threshold, 0.0, y))
    change = np.zeros(y.shape, dtype=np.uint8)
    change[..., 1:] = negative[..., 1:] != negative[..., :-1]
    frames = frame(change, frame_length=frame_length, hop_length=hop_length)
    count = frames[..., 1:, :].sum(axis=-2, keepdims=True, dtype=np.int64)  # within the frame
    return (count / frame_length).astype(dtype)


# ---------------------------------------------------------------------------- spectral
def spectral_centroid(
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
) -> np.ndarray:
    """Magnitude-weighted mean frequency in Hz, ``(..., 1, n_frames)``, as
    ``librosa.feature.spectral_centroid``; a silent frame gives 0."""
    S, n_fft, dtype = _magnitude(y, S, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                 window=window, center=center, pad_mode=pad_mode)
    freq = filters.fft_frequencies(sr=sr, n_fft=n_fft)
    return _centroid(S, freq, dtype).astype(dtype, copy=False)


def spectral_bandwidth(
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
    norm: bool = True,
    p: float = 2.0,
) -> np.ndarray:
    """``(sum_f S[f] |f - centroid| ** p) ** (1 / p)`` in Hz, ``(..., 1, n_frames)``, as
    ``librosa.feature.spectral_bandwidth`` (``norm``: each frame's ``S`` summing to 1)."""
    p = v.positive_number("p", p)
    S, n_fft, dtype = _magnitude(y, S, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                 window=window, center=center, pad_mode=pad_mode)
    freq = filters.fft_frequencies(sr=sr, n_fft=n_fft)
    deviation = np.abs(freq[:, None] - _centroid(S, freq, dtype))
    weights = _l1_normalized(S, dtype) if norm else S
    bw = np.sum(weights * deviation**p, axis=-2, keepdims=True) ** (1.0 / p)
    return bw.astype(dtype, copy=False)


def spectral_rolloff(
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
    roll_percent: float = 0.85,
) -> np.ndarray:
    """Frequency in Hz of the lowest bin at which the cumulative magnitude reaches
    ``roll_percent`` of the frame's total, ``(..., 1, n_frames)``, as
    ``librosa.feature.spectral_rolloff``; a silent frame gives 0."""
    roll_percent = v.positive_number("roll_percent", roll_percent)
    if roll_percent >= 1.0:
        raise ParameterError(f"roll_percent must lie in (0, 1), got {roll_percent!r}")
    S, n_fft, dtype = _magnitude(y, S, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                 window=window, center=center, pad_mode=pad_mode)
    freq = filters.fft_frequencies(sr=sr, n_fft=n_fft)
    total = np.cumsum(S, axis=-2)
    reached = total >= roll_percent * total[..., -1:, :]
    return freq[np.argmax(reached, axis=-2)][..., None, :].astype(dtype)


def spectral_flatness(
    y: np.ndarray | None = None,
    *,
    S: np.ndarray | None = None,
    n_fft: int = 2048,
    hop_length: int = 512,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    pad_mode: str = "constant",
    amin: float = 1e-10,
    power: float = 2.0,
) -> np.ndarray:
    """Geometric over arithmetic mean of ``max(amin, S ** power)``, ``(..., 1, n_frames)``, as
    ``librosa.feature.spectral_flatness``: near 1 for white noise, near 0 for a tone."""
    amin = v.positive_number("amin", amin)
    power = v.positive_number("power", power)
    S, _, dtype = _magnitude(y, S, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                             window=window, center=center, pad_mode=pad_mode)
    P = np.maximum(amin, S**power)
    gmean = np.exp(np.mean(np.log(P), axis=-2, keepdims=True))
    return (gmean / np.mean(P, axis=-2, keepdims=True)).astype(dtype, copy=False)


def _contrast_bands(freq: np.ndarray, *, sr: float, fmin: float, n_bands: int):
    """librosa's octave bands: for each, a boolean mask of its bins and whether to drop the last.

    Band 0 is ``[0, fmin]``, band ``k`` ``[fmin 2^(k-1), fmin 2^k]`` plus the bin just below, and
    the last band runs to the Nyquist frequency.
    """
    edges = np.zeros(n_bands + 2)
    edges[1:] = fmin * 2.0 ** np.arange(n_bands + 1)
    if np.any(edges[:-1] >= 0.5 * sr):
        raise ParameterError(
            f"fmin={fmin} with n_bands={n_bands} puts a band edge ({edges[-2]:g} Hz) at or above "
            f"sr/2 = {0.5 * sr:g}; reduce fmin or n_bands")
    bands = []
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        mask = (freq >= lo) & (freq <= hi)
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            raise ParameterError(
                f"spectral_contrast band {k} ({lo:g}-{hi:g} Hz) holds no FFT bin at n_fft="
                f"{2 * (freq.size - 1)}; raise n_fft or fmin")
        if k > 0:
            mask[idx[0] - 1] = True
        if k == n_bands:
            mask[idx[-1] + 1 :] = True
        bands.append((mask, k < n_bands))
    return bands


def spectral_contrast(
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
    fmin: float = 200.0,
    n_bands: int = 6,
    quantile: float = 0.02,
    linear: bool = False,
) -> np.ndarray:
    """Peak-to-valley contrast per octave band, ``(..., n_bands + 1, n_frames)``, as
    ``librosa.feature.spectral_contrast``.

    In each band the mean of the top and of the bottom ``quantile`` of the magnitudes (at least
    one bin each); the contrast is ``power_to_db(peak) - power_to_db(valley)`` (librosa applies
    ``power_to_db`` to magnitudes), with ``top_db=80`` taken **per example** (librosa takes it
    over the whole array, the same thing for one example), or ``peak - valley`` if ``linear``.
    """
    fmin = v.positive_number("fmin", fmin)
    n_bands = v.positive_int("n_bands", n_bands)
    quantile = v.positive_number("quantile", quantile)
    if quantile >= 1.0:
        raise ParameterError(f"quantile must lie in (0, 1), got {quantile!r}")
    S, n_fft, dtype = _magnitude(y, S, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                 window=window, center=center, pad_mode=pad_mode)
    freq = filters.fft_frequencies(sr=sr, n_fft=n_fft)
    bands = _contrast_bands(freq, sr=float(sr), fmin=fmin, n_bands=n_bands)
    shape = (*S.shape[:-2], n_bands + 1, S.shape[-1])
    peak, valley = np.zeros(shape), np.zeros(shape)
    for k, (mask, drop_last) in enumerate(bands):
        sub = S[..., mask, :]
        if drop_last:
            sub = sub[..., :-1, :]
        n = max(1, int(np.rint(quantile * np.count_nonzero(mask))))
        ordered = np.sort(sub, axis=-2)
        valley[..., k, :] = ordered[..., :n, :].mean(axis=-2)
        peak[..., k, :] = ordered[..., -n:, :].mean(axis=-2)
    if linear:
        return (peak - valley).astype(dtype)
    return (power_to_db(peak) - power_to_db(valley)).astype(dtype)
