"""tympan.layers.Scalogram on the active Keras backend: parity with tympan.dsp.scalogram, shapes,
serialization, errors.

The layer is channels-last, so ``layer(x)`` is compared with ``swapaxes(dsp.scalogram(x), -1, -2)``;
each parameter set is one dict passed unchanged to both.  Tolerance: 1e-5 of each example's
peak (observed about 2e-7 on jax: a float32 convolution against PyWavelets' float64 FFT).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from tympan import dsp
from tympan.errors import ParameterError
from tympan.layers import Scalogram

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

TOL = 1e-5


def to_np(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def channels_last(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


PARAMS = {
    "fsdd-cmor1.5-1.0": ("fsdd", dict(sr=8000, hop_length=80, fmin=40.0, fmax=3800.0, n_bins=48)),
    "fsdd-cmor3-1.5-hop-64": ("fsdd", dict(sr=8000, hop_length=64, fmin=100.0, n_bins=24,
                                           wavelet="cmor3.0-1.5")),
    "emodb-256": ("emodb", dict(sr=22050, hop_length=256, fmin=100.0, fmax=8000.0, n_bins=32)),
}


@pytest.fixture(scope="module")
def clips(recording):
    """Per corpus a (2, n) batch: a real clip and the same clip 60 dB quieter."""
    emodb = recording("emodb", "03a01Fa")[0][12000:20000]  # 0.36 s of speech at 22.05 kHz
    fsdd = recording("fsdd", "3_jackson_5")[0]  # 0.45 s at 8 kHz
    return {name: np.stack([y, y * np.float32(1e-3)]) for name, y in (("emodb", emodb), ("fsdd", fsdd))}


@pytest.mark.parametrize("key", PARAMS)
def test_scalogram_layer_equals_dsp(clips, key):
    corpus, params = PARAMS[key]
    x = clips[corpus]
    out = to_np(Scalogram(**params)(x))
    ref = channels_last(dsp.scalogram(x, **params))
    assert out.dtype == np.float32
    assert out.shape == ref.shape == (2, 1 + x.shape[1] // params["hop_length"], params["n_bins"])
    for i in range(2):  # per example: the quiet one is held to its own scale
        np.testing.assert_allclose(out[i], ref[i], rtol=0, atol=TOL * ref[i].max())


def test_a_sine_peaks_in_its_bin_in_the_layer():
    sr, n = 8000, 4000
    layer = Scalogram(sr=sr, hop_length=100, fmin=60.0, fmax=3000.0, n_bins=24)
    freqs = dsp.scalogram_frequencies(sr=sr, fmin=60.0, fmax=3000.0, n_bins=24)
    bins = np.array([1, 8, 15, 23])
    y = np.sin(2 * np.pi * freqs[bins, None] * np.arange(n) / sr).astype(np.float32)
    peaks = to_np(layer(y))[:, 15:25, :].argmax(axis=-1)
    np.testing.assert_array_equal(peaks, np.repeat(bins[:, None], 10, axis=1))


def test_batch_equals_single_and_float64_gives_float32(clips):
    layer = Scalogram(**PARAMS["fsdd-cmor1.5-1.0"][1])
    x = clips["fsdd"]
    out = to_np(layer(x))
    for i in range(2):
        single = to_np(layer(x[i : i + 1]))[0]
        np.testing.assert_allclose(out[i], single, rtol=1e-5, atol=1e-6 * single.max())
    assert to_np(layer(x.astype(np.float64))).dtype == np.float32


@pytest.mark.parametrize("n", [4000, 4001, 3999, 80])
def test_compute_output_shape_equals_actual_shape(rng, n):
    params = PARAMS["fsdd-cmor3-1.5-hop-64"][1] | {"hop_length": 80}
    layer = Scalogram(**params)
    x = rng.standard_normal((2, n)).astype(np.float32)
    expected = layer.compute_output_shape((2, n))
    assert tuple(to_np(layer(x)).shape) == tuple(expected)
    assert expected[1] == dsp.n_frames(n, n_fft=2048, hop_length=80, center=True) == 1 + n // 80
    inp = keras.Input((n,))
    sym = Scalogram(**params)(inp)
    assert tuple(sym.shape) == (None, *expected[1:])
    assert tuple(to_np(keras.Model(inp, sym)(x)).shape) == tuple(expected)


def test_unknown_length_gives_unknown_frames(rng):
    params = PARAMS["fsdd-cmor3-1.5-hop-64"][1]
    assert Scalogram(**params).compute_output_shape((None, None)) == (None, None, 24)
    inp = keras.Input((None,))
    model = keras.Model(inp, Scalogram(**params)(inp))
    x = rng.standard_normal((1, 1500)).astype(np.float32)
    assert to_np(model(x)).shape == (1, 1 + 1500 // 64, 24)


def test_bank_is_a_non_trainable_weight_equal_to_the_dsp_bank(clips):
    params = PARAMS["fsdd-cmor3-1.5-hop-64"][1]
    layer = Scalogram(**params)
    layer(clips["fsdd"])
    assert layer.trainable_weights == []
    bank = dsp.wavelet_bank(**{k: v for k, v in params.items() if k != "hop_length"})
    kernel = to_np(layer.bank_weights.value)
    assert kernel.shape == (bank.shape[0], 1, 2 * 24)
    np.testing.assert_array_equal(kernel[:, 0, :24], bank.real)
    np.testing.assert_array_equal(kernel[:, 0, 24:], bank.imag)


def test_config_round_trip_and_safe_mode_reload(tmp_path, clips):
    params = PARAMS["fsdd-cmor3-1.5-hop-64"][1]
    layer = Scalogram(precision=17, name="scal", **params)
    config = layer.get_config()
    assert {k: config[k] for k in params} == params
    assert config["fmax"] is None and config["precision"] == 17
    clone = Scalogram.from_config(config)
    assert clone.get_config() == config

    x = clips["fsdd"]
    inp = keras.Input((x.shape[1],))
    model = keras.Model(inp, keras.layers.GlobalAveragePooling1D()(layer(inp)))
    before = to_np(model(x))
    path = tmp_path / "scalogram.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(to_np(reloaded(x)), before)
    again = reloaded.get_layer("scal")
    assert type(again) is Scalogram and again.get_config() == config


# -------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Scalogram(sr=8000, fmin=3.0), r"fmin=3\.0 Hz at sr=8000"),
        (lambda: Scalogram(sr=48000, fmin=2.0, n_bins=4), "4 s limit"),
        (lambda: Scalogram(sr=8000, fmax=5000.0), "fmax"),
        (lambda: Scalogram(sr=8000, fmin=500.0, fmax=100.0), "fmin"),
        (lambda: Scalogram(sr=8000, hop_length=0), "hop_length"),
        (lambda: Scalogram(sr=8000, n_bins=0), "n_bins"),
        (lambda: Scalogram(sr=0), "sr"),
        (lambda: Scalogram(sr=8000, wavelet="morl"), "wavelet"),
        (lambda: Scalogram(sr=8000, precision=-1), "precision"),
    ],
)
def test_bad_constructor_arguments_raise(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


def test_wrong_input_rank_raises():
    layer = Scalogram(sr=8000, fmin=100.0, n_bins=8)
    with pytest.raises(ParameterError, match=r"\(batch, samples\)"):
        layer(np.zeros((2, 4000, 1), np.float32))
    with pytest.raises(ParameterError, match=r"\(batch, samples\)"):
        Scalogram(sr=8000, fmin=100.0, n_bins=8)(keras.Input((100, 2)))


def test_power_two_is_the_squared_magnitude(clips):
    x = clips["fsdd"]
    kw = dict(sr=8000, hop_length=100, fmin=100.0, n_bins=12)
    mag = to_np(Scalogram(**kw)(x))
    power = to_np(Scalogram(**kw, power=2.0)(x))
    half = to_np(Scalogram(**kw, power=0.5)(x))
    np.testing.assert_allclose(power, mag**2, rtol=1e-4, atol=1e-6 * (mag**2).max())
    np.testing.assert_allclose(half, np.sqrt(mag), rtol=1e-4, atol=1e-6)
    assert Scalogram.from_config(Scalogram(**kw, power=2.0).get_config()).power == 2.0
