"""CLI: ``tympan evaluate --cv`` (speaker-independent cross-validation on EMO-DB files),
``tympan train --class-weight``, and clean errors."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tympan import data
from tympan.cli.main import main

SPEAKERS = ("03", "08")
EMOTIONS = ("W", "N", "T")  # anger, neutral, sadness
# A tiny recipe so that one fold trains in seconds: these tests check the command's mechanics.
RECIPE = ["--model", "conv1d_lstm", "--features", "mfcc", "--feature-param", "n_mfcc=13",
          "--model-param", "filters=[8]", "--model-param", "lstm_units=8", "--sr", "8000",
          "--duration", "0.5", "--epochs", "1", "--batch-size", "8", "--class-weight"]


@pytest.fixture(scope="module")
def emotions(shared_data, tmp_path_factory):
    """12 EMO-DB utterances: 2 speakers x 3 emotions x 2 takes."""
    folder = tmp_path_factory.mktemp("emodb")
    names = sorted(p.name for p in (shared_data / "emodb" / "wav").glob("*.wav"))
    for speaker in SPEAKERS:
        for letter in EMOTIONS:
            for name in [n for n in names if n[:2] == speaker and n[5] == letter][:2]:
                shutil.copyfile(shared_data / "emodb" / "wav" / name, folder / name)
    assert len(list(folder.glob("*.wav"))) == 12
    return folder


def test_leave_one_speaker_out_table(emotions, capsys):
    capsys.readouterr()
    assert main(["evaluate", "--cv", "leave-one-group-out", str(emotions), "--pattern", "emodb",
                 *RECIPE]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["fold", "held", "out", "n", "accuracy", "UAR", "macro-F1", "epochs",
                                "train", "s"]
    folds = [line.split() for line in lines[1:3]]
    assert [f[:3] for f in folds] == [["0", "03", "6"], ["1", "08", "6"]]  # one speaker each
    assert all(0.0 <= float(x) <= 1.0 for f in folds for x in f[3:6])
    pooled = re.search(r"^\s+pooled\s+12\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    assert pooled, out
    assert re.search(r"^\s+mean of folds\s+[\d.]+\s+[\d.]+\s+[\d.]+$", out, re.M)
    assert "all folds' test predictions together" in out and "UAR" in out
    for label in ("anger", "neutral", "sadness"):
        assert re.search(rf"^{label}\s+[\d.]+\s+[\d.]+", out, re.M)


def test_group_kfold_json_runs_only_the_fold_asked_for(emotions, capsys):
    capsys.readouterr()
    assert main(["evaluate", "--cv", "group-kfold", "--folds", "2", "--only-folds", "1",
                 str(emotions), "--pattern", "emodb", *RECIPE, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "group_kfold" and len(result["folds"]) == 1
    fold = result["folds"][0]
    assert fold["fold"] == 1 and fold["n"] == 6 and fold["split"]["params"]["n_splits"] == 2
    groups = [it.group for it in data.from_emodb(emotions)]
    train = {groups[i] for i in fold["split"]["train"]}
    test = {groups[i] for i in fold["split"]["test"]}
    assert test == set(fold["split"]["params"]["test_groups"]) and len(test) == 1
    assert train == set(SPEAKERS) - test  # the folds never share a speaker
    assert result["pooled"]["confusion_matrix"] == fold["confusion_matrix"]
    assert {"mean_accuracy", "mean_uar", "mean_macro_f1", "std_accuracy"} <= set(result)


def test_train_with_class_weight_records_it(emotions, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(emotions), "--pattern", "emodb", "--test-groups", "08", *RECIPE,
                 "--quiet", "--out", str(out)]) == 0
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["training"]["class_weight"] is True
    assert meta["model"]["name"] == "conv1d_lstm" and meta["features"]["n_mfcc"] == 13
    assert meta["labels"] == ["anger", "neutral", "sadness"]
    assert "UAR" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--only-folds", "zero"], "error: --only-folds takes comma-separated integers such as 0,3, "
                               "got 'zero'"),
    (["--only-folds", "0,5"], r"error: only must name folds among 0..1, got [0, 5]"),
    (["--model-param", "units=4"], "error: unknown parameter(s) 'units' for model 'conv1d_lstm'"),
    (["--features", "waveform"], "error: model 'conv1d_lstm' does not take feature kind 'waveform': "
                                 "use model 'waveform'"),
])
def test_errors_are_one_clean_line(emotions, capsys, args, message):
    capsys.readouterr()
    argv = ["evaluate", "--cv", "leave-one-group-out", str(emotions), "--pattern", "emodb",
            "--model", "conv1d_lstm", *args]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()  # a loading progress bar may come first
    assert err.splitlines()[-1].startswith(message) and "Traceback" not in err


def test_data_errors(emotions, tmp_path, capsys):
    capsys.readouterr()
    shutil.copyfile(data.example_file(), tmp_path / "7_jackson_0.wav")
    assert main(["evaluate", "--cv", "leave-one-group-out", str(tmp_path), "--pattern", "emodb"]) == 1
    assert capsys.readouterr().err.startswith("error: no EMO-DB recordings in ")
    assert main(["evaluate", "--cv", "group-kfold", "--folds", "3", str(emotions), "--pattern",
                 "emodb"]) == 1
    assert "needs at least 3 groups" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--cv", "kfold", "runs/x", "DATA"], "with --cv give DATA only"),
    (["evaluate", "runs/x", "DATA", "--model", "conv1d_lstm"], "--model only with --cv"),
    (["evaluate", "runs/x", "DATA", "--only-folds", "0"], "--only-folds only with --cv"),
    (["evaluate", "DATA"], "give RUN and DATA"),
    (["evaluate", "--cv", "leave-one-group-out", "DATA", "--folds", "3"],
     "--folds is for --cv group-kfold and kfold"),
])
def test_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_help_shows_cross_validation(capsys):
    assert main(["evaluate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "tympan evaluate --cv leave-one-group-out" in out and "--only-folds" in out
    assert main(["train", "--help"]) == 0
    assert "--class-weight" in capsys.readouterr().out
