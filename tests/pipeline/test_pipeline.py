"""Train -> save -> load -> predict/evaluate, on real recordings, and the errors around it."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tympan import data, io, pipeline
from tympan.errors import ArtifactError, AudioIOError, DatasetError, ParameterError
from tympan.pipeline.artifact import PIPELINE_FILE, SCHEMA_VERSION


def test_artifact_folder_holds_the_whole_pipeline(trained):
    _, out = trained
    # the figures come with matplotlib (installed with the dev extras; see tests/plot)
    assert sorted(p.name for p in out.iterdir()) == ["confusion.png", "curves.png", "history.json",
                                                      "model.keras", "pipeline.json"]
    meta = json.loads((out / PIPELINE_FILE).read_text())
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["labels"] == [str(d) for d in range(10)]
    assert meta["audio"]["sr"] == 8000 and meta["input"]["shape"] == [8000]
    assert meta["features"]["kind"] == "mel" and meta["features"]["n_fft"] > 0  # defaults resolved
    assert meta["model"]["name"] == "conv1d" and "filters" in meta["model"]
    assert meta["split"]["method"] == "group"
    assert {"tympan_version", "keras_version", "backend"} <= set(meta)
    assert meta["metrics"]["n_test"] == 60 and 0.0 <= meta["metrics"]["test"]["accuracy"] <= 1.0
    assert set(json.loads((out / "history.json").read_text())) >= {"loss", "accuracy"}
    assert not list(out.parent.glob(".digits.tmp-*"))  # no temporary folder left behind


def test_reloaded_predictions_equal_in_memory(trained, digits_dir):
    artifact, out = trained
    files = sorted(digits_dir.glob("*_george_*.wav"))[:8]
    in_memory = artifact.predict(files)
    reloaded = pipeline.predict(out, files)
    for a, b in zip(in_memory, reloaded, strict=True):
        assert a.label == b.label
        np.testing.assert_allclose(list(a.probabilities.values()), list(b.probabilities.values()),
                                   atol=1e-6)


def test_model_file_alone_takes_waveforms(trained, digits_dir):
    import keras

    _, out = trained
    model = keras.models.load_model(out / "model.keras", safe_mode=True)
    y, _ = io.load(sorted(digits_dir.glob("3_*.wav"))[0])
    x = data.fit_length(y, 8000)[None]
    probs = model.predict(x, verbose=0)
    assert probs.shape == (1, 10) and abs(float(probs.sum()) - 1.0) < 1e-4


def test_stereo_44k_mp3_gets_the_same_label_as_the_8k_wav(trained, digits_dir, tmp_path):
    artifact, _ = trained
    wav = digits_dir / "5_jackson_2.wav"
    y, sr = io.load(wav)
    y44 = io.resample(y, orig_sr=sr, target_sr=44100)
    stereo = np.stack([y44, 0.8 * y44])
    io.save(tmp_path / "five.mp3", stereo, 44100)
    assert io.info(tmp_path / "five.mp3").channels == 2
    a, b = artifact.predict([wav, tmp_path / "five.mp3"])
    assert a.label == b.label
    assert abs(a.probability - b.probabilities[a.label]) < 0.15


def test_array_input_any_rate(trained, digits_dir):
    artifact, _ = trained
    y, sr = io.load(digits_dir / "2_theo_1.wav")
    from_file = artifact.predict(digits_dir / "2_theo_1.wav")[0]
    from_array = artifact.predict(y, sr=sr)[0]
    assert from_array.source == "<array>" and from_array.label == from_file.label
    y16 = io.resample(y, orig_sr=sr, target_sr=16000)
    assert artifact.predict((y16, 16000))[0].label == from_file.label
    with pytest.raises(ParameterError, match="sr="):
        artifact.predict(y)


def test_long_file_gives_a_timeline(trained, digits_dir, tmp_path):
    artifact, _ = trained
    digits = ["1", "4", "8"]
    gap = np.zeros(4000, dtype=np.float32)
    parts = []
    for d in digits:
        y, _ = io.load(digits_dir / f"{d}_jackson_0.wav")
        parts += [data.fit_length(y, 8000, pad="end"), gap]  # placed as in training
    long = np.concatenate(parts)
    io.save(tmp_path / "long.wav", long, 8000)
    (p,) = artifact.predict(tmp_path / "long.wav", window_sec=1.0, hop_sec=0.5)
    assert p.duration == pytest.approx(len(long) / 8000)
    assert len(p.segments) >= 6
    starts = [s.start for s in p.segments]
    assert starts == sorted(starts) and p.segments[-1].end == pytest.approx(p.duration)
    # the windows that hold exactly one digit (at 0 s, 1.5 s, 3 s) carry that digit
    aligned = {s.start: s.label for s in p.segments}
    hits = sum(aligned.get(t) == d for t, d in zip((0.0, 1.5, 3.0), digits, strict=True))
    assert hits >= 2
    assert p.label in p.probabilities and abs(sum(p.probabilities.values()) - 1) < 1e-4


def test_folder_source_and_evaluate(trained, digits_dir):
    _, out = trained
    preds = pipeline.predict(out, digits_dir)
    assert len(preds) == 180
    report = pipeline.evaluate(out, digits_dir, discovery={"labels_from": "regex",
                                                           "pattern": "fsdd"}, progress=False)
    assert report.confusion.sum() == 180
    d = report.to_dict()
    assert set(d) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix"}
    agree = np.mean([p.label == p.source.split("/")[-1][0] for p in preds])
    assert report.accuracy == pytest.approx(agree, abs=0.02)  # same clips, same decisions


def test_newer_schema_is_refused(trained, tmp_path):
    import shutil

    _, out = trained
    copy = tmp_path / "future"
    shutil.copytree(out, copy)
    meta = json.loads((copy / PIPELINE_FILE).read_text())
    meta["schema_version"] = SCHEMA_VERSION + 1
    (copy / PIPELINE_FILE).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="newer"):
        pipeline.load_artifact(copy)
    with pytest.raises(ArtifactError, match="not a tympan artifact"):
        pipeline.load_artifact(tmp_path)
    with pytest.raises(ArtifactError, match="does not exist"):
        pipeline.load_artifact(tmp_path / "nothing")


def test_existing_folders_are_never_overwritten(trained, tmp_path):
    artifact, out = trained
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    with pytest.raises(ArtifactError, match="not a tympan artifact"):
        pipeline.save_artifact(artifact, mine, overwrite=True)
    assert (mine / "notes.txt").read_text() == "precious"
    with pytest.raises(ArtifactError, match="overwrite"):
        pipeline.save_artifact(artifact, out)
    pipeline.save_artifact(artifact, tmp_path / "copy")
    pipeline.save_artifact(artifact, tmp_path / "copy", overwrite=True)
    assert (tmp_path / "copy" / "model.keras").is_file()


def _few(tmp_path, n=3):
    folder = tmp_path / "few"
    folder.mkdir()
    import shutil

    for digit in range(10):
        for take in range(n):
            name = f"{digit}_jackson_{take}.wav"
            shutil.copy(data.demo_dir() / name, folder / name)
    return folder


def test_errors_for_bad_datasets_and_recipes(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no audio"):
        pipeline.train(empty, discovery={"labels_from": "folders"})
    (tmp_path / "texts" / "a").mkdir(parents=True)
    (tmp_path / "texts" / "a" / "readme.txt").write_text("hello")
    with pytest.raises(DatasetError, match="no audio"):
        pipeline.train(tmp_path / "texts")
    few = _few(tmp_path, n=1)  # 10 clips: one per digit
    regex = {"labels_from": "regex", "pattern": "fsdd"}
    with pytest.raises(DatasetError, match="class"):
        pipeline.train(few, discovery=regex, split="stratified")
    cfg = pipeline.PipelineConfig(model={"name": "no_such_model"})
    with pytest.raises(ParameterError, match="no_such_model"):
        pipeline.train(few, cfg, discovery=regex)
    cfg = pipeline.PipelineConfig(features={"kind": "no_such_feature"})
    with pytest.raises(ParameterError, match="no_such_feature"):
        pipeline.train(few, cfg, discovery=regex)
    cfg = pipeline.PipelineConfig(model={"name": "conv1d", "wings": 2})
    with pytest.raises(ParameterError, match="wings"):
        pipeline.train(few, cfg, discovery=regex)


def test_corrupt_file_inside_a_dataset(tmp_path):
    few = _few(tmp_path, n=3)
    (few / "4_jackson_99.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    cfg = pipeline.PipelineConfig(training=pipeline.TrainConfig(epochs=1, validation_size=0.0))
    regex = {"labels_from": "regex", "pattern": "fsdd"}
    with pytest.raises(AudioIOError, match=r"4_jackson_99\.wav"):
        pipeline.train(few, cfg, discovery=regex, split="stratified", on_error="raise",
                       progress=False, verbose=0)
    with warnings.catch_warnings(record=True) as caught:  # the default: left out, named
        warnings.simplefilter("always")
        art = pipeline.train(few, cfg, discovery=regex, split="stratified", progress=False,
                             verbose=0)
    assert any("4_jackson_99.wav" in str(w.message) for w in caught)
    assert art.metrics["n_train"] + art.metrics["n_val"] + art.metrics["n_test"] == 30
    assert "4_jackson_99.wav" in art.chosen["unreadable"][0]
    assert art.split["sizes"]["train"] + art.split["sizes"]["test"] == 30  # indices of the kept 30


def test_cross_validation_leaves_each_speaker_out_once(digits_dir):
    small = {"name": "conv1d", "filters": [8], "batch_norm": False, "dropout": 0.0,
             "pooling": "flatten", "dense_units": 16, "augmentation": {"enabled": False}}
    cfg = pipeline.PipelineConfig(model=small, training=pipeline.TrainConfig(epochs=1))
    cv = pipeline.cross_validate(digits_dir, cfg, discovery={"labels_from": "regex",
                                                             "pattern": "fsdd"},
                                 method="leave_one_group_out", progress=False)
    held_out = [tuple(f["split"]["params"]["test_groups"]) for f in cv["folds"]]
    assert sorted(held_out) == [("george",), ("jackson",), ("theo",)]
    assert [f["n"] for f in cv["folds"]] == [60, 60, 60]
    pooled = np.sum([f["confusion_matrix"] for f in cv["folds"]], axis=0)
    assert cv["pooled"]["confusion_matrix"] == pooled.tolist()
    assert cv["mean_accuracy"] == pytest.approx(np.mean([f["accuracy"] for f in cv["folds"]]))


def test_cross_validation_runs_only_the_folds_asked_for(digits_dir):
    small = {"name": "conv1d", "filters": [8], "batch_norm": False, "dropout": 0.0,
             "pooling": "flatten", "dense_units": 16, "augmentation": {"enabled": False}}
    cfg = pipeline.PipelineConfig(model=small, training=pipeline.TrainConfig(epochs=1))
    discovery = {"labels_from": "regex", "pattern": "fsdd"}
    cv = pipeline.cross_validate(digits_dir, cfg, discovery=discovery,
                                 method="leave_one_group_out", progress=False, only=[2])
    assert [(f["fold"], f["split"]["params"]["test_groups"]) for f in cv["folds"]] == [(2, ["theo"])]
    for bad in ([3], [], [True], ["george"]):
        with pytest.raises(ParameterError, match=r"only must name folds among 0\.\.2"):
            pipeline.cross_validate(digits_dir, cfg, discovery=discovery,
                                    method="leave_one_group_out", progress=False, only=bad)


@pytest.mark.parametrize(("name", "trainer"), [("autoencoder", "train_autoencoder"),
                                               ("separator", "train_separator")])
def test_models_of_other_tasks_are_refused_by_the_classifier_trainers(digits_dir, name, trainer):
    config = pipeline.PipelineConfig(model={"name": name})
    with pytest.raises(ParameterError, match=f"model '{name}' is a .* model, not a classifier.*{trainer}"):
        pipeline.train(digits_dir, config, discovery={"labels_from": "regex", "pattern": "fsdd"})
    with pytest.raises(ParameterError, match=trainer):
        pipeline.cross_validate(digits_dir, config, discovery={"labels_from": "regex", "pattern": "fsdd"})
