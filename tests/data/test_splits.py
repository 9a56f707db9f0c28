"""tympan.data.splits: partitions, stratification, group-disjointness, folds, patterns,
cross-validation, determinism, JSON records, and errors for data that cannot be split."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import userdata  # tests/userdata.py (registered by conftest.py)
from tympan import data
from tympan.data import Dataset, DatasetWarning, Split, cross_validation, split
from tympan.errors import DatasetError, ParameterError

FSDD_TEST_TAKES = r"_[0-4]\.wav$"


@pytest.fixture(scope="module")
def fsdd() -> Dataset:
    return data.from_regex(data.demo_dir(), data.FSDD_PATTERN)


make = userdata.make_dataset


def check_partition(s: Split, n: int) -> None:
    both = np.concatenate([s.train, s.val, s.test])
    assert np.array_equal(np.sort(both), np.arange(n)), "every item in exactly one part"
    for part in (s.train, s.val, s.test):
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)


def disjoint(values: np.ndarray, *parts: np.ndarray) -> bool:
    sets = [set(values[p].tolist()) for p in parts]
    return all(not (a & b) for i, a in enumerate(sets) for b in sets[i + 1:])


# --------------------------------------------------------------------------- split
def test_stratified(fsdd: Dataset) -> None:
    s = split(fsdd, test_size=0.2, val_size=0.1, seed=3)
    check_partition(s, len(fsdd))
    assert s.sizes == {"train": 420, "val": 60, "test": 120}
    y = fsdd.targets()
    assert set(np.bincount(y[s.test]).tolist()) == {12} and set(np.bincount(y[s.val]).tolist()) == {6}
    again = split(fsdd, test_size=0.2, val_size=0.1, seed=3)
    assert np.array_equal(again.test, s.test) and np.array_equal(again.val, s.val)
    assert not np.array_equal(split(fsdd, test_size=0.2, val_size=0.1, seed=4).test, s.test)
    assert s.method == "stratified" and s.params == {"seed": 3, "test_size": 0.2, "val_size": 0.1}


def test_stratified_too_small() -> None:
    ds = make(["a"] * 10 + ["b"])
    with pytest.raises(DatasetError, match=r"class 'b' has 1 item\(s\), too few .*test_size=0\.2"):
        split(ds)
    ds = make(["a"] * 10 + ["b"] * 2)
    split(ds, test_size=0.2)  # one in test, one in train
    with pytest.raises(DatasetError, match=r"class 'b' has 2 item\(s\).*val_size=0\.1.* 3 parts"):
        split(ds, test_size=0.2, val_size=0.1)


def test_group(fsdd: Dataset) -> None:
    groups = fsdd.groups()
    s = split(fsdd, method="group", test_size=0.2, val_size=0.2, seed=0)
    check_partition(s, len(fsdd))
    assert disjoint(groups, s.train, s.val, s.test)
    assert s.sizes == {"train": 400, "val": 100, "test": 100}  # 6 speakers of 100 clips
    assert s.params["test_groups"] == sorted(set(groups[s.test]))
    assert s.params["val_groups"] == sorted(set(groups[s.val]))
    t = split(fsdd, method="group", test_groups=["theo", "lucas"])
    assert set(groups[t.test]) == {"theo", "lucas"} and len(t.val) == 0
    assert t.params == {"seed": 0, "test_groups": ["lucas", "theo"]}
    assert set(groups[split(fsdd, method="group", test_groups="george").test]) == {"george"}
    with pytest.raises(DatasetError, match=r"test_groups \['bob'\] not in the dataset .*george"):
        split(fsdd, method="group", test_groups=["bob"])
    with pytest.raises(DatasetError, match="puts all 600 items in the test part"):
        split(fsdd, method="group", test_groups=sorted(set(groups)))
    with pytest.raises(DatasetError, match="method 'group' needs a group for every item"):
        split(make(["a", "b"] * 5), method="group")
    with pytest.raises(DatasetError, match="needs at least 2 groups"):
        split(make(["a", "b"] * 5, groups=["g"] * 10), method="group")


def test_fold() -> None:
    folds = [1, 2, 3, 4] * 10
    ds = make(["a", "b", "c", "d", "e"] * 8, folds=folds)
    s = split(ds, method="fold")
    assert set(ds.folds()[s.test]) == {4} and len(s.test) == 10 and s.params["test_folds"] == [4]
    s = split(ds, method="fold", test_folds=[1, 2], val_size=0.25, seed=1)
    check_partition(s, len(ds))
    assert set(ds.folds()[s.test]) == {1, 2} and len(s.val) == 10
    assert disjoint(ds.folds(), s.train, s.val, s.test)
    assert s.params["val_folds"] == sorted(set(ds.folds()[s.val].tolist()))
    with pytest.raises(DatasetError, match=r"test_folds \[7\] not in the dataset"):
        split(ds, method="fold", test_folds=7)
    with pytest.raises(DatasetError, match="method 'fold' needs a fold for every item"):
        split(make(["a", "b"] * 5), method="fold")


def test_pattern(fsdd: Dataset) -> None:
    s = split(fsdd, method="pattern", test_pattern=FSDD_TEST_TAKES, val_size=0.1)
    check_partition(s, len(fsdd))
    takes = np.array([int(it.meta_dict()["take"]) for it in fsdd])
    assert set(takes[s.test]) == {0, 1, 2, 3, 4} and len(s.test) == 300
    assert set(np.bincount(fsdd.targets()[s.val]).tolist()) == {6}
    with pytest.raises(DatasetError, match=r"test_pattern '_9\\d\\.wav\$' matches none .*_0\.wav"):
        split(fsdd, method="pattern", test_pattern=r"_9\d\.wav$")
    with pytest.raises(DatasetError, match="puts all 600 items in the test part"):
        split(fsdd, method="pattern", test_pattern=r"\.wav$")
    with pytest.raises(ParameterError, match="test_pattern must be"):
        split(fsdd, method="pattern")


def test_split_arguments(fsdd: Dataset) -> None:
    with pytest.raises(ParameterError, match="method must be one of"):
        split(fsdd, method="speaker")
    with pytest.raises(ParameterError, match="test_size must be a fraction"):
        split(fsdd, test_size=1.5)
    with pytest.raises(ParameterError, match="test_size must be a positive number"):
        split(fsdd, test_size=0)
    with pytest.raises(ParameterError, match=r"test_size \+ val_size must be below 1"):
        split(fsdd, test_size=0.6, val_size=0.4)
    with pytest.raises(ParameterError, match="seed must be a non-negative integer"):
        split(fsdd, seed=-1)
    with pytest.raises(DatasetError, match=r"cannot split a dataset of 0 item\(s\)"):
        split(fsdd.subset([]))


def test_json_round_trip(fsdd: Dataset) -> None:
    s = split(fsdd, method="group", val_size=0.2)
    record = json.loads(json.dumps(s.to_json()))
    assert record["sizes"] == s.sizes and record["params"]["test_groups"] == s.params["test_groups"]
    back = Split.from_json(record)
    for part in ("train", "val", "test"):
        assert np.array_equal(getattr(back, part), getattr(s, part))
    assert back.method == "group" and back.params == s.params
    train, val, test = s.subsets(fsdd)
    assert (len(train), len(val), len(test)) == (400, 100, 100) and test.labels == fsdd.labels
    with pytest.raises(DatasetError, match="not a split record"):
        Split.from_json({"train": [1]})


# --------------------------------------------------------------------------- cross-validation
def test_kfold(fsdd: Dataset) -> None:
    folds = cross_validation(fsdd, n_splits=5, seed=1)
    assert len(folds) == 5
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(np.sort(tested), np.arange(600))
    y = fsdd.targets()
    for i, f in enumerate(folds):
        check_partition(f, 600)
        assert set(np.bincount(y[f.test]).tolist()) == {12}
        assert f.params == {"seed": 1, "n_splits": 5, "index": i}
    with pytest.warns(DatasetWarning, match=r"'b' \(2\)"):
        cross_validation(make(["a"] * 6 + ["b"] * 2), n_splits=3)
    with pytest.raises(DatasetError, match="cannot make 5 folds of 3 items"):
        cross_validation(make(["a", "b", "c"]))
    with pytest.raises(ParameterError, match="n_splits must be at least 2"):
        cross_validation(fsdd, n_splits=1)


def test_group_cv(fsdd: Dataset) -> None:
    groups = fsdd.groups()
    folds = cross_validation(fsdd, method="group_kfold", n_splits=3)
    assert [len(f.test) for f in folds] == [200, 200, 200]
    for f in folds:
        assert disjoint(groups, f.train, f.test)
        assert f.params["test_groups"] == sorted(set(groups[f.test]))
    logo = cross_validation(fsdd, method="leave_one_group_out")
    assert [f.params["test_groups"] for f in logo] == [
        ["george"], ["jackson"], ["lucas"], ["nicolas"], ["theo"], ["yweweler"]]
    with pytest.raises(DatasetError, match="needs at least 7 groups"):
        cross_validation(fsdd, method="group_kfold", n_splits=7)
    ds = make(["a", "b"] * 6, folds=[1, 2, 3] * 4)
    cv = cross_validation(ds, method="fold")
    assert [f.params["test_folds"] for f in cv] == [[1], [2], [3]]
    assert all(set(ds.folds()[f.test]) == {i + 1} for i, f in enumerate(cv))


# --------------------------------------------------------------------------- properties
labels_st = st.lists(st.integers(0, 3), min_size=2, max_size=60)


@settings(max_examples=60, deadline=None)
@given(labels=labels_st, test_size=st.floats(0.05, 0.6), val_size=st.sampled_from([0.0, 0.1, 0.25]),
       seed=st.integers(0, 2**32))
def test_stratified_property(labels, test_size, val_size, seed) -> None:
    ds = make(labels)
    counts = np.bincount(labels)
    try:
        s = split(ds, test_size=test_size, val_size=val_size, seed=seed)
    except (DatasetError, ParameterError) as exc:
        if isinstance(exc, ParameterError):
            assert test_size + val_size >= 1
            return
        # per class: test <= n t + 1 and val <= n v + 1, so a split fails only for n (1-t-v) <= 2
        bad = int(str(exc).split("'")[1])
        assert counts[bad] * (1 - test_size - val_size) <= 2 or counts[bad] < 2 + (val_size > 0)
        return
    check_partition(s, len(ds))
    y = ds.targets()
    for part, frac in ((s.test, test_size), (s.val, val_size)):
        got = np.bincount(y[part], minlength=len(ds.labels))
        assert np.all(np.abs(got - counts[counts > 0] * frac) <= 1), "within one per class"
    assert np.all(np.bincount(y[s.train], minlength=len(ds.labels)) >= 1)


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5)), min_size=2, max_size=50),
       test_size=st.floats(0.1, 0.5), val_size=st.sampled_from([0.0, 0.2]), seed=st.integers(0, 99))
def test_group_property(pairs, test_size, val_size, seed) -> None:
    labels, groups = zip(*pairs, strict=True)
    ds = make(list(labels), groups=list(groups))
    n_groups = len(set(groups))
    try:
        s = split(ds, method="group", test_size=test_size, val_size=val_size, seed=seed)
    except (DatasetError, ParameterError) as exc:
        assert n_groups < 2 + (val_size > 0) or "left after the test part" in str(exc)
        return
    check_partition(s, len(ds))
    assert disjoint(ds.groups(), s.train, s.val, s.test)
    assert len(s.test) and len(s.train) and (len(s.val) > 0) == (val_size > 0)
    again = split(ds, method="group", test_size=test_size, val_size=val_size, seed=seed)
    assert again.params == s.params and np.array_equal(again.test, s.test)  # deterministic


@settings(max_examples=40, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 6)), min_size=4, max_size=50),
       k=st.integers(2, 4), seed=st.integers(0, 99),
       method=st.sampled_from(["kfold", "group_kfold", "leave_one_group_out"]))
def test_cv_property(pairs, k, seed, method) -> None:
    labels, groups = zip(*pairs, strict=True)
    ds = make(list(labels), groups=list(groups))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DatasetWarning)
            folds = cross_validation(ds, method=method, n_splits=k, seed=seed)
    except DatasetError:
        assert len(set(groups)) < (k if method == "group_kfold" else 2)
        return
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(np.sort(tested), np.arange(len(ds))), "each item tested exactly once"
    y = ds.targets()
    counts = np.bincount(y)
    for f in folds:
        check_partition(f, len(ds))
        if method == "kfold":
            got = np.bincount(y[f.test], minlength=len(counts))
            assert np.all(np.abs(got - counts / k) < 1)
        else:
            assert disjoint(ds.groups(), f.train, f.test)
