"""Augmentation layers: identity at inference, random but seeded in training, serializable."""

from __future__ import annotations

import numpy as np
import pytest

import tympan  # noqa: F401  (picks the Keras backend before keras is first imported)

# isort: split
import keras

from tympan.errors import ParameterError
from tympan.layers import RandomGain, RandomNoise, RandomStretch, RandomTimeShift, SpecAugment

# Keras's own code calls np.array on backend variables, which numpy 2 flags; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

WAVE_SHAPE = (4, 800)
FEAT_SHAPE = (4, 60, 24)

CASES = {
    "gain": (RandomGain, {"min_db": -6.0, "max_db": 6.0}, WAVE_SHAPE),
    "shift_zeros": (RandomTimeShift, {"max_fraction": 0.2}, WAVE_SHAPE),
    "shift_wrap": (RandomTimeShift, {"max_fraction": 0.2, "mode": "wrap"}, WAVE_SHAPE),
    "noise": (RandomNoise, {"snr_db_min": 5.0, "snr_db_max": 20.0}, WAVE_SHAPE),
    "specaugment": (SpecAugment, {"freq_masks": 2, "freq_width": 6, "time_masks": 2,
                                  "time_width": 10}, FEAT_SHAPE),
    "stretch_time": (RandomStretch, {"max_fraction": 0.2, "axis": 1}, FEAT_SHAPE),
    "warp_freq": (RandomStretch, {"max_fraction": 0.2, "axis": 2}, FEAT_SHAPE),
}


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _input(shape, rng):
    return rng.standard_normal(shape).astype("float32")


@pytest.fixture
def waves(recording):
    """Four real 0.1 s FSDD clips (800 samples at 8 kHz)."""
    names = ["0_george_0", "3_jackson_5", "7_lucas_2", "9_theo_1"]
    return np.stack([recording("fsdd", n)[0][1000:1800] for n in names]).astype("float32")


@pytest.mark.parametrize("case", CASES)
def test_identity_at_inference(case, rng):
    cls, kwargs, shape = CASES[case]
    x = _input(shape, rng)
    layer = cls(**kwargs, seed=1)
    np.testing.assert_array_equal(_np(layer(x)), x)
    np.testing.assert_array_equal(_np(layer(x, training=False)), x)


@pytest.mark.parametrize("case", CASES)
def test_changes_in_training(case, rng):
    cls, kwargs, shape = CASES[case]
    x = _input(shape, rng)
    out = _np(cls(**kwargs, seed=1)(x, training=True))
    assert out.shape == x.shape
    assert not np.allclose(out, x)


