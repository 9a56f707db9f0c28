"""Look before you train: what tympan would train on, read from the files themselves.

:func:`inspect` reports on a :class:`~tympan.data.Dataset` (or a folder found with
:func:`~tympan.data.discover`): the classes and their counts, the groups and folds; the files'
durations, sample rates, channels and formats (:func:`~tympan.data.survey`); the files that
cannot be read, with the cause; the items whose audio is identical, and among them those that
land on both sides of the split (leakage) or carry different labels (label noise); the split
that ``tympan train`` would make (:func:`~tympan.data.split` "auto" with
:data:`~tympan.data.DEFAULT_TEST_SIZE`) and the audio settings it would choose
(:func:`~tympan.data.audio_defaults`).

Identical audio is found by content.  Each file's bytes are hashed (SHA-256); then every item
with new bytes is decoded once, in blocks of :data:`BLOCK_FRAMES` frames (memory stays flat
whatever the length), and its samples (exactly, whatever the bit depth) are hashed with its
sample rate and channel count.  A file saved twice, or the same samples saved as WAV and FLAC,
are found either way; decoding every file also finds the ones that would fail in training.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tympan import _validate as v
from tympan import io
from tympan.data.dataset import Dataset, natural_key
from tympan.data.discover import discover
from tympan.data.splits import DEFAULT_TEST_SIZE, Split
from tympan.data.splits import split as make_split
from tympan.data.survey import AudioChoice, FileInfo, Survey, audio_defaults, survey
from tympan.errors import DatasetError, ParameterError, TympanError

__all__ = ["BLOCK_FRAMES", "Duplicate", "Inspection", "inspect"]

#: Frames decoded at a time when hashing a file's samples.
BLOCK_FRAMES = 1 << 16
_READ_BYTES = 1 << 20
_WIDE = ("PCM_32", "DOUBLE")  # subtypes with more precision than float32
_WORKERS = 8
_PROGRESS_DELAY = 1.0  # seconds: a quick inspection shows no progress bar
PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class Duplicate:
    """Items whose audio is identical: ``match`` is ``"bytes"`` when all the files are the
    same bytes, ``"samples"`` when some differ as files but decode to the same samples (a WAV
    saved again as FLAC).  ``parts`` holds each item's side of the split (``None``: no split)."""

    items: tuple[int, ...]
    paths: tuple[Path, ...]
    labels: tuple[str, ...]
    parts: tuple[str | None, ...]
    match: str

    @property
    def leak(self) -> bool:
        """Copies on more than one side of the split: the test part is partly heard in training."""
        return len({p for p in self.parts if p is not None}) > 1

    @property
    def label_conflict(self) -> bool:
        """The same audio with different labels (label noise)."""
        return len(set(self.labels)) > 1

    def to_dict(self) -> dict:
        return {"match": self.match, "leak": self.leak, "label_conflict": self.label_conflict,
                "items": [{"index": i, "path": str(p), "label": lab, "part": part}
                          for i, p, lab, part in zip(self.items, self.paths, self.labels, self.parts,
                                                     strict=True)]}


