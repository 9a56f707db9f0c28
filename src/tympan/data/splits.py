"""Train / validation / test splits and cross-validation folds of a :class:`Dataset`.

A :class:`Split` holds index arrays into the dataset; every item is in exactly one of
``train``, ``val`` (possibly empty) and ``test``.  Sizes are fractions of the whole dataset.
Everything is deterministic for a given ``seed``.

Methods of :func:`split`:

``"auto"`` (the default of ``tympan train``)
    the data's own protocol: "fold" when the items have predefined folds (ESC-50,
    UrbanSound8K: one fold held out), else "group" when they have at least
    :data:`AUTO_MIN_GROUPS` groups (speakers, source recordings), else "stratified".  Given
    ``test_folds``, ``test_groups`` or ``test_pattern`` choose their method.  The reason is
    kept in ``Split.params["auto"]``.
``"stratified"``
    random, each class split in the same proportions (per class within one item of exact).
``"group"``
    whole groups (speakers, source recordings) go to one side: no group is in two parts.
    ``test_groups`` names them, or they are drawn at random so that the test part holds about
    ``test_size`` of the data with class proportions as close as the groups allow.
``"fold"``
    predefined folds (UrbanSound8K): ``test_folds``, by default the last fold.
``"pattern"``
    items whose file name matches ``test_pattern`` (``re.search``) are the test part; e.g. the
    usual FSDD split, takes 0-4 for test: ``r"_[0-4]\\.wav$"``.

``val_size > 0`` carves the validation part out of the rest with the same logic: whole groups
for "group", whole folds for "fold", stratified for "stratified" and "pattern".
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tympan import _validate as v
from tympan.data.dataset import Dataset, DatasetWarning, natural_key
from tympan.errors import DatasetError, ParameterError

__all__ = ["AUTO_MIN_GROUPS", "CV_METHODS", "DEFAULT_TEST_SIZE", "SPLIT_METHODS", "Split", "auto_method",
           "cross_validation", "split"]

SPLIT_METHODS = ("auto", "stratified", "group", "fold", "pattern")
CV_METHODS = ("auto", "kfold", "group_kfold", "leave_one_group_out", "fold")
#: "auto" splits by group only with at least this many groups (fewer: stratified).
AUTO_MIN_GROUPS = 3
#: Part of the dataset held out for test by :func:`split` when no size is given (``tympan train``
#: and ``tympan data inspect`` use it too).
DEFAULT_TEST_SIZE = 0.2
_TRIES = 64  # random group orders tried when choosing test groups


@dataclass(frozen=True, eq=False)
class Split:
    """Index arrays (int64, sorted) into a dataset, and how they were made."""

    train: np.ndarray
    test: np.ndarray
    val: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    method: str = ""
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("train", "test", "val"):
            arr = np.sort(np.asarray(getattr(self, name), dtype=np.int64).ravel())
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def subsets(self, dataset: Dataset) -> tuple[Dataset, Dataset, Dataset]:
        """``(train, val, test)`` datasets (same labels as ``dataset``)."""
        return dataset.subset(self.train), dataset.subset(self.val), dataset.subset(self.test)

    def to_json(self) -> dict:
        """A JSON-ready dict: method, params (with the test groups/folds when relevant), sizes
        and the index lists."""
        return {"method": self.method, "params": _plain(self.params), "sizes": self.sizes,
                "train": self.train.tolist(), "val": self.val.tolist(), "test": self.test.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> Split:
        """Rebuild a split written by :meth:`to_json`."""
        try:
            return cls(train=data["train"], test=data["test"], val=data.get("val", []),
                       method=data.get("method", ""), params=dict(data.get("params", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"not a split record ({exc!r}): {str(data)[:200]}") from None

    def __repr__(self) -> str:
        return (f"Split(method={self.method!r}, train={len(self.train)}, val={len(self.val)}, "
                f"test={len(self.test)}, params={self.params!r})")


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(val) for k, val in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(val) for val in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


# --------------------------------------------------------------------------- helpers
def _fraction(name: str, value: Any, *, allow_zero: bool) -> float:
    value = v.non_negative_number(name, value) if allow_zero else v.positive_number(name, value)
    if value >= 1:
        raise ParameterError(f"{name} must be a fraction of the dataset in "
                             f"{'[0' if allow_zero else '(0'}, 1), got {value!r}")
    return value


def _check_dataset(dataset: Any) -> Dataset:
    if not isinstance(dataset, Dataset):
        raise ParameterError(f"dataset must be a tympan.data.Dataset, got {type(dataset).__name__}")
    if len(dataset) < 2:
        raise DatasetError(f"cannot split a dataset of {len(dataset)} item(s) (root '{dataset.root}')")
    return dataset


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _as_list(x: Any) -> list:
    return [x] if isinstance(x, (str, int, np.integer)) else list(x)


def _largest_remainder(counts: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Per-class shares of ``fraction * counts`` rounded so that each is the floor or the ceiling
    of its exact value, the total is ``round(fraction * counts.sum())``, and every class that
    has items gets at least one."""
    exact = counts * fraction
    base = np.floor(exact).astype(np.int64)
    want = int(np.floor(fraction * counts.sum() + 0.5))
    rest = exact - base
    order = sorted(range(len(counts)), key=lambda k: (-rest[k], rng.random()))
    for k in order[: max(0, want - int(base.sum()))]:
        if rest[k] > 0:
            base[k] += 1
    base[(counts > 0) & (base == 0)] = 1
    return base


