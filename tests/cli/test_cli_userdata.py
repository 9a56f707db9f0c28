"""`tympan train DATA --out RUN` with nothing else, then `tympan predict`, on folders laid out as
users have them (tests/userdata.py): every setting comes from the data, is printed, and is
kept in pipeline.json.  ``--epochs 2`` keeps the runs short; nothing else is given."""

from __future__ import annotations

import json

import pytest

from tympan import data
from tympan.cli.main import main


def _train(args, out, capsys) -> tuple[dict, str]:
    rc = main(["train", *map(str, args), "--epochs", "2", "--quiet", "--out", str(out)])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    return json.loads((out / "pipeline.json").read_text()), printed.out


def _predict_json(run, *sources, capsys) -> list[dict]:
    rc = main(["predict", str(run), *map(str, sources), "--format", "json"])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    return [row for row in json.loads(printed.out) if "label" in row and row.get("label")]


def test_plain_class_folders_without_speakers(class_folders_8k, tmp_path, capsys):
    meta, out = _train([class_folders_8k], tmp_path / "run", capsys)
    assert (meta["audio"]["sr"], meta["audio"]["duration"]) == (8000, 1.0)
    assert meta["split"]["method"] == "stratified"
    assert sorted(meta["labels"]) == ["one", "two", "zero"]
    chosen = meta["chosen"]
    assert "8000 Hz" in chosen["audio"]["sr_reason"] and "no groups or folds" in chosen["split"]
    assert chosen["recipe"]["model"]["name"] == meta["model"]["name"]
    for line in ("audio: 8000 Hz", "recipe:", "split: stratified"):
        assert line in out
    rows = _predict_json(tmp_path / "run", class_folders_8k / "zero", capsys=capsys)
    assert len(rows) == len(data.audio_files(class_folders_8k / "zero"))
    assert {r["label"] for r in rows} <= set(meta["labels"])


def test_44k_stereo_mp3_and_flac_folders(class_folders_44k_stereo, tmp_path, capsys):
    meta, out = _train([class_folders_44k_stereo], tmp_path / "run", capsys)
    # 44.1 kHz files: the rate is capped at 16 kHz, and the 5-s clips are kept whole
    assert (meta["audio"]["sr"], meta["audio"]["duration"]) == (16000, 5.0)
    assert "capped at 16000 Hz" in meta["chosen"]["audio"]["sr_reason"]
    assert "audio: 16000 Hz" in out and "5 s clips" in out
    mp3 = next((class_folders_44k_stereo / "car").glob("*.mp3"))
    flac = next((class_folders_44k_stereo / "car").glob("*.flac"))
    rows = _predict_json(tmp_path / "run", mp3, flac, capsys=capsys)
    assert len(rows) == 2 and all(r["duration"] == pytest.approx(5.0, abs=0.01) for r in rows)


def test_esc50_csv_as_published(esc50_layout, tmp_path, capsys):
    meta, out = _train([esc50_layout.csv], tmp_path / "run", capsys)
    # the data's own folds: one held out, and the takes of a recording stay together
    assert meta["split"]["method"] == "fold" and meta["split"]["params"]["test_folds"] == [5]
    assert "5 predefined folds" in meta["chosen"]["split"]
    assert sorted(meta["labels"]) == ["airplane", "engine", "train"]
    assert meta["audio"]["sr"] == 8000
    assert "split: fold" in out
    rows = _predict_json(tmp_path / "run", esc50_layout.root / "audio", capsys=capsys)
    assert len(rows) == 30


def test_urbansound8k_layout(urbansound8k_layout, tmp_path, capsys):
    meta, _ = _train([urbansound8k_layout.root, "--csv", urbansound8k_layout.csv], tmp_path / "run",
                     capsys)
    assert meta["split"]["method"] == "fold" and meta["split"]["params"]["test_folds"] == [3]
    assert sorted(meta["labels"]) == ["children_playing", "engine_idling", "street_music"]
    assert meta["split"]["sizes"]["test"] == 6
    rows = _predict_json(tmp_path / "run", urbansound8k_layout.root / "audio" / "fold3", capsys=capsys)
    assert len(rows) == 6


def test_folder_with_broken_files_trains_on_the_good_ones(bad_files_folder, tmp_path, capsys):
    import userdata

    meta, out = _train([bad_files_folder], tmp_path / "run", capsys)
    unreadable = meta["chosen"]["unreadable"]
    assert len(unreadable) == len(userdata.BAD_FILES)
    for name in userdata.BAD_FILES:
        assert any(name.split("/")[1] in cause for cause in unreadable)
        assert name.split("/")[1] in out
    sizes = meta["split"]["sizes"]
    assert sizes["train"] + sizes["test"] == 2 * userdata.BAD_FOLDER_GOOD_PER_CLASS


def test_broken_files_stop_training_with_on_error_raise(bad_files_folder, tmp_path, capsys):
    rc = main(["train", str(bad_files_folder), "--on-error", "raise", "--epochs", "1", "--quiet",
               "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_features_without_a_model_get_a_model_that_takes_them(class_folders_8k, tmp_path, capsys):
    meta, out = _train([class_folders_8k, "--features", "mean_mfcc"], tmp_path / "run", capsys)
    # one vector per clip: the small-data recipe's mlp takes it, with its own defaults
    assert meta["model"]["name"] == "mlp" and meta["features"]["kind"] == "mean_mfcc"
    assert "recipe: mlp with the features given (kind 'mean_mfcc')" in out
