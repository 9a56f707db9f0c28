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

__all__ = ["FILE_WARNINGS", "MAX_PEAK", "SILENCE_PEAK", "SignalMonitor", "check_signal", "non_finite_error",
           "signal_flags"]

#: Half the peak-to-peak span at or below which a signal counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4
#: Peaks beyond this are refused: powers of such samples overflow float32.
MAX_PEAK = 1e6
#: The flags the pipeline warns about for a file it read with :mod:`tympan.io` (which warns
#: about samples beyond full scale itself, once).
FILE_WARNINGS = ("silent", "too_short")
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
    ``offset``: the sample index of ``y``'s first sample (a block of a longer signal)."""
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
    n = y.shape[-1] if y.ndim else 0
    if not n:
        return _flags(0, 0.0, 0.0, min_samples)
    lo, hi = _extremes(y)
    return _flags(n, float(np.max(hi - lo)), _peak(lo, hi), min_samples)


def _extremes(y: np.ndarray) -> tuple[Any, Any]:
    """Each channel's lowest and highest sample (``y.shape[:-1]`` each).  A ``(channels, samples)``
    view of ``(samples, channels)`` data (what soundfile decodes) is reduced row by row: numpy's
    reduction over its strided last axis is some ten times slower."""
    if y.ndim == 2 and y.shape[0] > 1 and y.strides[-1] != y.itemsize:
        rows = list(y)
        return np.array([np.min(r) for r in rows]), np.array([np.max(r) for r in rows])
    return np.min(y, axis=-1), np.max(y, axis=-1)


def _peak(lo: Any, hi: Any) -> float:
    """The peak magnitude of a signal whose channels' lowest and highest samples are ``lo``, ``hi``."""
    return float(max(np.max(np.abs(lo)), np.max(np.abs(hi))))


def _flags(n: int, span: float, peak: float, min_samples: int) -> list[str]:
    """The flags of a finite signal of ``n`` samples per channel whose widest channel spans
    ``span`` (highest minus lowest sample) and whose peak magnitude is ``peak``."""
    flags = []
    if n and span <= 2 * SILENCE_PEAK:
        flags.append("silent")
    if n < min_samples:
        flags.append("too_short")
    if n and peak > FULL_SCALE:
        flags.append("beyond_full_scale")
    return flags


def _peak_error(source: str | None, peak: float, *, from_file: bool) -> Exception:
    return _error(source, f"samples reach {peak:.3g}, not audio in [-1, 1] (above {MAX_PEAK:g} "
                          "the arithmetic overflows); scale the signal first", from_file=from_file)


def _warn(flags: list[str], *, name: str, n: int, sr: float | None, min_samples: int, peak: float,
          stacklevel: int) -> None:
    secs = f" ({n / sr:.3f} s)" if sr else ""
    text = {
        "silent": f"{name} is silent (its samples span at most {2 * SILENCE_PEAK:g}, below "
                  "-80 dBFS): the result says nothing about its content",
        "too_short": f"{name} has {n} sample(s){secs}, fewer than the model's analysis window "
                     f"of {min_samples}: it is padded, and the result is unreliable",
        "beyond_full_scale": f"{name} peaks at {peak:.6g}, beyond [-1, 1]: the file is not "
                             "normalised audio, the result may be unreliable",
    }
    for flag in flags:
        warnings.warn(text[flag], InputWarning, stacklevel=stacklevel + 1)


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
    # one pass for each channel's lowest and highest sample: NaN and inf show in them, so the
    # samples are scanned for non-finite ones only when there are some (for the message)
    lo, hi = (y, y) if y.ndim == 0 else _extremes(y)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise non_finite_error(y, sr=sr, source=source, from_file=from_file, offset=offset)
    peak = _peak(lo, hi)
    if peak > MAX_PEAK:
        raise _peak_error(source, peak, from_file=from_file)
    n = y.shape[-1] if y.ndim else 0
    flags = _flags(n, float(np.max(hi - lo)) if n else 0.0, peak if n else 0.0, min_samples)
    if warn:
        shown = flags if warn is True else [f for f in flags if f in warn]
        _warn(shown, name=name, n=y.shape[-1], sr=sr, min_samples=min_samples, peak=peak,
              stacklevel=stacklevel)
    return flags


class SignalMonitor:
    """The policy of :func:`check_signal` over a signal read in consecutive blocks (a file
    streamed), holding a few numbers rather than the signal.

    :meth:`check` each block as it passes (it raises at once for non-finite samples, naming
    their count in the block and the first position in the whole signal, and for peaks beyond
    ``MAX_PEAK``); :meth:`finish` at the end raises for a signal of no samples and returns (and
    warns about) the flags of the whole signal, exactly as ``check_signal`` of the whole array.
    """

    def __init__(self, *, sr: float | None = None, source: str | None = None, min_samples: int = 0,
                 from_file: bool = False):
        self.sr, self.source, self.min_samples, self.from_file = sr, source, min_samples, from_file
        self.samples = 0  # per channel
        self._lo: Any = np.inf
        self._hi: Any = -np.inf

    def check(self, block: Any) -> Any:
        """Check one block ``(..., samples)`` and return it unchanged."""
        y = np.asarray(block)
        if y.size:
            lo, hi = _extremes(y)
            if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
                raise non_finite_error(y, sr=self.sr, source=self.source, from_file=self.from_file,
                                       offset=self.samples)
            self._lo, self._hi = np.minimum(self._lo, lo), np.maximum(self._hi, hi)
            peak = _peak(lo, hi)
            if peak > MAX_PEAK:
                raise _peak_error(self.source, peak, from_file=self.from_file)
        self.samples += y.shape[-1] if y.ndim else 0
        return block

    def finish(self, *, warn: bool | Collection[str] = True, stacklevel: int = 2) -> list[str]:
        """The flags of the whole signal, warning for each when ``warn`` (or for those it
        names).  For a file (``from_file``), ``warn=True`` means :data:`FILE_WARNINGS`: the
        reader, :mod:`tympan.io`, has already warned about samples beyond full scale."""
        if self.samples == 0:
            raise _error(self.source, "it holds no audio (0 samples)", from_file=self.from_file)
        span = float(np.max(self._hi - self._lo))
        peak = _peak(self._lo, self._hi)
        flags = _flags(self.samples, span, peak, self.min_samples)
        if warn is True and self.from_file:
            warn = FILE_WARNINGS
        if warn:
            name = f"'{self.source}'" if self.source is not None else "the signal"
            shown = flags if warn is True else [f for f in flags if f in warn]
            _warn(shown, name=name, n=self.samples, sr=self.sr, min_samples=self.min_samples,
                  peak=peak, stacklevel=stacklevel)
        return flags