def _stratified(pool: np.ndarray, y: np.ndarray, fractions: list[float], rng: np.random.Generator,
                labels: tuple[str, ...], what: str) -> list[np.ndarray]:
    """Split ``pool`` by class into parts of ``fractions`` of ``len(pool)`` each, then the rest.

    Every class gets at least one item in every part; DatasetError when one cannot.
    """
    counts = np.bincount(y[pool], minlength=len(labels))
    shares = [_largest_remainder(counts, f, rng) if f > 0 else np.zeros_like(counts)
              for f in fractions]
    left = counts - np.sum(shares, axis=0)
    for k in np.flatnonzero((counts > 0) & (left < 1)):
        need = 1 + sum(1 for f in fractions if f > 0)
        raise DatasetError(f"class {labels[k]!r} has {counts[k]} item(s), too few for a "
                           f"stratified split with {what}: every class needs at least one item "
                           f"in each of the {need} parts")
    parts: list[list[int]] = [[] for _ in range(len(fractions) + 1)]
    for k in np.flatnonzero(counts):
        members = rng.permutation(pool[y[pool] == k])
        edges = np.cumsum([0, *(int(s[k]) for s in shares)])
        for j in range(len(fractions)):
            parts[j].extend(members[edges[j]:edges[j + 1]])
        parts[-1].extend(members[edges[-1]:])
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def _pick_units(pool: np.ndarray, unit: np.ndarray, y: np.ndarray, n_classes: int, target: float,
                rng: np.random.Generator, keep: int = 1) -> list:
    """Choose whole units (groups or folds) of ``pool`` holding about ``target`` items, with
    class proportions close to ``target / len(pool)``; at least one unit chosen, ``keep`` left."""
    uniq, inv = np.unique(unit[pool], return_inverse=True)
    sizes = np.bincount(inv)
    hist = np.zeros((len(uniq), n_classes))
    np.add.at(hist, (inv, y[pool]), 1)
    totals = hist.sum(axis=0)
    present = totals > 0
    frac = target / len(pool)
    best, best_cost = None, np.inf
    for _ in range(_TRIES):
        chosen: list[int] = []
        n = 0
        for u in rng.permutation(len(uniq)):
            if len(chosen) >= len(uniq) - keep:
                break
            if not chosen or abs(n + sizes[u] - target) < abs(n - target):
                chosen.append(int(u))
                n += int(sizes[u])
        share = hist[chosen].sum(axis=0)[present] / totals[present]
        cost = abs(n - target) / len(pool) + float(np.mean(np.abs(share - frac)))
        if cost < best_cost - 1e-12:
            best, best_cost = chosen, cost
    return sorted((uniq[i].item() for i in best), key=lambda g: natural_key(str(g)))


