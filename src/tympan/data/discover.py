"""Find the clips of a dataset and their labels: class folders, a CSV, or a file-name pattern.

Every function returns a :class:`Dataset`, an immutable list of :class:`Item` (one clip each:
path, label, and optionally a group such as the speaker, a predefined fold, a time range and
extra metadata) with the sorted label set.  Nothing is read but folder listings and CSV text:
audio is decoded later by :func:`tympan.data.load_clips`.  CSV files (ESC-50, UrbanSound8K,
your own columns) are read by :func:`tympan.data.csv_layouts.from_csv`.

A problem with the data (a missing folder, no audio, a CSV without a needed column, rows that
point at missing files, a pattern that matches nothing) raises
:class:`~tympan.errors.DatasetError` naming the path or pattern and what is wrong.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tympan import _validate as v
from tympan.errors import DatasetError, ParameterError

__all__ = [
    "AUDIO_EXTENSIONS", "FSDD_PATTERN", "PATTERNS", "Dataset", "Item", "audio_files", "discover",
    "from_folders", "from_regex", "natural_key",
]

#: File extensions taken as audio by discovery (compared case-insensitively).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".opus")

#: Free Spoken Digit Dataset names: ``{digit}_{speaker}_{take}.wav``.
FSDD_PATTERN = r"(?P<label>\d)_(?P<group>[a-z]+)_(?P<take>\d+)\.wav"

#: Named patterns that :func:`discover` accepts in place of a regular expression.
PATTERNS = {"fsdd": FSDD_PATTERN}



def natural_key(text: str) -> tuple:
    """Sort key that orders digit runs by value: ``"2" < "10"``, ``"a_9" < "a_10"``."""
    parts = re.split(r"(\d+)", text)
    return (*((int(p) if i % 2 else p) for i, p in enumerate(parts)), text)


# --------------------------------------------------------------------------- data classes
@dataclass(frozen=True)
class Item:
    """One clip: an audio file (or a time range of it) and its label.

    ``group`` (speaker, recording session, source recording) keeps related clips together in
    group-aware splits; ``fold`` is a predefined fold (UrbanSound8K); ``start``/``end`` are
    seconds within the file (``None``: the whole file); ``meta`` holds any other fields as
    sorted ``(name, value)`` string pairs (see :meth:`meta_dict`).
    """

    path: Path
    label: str
    group: str | None = None
    fold: int | None = None
    start: float | None = None
    end: float | None = None
    meta: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))
        if not isinstance(self.label, str):
            object.__setattr__(self, "label", str(self.label))
        if isinstance(self.meta, dict):
            object.__setattr__(self, "meta", tuple(sorted((str(k), str(x)) for k, x in self.meta.items())))
        if self.end is not None and self.end <= (self.start or 0.0):
            raise ParameterError(f"end must be greater than start ({self.start}) for '{self.path}', "
                                 f"got {self.end!r}")

    def meta_dict(self) -> dict[str, str]:
        """``meta`` as a dict."""
        return dict(self.meta)

    @property
    def duration(self) -> float | None:
        """Length of the ``start``..``end`` range in seconds; ``None`` without an ``end``."""
        return None if self.end is None else self.end - (self.start or 0.0)


@dataclass(frozen=True)
class Dataset:
    """The clips of a dataset, in a fixed order, with their sorted label set.

    ``labels`` defaults to the sorted unique labels of ``items`` (digit runs by value, so
    ``"2" < "10"``); a subset keeps the labels of its parent, so label indices never shift.
    """

    items: tuple[Item, ...]
    root: Path
    labels: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        items = tuple(self.items)
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "root", Path(self.root))
        found = sorted({it.label for it in items}, key=natural_key)
        if not self.labels:
            object.__setattr__(self, "labels", tuple(found))
        else:
            labels = tuple(str(x) for x in self.labels)
            if len(set(labels)) != len(labels):
                raise DatasetError(f"labels must be unique, got {labels!r}")
            unknown = sorted(set(found) - set(labels), key=natural_key)
            if unknown:
                raise DatasetError(f"items have labels {unknown!r} that are not in labels {labels!r}")
            object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __getitem__(self, index: int) -> Item:
        return self.items[index]

    def subset(self, indices: Iterable[int] | np.ndarray) -> Dataset:
        """The items at ``indices`` (in that order; or where a boolean mask is true), with the
        same root and labels."""
        idx = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices)
        if idx.dtype == bool and idx.shape == (len(self),):
            idx = np.flatnonzero(idx)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise ParameterError(f"indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise ParameterError(f"indices must lie in [0, {len(self)}), got min {idx.min()} "
                                 f"and max {idx.max()}")
        return Dataset(tuple(self.items[int(i)] for i in idx.ravel()), self.root, self.labels)

    def targets(self) -> np.ndarray:
        """Index of each item's label in :attr:`labels` (int64)."""
        index = {label: i for i, label in enumerate(self.labels)}
        return np.fromiter((index[it.label] for it in self.items), dtype=np.int64, count=len(self))

    def groups(self) -> np.ndarray | None:
        """Each item's group (str array); ``None`` when none has one, DatasetError when some lack it."""
        return self._column("group", str)

    def folds(self) -> np.ndarray | None:
        """Each item's fold (int64 array); ``None`` when no item has a fold."""
        return self._column("fold", np.int64)

    def _column(self, name: str, dtype: Any) -> np.ndarray | None:
        values = [getattr(it, name) for it in self.items]
        missing = sum(x is None for x in values)
        if missing == len(values):
            return None
        if missing:
            first = next(it.path for it in self.items if getattr(it, name) is None)
            raise DatasetError(f"{missing} of {len(values)} items of the dataset in '{self.root}' "
                               f"have no {name} (the first: '{first}'); give every item one")
        return np.array(values, dtype=dtype)

    def counts(self) -> dict[str, int]:
        """Number of items per label, in label order (labels without items count 0)."""
        c = Counter(it.label for it in self.items)
        return {label: c.get(label, 0) for label in self.labels}

    def summary(self) -> str:
        """A few lines: items, labels with their counts, groups and folds."""
        groups = {it.group for it in self.items if it.group is not None}
        folds = sorted({it.fold for it in self.items if it.fold is not None})
        head = f"{len(self)} items, {len(self.labels)} labels"
        if groups:
            head += f", {len(groups)} groups"
        if folds:
            head += f", {len(folds)} folds ({', '.join(map(str, folds))})"
        width = max((len(label) for label in self.labels), default=0)
        lines = [f"{head} in '{self.root}'"]
        lines += [f"  {label:<{width}}  {n}" for label, n in self.counts().items()]
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers
def _root(root: Any, what: str = "root") -> Path:
    if not isinstance(root, (str, os.PathLike)):
        raise ParameterError(f"{what} must be a str or os.PathLike, got {type(root).__name__}")
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetError(f"dataset {what} '{path}' does not exist")
    if not path.is_dir():
        raise DatasetError(f"dataset {what} '{path}' is not a folder")
    return path


