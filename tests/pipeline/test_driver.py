"""The task registry and the one driver: tasks by name, errors about the wrong task, results
serialised, validation by file, continuing any task from an artifact."""

from __future__ import annotations

import csv
import io as _io
import json

import numpy as np
import pytest

from tympan import pipeline
from tympan.errors import ArtifactError, DatasetError, ParameterError
from tympan.pipeline import driver
from tympan.pipeline.classify import CLASSIFICATION, Prediction, Segment
from tympan.pipeline.task import Task, get_task, misuse, register_task, require

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_every_task_is_registered_under_its_pipeline_json_name():
    assert {"classification", "reconstruction", "separation", "tagging"} <= set(pipeline.available_tasks())
    for name in ("classification", "reconstruction", "separation", "tagging"):
        task = get_task(name)
        assert task.name == name and task.trained_with and task.applied_with
    assert get_task("classification") is CLASSIFICATION
    with pytest.raises(ParameterError, match=r"unknown task 'regression'; known: .*classification"):
        get_task("regression")
    with pytest.raises(ParameterError, match="task 'classification' is registered already"):
        register_task(type("Other", (Task,), {"name": "classification"})())


def test_the_wrong_task_is_named_with_what_to_use():
    art = pipeline.Artifact(model=None, config=pipeline.PipelineConfig(), labels=(),
                            task="reconstruction")
    assert require(art, "reconstruction") is art
    with pytest.raises(ArtifactError, match="is a reconstruction model; separating needs a separator"):
        require(art, "separation")
    assert misuse(art) == ("the artifact is an autoencoder (audio in, audio out): use "
                           "tympan.pipeline.reconstruct (tympan autoencoder reconstruct)")


def _predictions():
    seg = Segment(start=0.0, end=1.0, label="a", probability=0.75, probabilities=(0.75, 0.25))
    return [Prediction(source="x.wav", label="a", probability=0.75,
                       probabilities={"a": 0.75, "b": 0.25}, duration=1.0, segments=(seg,)),
            Prediction.failed("bad.wav", "cannot read 'bad.wav'")]


def test_classification_results_serialise_as_json_csv_and_table():
    results = _predictions()
    as_json = json.loads(CLASSIFICATION.serialise(results, "json"))
    assert as_json[0]["probabilities"] == {"a": 0.75, "b": 0.25}
    assert as_json[1]["error"] == "cannot read 'bad.wav'" and as_json[1]["label"] is None
    rows = list(csv.DictReader(_io.StringIO(CLASSIFICATION.serialise(results, "csv"))))
    assert rows[0] == {"source": "x.wav", "label": "a", "probability": "0.75", "duration": "1.0",
                       "error": "", "flags": ""}
    assert rows[1]["error"] == "cannot read 'bad.wav'"
    table = CLASSIFICATION.serialise(results, "table").splitlines()
    assert table[0].split() == ["source", "label", "probability", "duration", "error", "flags"]
    assert table[1].split() == ["x.wav", "a", "0.75", "1"]
    with pytest.raises(ParameterError, match="format must be one of json, csv, table, got 'xml'"):
        CLASSIFICATION.serialise(results, "xml")


def test_split_files_holds_out_whole_files_seeded():
    files = [f"f{i:02d}.wav" for i in range(20)]
    kept, held = driver.split_files(files, 0.15, 3)
    assert len(held) == 3 and len(kept) == 17 and not set(kept) & set(held)
    assert sorted(kept + held) == files
    assert driver.split_files(files, 0.15, 3) == (kept, held)  # seeded
    assert driver.split_files(files, 0.15, 4) != (kept, held)
    assert driver.split_files(files[:2], 0.01, 0)[1] != []  # at least one when asked
    assert driver.split_files(files[:1], 0.5, 0) == (files[:1], [])
    assert driver.split_files(files, 0.0, 0) == (files, [])
    with pytest.raises(ParameterError, match=r"validation_size must be in \[0, 1\), got 1.5"):
        driver.split_files(files, 1.5, 0, what="validation_size")
    with pytest.raises(DatasetError, match="no files left to train on"):
        driver.split_files([], 0.5, 0)


def test_class_weights_known_answer():
    assert driver.class_weights(np.array([0, 0, 0, 1]), 3) == {0: 4 / 9, 1: 4 / 3}


def test_continue_a_classifier_from_its_artifact(trained, digits_dir):
    """init= works for classifiers too: same recipe and labels, weights carried on, epochs and
    history counted over both runs; other tasks and other labels are refused."""
    art, out = trained
    discovery = {"labels_from": "regex", "pattern": "fsdd"}
    more = pipeline.train(digits_dir, pipeline.PipelineConfig(
        training=pipeline.TrainConfig(epochs=1, seed=1, early_stopping=None)),
        discovery=discovery, split="group", split_options={"test_groups": ["george"]},
        init=out, verbose=0, progress=False)
    assert more.config.model == art.config.model and more.config.features == art.config.features
    assert more.labels == art.labels
    assert more.metrics["epochs_total"] == art.metrics["epochs_run"] + 1
    assert more.metrics["init"]["path"] == str(out)
    assert len(more.history["loss"]) == len(art.history["loss"]) + 1
    # it started from the trained weights: one more epoch keeps the accuracy near the original's
    assert more.metrics["test"]["accuracy"] >= art.metrics["test"]["accuracy"] - 0.2
    with pytest.raises(ArtifactError, match="is a classification model; reconstruct needs an autoencoder"):
        pipeline.train_autoencoder(digits_dir, init=out)
    two = digits_dir.parent / "two-digits"
    two.mkdir(exist_ok=True)
    for f in sorted(digits_dir.glob("[01]_*.wav")):
        (two / f.name).write_bytes(f.read_bytes())
    with pytest.raises(DatasetError, match=r"init .* knows the labels"):
        pipeline.train(two, init=out, discovery=discovery, split="group",
                       split_options={"test_groups": ["george"]}, verbose=0, progress=False)