def _need_units(dataset: Dataset, kind: str, method: str) -> np.ndarray:
    values = dataset.groups() if kind == "group" else dataset.folds()
    if values is None:
        how = ("a 'group' column, a (?P<group>...) pattern group" if kind == "group"
               else "a 'fold' column (UrbanSound8K's metadata has one)")
        raise DatasetError(f"method {method!r} needs a {kind} for every item, but the dataset in "
                           f"'{dataset.root}' has none (give the items one: {how})")
    return values


# --------------------------------------------------------------------------- auto
def auto_method(dataset: Dataset, *, cv: bool = False, n_splits: int = 5) -> tuple[str, str]:
    """The method "auto" stands for on ``dataset`` and why: ``(method, reason)``.

    Folds first (the data's own protocol), then groups (at least :data:`AUTO_MIN_GROUPS`, or
    ``n_splits`` for cross-validation), else stratified.  For cross-validation (``cv=True``)
    the names are :data:`CV_METHODS`' ("fold", "group_kfold", "kfold").  A fold or group
    that only some items have is not used (the reason says how many lack it)."""
    partial = []

    def whole(name: str):
        values = [getattr(it, name) for it in dataset.items]
        missing = sum(x is None for x in values)
        if missing and missing < len(values):
            partial.append(f"{missing} of {len(values)} items have no {name}")
            return None
        return None if missing else np.asarray(values, dtype=object)

    folds = whole("fold")
    if folds is not None and len(np.unique(folds.astype(np.int64))) >= 2:
        return "fold", f"the items come with {len(np.unique(folds.astype(np.int64)))} predefined folds"
    groups = whole("group")
    need = max(AUTO_MIN_GROUPS, n_splits) if cv else AUTO_MIN_GROUPS
    n_groups = 0 if groups is None else len(set(groups))
    if n_groups >= need:
        return ("group_kfold" if cv else "group",
                f"the items come in {n_groups} groups (speakers or source recordings): no group "
                "is on both sides")
    why = ("; ".join(partial) if partial else "the items have no groups or folds") if groups is None \
        else f"only {n_groups} group(s), fewer than {need}"
    return "kfold" if cv else "stratified", f"{why}: classes split in equal proportions"


