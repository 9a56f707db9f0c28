"""Tonal features: chroma from the STFT or the constant-Q transform, the CQT itself, and the
tuning estimate librosa makes for them.

Each takes ``y`` (audio) or a precomputed spectrogram (``S`` / ``C``) as librosa does.  As in
librosa, ``chroma_stft`` and ``chroma_cqt`` default to ``tuning=None``: the deviation from A440
is estimated from the signal (:func:`estimate_tuning`: :func:`piptrack`, then
:func:`pitch_tuning`), one estimate per signal of a batch.  Pass ``tuning=0.0`` for A440
without estimation, the same features for every clip, as a Keras layer computes them (a model's
recipe fixes the tuning once, from its training clips: ``tympan.models.fit_feature_params``).
``cqt`` keeps ``tuning=0.0`` as its default.
"""

from __future__ import annotations

import warnings

import numpy as np

from tympan import _validate as v
from tympan.dsp import constantq as _cqt
from tympan.dsp import filters
from tympan.dsp._stft import checked_signal, float_dtype, spectrogram_tf, to_public
from tympan.dsp.frames import n_frames
from tympan.dsp.spectrum import PAD_MODES
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


# ------------------------------------------------------------------------------------ tuning
def _parabolic_shift(S: np.ndarray) -> np.ndarray:
    """librosa's parabolic interpolation along the last axis: the offset ``-b / a`` of the
    parabola through each bin and its two neighbours (0 at the edges and where it would move by
    a bin or more), in the arithmetic of librosa's numba stencil."""
    left, mid, right = S[..., :-2], S[..., 1:-1], S[..., 2:]
    a = (right + left).astype(np.float64) - 2 * mid.astype(np.float64)
    b = (right - left).astype(np.float64) / 2
    shift = np.zeros_like(S)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift[..., 1:-1] = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    return shift


def _local_max(x: np.ndarray) -> np.ndarray:
    """``librosa.util.localmax`` along the last axis: ``x[n] > x[n-1]`` and ``x[n] >= x[n+1]``;
    never the first bin, the last one when it is above its neighbour."""
    out = np.zeros(x.shape, dtype=bool)
    out[..., 1:-1] = (x[..., 1:-1] > x[..., :-2]) & (x[..., 1:-1] >= x[..., 2:])
    out[..., -1] = x[..., -1] > x[..., -2]
    return out


def _piptrack_tf(S: np.ndarray, *, sr: float, n_fft: int, fmin: float, fmax: float,
                 threshold: float, ref) -> tuple[np.ndarray, np.ndarray]:
    """:func:`piptrack` on a magnitude ``(..., frames, bins)``, in that layout."""
    S = np.abs(S)
    freqs = filters.fft_frequencies(sr=sr, n_fft=n_fft)
    dskew = 0.5 * np.gradient(S, axis=-1) * (shift := _parabolic_shift(S))
    if ref is None:
        ref = np.max
    if callable(ref):  # called like librosa's, on the (..., bins, frames) layout
        ref_value = np.expand_dims(threshold * ref(np.swapaxes(S, -1, -2), axis=-2), -1)
    else:
        ref_value = np.abs(ref)
    in_band = (max(fmin, 0.0) <= freqs) & (freqs < min(fmax, sr / 2.0))
    peaks = in_band & _local_max(S * (S > ref_value))
    pitches, mags = np.zeros_like(S), np.zeros_like(S)
    bins = np.broadcast_to(np.arange(S.shape[-1]), S.shape)
    pitches[peaks] = (bins[peaks] + shift[peaks]) * float(sr) / n_fft
    mags[peaks] = S[peaks] + dskew[peaks]
    return pitches, mags


def _magnitude_tf(y, S, *, n_fft, hop_length, win_length, window, center, pad_mode):
    """``(S as (..., frames, bins), n_fft)``: ``|STFT(y)|``, or ``S`` transposed."""
    if (y is None) == (S is None):
        raise ParameterError("pass exactly one of y (audio) or S (a spectrogram)")
    if S is not None:
        S = np.asarray(S)
        if S.ndim < 2 or S.shape[-2] < 2 or not np.issubdtype(S.dtype, np.number):
            raise ParameterError(f"S must be a (..., 1 + n_fft // 2, frames) spectrogram, got "
                                 f"{S.dtype} {S.shape}")
        return np.swapaxes(S, -1, -2), 2 * (S.shape[-2] - 1)
    n_fft = v.positive_int("n_fft", n_fft)
    return spectrogram_tf(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                          window=window, center=center, pad_mode=pad_mode, power=1.0), n_fft


