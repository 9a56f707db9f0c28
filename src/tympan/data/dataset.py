"""The dataset as tympan holds it: :class:`Item` (one clip: path, label, and optionally a group,
a predefined fold, a time range and extra metadata) and :class:`Dataset` (an immutable list of
items with the sorted label set), with :func:`natural_key` (the order of file names and labels)
and :class:`DatasetWarning`.

Every finder (:mod:`tympan.data.listing`, :mod:`tympan.data.csv_layouts`,
:mod:`tympan.data.corpora`, :func:`tympan.data.discover`) returns a :class:`Dataset`; splits,
loading and inspection take one.  Nothing here touches the file system.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tympan.errors import DatasetError, ParameterError

__all__ = ["Dataset", "DatasetWarning", "Item", "natural_key"]


class DatasetWarning(UserWarning):
    """Something in a dataset was skipped or is unusual (a clip that failed to load, a class
    too small for every cross-validation fold, a file name a label pattern does not match)."""


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
