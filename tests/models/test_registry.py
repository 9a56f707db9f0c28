"""The model registry, the feature front ends and the classifier builders."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tympan  # noqa: F401  (picks the Keras backend before keras is first imported)

# isort: split
import keras

from tympan import dsp, io
from tympan.data import demo_dir
from tympan.errors import ParameterError
from tympan.models import (
    FEATURE_KINDS,
    FEATURE_NORM,
    AppendDeltas,
    adapt_normalization,
    available_models,
    build_frontend,
    build_model,
    default_features,
    model_defaults,
    register_model,
    resolve_features,
)
from tympan.models import registry as registry_module

SR = 8000
SAMPLES = 8000

# Keras's own saving code calls np.array on jax variables, which numpy 2 flags; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _fit(y, n=SAMPLES):
    if len(y) >= n:
        start = (len(y) - n) // 2
        return y[start : start + n]
    return np.pad(y, (0, n - len(y)))


@pytest.fixture(scope="module")
def fsdd():
    """A small balanced slice of the bundled FSDD demo: takes 0-3 of every digit, 2 speakers."""
    files = sorted(p for p in demo_dir().glob("*.wav")
                   if p.stem.split("_")[1] in ("jackson", "theo") and int(p.stem.split("_")[2]) < 4)
    x = np.stack([_fit(io.load(p, sr=SR)[0]) for p in files]).astype("float32")
    y = np.array([int(p.name[0]) for p in files])
    assert len(x) == 80 and set(y) == set(range(10))
    return x, y


# Small versions of each model, so that building and compiling stay quick.
SMALL = {
    "conv1d": {"filters": (8, 16), "dense_units": 16, "batch_norm": True, "dropout": 0.1,
               "per_example_norm": True, "augmentation": {"enabled": True}, "seed": 0},
    "mlp": {"hidden_units": (32,)},
    "waveform": {"filters": (8, 16), "first_kernel": 40, "first_stride": 8},
    "conv2d": {"filters": (4, 8), "seed": 0},
}


def test_available_models():
    assert set(available_models()) >= {"conv1d", "conv2d", "mlp", "waveform"}
    assert available_models() == tuple(sorted(available_models()))


@pytest.mark.parametrize("name", ["conv1d", "conv2d", "mlp", "waveform"])
def test_build_predict_save_reload(name, fsdd, tmp_path):
    x, _ = fsdd
    model = build_model(name, input_samples=SAMPLES, sr=SR, n_classes=10, **SMALL[name])
    assert model.input_shape == (None, SAMPLES)
    assert model.get_layer(FEATURE_NORM) is not None
    adapt_normalization(model, x[:40], batch_size=16)
    probs = model.predict(x[:6], verbose=0)
    assert probs.shape == (6, 10)
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)

    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x[:6], verbose=0), probs, rtol=1e-5, atol=1e-6)


def test_default_conv1d_builds_at_8k():
    model = build_model("conv1d", input_samples=SAMPLES, sr=SR, n_classes=10)
    assert model.output_shape == (None, 10)
    assert model.get_layer("melspectrogram").n_mels == 40


def test_adapt_normalization_standardizes_training_features(fsdd):
    x, _ = fsdd
    model = build_model("conv1d", input_samples=SAMPLES, sr=SR, n_classes=10, **SMALL["conv1d"])
    layer = adapt_normalization(model, x, batch_size=32)  # batches of unequal size: 32, 32, 16
    before = keras.Model(model.input, layer.input).predict(x, verbose=0)
    after = keras.ops.convert_to_numpy(layer(before))
    np.testing.assert_allclose(after.mean(axis=(0, 1)), 0.0, atol=1e-3)
    np.testing.assert_allclose(after.std(axis=(0, 1)), 1.0, atol=1e-3)


def test_mel_frontend_equals_numpy(fsdd):
    x, _ = fsdd
    features = resolve_features({"kind": "mel"}, sr=SR)
    inputs = keras.Input((SAMPLES,))
    out = inputs
    for layer in build_frontend(features, sr=SR):
        out = layer(out)
    got = keras.Model(inputs, out).predict(x[:2], verbose=0)
    mel_args = {k: features[k] for k in ("n_fft", "hop_length", "win_length", "window", "center",
                                         "pad_mode", "power", "n_mels", "fmin", "fmax", "htk",
                                         "norm")}
    want = dsp.power_to_db(dsp.melspectrogram(x[:2], sr=SR, **mel_args), top_db=features["top_db"])
    np.testing.assert_allclose(got, np.swapaxes(want, -1, -2), atol=2e-3)


@pytest.mark.parametrize("kind", FEATURE_KINDS)
def test_frontend_shapes(kind):
    inputs = keras.Input((SAMPLES,))
    out = inputs
    recipe = {"kind": kind, **({"tuning": 0.0} if kind == "chroma" else {})}
    for layer in build_frontend(recipe, sr=SR):
        out = layer(out)
    f = resolve_features(recipe, sr=SR)
    frames = 1 + SAMPLES // 80
    expected = {"mel": (None, frames, 40), "mfcc": (None, frames, 20),
                "mfcc+delta": (None, frames, 40), "mean_mfcc": (None, 40),
                "spectrogram": (None, frames, 129), "chroma": (None, frames, 12),
                "cqt": (None, frames, 81), "scalogram": (None, frames, 64),
                "fft": (None, SAMPLES // 2 + 1),  # the whole clip's FFT, every bin
                "waveform": (None, SAMPLES)}[kind]
    assert tuple(out.shape) == expected, f


def test_append_deltas_round_trip(tmp_path, rng):
    x = rng.standard_normal((2, 30, 5)).astype("float32")
    inputs = keras.Input((30, 5))
    model = keras.Model(inputs, AppendDeltas(width=5, order=2)(inputs))
    got = model.predict(x, verbose=0)
    assert got.shape == (2, 30, 15)
    np.testing.assert_allclose(got[..., :5], x)
    want = dsp.delta(x, width=5, order=2, axis=1)
    np.testing.assert_allclose(got[..., 10:], want, atol=1e-4)
    model.save(tmp_path / "d.keras")
    loaded = keras.saving.load_model(tmp_path / "d.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), got, atol=1e-6)


@pytest.mark.parametrize("kind", FEATURE_KINDS)
@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100])
def test_resolve_features_fills_every_default(kind, sr):
    resolved = resolve_features({"kind": kind}, sr=sr)
    assert resolved["kind"] == kind
    nullable = {"norm", "top_db"}  # None is a meaningful value for these, not "unset"
    if kind == "fft":  # whole clip: n_fft None is the clip's length; no bin limit; no window length
        nullable |= {"n_fft", "win_length", "n_bins", "fmax", "normalize"}
    if kind == "chroma":  # estimated from the training clips: models.fit_feature_params
        nullable |= {"tuning"}
    assert all(val is not None for k, val in resolved.items() if k not in nullable)
    assert resolve_features(resolved, sr=sr) == resolved  # idempotent
    if kind != "waveform":
        assert resolved["hop_length"] == round(0.010 * sr)
    if resolved.get("n_fft") is not None:
        n_fft = resolved["n_fft"]
        assert n_fft & (n_fft - 1) == 0 and 0.018 <= n_fft / sr <= 0.036
        assert resolved["win_length"] == n_fft
    if "n_mels" in resolved:
        assert 40 <= resolved["n_mels"] <= 64 and resolved["fmax"] == sr / 2
    if kind == "waveform":
        assert resolved == {"kind": "waveform"}


def test_resolve_features_keeps_given_values_and_fills_none():
    r = resolve_features({"kind": "mfcc", "n_mfcc": 13, "hop_length": None, "fmax": None}, sr=16000)
    assert r["n_mfcc"] == 13 and r["hop_length"] == 160 and r["fmax"] == 8000.0
    assert r["n_fft"] == 512 and r["n_mels"] == 64


def test_model_defaults_are_the_builder_keywords():
    defaults = model_defaults("conv1d")
    assert {"filters", "kernel_size", "batch_norm", "dropout", "pooling", "per_example_norm",
            "augmentation", "dense_units"} <= set(defaults)
    assert not {"input_samples", "sr", "n_classes", "features"} & set(defaults)
    assert model_defaults("mlp")["hidden_units"] == (256, 256)
    assert model_defaults("mlp")["dropout"] == 0.5
    assert default_features("mlp") == {"kind": "mean_mfcc"}
    assert default_features("waveform") == {"kind": "waveform"}


def test_unknown_model():
    with pytest.raises(ParameterError, match=r"unknown model 'resnet'.*conv1d, conv1d_lstm, "
                                             r"conv2d, mlp, separator, waveform"):
        build_model("resnet", input_samples=SAMPLES, sr=SR, n_classes=10)
    with pytest.raises(ParameterError, match="resnet"):
        model_defaults("resnet")


def test_unknown_feature_kind():
    with pytest.raises(ParameterError, match=r"unknown feature kind 'vqt'.*mel, mfcc"):
        build_model("conv1d", input_samples=SAMPLES, sr=SR, n_classes=10, features={"kind": "vqt"})
    with pytest.raises(ParameterError, match="'vqt'"):
        build_frontend({"kind": "vqt"}, sr=SR)


def test_unknown_feature_parameter():
    with pytest.raises(ParameterError, match=r"'n_mfcc'.*feature kind 'mel'"):
        resolve_features({"kind": "mel", "n_mfcc": 13}, sr=SR)


def test_unknown_model_parameter():
    with pytest.raises(ParameterError, match=r"'filterz', 'lr'.*model 'conv1d'.*filters"):
        build_model("conv1d", input_samples=SAMPLES, sr=SR, n_classes=10, filterz=(8,), lr=0.1)


@pytest.mark.parametrize("name, features, params, match", [
    ("conv1d", None, {"pooling": "average"}, "pooling"),
    ("conv1d", None, {"filters": ()}, "filters"),
    ("conv1d", None, {"dropout": 1.0}, "dropout"),
    ("conv1d", None, {"filters": (8, 8, 8, 8, 8, 8, 8)}, "frames left"),
    ("conv1d", {"kind": "mean_mfcc"}, {}, "does not take feature kind 'mean_mfcc'.*model 'mlp'"),
    ("waveform", {"kind": "mel"}, {}, "does not take feature kind 'mel'.*kind 'waveform'"),
    ("mlp", {"kind": "waveform"}, {}, "does not take feature kind 'waveform'.*model 'waveform'"),
    ("conv1d", {"kind": "mel", "n_mels": 0}, {}, "n_mels"),
])
def test_bad_model_arguments(name, features, params, match):
    with pytest.raises(ParameterError, match=match):
        build_model(name, input_samples=SAMPLES, sr=SR, n_classes=10, features=features, **params)


@pytest.mark.parametrize("kwargs, match", [({"n_classes": 1}, "n_classes"),
                                           ({"input_samples": 0}, "input_samples"),
                                           ({"sr": -1}, "sr")])
def test_bad_required_arguments(kwargs, match):
    args = {"input_samples": SAMPLES, "sr": SR, "n_classes": 10, **kwargs}
    with pytest.raises(ParameterError, match=match):
        build_model("mlp", **args)


def test_register_model(monkeypatch):
    monkeypatch.setattr(registry_module, "_BUILDERS", dict(registry_module._BUILDERS))
    monkeypatch.setattr(registry_module, "_FEATURES", dict(registry_module._FEATURES))

    @register_model("tiny", features={"kind": "mean_mfcc"})
    def tiny(*, input_samples, sr, n_classes, features, units=4):
        inputs = keras.Input((input_samples,), name="waveform")
        x = build_frontend(features, sr=sr)
        out = inputs
        for layer in x:
            out = layer(out)
        out = keras.layers.Dense(units)(out)
        return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(out))

    assert "tiny" in available_models()
    assert model_defaults("tiny") == {"units": 4}
    model = build_model("tiny", input_samples=SAMPLES, sr=SR, n_classes=3, units=2)
    assert model.output_shape == (None, 3)
    with pytest.raises(ParameterError, match="already registered"):
        register_model("tiny")(lambda *, input_samples, sr, n_classes, features: None)
    with pytest.raises(ParameterError, match="default"):
        register_model("bad")(lambda *, input_samples, sr, n_classes, features, depth: None)
    assert inspect.signature(tiny).parameters["units"].default == 4


def test_a_few_fit_steps_reduce_the_loss(fsdd):
    x, y = fsdd
    keras.utils.set_random_seed(0)
    model = build_model("conv1d", input_samples=SAMPLES, sr=SR, n_classes=10, filters=(16,),
                        dense_units=64, augmentation={"enabled": False}, batch_norm=False, dropout=0.0,
                        pooling="flatten")
    adapt_normalization(model, x)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < 0.5 * loss[0], loss