@dataclass(frozen=True, eq=False)
class Inspection:
    """What :func:`inspect` found.  ``files`` holds every item's header, with the error of each
    item whose header or samples cannot be read (``FileInfo.error``); ``split`` is the split
    (``None`` with ``split_error`` when the data cannot be split so) and ``audio`` the audio
    settings chosen from the headers (``None`` with ``audio_error`` when no file is readable)."""

    dataset: Dataset
    files: Survey
    duplicates: tuple[Duplicate, ...]
    split: Split | None
    split_error: str | None
    audio: AudioChoice | None
    audio_error: str | None

    @property
    def unreadable(self) -> tuple[FileInfo, ...]:
        return self.files.unreadable

    @property
    def leaks(self) -> tuple[Duplicate, ...]:
        return tuple(d for d in self.duplicates if d.leak)

    @property
    def label_conflicts(self) -> tuple[Duplicate, ...]:
        return tuple(d for d in self.duplicates if d.label_conflict)

    def groups(self) -> dict[str, int] | None:
        """Items per group, in natural order (``None`` when the items have no groups; items
        without one, when others have one, count under ``"(none)"``)."""
        return _tally(_values(self.dataset, "group"), key=lambda kv: natural_key(str(kv[0])))

    def folds(self) -> dict[int, int] | None:
        """Items per fold (``None`` when the items have no folds; see :meth:`groups`)."""
        return _tally(_values(self.dataset, "fold"), key=lambda kv: natural_key(str(kv[0])))

    def durations(self) -> dict[str, float] | None:
        """min / median / max of the readable items' durations in seconds."""
        d = self.files.durations()
        return None if not d.size else {"min": float(d.min()), "median": float(np.median(d)),
                                        "max": float(d.max())}

    def file_counts(self) -> dict[str, dict]:
        """How many readable items have each sample rate, channel count and format (subtype)."""
        ok = self.files.readable
        count = lambda key: dict(Counter(key(f) for f in ok).most_common())  # noqa: E731
        return {"sample_rates": count(lambda f: f.sr), "channels": count(lambda f: f.channels),
                "formats": count(lambda f: f"{f.format} ({f.subtype})")}

    def to_dict(self) -> dict:
        """One JSON-ready dict (its keys are documented in docs/data.md)."""
        ds, groups, folds = self.dataset, self.groups(), self.folds()
        split = None
        if self.split is not None:
            y = ds.targets()
            split = {"method": self.split.method, "reason": self.split.params.get("auto"),
                     "sizes": self.split.sizes, "params": self.split.to_json()["params"],
                     "classes": {part: dict(zip(ds.labels, np.bincount(
                         y[getattr(self.split, part)], minlength=len(ds.labels)).tolist(), strict=True))
                         for part in PARTS}}
        extreme = lambda pick: dict(zip(("group", "items"), pick(groups.items(), key=lambda kv: kv[1]),  # noqa: E731
                                        strict=True))
        return {
            "root": str(ds.root), "items": len(ds), "classes": ds.counts(),
            "groups": None if groups is None else {"count": len(groups), "smallest": extreme(min),
                                                   "largest": extreme(max), "items": groups},
            "folds": None if folds is None else {str(k): n for k, n in folds.items()},
            "files": {"readable": len(self.files.readable), "unreadable": len(self.unreadable),
                      "durations": self.durations(),
                      **{k: {str(x): n for x, n in c.items()} for k, c in self.file_counts().items()}},
            "unreadable": [{"index": i, "path": str(f.path), "error": f.error}
                           for i, f in enumerate(self.files.files) if not f.ok],
            "duplicates": [d.to_dict() for d in self.duplicates],
            "leaks": len(self.leaks), "label_conflicts": len(self.label_conflicts),
            "split": split, "split_error": self.split_error,
            "audio": None if self.audio is None else self.audio.to_dict(), "audio_error": self.audio_error,
        }

    def format(self) -> str:
        """A readable report (what ``tympan data inspect`` prints)."""
        d = self.to_dict()
        f, s, a, g = d["files"], d["split"], d["audio"], d["groups"]
        cols = [p for p in PARTS if s and (p != "val" or s["sizes"]["val"])]
        width = max([5, *(len(c) for c in d["classes"])])
        lines = [f"{d['items']} items in '{d['root']}'", f"classes: {len(d['classes'])}",
                 f"  {'class':<{width}}  {'items':>6}" + "".join(f"  {c:>6}" for c in cols)]
        lines += [f"  {label:<{width}}  {n:>6}" + "".join(f"  {s['classes'][c][label]:>6}" for c in cols)
                  for label, n in d["classes"].items()]
        lines.append("groups: none" if g is None else
                     f"groups: {g['count']} (smallest {g['smallest']['group']!r}: {g['smallest']['items']}, "
                     f"largest {g['largest']['group']!r}: {g['largest']['items']})")
        lines.append("folds: " + (", ".join(f"{k} ({n})" for k, n in d["folds"].items())
                                  if d["folds"] else "none"))
        lines.append(f"files: {f['readable']} readable, {f['unreadable']} unreadable")
        if f["durations"]:
            lines.append("  durations     " + ", ".join(f"{k} {t:.2f} s" for k, t in f["durations"].items()))
        for key, name, unit in (("sample_rates", "sample rates", " Hz"), ("channels", "channels", ""),
                                ("formats", "formats", "")):
            if f[key]:
                lines.append(f"  {name:<12}  " + ", ".join(f"{x}{unit}: {n}" for x, n in f[key].items()))
        if s:
            held = [f"{k.replace('_', ' ')} {', '.join(map(str, s['params'][k]))}"
                    for k in ("test_groups", "test_folds", "val_groups", "val_folds") if k in s["params"]]
            lines += [f"split: {s['method']}" + (f": {s['reason']}" if s["reason"] else ""),
                      "  " + ", ".join([*(f"{p} {n}" for p, n in s["sizes"].items()), *held])]
        else:
            lines.append(f"split: none can be made: {d['split_error']}")
        lines += ([f"audio: none can be chosen: {d['audio_error']}"] if a is None else
                  ["audio settings:", f"  sr        {a['sr']} Hz ({a['sr_reason']})",
                   f"  duration  {a['duration']:g} s ({a['duration_reason']})"])
        lines.append(f"duplicates: {len(self.duplicates)} group(s) of identical audio, {d['leaks']} on "
                     f"both sides of the split, {d['label_conflicts']} with different labels")
        for dup in self.duplicates:
            tags = [f"identical {dup.match}", *["LEAK"] * dup.leak, *["LABELS DIFFER"] * dup.label_conflict]
            lines.append(f"  [{', '.join(tags)}]")
            lines += [f"    {_relative(p, self.dataset.root)}  label {lab!r}" + (f", {part}" if part else "")
                      for p, lab, part in zip(dup.paths, dup.labels, dup.parts, strict=True)]
        lines.append(f"unreadable: {len(self.unreadable)}")
        lines += [f"  {u.error}" for u in self.unreadable]
        return "\n".join(lines)


