"""tympan.data.relabel and discover(label_pattern=...): labels and groups from file names."""

from __future__ import annotations

import pytest

from tympan import data
from tympan.data.relabel import relabel
from tympan.errors import DatasetError, ParameterError


def test_fsdd_speaker_labels_with_takes_as_groups(shared_data):
    ds = data.discover(shared_data / "fsdd" / "recordings", label_pattern="fsdd-speaker")
    assert len(ds) == 3000
    assert ds.labels == ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
    assert sorted(set(ds.groups()), key=int) == [str(k) for k in range(50)]
    item = next(it for it in ds if it.path.name == "3_theo_12.wav")
    assert (item.label, item.group) == ("theo", "12")
    # held-out takes: no recording of the test part was heard in training
    s = data.split(ds, method="group", test_groups=["0", "1", "2", "3", "4"])
    assert len(s.test) == 300
    test_names = {ds[i].path.name for i in s.test}
    assert all(name.rsplit("_", 1)[1] in {f"{k}.wav" for k in range(5)} for name in test_names)


def test_emodb_speaker_labels_with_texts_as_groups(shared_data):
    ds = data.discover(shared_data / "emodb" / "wav", label_pattern="emodb-speaker")
    assert len(ds.labels) == 10 and ds.labels[0] == "03"
    assert len(set(ds.groups())) == 10  # the ten texts a01 .. b10
    for fold in data.cross_validation(ds, method="group_kfold", n_splits=5):
        train_texts = {ds[i].group for i in fold.train}
        assert train_texts.isdisjoint({ds[i].group for i in fold.test})


def test_relabel_keeps_groups_without_a_group_in_the_pattern(shared_data):
    ds = data.from_regex(shared_data / "fsdd" / "recordings", data.FSDD_PATTERN)
    out = relabel(ds, r"_(?P<label>[a-z]+)_")
    assert set(out.labels) == {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}
    assert [it.group for it in out] == [it.group for it in ds]  # the speaker groups stay


def test_non_matching_files_are_left_out_with_a_warning(shared_data):
    ds = data.from_regex(shared_data / "fsdd" / "recordings", data.FSDD_PATTERN)
    with pytest.warns(data.DatasetWarning, match="does not match 2400"):
        out = relabel(ds, r"^(?P<label>[0-1])_")
    assert out.labels == ("0", "1") and len(out) == 600


def test_errors(shared_data):
    ds = data.from_regex(shared_data / "fsdd" / "recordings", data.FSDD_PATTERN)
    with pytest.raises(ParameterError, match="named group 'label'"):
        relabel(ds, r"_([a-z]+)_")
    with pytest.raises(DatasetError, match="matches none of the 3000"):
        relabel(ds, r"(?P<label>zzz)")
    with pytest.raises(ParameterError, match="not a valid regular expression"):
        relabel(ds, "(?P<label>")
