"""The default recipe chosen from the data (tympan.pipeline.recipes)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tympan import data, models, pipeline
from tympan.errors import ParameterError
from tympan.pipeline.recipes import (
    MIN_CLIPS_PER_CLASS,
    RecipeChoice,
    choose_recipe,
    conv1d_min_frames,
)
from tympan.pipeline.train import resolve_config


def _config(choice: RecipeChoice, audio: pipeline.AudioConfig) -> pipeline.PipelineConfig:
    return pipeline.PipelineConfig(audio=audio, model=choice.model, features=choice.features,
                                   training=pipeline.TrainConfig(**choice.training))


def test_fsdd_size_keeps_todays_default():
    choice = choose_recipe(n_clips=3000, n_classes=10, duration=1.0, sr=8000)
    assert choice.model == {"name": "conv1d"} and choice.features == {} and choice.training == {}
    assert choice.reason.startswith("conv1d on log-mel frames")
    assert "3000 clips for 10 classes (300 per class)" in choice.reason
    # exactly the recipe the FSDD figures were measured with, every default resolved
    audio = pipeline.AudioConfig(sr=8000, duration=1.0)
    assert resolve_config(_config(choice, audio)).to_dict() == \
        resolve_config(pipeline.PipelineConfig(audio=audio, model={"name": "conv1d"})).to_dict()


def test_eight_clips_per_class_get_the_small_data_recipe():
    choice = choose_recipe(n_clips=64, n_classes=8, duration=2.5, sr=8000)
    assert choice.model == {"name": "mlp", "pooling": "stats", "stats": ["mean", "std"],
                            "hidden_units": [], "dropout": 0.0, "l2": 0.01}
    assert choice.features == {"kind": "mfcc"}
    assert choice.training == {"epochs": 100, "batch_size": 512, "learning_rate": 0.05,
                               "validation_size": 0.0}
    assert choice.reason == ("linear model on MFCC mean and standard deviation: 64 clips for 8 "
                             "classes (8 per class) is too few for a convolutional model (it needs "
                             f"about {MIN_CLIPS_PER_CLASS} per class)")


@pytest.mark.parametrize("n_clips, expected", [(10 * MIN_CLIPS_PER_CLASS, "conv1d"),
                                               (10 * MIN_CLIPS_PER_CLASS - 1, "mlp"),
                                               (20, "mlp"), (10, "mlp")])
def test_the_threshold_is_clips_per_class(n_clips, expected):
    choice = choose_recipe(n_clips=n_clips, n_classes=10, duration=1.0, sr=8000)
    assert choice.model["name"] == expected


def test_conv1d_min_frames():
    assert conv1d_min_frames() == 18  # 18 -> 16 -> 8 -> 6 -> 3 -> 1 frames
    assert conv1d_min_frames(1) == 3 and conv1d_min_frames(2, kernel_size=5) == 14


@pytest.mark.parametrize("sr", [8000, 16000, 22050])
def test_clips_too_short_for_conv1d_get_statistics_at_any_size(sr):
    hop = models.resolve_features({"kind": "mel"}, sr=sr)["hop_length"]
    need = conv1d_min_frames()
    shortest = (need - 1) * hop / sr  # exactly `need` frames (center=True)
    ok = choose_recipe(n_clips=3000, n_classes=10, duration=shortest, sr=sr)
    short = choose_recipe(n_clips=3000, n_classes=10, duration=shortest - 1 / sr, sr=sr)
    one = choose_recipe(n_clips=3000, n_classes=10, duration=1 / sr, sr=sr)  # one sample
    assert ok.model["name"] == "conv1d"
    assert short.model["name"] == one.model["name"] == "mlp"
    assert f"give {need - 1} frames, fewer than the {need}" in short.reason
    assert "clips of" in one.reason and "give 1 frame," in one.reason
    # the frame arithmetic agrees with the models: each choice builds (and predicts), conv1d
    # one sample shorter does not
    for choice, duration in ((ok, shortest), (short, shortest - 1 / sr), (one, 1 / sr)):
        samples = round(duration * sr)
        features = models.resolve_features(choice.features or {"kind": "mel"}, sr=sr)
        params = {k: val for k, val in choice.model.items() if k != "name"}
        model = models.build_model(choice.model["name"], input_samples=samples, sr=sr,
                                   n_classes=10, features=features, **params)
        probs = model.predict(np.full((2, samples), 0.1, np.float32), verbose=0)
        assert probs.shape == (2, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    with pytest.raises(ParameterError, match="frames left, fewer than kernel_size"):
        models.build_model("conv1d", input_samples=round(shortest * sr) - 1, sr=sr, n_classes=10,
                           features=models.resolve_features({"kind": "mel"}, sr=sr))


def test_every_choice_is_a_valid_pipeline_config():
    audio = pipeline.AudioConfig(sr=16000, duration=2.0)
    for n_clips in (2, 64, 535, 5000):
        choice = choose_recipe(n_clips=n_clips, n_classes=2, duration=2.0, sr=16000)
        resolved = resolve_config(_config(choice, audio))
        assert resolved.model["name"] == choice.model["name"]
        assert json.loads(json.dumps(choice.to_dict())) == choice.to_dict()
        assert set(choice.to_dict()) == {"model", "features", "training", "reason"}


def test_choice_is_frozen():
    choice = choose_recipe(n_clips=64, n_classes=8, duration=1.0, sr=8000)
    with pytest.raises(AttributeError):
        choice.reason = "other"
    with pytest.raises(ParameterError, match="model must be a dict with a 'name'"):
        RecipeChoice(model={"filters": [8]})


@pytest.mark.parametrize("kwargs, match", [
    ({"n_clips": 0}, "n_clips must be a positive integer, got 0"),
    ({"n_clips": 64.0}, "n_clips must be a positive integer, got 64.0"),
    ({"n_clips": True}, "n_clips must be a positive integer, got True"),
    ({"n_classes": 1}, "n_classes must be at least 2 for a classifier, got 1"),
    ({"n_classes": -3}, "n_classes must be a positive integer, got -3"),
    ({"n_clips": 5}, "n_clips=5 is fewer than n_classes=8"),
    ({"duration": 0}, "duration must be a positive number, got 0"),
    ({"duration": math.nan}, "duration must be a positive number, got nan"),
    ({"duration": "2.5"}, "duration must be a positive number, got '2.5'"),
    ({"duration": 1e-5}, r"duration=1e-05 s at sr=8000 is less than one sample"),
    ({"sr": 0}, "sr must be a positive integer, got 0"),
    ({"sr": 8000.5}, "sr must be a positive integer, got 8000.5"),
])
def test_bad_inputs(kwargs, match):
    args = {"n_clips": 64, "n_classes": 8, "duration": 2.5, "sr": 8000, **kwargs}
    with pytest.raises(ParameterError, match=match):
        choose_recipe(**args)


def test_small_data_recipe_trains_and_beats_chance():
    """8 clips of each of the 10 digits (bundled FSDD clips, 6 speakers): the recipe chosen for
    them learns; held out, 2 clips per digit (chance 10 %; about 65-70 % measured on such
    subsets by benchmarks/small_data.py)."""
    digits = data.from_regex(data.demo_dir(), data.FSDD_PATTERN)
    rng = np.random.default_rng(0)
    y = digits.targets()
    small = digits.subset(np.sort(np.concatenate(
        [rng.choice(np.flatnonzero(y == c), size=8, replace=False) for c in range(10)])))
    choice = choose_recipe(n_clips=len(small), n_classes=len(small.labels), duration=1.0, sr=8000)
    assert choice.model["name"] == "mlp" and "80 clips for 10 classes (8 per class)" in choice.reason
    artifact = pipeline.train(small, _config(choice, pipeline.AudioConfig(sr=8000, duration=1.0)),
                              split="stratified", split_options={"test_size": 0.25}, verbose=0,
                              progress=False)
    assert artifact.metrics["n_test"] == 20 and artifact.metrics["n_val"] == 0
    assert artifact.metrics["epochs_run"] == 100
    assert artifact.metrics["test"]["accuracy"] >= 0.35
