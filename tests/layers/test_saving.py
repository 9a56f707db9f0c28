"""Serialization of the tympan layers: get_config/from_config and `.keras` save -> reload."""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
from keras import ops

from tympan.dsp import filters
from tympan.layers import MFCC, Delta, InverseSTFT, MelSpectrogram, PowerToDb, Spectrogram

# numpy 2 warns about Keras's own np.array(tensor) in convert_to_numpy / model.save (torch and
# jax tensors' __array__ lack the copy keyword); not tympan's to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def to_np(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


N = 4000  # 0.5 s at 8 kHz


@pytest.fixture(scope="module")
def waves(recording):
    y, _ = recording("fsdd", "5_lucas_20")  # 6117 samples
    return np.stack([y[:N], y[-N:] * np.float32(0.01)])


# Each entry: a layer factory with non-default arguments everywhere, and the input it takes.
CONFIG_CASES = {
    "Spectrogram": (
        lambda: Spectrogram(n_fft=256, hop_length=100, win_length=200, window="hamming", center=False,
                            pad_mode="reflect", mode="power", name="spec"),
        "wave",
    ),
    "MelSpectrogram": (
        lambda: MelSpectrogram(sr=8000, n_fft=256, hop_length=80, n_mels=40, fmin=20.0, fmax=3800.0,
                               htk=True, norm=None, power=1.0, pad_mode="reflect", name="mel"),
        "wave",
    ),
    "PowerToDb-max": (lambda: PowerToDb(ref="max", amin=1e-8, top_db=60.0, name="db"), "mel"),
    "PowerToDb-number": (lambda: PowerToDb(ref=2.0, top_db=None, name="db2"), "mel"),
    "MFCC": (
        lambda: MFCC(sr=8000, n_mfcc=13, lifter=22.0, top_db=70.0, n_fft=256, hop_length=64, n_mels=32,
                     fmax=4000.0, name="mfcc"),
        "wave",
    ),
    "Delta": (lambda: Delta(width=5, order=2, name="delta"), "mel"),
    "InverseSTFT": (
        lambda: InverseSTFT(n_fft=256, hop_length=64, win_length=200, window="hamming", length=N,
                            name="istft"),
        "complex",
    ),
}


@pytest.fixture(scope="module")
def inputs(waves):
    return {
        "wave": waves,
        "mel": to_np(MelSpectrogram(sr=8000, n_fft=256, hop_length=64, n_mels=32)(waves)),
        "complex": to_np(
            Spectrogram(n_fft=256, hop_length=64, win_length=200, window="hamming", mode="complex")(waves)
        ),
    }


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_get_config_from_config_round_trip(inputs, case):
    make, kind = CONFIG_CASES[case]
    layer = make()
    x = inputs[kind]
    out = to_np(layer(x))
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == config
    np.testing.assert_array_equal(to_np(clone(x)), out)
    # through Keras's generic (de)serialization too, as a saved model does it
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is type(layer)
    assert again.get_config() == config


def test_config_keeps_the_recipe_with_defaults_resolved():
    config = Spectrogram(n_fft=512).get_config()
    assert (config["n_fft"], config["hop_length"], config["win_length"]) == (512, 128, 512)
    config = MFCC().get_config()
    recipe = {"sr", "n_mfcc", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "htk", "norm", "top_db",
              "lifter"}
    assert recipe <= set(config)


def _model() -> keras.Model:
    wave = keras.Input((N,), name="wave")
    spec = Spectrogram(n_fft=256, hop_length=64, mode="complex", name="spec")(wave)
    resynth = InverseSTFT(n_fft=256, hop_length=64, length=N, name="istft")(spec)
    mel = MelSpectrogram(sr=8000, n_fft=256, hop_length=100, n_mels=32, name="mel")(resynth)
    log_mel = PowerToDb(ref="max", name="db")(mel)
    deltas = Delta(width=5, name="delta")(log_mel)
    mfcc = MFCC(sr=8000, n_fft=256, hop_length=80, n_mels=40, n_mfcc=13, name="mfcc")(wave)
    mag = Spectrogram(n_fft=200, hop_length=75, center=False, name="mag")(wave)
    return keras.Model(wave, [resynth, log_mel, deltas, mfcc, mag])


