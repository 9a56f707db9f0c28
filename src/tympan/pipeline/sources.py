"""What a task is given to work on, normalised: a path, a folder, a list, an array, a dataset.

Every task's trainer and runner starts here: :func:`sources` turns the user's ``source`` into
``(name, path-or-array, rate)`` items (folders scanned by :func:`tympan.data.audio_files`:
recursively, hidden files skipped, natural order, the same files ``train DIR`` sees),
:func:`load_signal` reads one whole as mono at the model's rate through the signal policy
(:mod:`tympan.pipeline.inputs`), and :func:`as_dataset` finds a labelled dataset.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan import data as tdata
from tympan import io
from tympan.errors import ParameterError
from tympan.pipeline.inputs import checked_array, load_checked


def sources(source, sr) -> list[tuple[str, np.ndarray | Path, int | None]]:
    """Normalise ``source`` to a list of (name, path-or-array, sample-rate-for-arrays); folders
    are scanned with :func:`tympan.data.audio_files` (recursively, hidden files skipped,
    natural order)."""
    if isinstance(source, np.ndarray):
        if sr is None:
            raise ParameterError("predicting from an array needs its sample rate: pass sr=")
        return [("<array>", source, v.positive_int("sr", sr))]
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], np.ndarray):
        return [("<array>", source[0], v.positive_int("sr", source[1]))]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = tdata.audio_files(path)
            if not files:
                raise ParameterError(f"no audio files ({', '.join(tdata.AUDIO_EXTENSIONS)}) in {path}")
            return [(str(p), p, None) for p in files]
        return [(str(path), path, None)]
    if isinstance(source, (list, tuple)):
        if not source:
            raise ParameterError("source is an empty list: give at least one file")
        return [item for s in source for item in sources(s, sr)]
    raise ParameterError(f"source must be a path, a folder, a list of paths or an array, "
                         f"got {type(source).__name__}")


def audio_files(source) -> list[Path]:
    """The audio files of ``source``: a file, a folder (recursively) or a list of those."""
    return [Path(data) for _, data, _ in sources(source, None)]


def to_mono(y: np.ndarray) -> np.ndarray:
    """``y`` (``(samples,)`` or ``(channels, samples)``, checked) as one channel."""
    y = v.valid_audio(np.asarray(y))
    if y.ndim == 2:
        return io.to_mono(y)
    if y.ndim != 1:
        raise ParameterError(f"an audio array must be (samples,) or (channels, samples), got {y.shape}")
    return y


def load_signal(data, rate, sr: int, *, window: int = 0) -> np.ndarray:
    """An array (at ``rate``) or a file, mono at ``sr``, checked by the signal policy
    (:mod:`tympan.pipeline.inputs`): non-finite samples and no audio are errors naming it;
    ``window`` is the model's analysis window at ``sr`` (for the ``too_short`` warning)."""
    if isinstance(data, np.ndarray):
        checked_array(data, sr=rate, min_samples=-(-window * rate // sr), stacklevel=4)
        y = to_mono(data).astype(np.float32, copy=False)
        return y if rate == sr else io.resample(y, orig_sr=rate, target_sr=sr)
    return load_checked(data, sr=sr, min_samples=window)


def as_dataset(dataset, discovery: dict | None = None) -> tdata.Dataset:
    """``dataset`` itself, or the dataset found at a path by :func:`tympan.data.discover`
    with ``discovery`` (``labels_from``, ``pattern``, ``csv``, ``label_pattern``)."""
    if isinstance(dataset, tdata.Dataset):
        return dataset
    return tdata.discover(dataset, **(discovery or {}))


__all__ = ["as_dataset", "audio_files", "load_signal", "sources", "to_mono"]
