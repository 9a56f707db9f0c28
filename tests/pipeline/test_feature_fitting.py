"""Feature defaults fitted on the training clips: a chroma recipe with ``tuning=None`` (librosa's
default) gets its tuning estimated once from the training part, recorded in pipeline.json, and
the saved model predicts exactly as the one in memory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tympan import data, models, pipeline

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
DISCOVERY = {"labels_from": "regex", "pattern": "fsdd"}
SMALL = {"name": "conv1d", "filters": [8], "dense_units": 0, "augmentation": {"enabled": False}}


def _chroma_config(**features):
    return pipeline.PipelineConfig(model=SMALL, features={"kind": "chroma", **features},
                                   audio=pipeline.AudioConfig(sr=8000, duration=1.0),
                                   training=pipeline.TrainConfig(epochs=1, seed=0))


def test_chroma_tuning_is_estimated_on_the_training_clips_and_recorded(digits_dir, tmp_path):
    out = tmp_path / "chroma"
    artifact = pipeline.train(digits_dir, _chroma_config(), discovery=DISCOVERY, split="group",
                              split_options={"test_groups": ["george"]}, out=out, verbose=0,
                              progress=False)
    recorded = json.loads((out / "pipeline.json").read_text())["features"]
    tuning = recorded["tuning"]
    assert isinstance(tuning, float) and artifact.config.features["tuning"] == tuning

    # the same estimate from the training speakers' clips alone (george's are the test part)
    dataset = data.discover(digits_dir, **DISCOVERY)
    train = dataset.subset([i for i, g in enumerate(dataset.groups()) if g != "george"])
    audio = artifact.config.audio
    X, _ = data.load_clips(train, sr=audio.sr, duration=audio.duration, pad=audio.pad,
                           crop=audio.crop, progress=False)
    assert models.fit_feature_params({"kind": "chroma"}, X, sr=audio.sr)["tuning"] == tuning
    assert artifact.model.get_layer("chroma").tuning == tuning  # the layer the model was built with

    reloaded = pipeline.load_artifact(out)
    assert reloaded.config.features == recorded
    assert reloaded.model.get_layer("chroma").tuning == tuning
    np.testing.assert_allclose(reloaded.model.predict(X[:8], verbose=0),
                               artifact.model.predict(X[:8], verbose=0), rtol=0, atol=1e-6)


def test_cross_validation_fits_each_fold_and_a_given_tuning_is_kept(digits_dir):
    """Each fold estimates its own tuning from its training clips (a chroma recipe left at None
    could not build its model otherwise); a tuning given in the recipe is kept as it is."""
    from tympan.pipeline.train import fit_features, resolve_config

    result = pipeline.cross_validate(digits_dir, _chroma_config(), discovery=DISCOVERY, only=[0],
                                     progress=False)
    assert len(result["folds"]) == 1 and 0.0 <= result["folds"][0]["accuracy"] <= 1.0
    X = np.zeros((3, 8000), np.float32)
    row = np.array([0, -1, 1, 2])  # item 1 was skipped as unreadable
    given = fit_features(resolve_config(_chroma_config(tuning=0.25)), X, row, [0, 1, 2])
    assert given.features["tuning"] == 0.25
    with pytest.warns(UserWarning, match="2 of 2 signals have no spectral peak"):  # silence: A440
        assert fit_features(resolve_config(_chroma_config()), X, row, [0, 1, 2]).features["tuning"] == 0.0
