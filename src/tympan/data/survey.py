"""What a dataset's files are, from their headers alone, and the audio settings that fit them.

:func:`survey` reads every file's header (format, sample rate, channels, length; no samples are
decoded, on a pool of threads) and keeps the error of each file that cannot be opened.
:func:`audio_defaults` then chooses the sample rate and clip duration a model should work at
when the user gave none:

- sample rate: the most common native rate of the readable files (ties: the higher), capped at
  :data:`SR_CEILING` (16 kHz: the whole speech band and most of the energy of environmental
  sounds, at a third of the cost of 44.1 kHz on a CPU);
- duration: the :data:`DURATION_PERCENTILE`-th percentile of the clip durations, rounded up to
  a multiple of :data:`DURATION_STEP` seconds and capped at :data:`DURATION_CEILING` (longer
  recordings are cropped in training and windowed at prediction).

On the Free Spoken Digit Dataset (8 kHz, 95 % of the digits shorter than 0.66 s) this gives
8 kHz and 1.0 s, the recipe the project's figures were measured with.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tympan import io
from tympan.data.dataset import Dataset
from tympan.errors import DatasetError, TympanError

__all__ = ["DURATION_CEILING", "DURATION_PERCENTILE", "DURATION_STEP", "SR_CEILING", "AudioChoice",
           "FileInfo", "Survey", "audio_defaults", "survey"]

#: Highest sample rate chosen from the data (Hz); a higher rate must be asked for (--sr).
SR_CEILING = 16000
#: Percentile of the clip durations that the chosen clip duration covers.
DURATION_PERCENTILE = 95
#: The chosen duration is rounded up to a multiple of this (seconds).
DURATION_STEP = 0.5
#: Longest clip duration chosen from the data (seconds); a longer one must be asked for.
DURATION_CEILING = 10.0

_WORKERS = 8


@dataclass(frozen=True)
class FileInfo:
    """The header of one item's file: ``error`` is ``None`` for a readable one, else the cause
    (and the other fields are ``None``).  ``duration`` is the item's (its ``start``..``end``
    range when it has one)."""

    path: Path
    sr: int | None = None
    channels: int | None = None
    frames: int | None = None
    duration: float | None = None
    format: str | None = None
    subtype: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


@dataclass(frozen=True)
class Survey:
    """The headers of a dataset's files, one :class:`FileInfo` per item in item order."""

    files: tuple[FileInfo, ...]

    def __len__(self) -> int:
        return len(self.files)

    @property
    def readable(self) -> tuple[FileInfo, ...]:
        return tuple(f for f in self.files if f.ok)

    @property
    def unreadable(self) -> tuple[FileInfo, ...]:
        return tuple(f for f in self.files if not f.ok)

    def durations(self) -> np.ndarray:
        """Durations of the readable files, seconds (float64)."""
        return np.array([f.duration for f in self.readable], dtype=np.float64)

    def counts(self, field: str) -> dict:
        """How many readable files have each value of ``field`` (``"sr"``, ``"channels"``,
        ``"format"``, ``"subtype"``), most common first."""
        return dict(Counter(getattr(f, field) for f in self.readable).most_common())


def _one(path: Path, start: float | None, end: float | None) -> FileInfo:
    try:
        h = io.info(path)
    except TympanError as exc:  # AudioIOError names the file and the cause
        return FileInfo(path, error=str(exc))
    except OSError as exc:  # pragma: no cover - io.info turns these into AudioIOError
        return FileInfo(path, error=f"cannot read '{path}': {exc}")
    duration = h.duration
    if start is not None or end is not None:
        duration = max(0.0, min(end if end is not None else duration, duration) - (start or 0.0))
    return FileInfo(path, sr=h.sr, channels=h.channels, frames=h.frames, duration=duration,
                    format=h.format, subtype=h.subtype)


def survey(dataset: Dataset | Iterable[str | os.PathLike]) -> Survey:
    """Read the header of every file of ``dataset`` (a :class:`Dataset`, or paths); files that
    cannot be opened are kept with their error, never raised."""
    if isinstance(dataset, Dataset):
        jobs = [(it.path, it.start, it.end) for it in dataset.items]
    else:
        jobs = [(Path(p), None, None) for p in dataset]
    with ThreadPoolExecutor(max_workers=min(_WORKERS, max(1, len(jobs)))) as pool:
        files = tuple(pool.map(lambda job: _one(*job), jobs))
    return Survey(files)


@dataclass(frozen=True)
class AudioChoice:
    """The audio settings chosen from a survey and why (one line each, for the log and
    ``pipeline.json``)."""

    sr: int
    duration: float
    sr_reason: str
    duration_reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def audio_defaults(found: Survey, *, sr: int | None = None,
                   duration: float | None = None) -> AudioChoice:
    """The sample rate and clip duration for ``found``'s files; a value given (``sr``,
    ``duration``) is kept as it is.  DatasetError when no file is readable."""
    ok = found.readable
    if not ok and (sr is None or duration is None):
        first = found.files[0].error if found.files else "the dataset is empty"
        raise DatasetError(f"none of the {len(found)} files could be read, so no audio settings "
                           f"can be chosen from them (the first: {first})")
    if sr is not None:
        sr_reason = "given"
    else:
        rates = Counter(f.sr for f in ok)
        native = max(rates, key=lambda r: (rates[r], r))
        share = rates[native] / len(ok)
        sr = min(native, SR_CEILING)
        sr_reason = f"{share:.0%} of the files are at {native} Hz"
        if native > SR_CEILING:
            sr_reason += f", capped at {SR_CEILING} Hz (ask for more with --sr)"
    if duration is not None:
        duration_reason = "given"
    else:
        d = found.durations()
        q = float(np.percentile(d, DURATION_PERCENTILE))
        duration = min(max(DURATION_STEP, float(np.ceil(q / DURATION_STEP - 1e-9) * DURATION_STEP)),
                       DURATION_CEILING)
        duration_reason = (f"{DURATION_PERCENTILE} % of the clips last at most {q:.2f} s "
                           f"(median {np.median(d):.2f} s, longest {d.max():.2f} s)")
        if q > DURATION_CEILING:
            duration_reason += (f", capped at {DURATION_CEILING:g} s (longer clips are cropped in "
                                "training and windowed at prediction; ask for more with --duration)")
    return AudioChoice(sr=int(sr), duration=float(duration), sr_reason=sr_reason,
                       duration_reason=duration_reason)
