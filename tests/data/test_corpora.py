"""tympan.data.from_emodb: EMO-DB file names -> English emotion labels, speakers as groups."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tympan import data
from tympan.data import EMODB_EMOTIONS, discover, from_emodb
from tympan.errors import DatasetError

# The corpus as published (Burkhardt et al., 2005): utterances per emotion and per speaker.
COUNTS = {"anger": 127, "boredom": 81, "disgust": 46, "fear": 69, "happiness": 71, "neutral": 79,
          "sadness": 62}
SPEAKERS = {"03": 49, "08": 58, "09": 43, "10": 38, "11": 55, "12": 35, "13": 61, "14": 69,
            "15": 56, "16": 71}


def test_full_corpus(shared_data: Path) -> None:
    ds = from_emodb(shared_data / "emodb")  # the corpus folder: wav/ is found below it
    assert len(ds) == 535 and ds.counts() == COUNTS
    assert ds.labels == tuple(sorted(COUNTS))
    groups = ds.groups().tolist()
    assert {g: groups.count(g) for g in set(groups)} == SPEAKERS
    assert ds.root == shared_data / "emodb"
    # the letter in the name is the corpus's own coding: F (Freude) is happiness, W (Wut) anger
    first = ds[0]
    assert first.path.name == "03a01Fa.wav" and first.label == "happiness" and first.group == "03"
    assert first.meta_dict() == {"emotion": "F", "text": "a01", "version": "a"}
    assert {it.meta_dict()["emotion"] for it in ds if it.label == "anger"} == {"W"}
    assert len(from_emodb(shared_data / "emodb" / "wav")) == 535


def test_copied_files_other_names_skipped(shared_data: Path, tmp_path: Path) -> None:
    names = ["03a01Wa.wav", "03a01Nc.wav", "08a02Tb.wav", "16b10Lb.wav", "11a05Ad.wav"]
    for name in names:
        shutil.copyfile(shared_data / "emodb" / "wav" / name, tmp_path / name)
    shutil.copyfile(data.example_file(), tmp_path / "7_jackson_0.wav")  # not EMO-DB: skipped
    (tmp_path / "03a01Xa.wav").write_bytes(b"")  # no such emotion letter: skipped
    ds = from_emodb(tmp_path)
    assert [it.path.name for it in ds] == sorted(names)
    assert [it.label for it in ds] == ["neutral", "anger", "sadness", "fear", "boredom"]
    assert [it.group for it in ds] == ["03", "03", "08", "11", "16"]
    assert ds.labels == ("anger", "boredom", "fear", "neutral", "sadness")
    # the command line's way: --pattern emodb (any case), labels_from "auto" or "regex"
    for how in ({"labels_from": "auto", "pattern": "emodb"},
                {"labels_from": "regex", "pattern": "EMODB"}):
        assert discover(tmp_path, **how).items == ds.items
    folds = data.cross_validation(ds, method="leave_one_group_out")
    assert [f.params["test_groups"] for f in folds] == [["03"], ["08"], ["11"], ["16"]]


def test_every_letter_maps_to_an_english_name() -> None:
    assert sorted(EMODB_EMOTIONS) == sorted("WLEAFTN")
    assert sorted(EMODB_EMOTIONS.values()) == sorted(COUNTS)


def test_no_emodb_names_is_a_clear_error(tmp_path: Path) -> None:
    shutil.copyfile(data.example_file(), tmp_path / "7_jackson_0.wav")
    with pytest.raises(DatasetError, match=r"no EMO-DB recordings in '.*': expected file names "
                       r"such as '03a01Fa\.wav'.*'7_jackson_0\.wav'"):
        from_emodb(tmp_path)
    with pytest.raises(DatasetError, match="no EMO-DB recordings"):
        discover(tmp_path, labels_from="auto", pattern="emodb")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match=r"no EMO-DB recordings.*no audio files"):
        from_emodb(empty)
    with pytest.raises(DatasetError, match="does not exist"):
        from_emodb(tmp_path / "missing")

