"""PerExampleStandardize: per-example, per-feature CMVN over frames."""

from __future__ import annotations

import numpy as np
import pytest

import tympan  # noqa: F401  (picks the Keras backend before keras is first imported)

# isort: split
import keras

from tympan.errors import ParameterError
from tympan.layers import PerExampleStandardize

# Keras's own code calls np.array on backend variables, which numpy 2 flags; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _features(rng, batch=4, frames=50, feats=12):
    # very different offsets and scales per example and per feature, like log-mel of
    # recordings made at different levels and on different microphones
    offset = rng.normal(0, 20, size=(batch, 1, feats))
    scale = rng.uniform(0.1, 10, size=(batch, 1, feats))
    return (offset + scale * rng.standard_normal((batch, frames, feats))).astype("float32")


def _reference(x, *, scale=True, epsilon=1e-5):
    x = x.astype(np.float64)
    out = x - x.mean(axis=1, keepdims=True)
    if scale:
        out = out / np.sqrt(x.var(axis=1, keepdims=True) + epsilon)
    return out


def test_zero_mean_unit_std_per_example_and_feature(rng):
    x = _features(rng)
    out = keras.ops.convert_to_numpy(PerExampleStandardize()(x))
    assert out.shape == x.shape
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("scale", [True, False])
def test_equals_numpy_reference(rng, scale):
    x = _features(rng)
    out = keras.ops.convert_to_numpy(PerExampleStandardize(scale=scale)(x))
    np.testing.assert_allclose(out, _reference(x, scale=scale), rtol=1e-4, atol=1e-4)


def test_real_log_mel(recording):
    from tympan import dsp

    y, sr = recording("fsdd", "3_jackson_5")
    log_mel = dsp.power_to_db(dsp.melspectrogram(y, sr=sr, n_fft=256, hop_length=80, n_mels=40))
    x = log_mel.T[None].astype("float32")  # (1, frames, n_mels)
    out = keras.ops.convert_to_numpy(PerExampleStandardize()(x))
    np.testing.assert_allclose(out, _reference(x), rtol=1e-4, atol=1e-4)


def test_batch_equals_single(rng):
    x = _features(rng)
    layer = PerExampleStandardize()
    batch = keras.ops.convert_to_numpy(layer(x))
    single = np.concatenate([keras.ops.convert_to_numpy(layer(x[i : i + 1])) for i in range(len(x))])
    np.testing.assert_allclose(batch, single, rtol=1e-5, atol=1e-5)


def test_constant_feature_stays_finite():
    x = np.ones((2, 10, 3), dtype="float32")
    out = keras.ops.convert_to_numpy(PerExampleStandardize()(x))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, 0.0)


def test_other_axis(rng):
    x = _features(rng)
    out = keras.ops.convert_to_numpy(PerExampleStandardize(axis=(1, 2))(x))
    np.testing.assert_allclose(out.reshape(len(x), -1).mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.reshape(len(x), -1).std(axis=1), 1.0, atol=1e-3)


def test_config_round_trip():
    layer = PerExampleStandardize(axis=(1, 2), scale=False, epsilon=1e-3, name="cmvn")
    config = layer.get_config()
    clone = PerExampleStandardize.from_config(config)
    assert clone.get_config() == config
    assert config["axis"] == [1, 2] and config["scale"] is False and config["epsilon"] == 1e-3


def test_save_load_safe_mode(tmp_path, rng):
    x = _features(rng)
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, PerExampleStandardize()(inputs))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [({"axis": 0}, "axis"), ({"axis": ()}, "axis"),
                                           ({"epsilon": 0}, "epsilon"),
                                           ({"epsilon": -1.0}, "epsilon"),
                                           ({"active_db": 0}, "active_db"),
                                           ({"active_db": 40, "axis": 2}, "active_db needs axis=1")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        PerExampleStandardize(**kwargs)


def test_axis_out_of_range():
    with pytest.raises(ParameterError, match="axis 3"):
        PerExampleStandardize(axis=3)(np.zeros((1, 4, 5), dtype="float32"))


def _speech_then_silence(rng, frames_speech=30, frames_silence=20):
    x = _features(rng, batch=3, frames=frames_speech)  # levels within ~40 dB of each other
    silence = np.full((3, frames_silence, x.shape[2]), x.min() - 200.0, dtype="float32")
    return x, np.concatenate([x, silence], axis=1)


def test_active_db_takes_statistics_over_the_active_frames_only(rng):
    speech, padded = _speech_then_silence(rng)
    # every speech frame is active: each frame's loudest feature is within 200 dB of the max
    layer = PerExampleStandardize(active_db=150.0)
    out = keras.ops.convert_to_numpy(layer(padded))
    np.testing.assert_allclose(out[:, :30], _reference(speech), rtol=1e-4, atol=1e-4)
    # the silent frames are scaled with the same statistics, not dropped
    mean, std = speech.mean(axis=1), np.sqrt(speech.var(axis=1) + 1e-5)
    np.testing.assert_allclose(out[:, 40], (padded[:, 40] - mean) / std, rtol=1e-4)


def test_active_db_result_does_not_depend_on_padding(rng):
    speech, padded = _speech_then_silence(rng, frames_silence=20)
    _, longer = _speech_then_silence(np.random.default_rng(0), frames_silence=70)
    longer[:, :30] = speech
    layer = PerExampleStandardize(active_db=150.0)
    a = keras.ops.convert_to_numpy(layer(padded))[:, :30]
    b = keras.ops.convert_to_numpy(layer(longer))[:, :30]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    plain = keras.ops.convert_to_numpy(PerExampleStandardize()(padded))[:, :30]
    assert not np.allclose(plain, a, atol=1e-2)  # all-frame CMVN is pulled by the silence


def test_active_db_threshold_is_relative_to_each_examples_loudest_frame():
    level = np.array([0.0, -10.0, -30.0, -50.0], dtype="float32")  # dB of four frames
    x = np.stack([level, level - 60.0])[:, :, None]  # the same clip 60 dB quieter
    out = keras.ops.convert_to_numpy(PerExampleStandardize(active_db=20.0, scale=False)(x))
    np.testing.assert_allclose(out[0, :, 0], level - (-5.0), atol=1e-5)  # mean of 0 and -10
    np.testing.assert_allclose(out[1], out[0], atol=1e-5)


def test_active_db_batch_equals_single_and_config(rng):
    _, padded = _speech_then_silence(rng)
    layer = PerExampleStandardize(active_db=40.0)
    whole = keras.ops.convert_to_numpy(layer(padded))
    for i in range(len(padded)):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(padded[i : i + 1]))[0],
                                   whole[i], rtol=1e-5, atol=1e-5)
    clone = PerExampleStandardize.from_config(layer.get_config())
    assert clone.active_db == 40.0
