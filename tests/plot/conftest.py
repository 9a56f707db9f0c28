"""Figures render with the Agg backend (no display); real recordings from ../shared/data."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg", force=True)


@pytest.fixture(scope="session")
def digit(recording):
    """FSDD "3" by jackson: 8 kHz, about 0.45 s."""
    return recording("fsdd", "3_jackson_5")


@pytest.fixture(scope="session")
def speech(recording):
    """EMO-DB 03a01Fa: 22.05 kHz, exactly 2.0 s."""
    return recording("emodb", "03a01Fa")



@pytest.fixture(scope="session")
def make_tiny_artifact():
    """``make(metrics=..., history=...)``: an untrained 1 s waveform -> 3 classes artifact
    (not saved), enough to save, load and predict with."""

    def make(*, metrics: dict, history: dict):
        import keras

        from tympan import pipeline

        model = keras.Sequential([keras.Input((8000,)), keras.layers.Dense(3, activation="softmax")])
        config = pipeline.PipelineConfig(audio=pipeline.AudioConfig(sr=8000, duration=1.0),
                                         model={"name": "conv1d"})
        return pipeline.Artifact(model=model, config=config,
                                 labels=("yes", "no", "maybe"), metrics=metrics, history=history,
                                 info=pipeline.artifact.runtime_info())

    return make
