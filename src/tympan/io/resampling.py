"""Array operations on loaded audio: :func:`resample` (soxr) and :func:`to_mono`."""

from __future__ import annotations

import numpy as np
import soxr

from tympan import _validate as v
from tympan.errors import ParameterError

_QUALITIES = ("VHQ", "HQ", "MQ", "LQ", "QQ")
MAX_OUTPUT = 2**31 - 1  # soxr counts samples in a C int: beyond this it crashes


def resample(y: np.ndarray, *, orig_sr: float, target_sr: float,
             quality: str = "HQ") -> np.ndarray:
    """Resample along the last axis with soxr; any leading axes (channels, batch) are kept.

    ``quality`` is one of soxr's "VHQ", "HQ", "MQ", "LQ", "QQ".  The output has
    ``round(n * target_sr / orig_sr)`` samples and the input's dtype (float32 stays float32;
    other float types become float32).  The same rate returns a copy.  An empty ``y`` is a
    ParameterError.
    """
    y = v.valid_audio(y)
    orig = v.positive_number("orig_sr", orig_sr)
    target = v.positive_number("target_sr", target_sr)
    quality = v.choice("quality", str(quality).upper(), _QUALITIES)
    if y.shape[-1] == 0:
        raise ParameterError(f"y must hold at least one sample to resample, got shape {y.shape}")
    if y.dtype not in (np.float32, np.float64):
        y = y.astype(np.float32)
    if orig == target:
        return y.copy()
    n = y.shape[-1]
    out_n = round(n * target / orig)
    if out_n > MAX_OUTPUT:
        raise ParameterError(f"resampling {n} samples from {orig:g} Hz to {target:g} Hz would make "
                             f"{out_n} per channel, more than soxr takes ({MAX_OUTPUT}); resample "
                             "a stream (tympan.io.stream(..., sr=)) or check the rates")
    flat = np.ascontiguousarray(y.reshape(-1, n).T)  # (samples, channels) for soxr
    out = soxr.resample(flat, orig, target, quality=quality)
    return np.ascontiguousarray(out.T).reshape((*y.shape[:-1], out.shape[0]))


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average the channels of a ``(channels, samples)`` array; a 1-D array is returned as is."""
    y = v.valid_audio(y)
    if y.ndim == 1:
        return y
    if y.ndim != 2:
        raise ParameterError(f"y must be (samples,) or (channels, samples), got shape {y.shape}")
    return y.mean(axis=0, dtype=y.dtype)
