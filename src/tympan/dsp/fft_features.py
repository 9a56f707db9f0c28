"""FFT magnitude features: the modulus of the FFT, of the whole clip or of frames.

The seed's question, "how do I feed the FFT of a recording to a network?", answered as one
feature: :func:`fft_features` takes the magnitude of the FFT of the whole clip (one vector per
clip, for an MLP) or of frames (``framed=True``: a sequence for Conv1D), keeps the first
``n_bins`` bins or the bins up to ``fmax``, optionally in dB, and normalises each example on its
own.  The Keras layer :class:`tympan.layers.FFTMagnitude` computes the same thing inside a
model, and ``tympan plot spectrum`` draws exactly these values.

Recipe, in order:

1. magnitude ``|X|``: whole clip: the first ``min(len(y), n_fft)`` samples, tapered by
   ``window`` (``None``: none), then ``rfft`` of length ``n_fft`` (zero-padded; default: the
   clip length); framed: :func:`tympan.dsp.spectrogram` with ``power=1``;
2. keep the bins ``0 .. k-1``, where ``k`` is :func:`fft_bin_count`;
3. ``scale="db"``: ``20 log10(max(|X|, 1e-5))``, clipped ``top_db`` below each example's peak;
   ``"linear"``: the magnitude itself;
4. ``normalize="max"``: divide by each example's peak (dB: subtract it, so the peak is 0 dB);
   ``"standard"``: zero mean and unit variance over each example; ``None``: nothing.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp.spectrum import amplitude_to_db, spectrogram
from tympan.errors import ParameterError

SCALES = ("db", "linear")
NORMALIZERS = ("max", "standard", None)
#: amplitude floor of the dB scale (-100 dB), as in :func:`tympan.dsp.amplitude_to_db`
AMIN = 1e-5
#: variance floor of ``normalize="standard"``
EPSILON = 1e-5


def fft_bin_count(*, sr: float, n_fft: int, n_bins: int | None = None,
                  fmax: float | None = None) -> int:
    """How many of the ``1 + n_fft // 2`` bins are kept: the first ``n_bins``, or those whose
    frequency ``k * sr / n_fft`` is at most ``fmax``; all of them when both are None."""
    sr = v.positive_number("sr", sr)
    total = v.positive_int("n_fft", n_fft) // 2 + 1
    if n_bins is not None and fmax is not None:
        raise ParameterError(f"give n_bins or fmax, not both (got n_bins={n_bins!r}, fmax={fmax!r})")
    if n_bins is not None:
        n_bins = v.positive_int("n_bins", n_bins)
        if n_bins > total:
            raise ParameterError(f"n_bins={n_bins} is more than the {total} bins of n_fft={n_fft}")
        return n_bins
    if fmax is not None:
        fmax = v.positive_number("fmax", fmax)
        if fmax > sr / 2:
            raise ParameterError(f"fmax={fmax} is above the Nyquist frequency {sr / 2} (sr={sr})")
        return min(total, int(np.floor(fmax * n_fft / sr + 1e-9)) + 1)
    return total


def check_recipe(scale: str, normalize: str | None, top_db: float | None) -> None:
    """Validate the scaling options shared by :func:`fft_features` and the layer."""
    v.choice("scale", scale, SCALES)
    v.choice("normalize", normalize, NORMALIZERS)
    if top_db is not None:
        v.non_negative_number("top_db", top_db)


def fft_features(
    y: np.ndarray,
    sr: float,
    *,
    n_fft: int | None = None,
    framed: bool = False,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str | None = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    n_bins: int | None = None,
    fmax: float | None = None,
    scale: str = "db",
    top_db: float | None = 80.0,
    normalize: str | None = "max",
) -> np.ndarray:
    """FFT magnitude features of ``y`` (batched over leading axes).

    Whole clip (default): ``(..., k)``; ``framed=True``: ``(..., k, frames)`` with the STFT
    parameters of :func:`tympan.dsp.spectrogram` (``n_fft`` then defaults to 2048).  See the
    module docstring for the recipe and :func:`fft_frequencies_kept` for the bins' frequencies.
    """
    y = v.valid_audio(y)
    sr = v.positive_number("sr", sr)
    check_recipe(scale, normalize, top_db)
    if y.shape[-1] == 0:
        raise ParameterError("y must contain at least one sample, got an empty signal")
    dtype = y.dtype if y.dtype in (np.float32, np.float64) else np.float32
    if framed:
        n_fft = 2048 if n_fft is None else v.positive_int("n_fft", n_fft)
        if window is None:
            raise ParameterError("framed FFT features need a window (e.g. 'hann'), got None")
        mag = spectrogram(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                          window=window, center=center, pad_mode=pad_mode, power=1.0)
        k = fft_bin_count(sr=sr, n_fft=n_fft, n_bins=n_bins, fmax=fmax)
        mag, axes = mag[..., :k, :], (-2, -1)
    else:
        n_fft = y.shape[-1] if n_fft is None else v.positive_int("n_fft", n_fft)
        k = fft_bin_count(sr=sr, n_fft=n_fft, n_bins=n_bins, fmax=fmax)
        seg = y[..., : min(y.shape[-1], n_fft)].astype(np.float64)
        if window is not None:
            seg = seg * filters.get_window(window, seg.shape[-1], dtype=np.float64)
        mag = np.abs(scipy.fft.rfft(seg, n=n_fft, axis=-1, workers=-1))[..., :k]
        axes = (-1,)
    return _scale(mag.astype(dtype, copy=False), axes, scale, top_db, normalize)


def _scale(mag: np.ndarray, axes: tuple[int, ...], scale: str, top_db, normalize) -> np.ndarray:
    dtype = mag.dtype
    x = mag.astype(np.float64)
    if scale == "db":
        x = amplitude_to_db(x, ref=1.0, amin=AMIN, top_db=top_db, axis=axes)
        if normalize == "max":
            x = x - x.max(axis=axes, keepdims=True)
    elif normalize == "max":
        x = x / np.maximum(x.max(axis=axes, keepdims=True), np.finfo(np.float32).tiny)
    if normalize == "standard":
        x = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True)
                                                            + EPSILON)
    return x.astype(dtype, copy=False)


def fft_frequencies_kept(*, sr: float, n_fft: int, n_bins: int | None = None,
                         fmax: float | None = None) -> np.ndarray:
    """Frequencies in Hz of the bins :func:`fft_features` keeps."""
    k = fft_bin_count(sr=sr, n_fft=n_fft, n_bins=n_bins, fmax=fmax)
    return filters.fft_frequencies(sr=sr, n_fft=n_fft)[:k]


__all__ = ["fft_bin_count", "fft_features", "fft_frequencies_kept"]