# --------------------------------------------------------------------------- split
def split(dataset: Dataset, *, method: str = "stratified", test_size: float = DEFAULT_TEST_SIZE,
          val_size: float = 0.0, seed: int = 0, test_groups: Iterable[str] | str | None = None,
          test_folds: Iterable[int] | int | None = None,
          test_pattern: str | re.Pattern | None = None) -> Split:
    """Split ``dataset`` into train / val / test (see the module docstring for the methods).

    ``test_size`` and ``val_size`` are fractions of the whole dataset (``test_size`` is unused
    by "fold", "pattern", and "group" with ``test_groups``).  Raises DatasetError when the data
    cannot be split so (a class too small, no groups or folds, a pattern that matches nothing
    or everything) and ParameterError for bad arguments.
    """
    ds = _check_dataset(dataset)
    v.choice("method", method, SPLIT_METHODS)
    val_size = _fraction("val_size", val_size, allow_zero=True)
    seed = _seed(seed)
    rng = np.random.default_rng(seed)
    n, y = len(ds), ds.targets()
    everything = np.arange(n)
    params: dict[str, Any] = {"seed": seed}
    if method == "auto":
        given = {"fold": test_folds, "group": test_groups, "pattern": test_pattern}
        named = [m for m, x in given.items() if x is not None]
        if len(named) > 1:
            raise ParameterError(f"split 'auto' takes one of test_folds, test_groups and "
                                 f"test_pattern, got {', '.join('test_' + m + 's' for m in named)}")
        method, reason = (named[0], f"test_{named[0]} given" if named[0] == "pattern" else
                          f"test_{named[0]}s given") if named else auto_method(ds)
        params["auto"] = reason
    if method == "stratified":
        test_size = _fraction("test_size", test_size, allow_zero=False)
        if test_size + val_size >= 1:
            raise ParameterError(f"test_size + val_size must be below 1, got {test_size} + {val_size}")
        params |= {"test_size": test_size, "val_size": val_size}
        what = f"test_size={test_size}" + (f" and val_size={val_size}" if val_size else "")
        test, val, train = _stratified(everything, y, [test_size, val_size], rng, ds.labels, what)
        return _finish(ds, train, val, test, method, params)
    if method == "group":
        unit = _need_units(ds, "group", method)
        if test_groups is not None:
            chosen = sorted({str(g) for g in _as_list(test_groups)}, key=natural_key)
            _known(chosen, unit, "test_groups", ds)
        else:
            test_size = _fraction("test_size", test_size, allow_zero=False)
            params["test_size"] = test_size
            keep = 2 if val_size > 0 else 1
            _enough_units(unit, 1 + keep, "group", method + (" with val_size > 0" if keep > 1 else ""), ds)
            chosen = _pick_units(everything, unit, y, len(ds.labels), test_size * n, rng, keep)
        params["test_groups"] = chosen
    elif method == "fold":
        unit = _need_units(ds, "fold", method)
        chosen = (sorted({int(f) for f in _as_list(test_folds)}) if test_folds is not None
                  else [int(unit.max())])
        _known(chosen, unit, "test_folds", ds)
        params["test_folds"] = chosen
    else:
        if test_pattern is None:
            raise ParameterError("test_pattern must be a regular expression for method='pattern', "
                                 "got None")
        regex = v.regex("test_pattern", test_pattern)
        params["test_pattern"] = regex.pattern
        unit = np.array([bool(regex.search(it.path.name)) for it in ds])
        chosen = [True]
        if not unit.any():
            raise DatasetError(f"test_pattern '{regex.pattern}' matches none of the {n} file names "
                               f"(e.g. '{ds[0].path.name}')")
    is_test = np.isin(unit, np.asarray(chosen, dtype=unit.dtype))
    test, rest = everything[is_test], everything[~is_test]
    if not len(rest):
        raise DatasetError(f"method {method!r} puts all {n} items in the test part "
                           f"({_describe(params)}); nothing is left to train on")
    val = np.zeros(0, np.int64)
    if val_size > 0:
        params["val_size"] = val_size
        if val_size * n >= len(rest):
            raise ParameterError(f"val_size={val_size} asks for {val_size * n:.0f} items, but only "
                                 f"{len(rest)} are left after the test part")
        if method == "pattern":
            val, rest = _stratified(rest, y, [val_size * n / len(rest)], rng, ds.labels,
                                    f"val_size={val_size} after the test pattern")
        else:
            kind = "group" if method == "group" else "fold"
            _enough_units(unit[rest], 2, kind, f"{method} with val_size > 0", ds, " after the test part")
            val_units = _pick_units(rest, unit, y, len(ds.labels), val_size * n, rng)
            params[f"val_{kind}s"] = val_units
            in_val = np.isin(unit[rest], np.asarray(val_units, dtype=unit.dtype))
            val, rest = rest[in_val], rest[~in_val]
    return _finish(ds, rest, val, test, method, params)


def _known(chosen: list, unit: np.ndarray, name: str, ds: Dataset) -> None:
    known = sorted({x.item() for x in unit}, key=lambda g: natural_key(str(g)))
    unknown = [c for c in chosen if c not in set(known)]
    if unknown or not chosen:
        shown = ", ".join(map(str, known[:20])) + (" ..." if len(known) > 20 else "")
        raise DatasetError(f"{name} {unknown or chosen!r} not in the dataset in '{ds.root}' "
                           f"(it has: {shown})")


def _enough_units(unit: np.ndarray, k: int, kind: str, method: str, ds: Dataset,
                  where: str = "") -> int:
    count = len(np.unique(unit))
    if count < k:
        raise DatasetError(f"method {method!r} needs at least {k} {kind}s{where}, but the dataset "
                           f"in '{ds.root}' has {count}")
    return count