def _extensions(extensions: Any) -> tuple[str, ...]:
    if isinstance(extensions, str):
        extensions = (extensions,)
    exts = tuple("." + str(e).lower().lstrip(".") for e in extensions)
    if not exts:
        raise ParameterError(f"extensions must name at least one extension, got {extensions!r}")
    return exts


def audio_files(folder: str | os.PathLike, exts: Sequence[str] = AUDIO_EXTENSIONS,
                recursive: bool = True) -> list[Path]:
    """Audio files under ``folder`` (hidden files and folders skipped), in natural order: the
    one scanner behind discovery, ``predict`` and ``data inspect``, so all see the same files."""
    folder = Path(folder)
    exts = _extensions(exts)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")] if recursive else []
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in exts:
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: natural_key(p.relative_to(folder).as_posix()))


def _no_audio(root: Path, exts: Sequence[str], where: str = "in") -> DatasetError:
    return DatasetError(f"no audio files ({', '.join(exts)}) found {where} '{root}'")


# --------------------------------------------------------------------------- folders
def from_folders(root: str | os.PathLike, *,
                 extensions: Sequence[str] = AUDIO_EXTENSIONS) -> Dataset:
    """One sub-folder of ``root`` per label: ``root/<label>/**/*.<ext>``.

    Files anywhere below a label folder belong to it; files directly in ``root``, hidden files
    and label folders without audio are ignored.  Items come label by label, files in natural
    order.
    """
    base = _root(root)
    exts = _extensions(extensions)
    items = []
    for sub in sorted((d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")),
                      key=lambda d: natural_key(d.name)):
        items += [Item(path, sub.name) for path in audio_files(sub, exts)]
    if not items:
        loose = audio_files(base, exts, recursive=False)
        if loose:
            raise DatasetError(
                f"no audio files in label folders of '{base}', but {len(loose)} directly in it "
                f"(e.g. '{loose[0].name}'): put them in one folder per label, or take labels "
                "from the file names with from_regex / labels_from='regex'")
        raise _no_audio(base, exts, "in the label folders of")
    return Dataset(tuple(items), base)


# --------------------------------------------------------------------------- regex
def from_regex(root: str | os.PathLike, pattern: str | re.Pattern, *, recursive: bool = True,
               extensions: Sequence[str] = AUDIO_EXTENSIONS) -> Dataset:
    """Labels (and groups, folds) from the file names.

    ``pattern`` must match the whole file name (``re.fullmatch``, folders excluded) and have a
    named group ``label``; the optional groups ``group`` and ``fold`` (an integer) fill those
    fields and any other named group goes to ``Item.meta``.  Files that do not match are
    skipped; if none matches, DatasetError names the pattern and a file name.  For the Free
    Spoken Digit Dataset use :data:`FSDD_PATTERN`.
    """
    base = _root(root)
    regex = _compile(pattern, "pattern")
    if "label" not in regex.groupindex:
        raise ParameterError(f"pattern must have a named group 'label' (?P<label>...), "
                             f"got {regex.pattern!r}")
    exts = _extensions(extensions)
    files = audio_files(base, exts, recursive)
    if not files:
        raise _no_audio(base, exts, "in" if recursive else "directly in")
    extra = [g for g in regex.groupindex if g not in ("label", "group", "fold")]
    items = []
    for path in files:
        m = regex.fullmatch(path.name)
        if m is None or not m["label"]:
            continue
        fold = m["fold"] if "fold" in regex.groupindex else None
        if fold is not None and not fold.lstrip("-").isdigit():
            raise DatasetError(f"pattern '{regex.pattern}' gives fold {fold!r} for '{path}': "
                               "the 'fold' group must match an integer")
        meta = tuple(sorted((g, m[g]) for g in extra if m[g] is not None))
        group = m["group"] if "group" in regex.groupindex else None
        items.append(Item(path, m["label"], group=group or None,
                          fold=None if fold is None else int(fold), meta=meta))
    if not items:
        raise DatasetError(f"pattern '{regex.pattern}' matches none of the {len(files)} audio "
                           f"file names in '{base}' (e.g. '{files[0].name}'); it must match "
                           "the whole file name")
    return Dataset(tuple(items), base)


def _compile(pattern: Any, name: str) -> re.Pattern:
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str) or not pattern:
        raise ParameterError(f"{name} must be a non-empty regular expression, got {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ParameterError(f"{name} is not a valid regular expression ({exc}), "
                             f"got {pattern!r}") from None


