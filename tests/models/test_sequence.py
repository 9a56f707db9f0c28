"""conv1d_lstm: shapes on real EMO-DB speech, save/reload, parameter errors, another backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tympan  # picks the Keras backend before keras is first imported

# isort: split
import keras

from tympan import data, io
from tympan.errors import ParameterError
from tympan.models import (
    FEATURE_NORM,
    adapt_normalization,
    available_models,
    build_model,
    default_features,
    model_defaults,
)

SR = 16000
SAMPLES = 8000  # 0.5 s: 51 frames of 10 ms
SMALL = {"filters": (8, 16), "lstm_units": 8, "seed": 0}

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def speech(shared_data):
    """Eight EMO-DB utterances (two speakers, four emotions), the first 0.5 s at 16 kHz."""
    ds = data.from_emodb(shared_data / "emodb")
    picked = [it for it in ds if it.group in ("03", "08") and it.label in
              ("anger", "boredom", "neutral", "sadness")][::4][:8]
    x = np.stack([data.fit_length(io.load(it.path, sr=SR)[0], SAMPLES) for it in picked])
    return x.astype("float32")


def test_registered_with_mfcc_and_the_seed_defaults():
    assert "conv1d_lstm" in available_models()
    assert default_features("conv1d_lstm") == {"kind": "mfcc"}
    d = model_defaults("conv1d_lstm")
    assert (d["filters"], d["kernel_size"], d["dropout"], d["lstm_units"]) == ((64, 128), 5, 0.2, 128)
    assert d["per_example_norm"] is True and d["augmentation"]["enabled"] is True and d["pool_size"] == 1
    assert d["summary"] == "last" and d["bidirectional"] is False and d["bn_momentum"] == 0.9


def test_default_layout():
    model = build_model("conv1d_lstm", input_samples=SAMPLES, sr=SR, n_classes=7)
    assert model.output_shape == (None, 7)
    assert model.get_layer("mfcc").output.shape == (None, 51, 20)
    # valid convolutions of width 5: 51 -> 47 -> 43 frames, then the LSTM's last state
    assert model.get_layer("block1_conv").output.shape == (None, 47, 64)
    assert model.get_layer("block2_bn").output.shape == (None, 43, 128)
    assert model.get_layer("dropout").rate == 0.2
    assert model.get_layer("block1_bn").momentum == 0.9  # settles within a few epochs of EMO-DB
    assert model.get_layer("lstm").output.shape == (None, 128)
    assert {"random_gain", "random_time_shift", "per_example_norm", FEATURE_NORM} <= {
        layer.name for layer in model.layers}


def test_options_change_the_layout():
    model = build_model("conv1d_lstm", input_samples=SAMPLES, sr=SR, n_classes=3,
                        features={"kind": "mfcc+delta", "n_mfcc": 13}, pool_size=2, dropout=0.0,
                        augmentation={"enabled": False}, per_example_norm=False, **SMALL)
    names = {layer.name for layer in model.layers}
    assert model.get_layer("feature_norm").output.shape == (None, 51, 26)
    assert model.get_layer("block1_pool").output.shape == (None, 23, 8)  # (51 - 4) // 2
    assert model.get_layer("lstm").output.shape == (None, 8)
    assert not {"dropout", "random_gain", "random_time_shift", "per_example_norm"} & names

    model = build_model("conv1d_lstm", input_samples=SAMPLES, sr=SR, n_classes=3,
                        features={"kind": "mel", "n_mels": 32}, bidirectional=True, summary="mean",
                        per_example_norm="mean",
                        augmentation={"time_stretch": 0.1, "freq_warp": 0.1}, **SMALL)
    assert model.get_layer("bilstm").output.shape == (None, 43, 16)  # both directions, every frame
    assert model.get_layer("mean_over_frames").output.shape == (None, 16)
    assert model.get_layer("per_example_norm").scale is False  # CMN: the mean only
    assert {"random_time_stretch", "random_freq_warp"} <= {layer.name for layer in model.layers}


def test_predict_save_reload_equal(speech, tmp_path):
    model = build_model("conv1d_lstm", input_samples=SAMPLES, sr=SR, n_classes=4, **SMALL)
    adapt_normalization(model, speech)
    probs = model.predict(speech, verbose=0)
    assert probs.shape == (8, 4) and np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # each clip is classified on its own (batch of one == row of the batch)
    np.testing.assert_allclose(model.predict(speech[2:3], verbose=0), probs[2:3], atol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(speech, verbose=0), probs)


@pytest.mark.parametrize("params, match", [
    ({"filters": ()}, "filters must be a non-empty sequence"),
    ({"filters": (8, 0)}, "filters"),
    ({"kernel_size": 0}, "kernel_size"),
    ({"pool_size": 0}, "pool_size"),
    ({"bn_momentum": 1.0}, r"bn_momentum must be in \[0, 1\), got 1.0"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ({"lstm_units": -4}, "lstm_units"),
    ({"augmentation": {"enabled": "yes"}}, "augmentation enabled must be True or False, got 'yes'"),
    ({"augmentation": "yes"}, "augmentation of model 'conv1d_lstm' must be an AugmentationConfig"),
    ({"augment": True}, r"unknown parameter\(s\) 'augment' for model 'conv1d_lstm'"),
    ({"per_example_norm": "yes"}, "per_example_norm must be True, False, 'mean' or a number of dB, "
                                  "got 'yes'"),
    ({"per_example_norm": 40}, "needs dB features, kind 'mel' or 'spectrogram', got 'mfcc'"),
    ({"summary": "first"}, "summary must be one of 'last', 'mean', 'max', got 'first'"),
    ({"bidirectional": 1}, "bidirectional must be True or False, got 1"),
    ({"augmentation": {"gain_db": -1.0}}, "gain_db"),
    ({"gain_db": 1.0}, r"'gain_db' is a setting of 'augmentation' .*augmentation\.gain_db="),
    ({"seed": 1.5}, "seed must be an int or None, got 1.5"),
    ({"kernel_size": 60}, "block1: 51 frames left, fewer than kernel_size=60"),
    ({"features": {"kind": "mean_mfcc"}}, "model 'conv1d_lstm' does not take feature kind 'mean_mfcc' "
                                          r"\(one vector per clip; it reads frames\): use model 'mlp'"),
    ({"features": {"kind": "waveform"}}, "does not take feature kind 'waveform': use model 'waveform'"),
    ({"lstm_size": 8}, r"unknown parameter\(s\) 'lstm_size' for model 'conv1d_lstm'"),
])
def test_parameter_errors(params, match):
    with pytest.raises(ParameterError, match=match):
        build_model("conv1d_lstm", input_samples=SAMPLES, sr=SR, n_classes=7, **params)
    with pytest.raises(ParameterError, match="n_classes must be at least 2"):
        build_model("conv1d_lstm", input_samples=SAMPLES, sr=SR, n_classes=1)


def test_file_saved_on_jax_predicts_the_same_on_torch(speech, tmp_path):
    """Only keras.layers and keras.ops inside: the .keras file runs on another backend."""
    pytest.importorskip("torch")
    if keras.backend.backend() != "jax":
        pytest.skip("the comparison starts from the jax backend")
    model = build_model("conv1d_lstm", input_samples=SAMPLES, sr=SR, n_classes=4, **SMALL)
    adapt_normalization(model, speech)
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", speech)
    np.save(tmp_path / "p.npy", model.predict(speech, verbose=0))
    code = ("import sys, numpy as np, tympan.models, keras\n"
            "d = sys.argv[1]\n"
            "m = keras.saving.load_model(d + '/m.keras', safe_mode=True)\n"
            "p = keras.ops.convert_to_numpy(m(np.load(d + '/x.npy'), training=False))\n"
            "np.testing.assert_allclose(p, np.load(d + '/p.npy'), atol=2e-5)\n"
            "print(keras.backend.backend())\n")
    env = {**os.environ, "KERAS_BACKEND": "torch", "KERAS_HOME": str(tmp_path)}
    src = str(Path(tympan.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "torch"
