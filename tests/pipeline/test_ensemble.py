"""TrainConfig.ensemble: several seeds saved as one model that averages their probabilities."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tympan import data, pipeline
from tympan.cli.main import main
from tympan.errors import ParameterError

FSDD = {"labels_from": "regex", "pattern": "fsdd"}
SMALL = {"name": "conv1d", "filters": [8], "batch_norm": False, "dropout": 0.0,
         "pooling": "flatten", "dense_units": 16, "augmentation": {"enabled": False}}


def test_ensemble_averages_its_members_and_round_trips(digits_dir, tmp_path):
    config = pipeline.PipelineConfig(model=SMALL, training=pipeline.TrainConfig(epochs=2, ensemble=3))
    art = pipeline.train(digits_dir, config, discovery=FSDD, split="group",
                         split_options={"test_groups": ["george"]}, out=tmp_path / "ens",
                         verbose=0, progress=False)
    members = [art.model.get_layer(f"member{k}") for k in range(3)]
    X, _ = data.load_clips(sorted(digits_dir.glob("*_george_*.wav"))[:10], sr=8000, duration=1.0,
                           progress=False)
    probs = np.asarray(art.model.predict(X, verbose=0))
    each = [np.asarray(m.predict(X, verbose=0)) for m in members]
    np.testing.assert_allclose(probs, np.mean(each, axis=0), atol=1e-6)
    assert max(np.abs(each[0] - each[1]).max(), np.abs(each[1] - each[2]).max()) > 1e-3  # seeds differ
    meta = json.loads((tmp_path / "ens" / "pipeline.json").read_text())
    assert meta["training"]["ensemble"] == 3 and len(meta["metrics"]["members_epochs"]) == 3
    reloaded = pipeline.load_artifact(tmp_path / "ens")
    np.testing.assert_allclose(reloaded.model.predict(X, verbose=0), probs, atol=1e-6)
    one = pipeline.predict(tmp_path / "ens", X[0], sr=8000)[0]
    assert one.label == art.labels[int(probs[0].argmax())]


def test_group_normalised_ensemble_adapts_every_member(digits_dir, tmp_path):
    """feature_norm='group' with an ensemble: each member is trained on per-speaker normalised
    features; per-group prediction adapts each member and averages them, and ``adapt`` sets
    every member's feature_norm to the new speaker's statistics (the original is unchanged)."""
    from tympan import models
    from tympan.pipeline.adaptation import adaptable_models, predict_per_group

    model = {**SMALL, "per_example_norm": False}
    config = pipeline.PipelineConfig(model=model, training=pipeline.TrainConfig(
        epochs=2, ensemble=2, feature_norm="group"))
    art = pipeline.train(digits_dir, config, discovery=FSDD, split="group",
                         split_options={"test_groups": ["george"]}, out=tmp_path / "ens",
                         verbose=0, progress=False)
    assert art.metrics["test_normalization"] == "per test group, from its own clips"
    george = sorted(digits_dir.glob("*_george_*.wav"))[:12]
    X, _ = data.load_clips(george, sr=8000, duration=1.0, progress=False)
    members = [art.model.get_layer(f"member{k}") for k in range(2)]
    per_group = predict_per_group(art.model, X, ["george"] * len(X))
    each = [predict_per_group(m, X, ["george"] * len(X)) for m in members]
    np.testing.assert_allclose(per_group, np.mean(each, axis=0), atol=1e-6)
    before = [models.blocks.normalization_layer(m).get_weights() for m in members]
    adapted = pipeline.adapt(tmp_path / "ens", george, out=tmp_path / "ens-george")
    np.testing.assert_allclose(adapted.model.predict(X, verbose=0), per_group, atol=1e-4)
    np.testing.assert_allclose(pipeline.load_artifact(tmp_path / "ens-george").model.predict(
        X, verbose=0), per_group, atol=1e-4)
    saved = pipeline.load_artifact(tmp_path / "ens").model  # the trained artifact is not changed
    after = [models.blocks.normalization_layer(saved.get_layer(f"member{k}")).get_weights()
             for k in range(2)]
    for b, a in zip(before, after, strict=True):
        for wb, wa in zip(b, a, strict=True):
            np.testing.assert_array_equal(wa, wb)
    with pytest.raises(ParameterError, match="has no feature_norm layer to adapt"):
        adaptable_models(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))


def test_ensemble_settings_are_checked(digits_dir, capsys):
    with pytest.raises(ParameterError, match="ensemble"):
        pipeline.TrainConfig(ensemble=0)
    assert main(["evaluate", "--cv", "leave-one-group-out", str(digits_dir), "--pattern", "fsdd",
                 "--ensemble", "0"]) != 0
    assert "ensemble" in capsys.readouterr().err