def _describe(params: dict) -> str:
    return ", ".join(f"{k}={val!r}" for k, val in params.items() if k != "seed")


def _finish(ds: Dataset, train: np.ndarray, val: np.ndarray, test: np.ndarray, method: str,
            params: dict) -> Split:
    if not len(train) or not len(test):
        raise DatasetError(f"method {method!r} ({_describe(params)}) leaves the "
                           f"{'train' if not len(train) else 'test'} part of the dataset in "
                           f"'{ds.root}' empty")
    return Split(train=train, test=test, val=val, method=method, params=params)


# --------------------------------------------------------------------------- cross-validation
def cross_validation(dataset: Dataset, *, method: str = "kfold", n_splits: int = 5,
                     seed: int = 0) -> list[Split]:
    """Cross-validation folds: every item is in the test part of exactly one fold.

    ``"kfold"``                stratified k-fold: each class spread evenly (within one item)
    ``"group_kfold"``          k folds of whole groups, balanced in size
    ``"leave_one_group_out"``  one fold per group (``n_splits`` unused)
    ``"fold"``                 one fold per predefined fold (``n_splits`` unused)
    ``"auto"``                 "fold", "group_kfold" or "kfold" (see :func:`auto_method`)
    """
    ds = _check_dataset(dataset)
    v.choice("method", method, CV_METHODS)
    seed = _seed(seed)
    rng = np.random.default_rng(seed)
    n, y = len(ds), ds.targets()
    params: dict[str, Any] = {"seed": seed}
    if method == "auto":
        method, params["auto"] = auto_method(ds, cv=True, n_splits=n_splits)
    if method in ("kfold", "group_kfold"):
        k = v.positive_int("n_splits", n_splits)
        if k < 2:
            raise ParameterError(f"n_splits must be at least 2, got {n_splits!r}")
        params["n_splits"] = k
    if method == "kfold":
        if n < k:
            raise DatasetError(f"cannot make {k} folds of {n} items (dataset in '{ds.root}')")
        small = [f"{label!r} ({c})" for label, c in ds.counts().items() if 0 < c < k]
        if small:
            warnings.warn(f"classes with fewer items than n_splits={k} are missing from some "
                          f"test folds: {', '.join(small)}", DatasetWarning, stacklevel=2)
        order = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in range(len(ds.labels))])
        fold_of = np.empty(n, np.int64)
        fold_of[order] = np.arange(n) % k
        return [_finish(ds, np.flatnonzero(fold_of != i), np.zeros(0), np.flatnonzero(fold_of == i),
                        method, params | {"index": i}) for i in range(k)]
    kind = "fold" if method == "fold" else "group"
    unit = _need_units(ds, kind, method)
    uniq = sorted({u.item() for u in unit}, key=lambda g: natural_key(str(g)))
    if method == "group_kfold":
        _enough_units(unit, k, "group", f"{method} with n_splits={k}", ds)
        sizes = {g: int(np.sum(unit == g)) for g in uniq}
        order = [uniq[i] for i in rng.permutation(len(uniq))]
        order.sort(key=lambda g: -sizes[g])  # stable: random among equal sizes
        bins: list[list] = [[] for _ in range(k)]
        totals = [0] * k
        for g in order:
            j = int(np.argmin(totals))
            bins[j].append(g)
            totals[j] += sizes[g]
        tests = [sorted(b, key=lambda g: natural_key(str(g))) for b in bins]
    else:
        _enough_units(unit, 2, kind, method, ds)
        tests = [[u] for u in uniq]
    out = []
    for i, chosen in enumerate(tests):
        is_test = np.isin(unit, np.asarray(chosen, dtype=unit.dtype))
        out.append(_finish(ds, np.flatnonzero(~is_test), np.zeros(0), np.flatnonzero(is_test),
                           method, params | {"index": i, f"test_{kind}s": chosen}))
    return out
