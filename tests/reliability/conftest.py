"""Artifacts whose model is a stand-in (no Keras, no training) and the questionable signals of
the bad-input table, written as files: for the signal policy at the pipeline boundary."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tympan.pipeline.artifact import Artifact
from tympan.pipeline.config import AudioConfig, PipelineConfig

SR = 8000
#: The features of the stand-in classifier: 256-sample frames (its analysis window).
FEATURES = {"kind": "mel", "n_fft": 256, "hop_length": 80, "win_length": 256, "n_mels": 32}


class Classifier:
    """Two classes; the probability of "loud" grows with the window's peak, so a test can tell
    what the model was given."""

    def predict_on_batch(self, x):
        peak = np.clip(np.abs(np.asarray(x)).max(axis=1), 0, 1)
        return np.stack([1 - 0.5 * peak, 0.5 * peak], axis=1).astype(np.float32)

    def predict(self, x, batch_size=None, verbose=0):  # what evaluate calls
        return self.predict_on_batch(x)


class Separator:
    """Two sources: the input and silence, or NaN everywhere (a broken model)."""

    def __init__(self, broken: bool = False):
        self.broken = broken

    def predict_on_batch(self, x):
        x = np.asarray(x, np.float32)
        out = np.stack([x, np.zeros_like(x)], axis=-1)
        return np.full_like(out, np.nan) if self.broken else out


class Autoencoder:
    """The input back, or NaN (a broken model)."""

    def __init__(self, broken: bool = False):
        self.broken = broken

    def predict(self, x, batch_size=None, verbose=0):
        x = np.asarray(x, np.float32)
        return np.full_like(x, np.nan) if self.broken else x


def _config(model: dict, features: dict | None = None, duration: float = 0.5) -> PipelineConfig:
    return PipelineConfig(audio=AudioConfig(sr=SR, duration=duration), features=features or {},
                          model=model)


@pytest.fixture
def classifier():
    return Artifact(model=Classifier(), config=_config({"name": "conv1d"}, FEATURES, 1.0),
                    labels=("quiet", "loud"))


@pytest.fixture
def separator():
    def make(broken: bool = False) -> Artifact:
        return Artifact(model=Separator(broken), config=_config({"name": "separator", "n_fft": 256}),
                        labels=("speech", "noise"), task="separation")
    return make


@pytest.fixture
def autoencoder():
    def make(broken: bool = False) -> Artifact:
        return Artifact(model=Autoencoder(broken), config=_config({"name": "autoencoder",
                                                                   "n_fft": 256}),
                        labels=(), task="reconstruction")
    return make


def tone(n: int, sr: int = SR) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / sr)).astype(np.float32)


#: name -> samples (float32 WAV at 8 kHz) of the questionable inputs
SIGNALS = {
    "zero.wav": np.zeros(0, np.float32),
    "one.wav": np.array([0.3], np.float32),
    "ten.wav": tone(10),
    "silence.wav": np.zeros(SR, np.float32),
    "dc.wav": np.full(SR, 0.5, np.float32),
    "nan.wav": np.where(np.arange(SR) >= 4000, np.nan, tone(SR)).astype(np.float32),
    "inf.wav": np.where(np.arange(SR) == 800, np.inf, tone(SR)).astype(np.float32),
    "huge.wav": np.where(np.arange(SR) == 80, 1e30, tone(SR)).astype(np.float32),
    "loud.wav": 4 * tone(SR),
    "tone.wav": tone(SR),
}


@pytest.fixture
def signal_arrays():
    """:data:`SIGNALS`: ``{name: samples}`` at 8 kHz."""
    return SIGNALS


@pytest.fixture
def signals(tmp_path):
    """Every signal of :data:`SIGNALS` as a float WAV file: ``{name: path}``."""
    out = {}
    for name, y in SIGNALS.items():
        out[name] = tmp_path / name
        sf.write(out[name], y, SR, subtype="FLOAT")
    return out
