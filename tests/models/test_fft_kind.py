"""The ``fft`` feature kind in the pipeline: recipe resolution, the models that take it, and a
model built on it equal to tympan.dsp.fft_features inside."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import tympan  # noqa: F401
from tympan import dsp
from tympan.errors import ParameterError
from tympan.models import build_model
from tympan.models.frontend import build_frontend, is_framewise, resolve_features


def test_resolution_whole_clip_and_framed():
    whole = resolve_features({"kind": "fft", "fmax": 2000.0}, sr=8000)
    assert whole["n_fft"] is None and whole["framed"] is False and whole["scale"] == "db"
    assert not is_framewise(whole)
    framed = resolve_features({"kind": "fft", "framed": True}, sr=8000)
    assert framed["n_fft"] == 256 and framed["win_length"] == 256 and is_framewise(framed)
    with pytest.raises(ParameterError, match="'n_mels'"):
        resolve_features({"kind": "fft", "n_mels": 40}, sr=8000)
    with pytest.raises(ParameterError, match="n_bins or fmax"):
        resolve_features({"kind": "fft", "n_bins": 10, "fmax": 100.0}, sr=8000)


def test_frontend_equals_dsp(recording):
    y, sr = recording("fsdd", "3_theo_0")
    x = np.pad(y, (0, 8000 - len(y)))[None].astype(np.float32)
    recipe = {"kind": "fft", "fmax": 2000.0}
    out = x
    for layer in build_frontend(recipe, sr=sr):
        out = layer(out)
    ref = dsp.fft_features(x, sr, fmax=2000.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), ref, atol=5e-3)


def test_models_that_take_it():
    mlp = build_model("mlp", input_samples=8000, sr=8000, n_classes=6,
                      features={"kind": "fft", "fmax": 2000.0})
    assert mlp.get_layer("fft_magnitude").output.shape == (None, 2001)
    assert mlp.output_shape == (None, 6)
    conv = build_model("conv1d", input_samples=8000, sr=8000, n_classes=6,
                       features={"kind": "fft", "framed": True, "n_bins": 64})
    assert conv.get_layer("fft_magnitude").output.shape == (None, 101, 64)
    # left out, framed is the model's choice: frames for the models that read frames
    for name in ("conv1d", "conv1d_lstm", "conv2d"):
        model = build_model(name, input_samples=8000, sr=8000, n_classes=6, features={"kind": "fft"})
        assert model.get_layer("fft_magnitude").output.shape == (None, 101, 129)
    with pytest.raises(ParameterError, match=r"'conv1d' does not take feature kind 'fft' with "
                                             r"framed=False .*model 'mlp'.*'fft' with framed=True"):
        build_model("conv1d", input_samples=8000, sr=8000, n_classes=6,
                    features={"kind": "fft", "framed": False})
    with pytest.raises(ParameterError, match="'waveform' does not take feature kind 'fft'"):
        build_model("waveform", input_samples=8000, sr=8000, n_classes=6, features={"kind": "fft"})
    with pytest.raises(ParameterError, match=r"pooling='stats'.*'fft' with framed=True"):
        build_model("mlp", input_samples=8000, sr=8000, n_classes=6, features={"kind": "fft"},
                    pooling="stats")