def _check_piptrack(sr, fmin, fmax, threshold, ref):
    sr = v.positive_number("sr", sr)
    fmin, fmax = v.non_negative_number("fmin", fmin), v.positive_number("fmax", fmax)
    if fmin >= min(fmax, sr / 2.0):
        raise ParameterError(f"fmin={fmin} must be below fmax={fmax} and below sr / 2 = {sr / 2}")
    threshold = v.non_negative_number("threshold", threshold)
    if ref is not None and not callable(ref):
        v.non_negative_number("ref", ref)
    return sr, fmin, fmax, threshold


def piptrack(
    y: np.ndarray | None = None,
    *,
    sr: float = 22050,
    S: np.ndarray | None = None,
    n_fft: int = 2048,
    hop_length: int | None = None,
    fmin: float = 150.0,
    fmax: float = 4000.0,
    threshold: float = 0.1,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    pad_mode: str = "constant",
    ref=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pitch tracking on the thresholded, parabolically interpolated STFT, as ``librosa.piptrack``.

    ``S`` is a magnitude or power spectrogram ``(..., 1 + n_fft // 2, frames)`` (else
    ``|stft(y)|``).  A bin is a pitch where it is a local maximum over frequency of the
    spectrum with every value below ``threshold * ref`` zeroed (``ref``: None, each frame's
    maximum; a number; or a function such as ``np.mean`` called with ``axis=-2``) and its
    frequency is in ``[fmin, fmax)``.  Returns ``(pitches, magnitudes)``, both shaped like
    ``S``: the interpolated frequency in Hz and magnitude at each pitch, 0 elsewhere.
    """
    sr, fmin, fmax, threshold = _check_piptrack(sr, fmin, fmax, threshold, ref)
    S_tf, n_fft = _magnitude_tf(y, S, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                window=window, center=center, pad_mode=pad_mode)
    pitches, mags = _piptrack_tf(S_tf, sr=sr, n_fft=n_fft, fmin=fmin, fmax=fmax,
                                 threshold=threshold, ref=ref)
    return to_public(pitches), to_public(mags)


def _check_resolution(resolution, bins_per_octave) -> tuple[float, int]:
    resolution = v.positive_number("resolution", resolution)
    if resolution >= 1:
        raise ParameterError(f"resolution must be in (0, 1) (a fraction of a bin), got {resolution}")
    return resolution, v.positive_int("bins_per_octave", bins_per_octave)


def _tuning_or_nan(frequencies: np.ndarray, resolution: float, bins_per_octave: int) -> float:
    """The histogram peak of :func:`pitch_tuning`; NaN when no frequency is above 0."""
    frequencies = frequencies[frequencies > 0]
    if frequencies.size == 0:
        return float("nan")
    # in the frequencies' own precision, as librosa (hz_to_octs: log2(f / (440 / 16)))
    residual = np.mod(bins_per_octave * np.log2(frequencies / (440.0 / 16)), 1.0)
    residual[residual >= 0.5] -= 1.0  # 0.95 of a bin is -0.05 from the next one up
    counts, edges = np.histogram(residual, np.linspace(-0.5, 0.5, int(np.ceil(1.0 / resolution)) + 1))
    return float(edges[np.argmax(counts)])


def pitch_tuning(frequencies, *, resolution: float = 0.01, bins_per_octave: int = 12) -> float:
    """Tuning offset from A440 (fractions of a bin, in ``[-0.5, 0.5)``) of a collection of
    frequencies, as ``librosa.pitch_tuning``: the peak of the histogram, ``resolution`` wide
    bins, of each frequency's distance to its nearest bin.  No frequency above 0: 0.0, with a
    warning."""
    resolution, bins_per_octave = _check_resolution(resolution, bins_per_octave)
    tuning = _tuning_or_nan(np.atleast_1d(np.asarray(frequencies)).ravel(), resolution,
                            bins_per_octave)
    if np.isnan(tuning):
        warnings.warn("pitch_tuning: no frequency above 0 to estimate the tuning from; "
                      "returning 0.0", UserWarning, stacklevel=2)
        return 0.0
    return tuning


def _estimate_tuning_tf(S_tf: np.ndarray, *, sr: float, n_fft: int, resolution: float = 0.01,
                        bins_per_octave: int = 12, fmin: float = 150.0, fmax: float = 4000.0,
                        threshold: float = 0.1, ref=None):
    """:func:`estimate_tuning` of each signal of a spectrogram ``(..., frames, bins)``: a float
    for one signal, else an array shaped like the leading axes."""
    pitches, mags = _piptrack_tf(S_tf, sr=sr, n_fft=n_fft, fmin=fmin, fmax=fmax,
                                 threshold=threshold, ref=ref)
    lead = S_tf.shape[:-2]
    pitches = pitches.reshape(-1, S_tf.shape[-2] * S_tf.shape[-1])
    mags = mags.reshape(pitches.shape)
    out = np.empty(len(pitches))
    for i, (p, m) in enumerate(zip(pitches, mags, strict=True)):
        pitched = p > 0
        floor = np.median(m[pitched]) if pitched.any() else 0.0  # the stronger half of the peaks
        out[i] = _tuning_or_nan(p[(m >= floor) & pitched], resolution, bins_per_octave)
    missing = np.isnan(out)
    if missing.any():
        which = "the signal has" if out.size == 1 else f"{missing.sum()} of {out.size} signals have"
        warnings.warn(f"estimate_tuning: {which} no spectral peak between fmin={fmin} and "
                      f"fmax={fmax} Hz to estimate the tuning from (silence?); tuning 0.0 used",
                      UserWarning, stacklevel=3)
        out[missing] = 0.0
    return float(out[0]) if not lead else out.reshape(lead)


def estimate_tuning(
    y: np.ndarray | None = None,
    *,
    sr: float = 22050,
    S: np.ndarray | None = None,
    n_fft: int = 2048,
    resolution: float = 0.01,
    bins_per_octave: int = 12,
    hop_length: int | None = None,
    fmin: float = 150.0,
    fmax: float = 4000.0,
    threshold: float = 0.1,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    pad_mode: str = "constant",
    ref=None,
):
    """Tuning deviation from A440, in fractions of a bin in ``[-0.5, 0.5)``, as
    ``librosa.estimate_tuning``.

    :func:`piptrack` finds the spectral peaks of ``y`` (or of ``S``, a magnitude or power
    spectrogram ``(..., 1 + n_fft // 2, frames)``); the peaks at least as strong as their
    median go to :func:`pitch_tuning` (histogram bins ``resolution`` wide, ``bins_per_octave``
    bins per octave).  The remaining keywords are :func:`piptrack`'s.

    One signal gives a float.  A batch ``(..., samples)`` (or ``(..., bins, frames)``) gives one
    estimate per signal, shaped like the leading axes: the signals are independent clips
    (librosa pools the channels of a multi-channel signal into one estimate).  A signal with no
    peak between ``fmin`` and ``fmax`` (silence) gets 0.0, with a warning.
    """
    sr, fmin, fmax, threshold = _check_piptrack(sr, fmin, fmax, threshold, ref)
    resolution, bins_per_octave = _check_resolution(resolution, bins_per_octave)
    S_tf, n_fft = _magnitude_tf(y, S, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                window=window, center=center, pad_mode=pad_mode)
    return _estimate_tuning_tf(S_tf, sr=sr, n_fft=n_fft, resolution=resolution,
                               bins_per_octave=bins_per_octave, fmin=fmin, fmax=fmax,
                               threshold=threshold, ref=ref)


def _per_tuning(x: np.ndarray, tuning, n_trailing: int, compute) -> np.ndarray:
    """``compute(rows, tuning)`` for the signals of ``x`` (leading axes, then ``n_trailing``
    axes) that share each distinct value of ``tuning`` (one per signal), put back in order; a
    single call when they all share one."""
    values = np.unique(tuning)
    if values.size == 1:
        return compute(x, float(values[0]))
    lead = x.shape[: x.ndim - n_trailing]
    rows = x.reshape(-1, *x.shape[x.ndim - n_trailing :])
    flat = tuning.reshape(-1)
    out = None
    for value in values:
        pick = flat == value
        part = compute(rows[pick], float(value))
        if out is None:
            out = np.empty((rows.shape[0], *part.shape[1:]), dtype=part.dtype)
        out[pick] = part
    return out.reshape(*lead, *out.shape[1:])


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
    tuning: float | None = None,
    n_chroma: int = 12,
    ctroct: float = 5.0,
    octwidth: float | None = 2,
    base_c: bool = True,
) -> np.ndarray:
    """Chromagram ``(..., n_chroma, n_frames)`` from the power STFT, as ``librosa.feature.chroma_stft``.

    The power spectrogram (or ``S``, a power spectrogram ``(..., 1 + n_fft // 2, frames)``, used
    as is) is projected by :func:`tympan.dsp.filters.chroma` (``ctroct``, ``octwidth``,
    ``base_c`` are its arguments) and each frame is normalised by ``norm`` (``np.inf``: its
    maximum is 1; ``None``: not normalised).  ``tuning`` (fractions of a chroma bin from A440)
    defaults to None, librosa's: estimated from that power spectrogram by
    :func:`estimate_tuning` with ``bins_per_octave=n_chroma``, for each signal of a batch on
    its own.  ``tuning=0.0``: A440, no estimation.
    """
    filters.check_norm("norm", norm)
    sr, n_chroma = v.positive_number("sr", sr), v.positive_int("n_chroma", n_chroma)
    if (y is None) == (S is None):
        raise ParameterError("pass exactly one of y (audio) or S (a power spectrogram)")
    if S is not None:
        S = np.asarray(S)
        if S.ndim < 2 or np.iscomplexobj(S):
            raise ParameterError(f"S must be a real (..., 1 + n_fft // 2, frames) array, got "
                                 f"{S.dtype} {S.shape}")
        P = np.swapaxes(S, -1, -2).astype(float_dtype(S), copy=False)
        n_fft = 2 * (S.shape[-2] - 1)
    else:
        P = spectrogram_tf(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                           window=window, center=center, pad_mode=pad_mode, power=2.0)

    def project(power: np.ndarray, value: float) -> np.ndarray:
        fb = filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=value, ctroct=ctroct,
                            octwidth=octwidth, base_c=base_c, dtype=power.dtype)
        # one 2-D product, not one per example or block: BLAS threads start per call, which on
        # a busy machine made many small products 5-10x slower
        return (power.reshape(-1, power.shape[-1]) @ fb.T).reshape(*power.shape[:-1], fb.shape[0])

    if tuning is None:
        project(P[..., :0, :], 0.0)  # the filterbank's arguments checked before the estimate
        tuning = _estimate_tuning_tf(P, sr=sr, n_fft=n_fft, bins_per_octave=n_chroma)
    raw = _per_tuning(P, tuning, 2, project) if isinstance(tuning, np.ndarray) else project(P, tuning)
    return to_public(_normalize_tf(raw, norm))


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
    y = checked_signal(y, pad_mode)
    dtype = float_dtype(y)
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
    return to_public(_cqt_tf(y, sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
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
    tuning: float | None = None,
    n_chroma: int = 12,
    n_octaves: int = 7,
    bins_per_octave: int = 36,
) -> np.ndarray:
    """Chromagram ``(..., n_chroma, n_frames)`` from the CQT magnitude, as ``librosa.feature.chroma_cqt``.

    ``C`` (a CQT magnitude ``(..., n_bins, frames)``), or ``|cqt(y)|`` with ``n_octaves *
    bins_per_octave`` bins from ``fmin``, is folded onto the pitch classes by
    :func:`tympan.dsp.constantq.cq_to_chroma`; values below ``threshold`` become 0 and each frame is
    normalised by ``norm``.  At 8 kHz use ``n_octaves=6`` (7 octaves from C1 pass Nyquist).

    ``tuning`` (fractions of a CQT bin from A440) defaults to None, librosa's: estimated from
    ``y`` as ``librosa.cqt`` does (:func:`estimate_tuning` with its defaults and
    ``bins_per_octave``), for each signal of a batch on its own; ``tuning=0.0``: A440.  With
    ``C`` it is not used.
    """
    filters.check_norm("norm", norm)
    sr = v.positive_number("sr", sr)
    n_octaves = v.positive_int("n_octaves", n_octaves)
    if bins_per_octave % v.positive_int("n_chroma", n_chroma):
        raise ParameterError(
            f"bins_per_octave must be a multiple of n_chroma={n_chroma}, got {bins_per_octave}")
    if (y is None) == (C is None):
        raise ParameterError("pass exactly one of y (audio) or C (a CQT magnitude)")
    if C is None:
        def magnitude(signals: np.ndarray, value: float) -> np.ndarray:
            return np.abs(_cqt_tf(signals, sr=sr, hop_length=hop_length, fmin=fmin,
                                  n_bins=n_octaves * bins_per_octave, bins_per_octave=bins_per_octave,
                                  tuning=value, filter_scale=1.0, norm=1, sparsity=0.01,
                                  window="hann", scale=True, pad_mode="constant"))

        y = checked_signal(y, "constant")
        if tuning is None:  # librosa.cqt's estimate: piptrack's STFT defaults
            mag_stft = spectrogram_tf(y, n_fft=2048, hop_length=512, win_length=None,
                                      window="hann", center=True, pad_mode="constant", power=1.0)
            tuning = _estimate_tuning_tf(mag_stft, sr=sr, n_fft=2048,
                                         bins_per_octave=bins_per_octave)
        mag = (_per_tuning(y, tuning, 1, magnitude) if isinstance(tuning, np.ndarray)
               else magnitude(y, tuning))
    else:
        C = np.asarray(C)
        if C.ndim < 2 or np.iscomplexobj(C):
            raise ParameterError(f"C must be a real CQT magnitude (..., n_bins, frames), got "
                                 f"{C.dtype} {C.shape}")
        mag = np.swapaxes(C, -1, -2).astype(float_dtype(C), copy=False)
    fold = _cqt.cq_to_chroma(mag.shape[-1], bins_per_octave=bins_per_octave, n_chroma=n_chroma,
                             fmin=fmin, dtype=mag.dtype)
    chroma = mag @ fold.T
    if threshold is not None:
        chroma[chroma < threshold] = 0.0
    return to_public(_normalize_tf(chroma, norm))