# --------------------------------------------------------------------------- one entry point
def discover(root: str | os.PathLike | None, *, labels_from: str = "folders",
             pattern: str | re.Pattern | None = None,
             csv: str | os.PathLike | None = None,
             label_pattern: str | re.Pattern | None = None,
             columns: dict[str, str] | None = None) -> Dataset:
    """Find a dataset: the one entry point of the command line.

    labels_from "folders"  :func:`from_folders` (``root/<label>/...``)
    labels_from "regex"    :func:`from_regex` with ``pattern`` (a regular expression, or a
                           name from :data:`PATTERNS` such as ``"fsdd"``); ``"emodb"``:
                           :func:`tympan.data.from_emodb` (English emotion labels)
    labels_from "csv"      :func:`tympan.data.from_csv` with ``csv`` (layout detected: ESC-50,
                           UrbanSound8K or generic) and ``columns``, audio under ``root`` (the
                           dataset or its audio folder; ``None``: found from the CSV's place)
    labels_from "auto"     "csv" when ``csv`` is given, "regex" when ``pattern`` is, else "folders"

    A ``root`` that is a ``.csv`` file is taken as ``csv`` (labels from the CSV, audio found
    from its place), whatever ``labels_from`` says but "regex".

    ``label_pattern`` then takes each item's label (and group) from its file name with
    :func:`tympan.data.relabel.relabel` (e.g. ``"fsdd-speaker"`` for speaker recognition); with
    "auto" or "folders" and no ``pattern`` or ``csv``, every audio file under ``root`` is a
    candidate.
    """
    v.choice("labels_from", labels_from, ("folders", "regex", "csv", "auto"))
    if isinstance(root, (str, os.PathLike)) and Path(root).suffix.lower() == ".csv" \
            and Path(root).expanduser().is_file():
        if csv is not None and Path(csv).expanduser().resolve() != Path(root).expanduser().resolve():
            raise ParameterError(f"give the CSV file once, as the dataset or as csv, got the dataset "
                                 f"'{root}' and csv '{csv}'")
        if labels_from == "regex":
            raise ParameterError(f"labels_from='regex' needs a folder of audio files, got the CSV "
                                 f"file '{root}'")
        root, csv, labels_from = None, root, "csv"
    if label_pattern is not None:
        from tympan.data.relabel import relabel  # relabel builds on this module

        if labels_from in ("auto", "folders") and csv is None and pattern is None:
            if columns is not None:
                raise ParameterError(f"columns is used with a CSV only, got columns={columns!r}")
            return relabel(from_regex(root, r"(?P<label>.+)"), label_pattern)
        return relabel(discover(root, labels_from=labels_from, pattern=pattern, csv=csv,
                                columns=columns), label_pattern)
    if labels_from == "auto":
        labels_from = "csv" if csv is not None else "regex" if pattern is not None else "folders"
    if pattern is not None and labels_from != "regex":
        raise ParameterError(f"pattern is used with labels_from='regex' only, got "
                             f"labels_from={labels_from!r}")
    if csv is not None and labels_from != "csv":
        raise ParameterError(f"csv is used with labels_from='csv' only, got labels_from={labels_from!r}")
    if columns is not None and labels_from != "csv":
        raise ParameterError(f"columns is used with a CSV only (csv or labels_from='csv'), got "
                             f"columns={columns!r} with labels_from={labels_from!r}")
    if labels_from == "csv":
        if csv is None:
            raise ParameterError("csv must name a CSV file when labels_from='csv', got None")
        from tympan.data.csv_layouts import from_csv  # csv_layouts builds on this module

        return from_csv(csv, root=root, columns=columns)
    if labels_from == "regex":
        if pattern is None:
            raise ParameterError("pattern must be a regular expression with a (?P<label>...) "
                                 f"group or one of {sorted([*PATTERNS, 'emodb'])} for labels_from='regex', "
                                 "got None")
        if isinstance(pattern, str) and pattern.lower() == "emodb":
            from tympan.data.corpora import from_emodb  # corpora builds on this module

            return from_emodb(root)
        pattern = PATTERNS.get(pattern.lower(), pattern) if isinstance(pattern, str) else pattern
        return from_regex(root, pattern)
    return from_folders(root)
