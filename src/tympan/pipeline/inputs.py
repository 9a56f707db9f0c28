"""Signals entering the pipeline (predict, evaluate, separate, reconstruct), checked once by the
policy of :mod:`tympan.signal_checks`: no audio and non-finite samples are errors naming the
file (or array), silence, input shorter than the model's analysis window and samples beyond
full scale are processed with an :class:`~tympan.errors.InputWarning` and reported as flags.

Files are checked on their own samples as they are read (mixed to mono, before resampling:
resampling a constant signal rings at its edges, so a DC file would no longer look silent),
holding a few running numbers rather than the file, so streaming stays flat in memory.
:func:`require_finite` checks what a model gives back before anything is written.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator

import numpy as np
import soxr

from tympan import io
from tympan.errors import ArtifactError
from tympan.pipeline.config import PipelineConfig
from tympan.signal_checks import FILE_WARNINGS, SignalMonitor, check_signal

__all__ = ["analysis_window", "checked_array", "checked_file", "load_checked", "require_finite"]


def analysis_window(config: PipelineConfig) -> int:
    """The model's analysis window in samples at ``config.audio.sr``: the frame length of its
    features (``win_length``, else ``n_fft``; ``hop_length`` for the constant-Q and wavelet
    kinds), or the whole clip for models of the raw waveform or of one spectrum per clip; for
    separators and autoencoders, the ``n_fft`` of their STFT."""
    features = config.features or {}
    if not features:
        n_fft = config.model.get("n_fft")
        return n_fft if isinstance(n_fft, int) and not isinstance(n_fft, bool) and n_fft > 0 else 0
    kind = features.get("kind", "mel")
    whole = config.audio.samples if config.audio.resolved else 0
    if kind == "waveform" or (kind == "fft" and features.get("n_fft") is None):
        return whole
    for key in ("win_length", "n_fft", "hop_length"):
        value = features.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0


def _native(window: int, model_sr: int, rate: float) -> int:
    """``window`` samples at ``model_sr`` as samples at ``rate``."""
    return math.ceil(window * rate / model_sr) if window else 0


def load_checked(path: str | os.PathLike, *, sr: int, min_samples: int = 0) -> np.ndarray:
    """The whole file, mono at ``sr``, checked on its own samples (errors name the file;
    flags warn).  ``min_samples`` is the analysis window at ``sr``."""
    y, rate = io.load(path, mono=True, for_sr=sr)  # (a rate that cannot be resampled: refused)
    check_signal(y, sr=rate, source=os.fspath(path), min_samples=_native(min_samples, sr, rate),
                 from_file=True, warn=FILE_WARNINGS, stacklevel=3)
    return y if rate == sr else io.resample(y, orig_sr=rate, target_sr=sr)


def checked_file(path: str | os.PathLike, *, sr: int, block_length: int, min_samples: int = 0,
                 source: str | None = None) -> tuple[Iterator[np.ndarray], SignalMonitor]:
    """``(blocks, monitor)``: the file as consecutive mono blocks at ``sr`` (read in blocks of
    ``block_length`` samples at its own rate, resampled as a stream), each checked on the way;
    call ``monitor.finish()`` once the blocks are consumed for the flags (it raises for a file
    of no samples).  ``min_samples`` is the analysis window at ``sr``."""
    name = os.fspath(path) if source is None else source
    # one open: checks and reading; a rate that cannot be resampled to sr is refused
    stream = io.stream(path, block_length=block_length, mono=True, for_sr=sr)
    rate = stream.sr
    monitor = SignalMonitor(sr=rate, source=name, min_samples=_native(min_samples, sr, rate),
                            from_file=True)
    blocks = (monitor.check(b) for b in stream)
    return (blocks if rate == sr else _resampled(blocks, rate, sr)), monitor


def _resampled(blocks: Iterator[np.ndarray], rate: float, sr: int) -> Iterator[np.ndarray]:
    """Consecutive mono blocks at ``rate`` resampled to ``sr`` as one stream (as
    :func:`tympan.io.stream` resamples)."""
    rs = None
    for block, following in itertools.pairwise(itertools.chain(blocks, [None])):
        if rs is None:
            rs = soxr.ResampleStream(rate, sr, 1, dtype=block.dtype.name)
        out = rs.resample_chunk(block[:, None], last=following is None)
        if len(out):
            yield np.ascontiguousarray(out[:, 0])


def checked_array(y: np.ndarray, *, sr: int, min_samples: int = 0, source: str = "<array>",
                  warn: bool = True, stacklevel: int = 3) -> list[str]:
    """The flags of an array given at ``sr`` (errors name ``source``); ``min_samples`` is the
    analysis window at ``sr``."""
    return check_signal(y, sr=sr, source=source, min_samples=min_samples, warn=warn,
                        stacklevel=stacklevel)


def require_finite(y: np.ndarray, *, source: str, model: str | os.PathLike | None = None) -> np.ndarray:
    """``y``, a model's output for ``source``, if every sample is finite; else an
    :class:`~tympan.errors.ArtifactError` naming the file and the model (nothing is written)."""
    finite = np.isfinite(y)
    if not finite.all():
        bad = int(finite.size - np.count_nonzero(finite))
        which = f"the model in '{os.fspath(model)}'" if model is not None else "the model"
        raise ArtifactError(f"{which} gave {bad} non-finite value(s) (NaN/inf) for '{source}': "
                            "its weights are broken; nothing was written")
    return y
