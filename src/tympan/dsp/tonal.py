"""Tonal features: chroma from the STFT or the constant-Q transform, and the CQT itself.

Each takes ``y`` (audio) or a precomputed spectrogram (``S`` / ``C``) as librosa does.  Unlike
librosa, whose default ``tuning=None`` estimates the pitch tuning from the signal, tympan's
default is ``tuning=0.0`` (A440, no estimation): the same features for every clip, and what a
Keras layer can reproduce.  Compare with librosa called with ``tuning=0``.
"""

from __future__ import annotations

import numpy as np

from tympan import _validate as v
from tympan.dsp import constantq as _cqt
from tympan.dsp import filters
from tympan.dsp.frames import n_frames
from tympan.dsp.spectrum import PAD_MODES, _checked_signal, _float_dtype, _spectrogram_tf, _to_public
from tympan.errors import ParameterError


def _normalize_tf(x: np.ndarray, norm) -> np.ndarray:
    """``librosa.util.normalize`` over the last axis (``fill=None``): a frame whose norm is
    below the dtype's smallest normal number is left as it is."""
    norm = filters.check_norm("norm", norm)
    if norm is None:
        return x
    mag = np.abs(x).astype(np.float64)
    length = mag.max(axis=-1, keepdims=True) if np.isinf(norm) else (
        np.sum(mag**norm, axis=-1, keepdims=True) ** (1.0 / norm))
    length[length < np.finfo(x.dtype).tiny] = 1.0
    return (x / length).astype(x.dtype, copy=False)


# ------------------------------------------------------------------------------ chroma_stft
def chroma_stft(
    y: np.ndarray | None = None,
    *,
    sr: float = 22050,
    S: np.ndarray | None = None,
    norm: float | None = np.inf,
    n_fft: int = 2048,
    hop_length: int = 512,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    pad_mode: str = "constant",
    tuning: float = 0.0,
    n_chroma: int = 12,
    ctroct: float = 5.0,
    octwidth: float | None = 2,
    base_c: bool = True,
) -> np.ndarray:
    """Chromagram ``(..., n_chroma, n_frames)`` from the power STFT, as ``librosa.feature.chroma_stft``.

    The power spectrogram (or ``S``, a power spectrogram ``(..., 1 + n_fft // 2, frames)``, used
    as is) is projected by :func:`tympan.dsp.filters.chroma` (``ctroct``, ``octwidth``,
    ``base_c`` are its arguments) and each frame is normalised by ``norm`` (``np.inf``: its
    maximum is 1; ``None``: not normalised).  ``tuning`` defaults to 0 (no estimation).
    """
    filters.check_norm("norm", norm)
    if (y is None) == (S is None):
        raise ParameterError("pass exactly one of y (audio) or S (a power spectrogram)")
    if S is not None:
        S = np.asarray(S)
        if S.ndim < 2 or np.iscomplexobj(S):
            raise ParameterError(f"S must be a real (..., 1 + n_fft // 2, frames) array, got "
                                 f"{S.dtype} {S.shape}")
        P = np.swapaxes(S, -1, -2).astype(_float_dtype(S), copy=False)
        n_fft = 2 * (S.shape[-2] - 1)
    else:
        P = _spectrogram_tf(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                            window=window, center=center, pad_mode=pad_mode, power=2.0)
    fb = filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning, ctroct=ctroct,
                        octwidth=octwidth, base_c=base_c, dtype=P.dtype)
    # one 2-D product, not one per example or block: BLAS threads start per call, which on a
    # busy machine made many small products 5-10x slower
    raw = (P.reshape(-1, P.shape[-1]) @ fb.T).reshape(*P.shape[:-1], fb.shape[0])
    return _to_public(_normalize_tf(raw, norm))


# -------------------------------------------------------------------------------------- CQT
def _halve(x: np.ndarray, lowpass: np.ndarray) -> np.ndarray:
    """Low-pass filter ``x`` (rows, n) with the zero-phase half-band FIR ``lowpass`` and keep the
    even samples: ``ceil(n / 2)`` samples.  Equal to ``scipy.signal.resample_poly(x, 1, 2,
    window=lowpass)`` (and to the layer's strided convolution), at half the cost: apart from
    its centre, the filter's taps at even offsets are zero, so each output is the centre tap
    times an even sample plus one short correlation over the odd samples."""
    import scipy.ndimage  # lazily, as scipy.signal (see filters._cached_window)

    centre = len(lowpass) // 2
    even, odd = x[:, 0::2], x[:, 1::2]
    if odd.shape[1] < even.shape[1]:
        odd = np.pad(odd, [(0, 0), (0, 1)])
    taps = np.asarray(lowpass[(centre + 1) % 2 :: 2], dtype=x.dtype)  # the odd offsets
    out = scipy.ndimage.correlate1d(odd, taps, axis=-1, mode="constant")
    out += lowpass[centre] * even
    return out