def _values(dataset: Dataset, name: str) -> np.ndarray | None:
    """Each item's ``group`` or ``fold`` (``"(none)"`` where an item has none), or ``None``
    when no item has one."""
    values = [getattr(it, name) for it in dataset.items]
    if all(x is None for x in values):
        return None
    return np.array(["(none)" if x is None else x for x in values], dtype=object)


def _tally(values: np.ndarray | None, key: Any = None) -> dict | None:
    return None if values is None else dict(sorted(Counter(values.tolist()).items(), key=key))


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- hashing
def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_READ_BYTES):
            h.update(chunk)
    return h.hexdigest()


def _sample_digest(info: FileInfo, start: float | None, end: float | None) -> str:
    """The samples as float32 (exact up to 24-bit PCM), plus what float32 misses of 32-bit PCM and
    double data, interleaved (so independent of the block size), with the rate and channels."""
    h = hashlib.sha256(f"{info.sr}/{info.channels}/".encode())
    wide = info.subtype in _WIDE
    length = None if end is None else end - (start or 0.0)
    for block in io.stream(info.path, block_length=BLOCK_FRAMES, mono=False, offset=start or 0.0,
                           duration=length, dtype="float64" if wide else "float32"):
        x = np.ascontiguousarray(block.T)
        narrow = x.astype(np.float32, copy=False)
        h.update(narrow)
        if wide and (rest := x - narrow).any():
            h.update(rest)
    return h.hexdigest()


def _content(dataset: Dataset, infos: tuple[FileInfo, ...], workers: int,
             progress: bool) -> tuple[list, list, dict[int, str]]:
    """For each item: the key of its source (file bytes and range) and of its samples (``None``
    for an unreadable one), and the error of each item whose file could not be hashed or decoded."""
    lock = threading.Lock()
    claimed: dict[tuple, int] = {}  # source key -> the item that decodes it
    sources: list = [None] * len(dataset)
    samples: dict[int, str] = {}
    errors: dict[int, str] = {}
    bar = _progress_bar(len(dataset)) if progress else None

    def job(i: int) -> None:
        item, info = dataset[i], infos[i]
        try:
            if not info.ok:
                return
            try:
                src = (_file_digest(item.path), item.start, item.end)
            except OSError as exc:
                errors[i] = f"cannot read audio file '{item.path}': {exc.strerror or exc}"
                return
            sources[i] = src
            with lock:
                first = claimed.setdefault(src, i) == i
            if first:
                try:
                    samples[i] = _sample_digest(info, item.start, item.end)
                except TympanError as exc:  # corrupt past the header, a range past the end
                    errors[i] = str(exc)
        finally:
            if bar is not None:
                bar.update(1)

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tympan-inspect") as pool:
            list(pool.map(job, range(len(dataset))))
    finally:
        if bar is not None:
            bar.close()
    keys: list = [None] * len(dataset)
    for i, src in enumerate(sources):
        if src is None:
            continue
        first = claimed[src]
        if first in errors:
            errors.setdefault(i, errors[first])
        else:
            keys[i] = samples[first]
    return sources, keys, errors