@pytest.mark.parametrize("case", CASES)
def test_seeded_layers_are_deterministic(case, rng):
    cls, kwargs, shape = CASES[case]
    x = _input(shape, rng)
    a = _np(cls(**kwargs, seed=7)(x, training=True))
    b = _np(cls(**kwargs, seed=7)(x, training=True))
    c = _np(cls(**kwargs, seed=8)(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("case", CASES)
def test_config_round_trip(case):
    cls, kwargs, _ = CASES[case]
    layer = cls(**kwargs, seed=3, name="aug")
    config = layer.get_config()
    assert cls.from_config(config).get_config() == config
    assert config["seed"] == 3
    assert all(config[k] == val for k, val in kwargs.items())


@pytest.mark.parametrize("case", CASES)
def test_save_load_safe_mode_is_identity(case, tmp_path, rng):
    cls, kwargs, shape = CASES[case]
    x = _input(shape, rng)
    inputs = keras.Input(shape[1:])
    model = keras.Model(inputs, cls(**kwargs, seed=0)(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(loaded.layers[-1]) is cls
    assert loaded.layers[-1].get_config() == model.layers[-1].get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), x)


def test_gain_is_one_factor_per_example_within_range(waves):
    out = _np(RandomGain(-6.0, 6.0, seed=0)(waves, training=True))
    gains = []
    for x, o in zip(waves, out, strict=True):
        nz = np.abs(x) > 1e-4
        ratio = o[nz] / x[nz]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)
        gains.append(20 * np.log10(ratio[0]))
    assert all(-6.0 - 1e-4 <= g <= 6.0 + 1e-4 for g in gains)
    assert len(set(np.round(gains, 3))) == len(waves)  # drawn per example


def _shifted(x, s, wrap):
    if wrap:
        return np.roll(x, s)
    out = np.zeros_like(x)
    if s >= 0:
        out[s:] = x[: len(x) - s]
    else:
        out[:s] = x[-s:]
    return out


@pytest.mark.parametrize("mode", ["zeros", "wrap"])
def test_time_shift_is_a_shift(waves, mode):
    out = _np(RandomTimeShift(0.1, mode=mode, seed=0)(waves, training=True))
    max_shift = int(0.1 * waves.shape[1])
    for x, o in zip(waves, out, strict=True):
        matches = [s for s in range(-max_shift, max_shift + 1)
                   if np.array_equal(o, _shifted(x, s, mode == "wrap"))]
        assert matches, "output is not a shift of the input within max_fraction"


def test_time_shift_carries_trailing_axes(rng):
    x = rng.standard_normal((3, 100, 2)).astype("float32")
    out = _np(RandomTimeShift(0.2, mode="wrap", seed=0)(x, training=True))
    for xi, oi in zip(x, out, strict=True):
        assert any(np.array_equal(oi, np.roll(xi, s, axis=0)) for s in range(-20, 21))


def test_noise_snr_in_range_and_silence_stays_silent(waves):
    x = np.concatenate([waves, np.zeros((1, waves.shape[1]), "float32")])
    out = _np(RandomNoise(10.0, 20.0, seed=0)(x, training=True))
    noise = out - x
    np.testing.assert_array_equal(out[-1], 0.0)
    snr = 10 * np.log10(np.mean(x[:-1] ** 2, axis=1) / np.mean(noise[:-1] ** 2, axis=1))
    assert np.all((snr > 10.0 - 1.5) & (snr < 20.0 + 1.5)), snr


def test_specaugment_masks_whole_bands_and_spans(rng):
    x = rng.uniform(1.0, 2.0, size=FEAT_SHAPE).astype("float32")  # never equal to the mask value
    out = _np(SpecAugment(2, 6, 2, 10, mask_value=0.0, seed=0)(x, training=True))
    masked = out == 0.0
    np.testing.assert_array_equal(out[~masked], x[~masked])
    for m in masked:
        bands = m.all(axis=0)  # features masked in every frame
        spans = m.all(axis=1)  # frames masked in every feature
        np.testing.assert_array_equal(m, bands[None, :] | spans[:, None])
        assert bands.sum() <= 2 * 6 and spans.sum() <= 2 * 10


def test_specaugment_zero_widths_are_identity(rng):
    x = _input(FEAT_SHAPE, rng)
    out = _np(SpecAugment(2, 0, 2, 0, seed=0)(x, training=True))
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("axis", [1, 2])
def test_stretch_resamples_linearly_from_index_zero(axis):
    size = FEAT_SHAPE[axis]
    ramp = np.arange(size, dtype="float32")
    x = np.broadcast_to(ramp.reshape((1, -1, 1) if axis == 1 else (1, 1, -1)), FEAT_SHAPE).copy()
    out = _np(RandomStretch(0.2, axis=axis, seed=0)(x, training=True))
    line = out[:, :, 0] if axis == 1 else out[:, 0, :]
    for row in line:  # a ramp read at i * factor is a ramp of slope factor, capped at the end
        factor = row[1]
        assert 0.8 - 1e-5 <= factor <= 1.2 + 1e-5
        np.testing.assert_allclose(row, np.minimum(ramp * factor, size - 1), rtol=1e-5, atol=1e-4)
    # every other line along the other axis is the same resampling
    np.testing.assert_allclose(out, np.broadcast_to(line[:, :, None] if axis == 1
                                                    else line[:, None, :], FEAT_SHAPE))


def test_active_in_fit_identity_in_predict(rng):
    """Inside a model, the layer is on in ``fit`` (training) and off in ``predict``."""
    x = _input(WAVE_SHAPE, rng)
    inputs = keras.Input(WAVE_SHAPE[1:])
    model = keras.Model(inputs, RandomGain(-20.0, -20.0, seed=0)(inputs))
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_allclose(_np(model(x, training=True)), x * 0.1, rtol=1e-5)


@pytest.mark.parametrize("make, match", [
    (lambda: RandomGain(6.0, -6.0), "min_db"),
    (lambda: RandomGain("a", 1.0), "min_db"),
    (lambda: RandomTimeShift(1.5), "max_fraction"),
    (lambda: RandomTimeShift(-0.1), "max_fraction"),
    (lambda: RandomTimeShift(0.1, mode="reflect"), "mode"),
    (lambda: RandomNoise(30.0, 10.0), "snr_db_min"),
    (lambda: SpecAugment(freq_masks=-1), "freq_masks"),
    (lambda: SpecAugment(time_width=2.5), "time_width"),
    (lambda: RandomGain(seed=1.5), "seed"),
    (lambda: RandomStretch(1.0), "max_fraction"),
    (lambda: RandomStretch(0.1, axis=0), "axis"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


def test_specaugment_needs_frames_and_features():
    with pytest.raises(ParameterError, match="SpecAugment"):
        SpecAugment()(np.zeros((2, 100), dtype="float32"))