def _cqt_tf(y, *, sr, hop_length, fmin, n_bins, bins_per_octave, tuning, filter_scale, norm,
            sparsity, window, scale, pad_mode) -> np.ndarray:
    """Complex CQT laid out ``(..., frames, n_bins)``.

    Runs in the input's precision (float32 for float32 audio, as librosa's complex64 CQT);
    the kernels are built in float64.
    """
    plan = _cqt.cqt_kernels(sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
                            bins_per_octave=bins_per_octave, tuning=tuning,
                            filter_scale=filter_scale, norm=norm, sparsity=sparsity,
                            window=window, scale=scale)
    y = _checked_signal(y, pad_mode)
    dtype = _float_dtype(y)
    lead, n = y.shape[:-1], y.shape[-1]
    count = n_frames(n, n_fft=plan.octaves[0].n_fft, hop_length=hop_length, center=True)
    x = y.reshape(-1, n)
    rows = x.shape[0]
    for _ in range(plan.early_halvings):
        x = _halve(x, plan.lowpass)
    out = np.empty((rows, count, n_bins), dtype=np.complex128 if dtype == np.float64 else np.complex64)
    top = n_bins
    for octave in plan.octaves:
        if octave.halve:
            x = _halve(x, plan.lowpass)
        half, hop = octave.n_fft // 2, octave.hop_length
        if pad_mode != "constant" and x.shape[-1] <= half:
            raise ParameterError(
                f"pad_mode={pad_mode!r} needs more than {half} samples at every octave, got "
                f"{x.shape[-1]} (signal of {n} samples); use pad_mode='constant' or fewer n_bins")
        xp = np.pad(x, [(0, 0), (half, half)], mode=pad_mode)
        frames = np.lib.stride_tricks.sliding_window_view(xp, octave.n_fft, axis=-1)
        frames = np.ascontiguousarray(frames[:, : (count - 1) * hop + 1 : hop])
        # one matrix product per octave (not one per row: BLAS thread start-up per call)
        resp = frames.reshape(rows * count, -1) @ octave.kernel.astype(dtype, copy=False)
        nf = octave.n_filters
        block = out[:, :, top - nf : top]  # octaves run top-down; bins ascend
        block.real = resp[:, :nf].reshape(rows, count, nf)
        block.imag = resp[:, nf:].reshape(rows, count, nf)
        top -= nf
    return out.reshape(*lead, count, n_bins)


def cqt(
    y: np.ndarray,
    *,
    sr: float = 22050,
    hop_length: int = 512,
    fmin: float | None = None,
    n_bins: int = 84,
    bins_per_octave: int = 12,
    tuning: float = 0.0,
    filter_scale: float = 1.0,
    norm: float | None = 1,
    sparsity: float = 0.01,
    window="hann",
    scale: bool = True,
    pad_mode: str = "constant",
) -> np.ndarray:
    """Constant-Q transform ``(..., n_bins, n_frames)`` complex, as ``librosa.cqt``.

    ``fmin`` defaults to C1 (32.70 Hz); bin ``k`` is centred on ``fmin * 2 ** (k /
    bins_per_octave)`` (times ``2 ** (tuning / bins_per_octave)``).  Frames are centred:
    ``n_frames = 1 + n_samples // hop_length``, as :func:`tympan.dsp.n_frames`.  The same
    multi-rate algorithm and filters as librosa (see :mod:`tympan.dsp.constantq`); the halving
    low-pass is a FIR instead of soxr.  The top bin's filter must stay below ``sr / 2``
    (e.g. at most 83 bins from C1 at 8 kHz).  float32 in, complex64 out.
    """
    v.choice("pad_mode", pad_mode, PAD_MODES)
    return _to_public(_cqt_tf(y, sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
                              bins_per_octave=bins_per_octave, tuning=tuning,
                              filter_scale=filter_scale, norm=norm, sparsity=sparsity,
                              window=window, scale=scale, pad_mode=pad_mode))


def chroma_cqt(
    y: np.ndarray | None = None,
    *,
    sr: float = 22050,
    C: np.ndarray | None = None,
    hop_length: int = 512,
    fmin: float | None = None,
    norm: float | None = np.inf,
    threshold: float = 0.0,
    tuning: float = 0.0,
    n_chroma: int = 12,
    n_octaves: int = 7,
    bins_per_octave: int = 36,
) -> np.ndarray:
    """Chromagram ``(..., n_chroma, n_frames)`` from the CQT magnitude, as ``librosa.feature.chroma_cqt``.

    ``C`` (a CQT magnitude ``(..., n_bins, frames)``), or ``|cqt(y)|`` with ``n_octaves *
    bins_per_octave`` bins from ``fmin``, is folded onto the pitch classes by
    :func:`tympan.dsp.constantq.cq_to_chroma`; values below ``threshold`` become 0 and each frame is
    normalised by ``norm``.  At 8 kHz use ``n_octaves=6`` (7 octaves from C1 pass Nyquist).
    """
    filters.check_norm("norm", norm)
    n_octaves = v.positive_int("n_octaves", n_octaves)
    if bins_per_octave % v.positive_int("n_chroma", n_chroma):
        raise ParameterError(
            f"bins_per_octave must be a multiple of n_chroma={n_chroma}, got {bins_per_octave}")
    if (y is None) == (C is None):
        raise ParameterError("pass exactly one of y (audio) or C (a CQT magnitude)")
    if C is None:
        mag = np.abs(_cqt_tf(y, sr=sr, hop_length=hop_length, fmin=fmin,
                             n_bins=n_octaves * bins_per_octave, bins_per_octave=bins_per_octave,
                             tuning=tuning, filter_scale=1.0, norm=1, sparsity=0.01,
                             window="hann", scale=True, pad_mode="constant"))
    else:
        C = np.asarray(C)
        if C.ndim < 2 or np.iscomplexobj(C):
            raise ParameterError(f"C must be a real CQT magnitude (..., n_bins, frames), got "
                                 f"{C.dtype} {C.shape}")
        mag = np.swapaxes(C, -1, -2).astype(_float_dtype(C), copy=False)
    fold = _cqt.cq_to_chroma(mag.shape[-1], bins_per_octave=bins_per_octave, n_chroma=n_chroma,
                             fmin=fmin, dtype=mag.dtype)
    chroma = mag @ fold.T
    if threshold is not None:
        chroma[chroma < threshold] = 0.0
    return _to_public(_normalize_tf(chroma, norm))