def _progress_bar(total: int) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="inspecting", unit="file", file=sys.stderr, dynamic_ncols=True,
                delay=_PROGRESS_DELAY)


# --------------------------------------------------------------------------- inspect
def inspect(dataset: Dataset | str | os.PathLike, *, discovery: dict | None = None,
            split: Split | None = None, seed: int = 0, workers: int | None = None,
            progress: bool = True) -> Inspection:
    """What tympan would train on: see the module docstring.

    ``dataset`` is a :class:`Dataset`, or a folder found with ``discover(folder, **discovery)``
    (``labels_from``, ``pattern``, ``csv``, ... as for :func:`tympan.pipeline.train`).
    ``split`` is the split to check for leakage; ``None``: the one ``tympan train`` makes,
    ``split(dataset, method="auto", test_size=DEFAULT_TEST_SIZE, seed=seed)``.  Files are read
    by ``workers`` threads (default ``min(8, os.cpu_count())``); ``progress`` shows a tqdm bar on
    stderr when the reading takes more than a second.  Unreadable files are reported, never
    raised; a folder without audio raises DatasetError, bad arguments ParameterError.
    """
    if not isinstance(dataset, Dataset):
        if not isinstance(dataset, (str, os.PathLike)):
            raise ParameterError(f"dataset must be a tympan.data.Dataset or a folder, got "
                                 f"{type(dataset).__name__}")
        dataset = discover(dataset, **(discovery or {}))
    elif discovery is not None:
        raise ParameterError("discovery is used with a folder only, got a Dataset and discovery="
                             f"{discovery!r}")
    workers = v.positive_int("workers", min(_WORKERS, os.cpu_count() or 1) if workers is None else workers)
    if split is not None and not isinstance(split, Split):
        raise ParameterError(f"split must be a tympan.data.Split or None, got {type(split).__name__}")
    n = len(dataset)
    split_error = None
    found = survey(dataset)
    if split is None:  # as tympan train makes it: of the files that can be opened
        readable = np.flatnonzero([f.ok for f in found.files])
        try:
            if not len(readable):
                raise DatasetError(f"none of the {n} files can be read")
            s = make_split(dataset.subset(readable), method="auto", test_size=DEFAULT_TEST_SIZE,
                           seed=seed)
            split = Split(train=readable[s.train], test=readable[s.test], val=readable[s.val],
                          method=s.method, params=s.params)
        except DatasetError as exc:
            split_error = str(exc)
    else:
        every = np.concatenate([split.train, split.val, split.test])
        if every.size and (every.min() < 0 or every.max() >= n):
            raise ParameterError(f"split indices must lie in [0, {n}) for this dataset of {n} items, "
                                 f"got min {every.min()} and max {every.max()}")
    try:
        audio, audio_error = audio_defaults(found), None
    except DatasetError as exc:
        audio, audio_error = None, str(exc)
    sources, keys, errors = _content(dataset, found.files, workers, progress)
    files = Survey(tuple(FileInfo(f.path, error=errors[i]) if i in errors else f
                         for i, f in enumerate(found.files)))
    part: list[str | None] = [None] * n
    for name in PARTS if split is not None else ():
        for i in getattr(split, name).tolist():
            part[i] = name
    same: dict[str, list[int]] = {}  # in the order of each group's first item
    for i, key in enumerate(keys):
        if key is not None:
            same.setdefault(key, []).append(i)
    duplicates = tuple(
        Duplicate(items=tuple(idx), paths=tuple(dataset[i].path for i in idx),
                  labels=tuple(dataset[i].label for i in idx), parts=tuple(part[i] for i in idx),
                  match="bytes" if len({sources[i] for i in idx}) == 1 else "samples")
        for idx in same.values() if len(idx) > 1)
    return Inspection(dataset=dataset, files=files, duplicates=duplicates,
                      split=split, split_error=split_error, audio=audio, audio_error=audio_error)
