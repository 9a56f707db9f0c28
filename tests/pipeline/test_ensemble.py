"""TrainConfig.ensemble: several seeds saved as one model that averages their probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tympan import data, pipeline
from tympan.cli.main import main
from tympan.errors import ParameterError

FSDD = {"labels_from": "regex", "pattern": "fsdd"}
SMALL = {"name": "conv1d", "filters": [8], "batch_norm": False, "dropout": 0.0,
         "pooling": "flatten", "dense_units": 16, "augment": False}


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
    with pytest.raises(ParameterError, match="ensembles, --ensemble N, cannot be adapted"):
        pipeline.adapt(tmp_path / "ens", sorted(digits_dir.glob("*_george_*.wav"))[:3])


def test_ensemble_settings_are_checked(digits_dir, capsys):
    with pytest.raises(ParameterError, match="ensemble"):
        pipeline.TrainConfig(ensemble=0)
    with pytest.raises(ParameterError, match="ensemble > 1 cannot be combined with feature_norm"):
        pipeline.TrainConfig(ensemble=2, feature_norm="group")
    assert main(["evaluate", "--cv", "leave-one-group-out", str(digits_dir), "--pattern", "fsdd",
                 "--ensemble", "2", "--feature-norm", "group"]) == 1
    assert "cannot be combined" in capsys.readouterr().err
