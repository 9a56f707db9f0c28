"""split / cross-validation "auto" (folds, then groups, then stratified) and data.survey /
audio_defaults (the audio settings chosen from the files' headers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import userdata  # tests/userdata.py (registered by conftest.py)
from tympan import data, io
from tympan.data import Dataset, Item, audio_defaults, auto_method, cross_validation, split, survey
from tympan.errors import DatasetError, ParameterError

make = userdata.make_dataset


LABELS = ["a", "b"] * 30


def test_auto_is_stratified_without_groups_or_folds():
    s = split(make(LABELS), method="auto", test_size=0.2)
    assert s.method == "stratified" and "no groups or folds" in s.params["auto"]
    assert len(s.test) == 12 and set(np.array(LABELS)[s.test]) == {"a", "b"}


def test_auto_is_group_disjoint_with_groups():
    groups = [str(i % 6) for i in range(60)]
    s = split(make(LABELS, groups), method="auto")
    assert s.method == "group" and "6 groups" in s.params["auto"]
    g = np.array(groups)
    assert not set(g[s.train]) & set(g[s.test])


def test_auto_takes_folds_first_and_holds_out_the_last():
    folds = [i % 5 + 1 for i in range(60)]
    groups = [str(i % 6) for i in range(60)]
    s = split(make(LABELS, groups, folds), method="auto")
    assert s.method == "fold" and s.params["test_folds"] == [5]
    assert set(np.array(folds)[s.test]) == {5}


def test_auto_with_too_few_groups_is_stratified():
    s = split(make(LABELS, ["x", "y"] * 30), method="auto")
    assert s.method == "stratified" and "only 2 group(s)" in s.params["auto"]


def test_auto_follows_the_options_given():
    groups = [str(i % 6) for i in range(60)]
    s = split(make(LABELS, groups), method="auto", test_groups=["1"])
    assert s.method == "group" and s.params["test_groups"] == ["1"]
    with pytest.raises(ParameterError, match="test_folds, test_groups"):
        split(make(LABELS, groups), method="auto", test_groups=["1"], test_pattern="_1")


def test_cv_auto():
    folds = [i % 4 + 1 for i in range(60)]
    assert [f.method for f in cross_validation(make(LABELS, folds=folds), method="auto")] == ["fold"] * 4
    groups = [str(i % 6) for i in range(60)]
    cv = cross_validation(make(LABELS, groups), method="auto", n_splits=5)
    assert len(cv) == 5 and cv[0].method == "group_kfold"
    # 4 groups are too few for 5 group folds: stratified k-fold
    cv = cross_validation(make(LABELS, [str(i % 4) for i in range(60)]), method="auto", n_splits=5)
    assert cv[0].method == "kfold" and "fewer than 5" in cv[0].params["auto"]
    assert auto_method(make(LABELS), cv=True)[0] == "kfold"


# --------------------------------------------------------------------------- survey
def test_survey_reads_headers_and_keeps_errors(tmp_path):
    good = data.example_file("7_jackson_0.wav")
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    found = survey([good, bad])
    assert len(found) == 2 and found.files[0].ok and not found.files[1].ok
    assert found.files[0].sr == 8000 and found.files[0].channels == 1
    assert found.files[0].duration == pytest.approx(io.info(good).duration)
    assert "broken.wav" in found.files[1].error
    assert found.counts("sr") == {8000: 1}


def test_survey_of_a_dataset_uses_item_ranges(tmp_path):
    path = tmp_path / "a.wav"
    io.save(path, np.zeros(16000, np.float32), 8000)  # 2 s
    ds = Dataset((Item(path, "x", start=0.5, end=1.25), Item(path, "x")), tmp_path)
    assert [f.duration for f in survey(ds).files] == pytest.approx([0.75, 2.0])


def test_audio_defaults_on_fsdd_are_the_project_recipe():
    choice = audio_defaults(survey(data.from_regex(data.demo_dir(), data.FSDD_PATTERN)))
    assert (choice.sr, choice.duration) == (8000, 1.0)
    assert "8000 Hz" in choice.sr_reason and "95 %" in choice.duration_reason


def _fake(rates, durations):
    return data.Survey(tuple(data.FileInfo(Path(f"/f{i}.wav"), sr=r, channels=1, frames=int(d * r),
                                           duration=d, format="WAV", subtype="PCM_16")
                             for i, (r, d) in enumerate(zip(rates, durations, strict=True))))


def test_audio_defaults_caps_and_rounds():
    choice = audio_defaults(_fake([44100] * 9 + [22050], [5.0] * 10))
    assert (choice.sr, choice.duration) == (16000, 5.0) and "capped at 16000" in choice.sr_reason
    assert audio_defaults(_fake([11025] * 3, [0.1, 0.2, 0.3])).duration == 0.5  # at least one step
    assert audio_defaults(_fake([8000] * 4, [1.2, 1.3, 1.4, 1.6])).duration == 2.0  # rounded up
    long = audio_defaults(_fake([16000] * 2, [30.0, 30.0]))
    assert long.duration == 10.0 and "capped at 10 s" in long.duration_reason
    # the most common rate wins; a tie goes to the higher one
    assert audio_defaults(_fake([8000, 8000, 16000], [1, 1, 1])).sr == 8000
    assert audio_defaults(_fake([8000, 11025], [1, 1])).sr == 11025


def test_audio_defaults_keeps_given_values_and_refuses_unreadable():
    choice = audio_defaults(_fake([44100], [5.0]), sr=22050, duration=1.5)
    assert (choice.sr, choice.duration, choice.sr_reason) == (22050, 1.5, "given")
    broken = data.Survey((data.FileInfo(Path("/x.wav"), error="cannot read '/x.wav'"),))
    with pytest.raises(DatasetError, match=r"none of the 1 files could be read.*x\.wav"):
        audio_defaults(broken)