def test_model_saves_and_reloads_in_safe_mode(tmp_path, waves):
    model = _model()
    before = [to_np(t) for t in model(waves)]
    path = tmp_path / "features.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    after = [to_np(t) for t in reloaded(waves)]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(b, a)
    expected = {
        "spec": Spectrogram, "istft": InverseSTFT, "mel": MelSpectrogram, "db": PowerToDb,
        "delta": Delta, "mfcc": MFCC, "mag": Spectrogram,
    }
    for name, cls in expected.items():
        layer = reloaded.get_layer(name)
        assert type(layer) is cls
        assert type(layer).__module__.startswith("tympan.layers")
        assert layer.get_config() == model.get_layer(name).get_config()
        assert layer.trainable_weights == []
    assert reloaded.trainable_weights == []


def test_constant_matrices_are_non_trainable_weights_equal_to_dsp_filters(waves):
    model = _model()
    model(waves)
    mfcc = model.get_layer("mfcc")
    assert mfcc.trainable_weights == []
    names = sorted(w.path.split("/")[-1] for w in mfcc.non_trainable_weights)
    assert names == ["dct", "mel_filterbank", "window"]
    np.testing.assert_array_equal(to_np(mfcc.window_weights.value), filters.get_window("hann", 256))
    np.testing.assert_array_equal(to_np(mfcc.mel_weights.value), filters.mel(sr=8000, n_fft=256, n_mels=40).T)
    np.testing.assert_array_equal(to_np(mfcc.dct_weights.value), filters.dct(13, 40).T)
    # training cannot move them
    for layer in model.layers:
        assert layer.trainable_weights == []


def test_loading_without_running_initializers_gives_the_saved_weights(tmp_path, waves):
    """``load_artifact`` rebuilds the model with zeros instead of running the initialisers (a
    cold-start saving on jax): every weight, trained, BatchNorm statistics and the tympan
    layers' constant matrices alike, must still come from the file, on every backend; and the
    initialisers run again once the loading is over."""
    from tympan.pipeline.model_file import initializers_skipped

    wave = keras.Input((N,))
    x = MelSpectrogram(sr=8000, n_fft=256, hop_length=100, n_mels=32, name="mel")(wave)
    x = keras.layers.Conv1D(8, 3, name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GRU(4, name="gru")(x)
    x = keras.layers.Dropout(0.5, seed=5, name="dropout")(x)
    model = keras.Model(wave, keras.layers.Dense(3, name="dense")(x))
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.full(8, 0.5, "float32"))
    bn.moving_variance.assign(np.full(8, 2.0, "float32"))
    path = tmp_path / "m.keras"
    model.save(path)
    elsewhere = []

    def build_in_another_thread():
        layer = keras.layers.Dense(3)
        layer.build((None, 4))
        elsewhere.append(to_np(layer.kernel))

    with initializers_skipped():
        fresh = keras.layers.Dense(3)
        fresh.build((None, 4))
        assert not np.any(to_np(fresh.kernel))
        thread = threading.Thread(target=build_in_another_thread)
        thread.start()
        thread.join()
        reloaded = keras.models.load_model(path, safe_mode=True, compile=False)
    assert np.any(elsewhere[0])  # only the loading thread gets zeros
    for a, b in zip(model.weights, reloaded.weights, strict=True):
        np.testing.assert_array_equal(to_np(b.value), to_np(a.value), err_msg=a.path)
    # the seed generators' state (not stored in the file) is initialised as without the patch
    plain = keras.models.load_model(path, safe_mode=True, compile=False)
    seed_state = to_np(reloaded.get_layer("dropout").seed_generator.state.value)
    assert np.any(seed_state)
    np.testing.assert_array_equal(seed_state,
                                  to_np(plain.get_layer("dropout").seed_generator.state.value))
    np.testing.assert_array_equal(to_np(reloaded(waves)), to_np(model(waves)))
    after = keras.layers.Dense(3)
    after.build((None, 4))
    assert np.any(to_np(after.kernel))
