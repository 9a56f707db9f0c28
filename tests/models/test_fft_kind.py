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

# Keras's own saving code calls np.array on jax variables, which numpy 2 flags; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


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
        model = build_model(name, input_samples=8000, sr=8000, n_classes=6, features={"kind": "fft"},
                            filters=(4,), augmentation={"enabled": False})
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


def test_cli_trains_the_default_model_on_fft_features(tmp_path, capsys):
    """``tympan train DATA --features fft --model conv1d`` (conv1d: the default model from 50
    clips per class), end to end: the frame-wise FFT recipe is what pipeline.json records, and
    the run predicts."""
    import json
    import shutil

    from tympan.cli.main import main
    from tympan.data import demo_dir

    folder = tmp_path / "digits"
    folder.mkdir()
    for digit in range(4):
        for speaker in ("jackson", "theo"):
            for take in range(3):
                name = f"{digit}_{speaker}_{take}.wav"
                shutil.copy(demo_dir() / name, folder / name)
    out = tmp_path / "run"
    # 24 clips would get the small-data recipe: conv1d (the default from 50 clips per class) named
    assert main(["train", str(folder), "--pattern", "fsdd", "--test-groups", "theo", "--model", "conv1d",
                 "--features", "fft", "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["model"]["name"] == "conv1d"
    features = meta["features"]
    assert features["kind"] == "fft" and features["framed"] is True
    assert (features["n_fft"], features["hop_length"], features["win_length"]) == (256, 80, 256)
    capsys.readouterr()
    assert main(["predict", str(out), str(folder / "2_theo_1.wav"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["label"] in ("0", "1", "2", "3")
    assert main(["train", str(folder), "--pattern", "fsdd", "--model", "conv1d", "--features", "fft",
                 "--feature-param", "framed=false", "--out", str(tmp_path / "no")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: model 'conv1d' does not take feature kind 'fft' with framed=False")
    assert "use model 'mlp'" in err and "Traceback" not in err
