"""CLI: train with --feature-norm group, adapt to a speaker, predict and evaluate with it."""

from __future__ import annotations

import json
import shutil

import pytest

from tympan import data
from tympan.cli.main import main


@pytest.fixture(scope="module")
def speakers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapt-digits")
    for digit in range(10):
        for speaker in ("jackson", "nicolas", "theo"):
            for take in range(3):
                name = f"{digit}_{speaker}_{take}.wav"
                shutil.copy(data.demo_dir() / name, folder / name)
    return folder


def test_train_group_norm_adapt_predict_evaluate(speakers, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(speakers), "--pattern", "fsdd", "--split", "group",
                 "--test-groups", "theo", "--model", "mlp", "--model-param", "hidden_units=[]",
                 "--model-param", "pooling=stats", "--features", "mfcc", "--feature-norm", "group",
                 "--epochs", "3", "--validation-size", "0", "--quiet", "--out", str(run)]) == 0
    training = json.loads((run / "pipeline.json").read_text())["training"]
    assert training["feature_norm"] == "group" and training["validation_size"] == 0
    theo = sorted(speakers.glob("*_theo_*.wav"))
    capsys.readouterr()
    assert main(["adapt", str(run), *map(str, theo[:12]), "--out", str(tmp_path / "theo")]) == 0
    assert "adapted to 12 clips" in capsys.readouterr().out
    meta = json.loads((tmp_path / "theo" / "pipeline.json").read_text())
    assert meta["adaptation"]["clips"] == 12
    assert main(["predict", str(tmp_path / "theo"), str(theo[0]), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["label"] in [str(d) for d in range(10)]
    # a second adapt to the same place is refused; the original stays unadapted
    assert main(["adapt", str(run), str(theo[0]), "--out", str(tmp_path / "theo")]) == 1
    assert "already holds an artifact" in capsys.readouterr().err
    assert "adaptation" not in json.loads((run / "pipeline.json").read_text())
    for flag in ("--per-group", "--no-per-group"):
        assert main(["evaluate", str(run), str(speakers), "--pattern", "fsdd", flag,
                     "--format", "json"]) == 0
        assert 0.0 <= json.loads(capsys.readouterr().out)["accuracy"] <= 1.0


def test_per_group_is_for_a_run_only(speakers, capsys):
    assert main(["evaluate", "--cv", "leave-one-group-out", str(speakers), "--pattern", "fsdd",
                 "--per-group"]) == 2
    assert "--per-group is for a saved RUN" in capsys.readouterr().err


def test_train_with_self_training_prints_it(speakers, tmp_path, capsys):
    assert main(["train", str(speakers), "--pattern", "fsdd", "--split", "group",
                 "--test-groups", "theo", "--model", "mlp", "--model-param", "hidden_units=[]",
                 "--features", "mel", "--feature-norm", "group", "--self-training", "2",
                 "--epochs", "3", "--quiet", "--out", str(tmp_path / "st")]) == 0
    out = capsys.readouterr().out
    assert "normalised per test group" in out
    assert "self-trained on the unlabelled test clips: 2 rounds" in out
    meta = json.loads((tmp_path / "st" / "pipeline.json").read_text())
    assert meta["training"]["self_training"] == 2
    assert len(meta["metrics"]["self_training"]["pseudo_labelled"]) == 2
