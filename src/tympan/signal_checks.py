"""One policy for questionable input signals, used by :mod:`tympan.io` and at the pipeline
boundary (predict, evaluate, separate, reconstruct, segment, plot).

* **No audio** (0 samples) and **non-finite samples** (NaN, +-inf) are errors: nothing sensible
  can be computed from them.  The message names the source, and for non-finite samples the count
  and the first position (sample index and seconds).
* **Silence** (the signal spans at most ``2 * SILENCE_PEAK`` from its lowest to its highest
  sample: digital silence, pure DC, or a signal below about -80 dBFS), a signal **shorter than the model's
  analysis window**, and samples **far beyond [-1, 1]** are processed, with an
  :class:`~tympan.errors.InputWarning`, and reported as flags (``"silent"``, ``"too_short"``,
  ``"beyond_full_scale"``) that json/csv outputs carry.
* Samples whose magnitude exceeds ``MAX_PEAK`` are an error: float32 arithmetic on them overflows
  (a power spectrum of 1e30 is infinite), so no result would be right.

numpy only.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from typing import Any

import numpy as np

from tympan.errors import AudioIOError, InputWarning, ParameterError

__all__ = ["MAX_PEAK", "SILENCE_PEAK", "check_signal", "non_finite_error", "signal_flags"]

#: Half the peak-to-peak span at or below which a signal counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4
#: Peaks beyond this are refused: powers of such samples overflow float32.
MAX_PEAK = 1e6
#: Peaks beyond this (but below MAX_PEAK) are processed with a warning.
FULL_SCALE = 1.0 + 1e-3


def _error(source: str | None, cause: str, *, from_file: bool) -> Exception:
    if from_file:
        return AudioIOError(f"cannot read audio file '{source}': {cause}")
    name = source if source is not None else "y"
    return ParameterError(f"{name}: {cause}")


def non_finite_error(y: np.ndarray, *, sr: float | None = None, source: str | None = None,
                     from_file: bool = False, offset: int = 0) -> Exception | None:
    """The error for non-finite samples in ``y`` (count and first position), or ``None``.

    ``offset`` is the index of ``y``'s first sample in the source (a block of a stream)."""
    finite = np.isfinite(y)
    if finite.all():
        return None
    bad = ~finite
    count = int(np.count_nonzero(bad))
    flat = bad.reshape(-1, y.shape[-1]) if y.ndim else bad.reshape(1, 1)
    first = offset + int(np.flatnonzero(flat.any(axis=0))[0])
    where = f"sample {first}" + (f" ({first / sr:.4f} s)" if sr else "")
    kinds = [k for k, m in (("NaN", np.isnan(y)), ("inf", np.isinf(y))) if m.any()]
    return _error(source, f"{count} non-finite sample(s) ({'/'.join(kinds)}), the first at {where}",
                  from_file=from_file)


def signal_flags(y: np.ndarray, *, min_samples: int = 0) -> list[str]:
    """The flags of a finite signal: ``"silent"``, ``"too_short"``, ``"beyond_full_scale"``."""
    flags = []
    n = y.shape[-1] if y.ndim else 0
    if n and float(np.max(np.max(y, axis=-1) - np.min(y, axis=-1))) <= 2 * SILENCE_PEAK:
        flags.append("silent")
    if n < min_samples:
        flags.append("too_short")
    if n and float(np.max(np.abs(y))) > FULL_SCALE:
        flags.append("beyond_full_scale")
    return flags


def check_signal(y: Any, *, sr: float | None = None, source: str | None = None,
                 min_samples: int = 0, from_file: bool = False,
                 warn: bool | Collection[str] = True, stacklevel: int = 2,
                 offset: int = 0) -> list[str]:
    """Apply the policy to ``y`` (``(..., samples)``) and return its flags.

    Raises (``AudioIOError`` when ``from_file``, else ``ParameterError``, naming ``source``) for no
    samples, non-finite samples and peaks beyond ``MAX_PEAK``; warns (:class:`InputWarning`, when
    ``warn``) for each flag (``warn`` may name the flags that warn, e.g. ``("beyond_full_scale",)``).
    ``min_samples`` is the model's analysis window in samples; ``offset`` the index of ``y``'s first
    sample in the source (for positions in a block of a stream).
    """
    y = np.asarray(y)
    name = f"'{source}'" if source is not None else "the signal"
    if y.size == 0:
        raise _error(source, "it holds no audio (0 samples)", from_file=from_file)
    err = non_finite_error(y, sr=sr, source=source, from_file=from_file, offset=offset)
    if err is not None:
        raise err
    peak = float(np.max(np.abs(y)))
    if peak > MAX_PEAK:
        raise _error(source, f"samples reach {peak:.3g}, not audio in [-1, 1] (above {MAX_PEAK:g} "
                             "the arithmetic overflows); scale the signal first", from_file=from_file)
    flags = signal_flags(y, min_samples=min_samples)
    if warn:
        n = y.shape[-1]
        secs = f" ({n / sr:.3f} s)" if sr else ""
        text = {
            "silent": f"{name} is silent (its samples span at most {2 * SILENCE_PEAK:g}, below "
                      "-80 dBFS): the result says nothing about its content",
            "too_short": f"{name} has {n} sample(s){secs}, fewer than the model's analysis window "
                         f"of {min_samples}: it is padded, and the result is unreliable",
            "beyond_full_scale": f"{name} peaks at {peak:.6g}, beyond [-1, 1]: the file is not "
                                 "normalised audio, the result may be unreliable",
        }
        for flag in flags if warn is True else [f for f in flags if f in warn]:
            warnings.warn(text[flag], InputWarning, stacklevel=stacklevel)
    return flags
