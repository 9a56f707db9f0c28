"""tympan.layers.tonal (Chroma, CQT) on the active Keras backend: parity with tympan.dsp,
shapes, serialization, errors.

Layers are channels-last: ``layer(x)`` is compared with ``np.swapaxes(dsp_fn(x), -1, -2)``.
Tolerances: chroma 1e-5 (values in [0, 1]); CQT magnitude 1e-5 of each example's peak (the
layer runs in float32; the numpy CQT runs float32 data through float64-built kernels).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from tympan import dsp
from tympan.dsp import constantq, filters
from tympan.errors import ParameterError
from tympan.layers import CQT, Chroma, PowerToDb

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def to_np(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def channels_last(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


@pytest.fixture(scope="module")
def clips(recording):
    """Per corpus a (2, n) batch: a real clip and the same clip 60 dB quieter."""
    emodb = recording("emodb", "03a01Fa")[0][10000:26000]  # 0.73 s at 22.05 kHz
    fsdd = recording("fsdd", "3_jackson_5")[0]  # 0.45 s at 8 kHz
    return {name: np.stack([y, y * np.float32(1e-3)]) for name, y in (("emodb", emodb), ("fsdd", fsdd))}


CHROMA_PARAMS = {
    "emodb-default": ("emodb", dict(sr=22050)),
    "emodb-1024-256-24-l2": ("emodb", dict(sr=22050, n_fft=1024, hop_length=256, n_chroma=24, norm=2.0)),
    "fsdd-256-80-hamming-reflect-raw": (
        "fsdd", dict(sr=8000, n_fft=256, hop_length=80, win_length=200, window="hamming", pad_mode="reflect",
                     norm=None, tuning=0.2, octwidth=None, base_c=False)),
}
CQT_PARAMS = {
    "emodb-default": ("emodb", dict(sr=22050)),
    "emodb-256-24bpo-reflect": ("emodb", dict(sr=22050, hop_length=256, n_bins=48, bins_per_octave=24,
                                              fmin=220.0, pad_mode="reflect")),
    "fsdd-64-72": ("fsdd", dict(sr=8000, hop_length=64, n_bins=72)),
    "fsdd-75-odd-hop-noscale": ("fsdd", dict(sr=8000, hop_length=75, n_bins=24, fmin=220.0, scale=False,
                                             filter_scale=0.8, norm=2.0, sparsity=0.0)),
}

# Eager jax compiles every op per input shape: the other tests reuse the shapes and settings of
# the parity tests (the FSDD batch, SMALL_* layers) to keep this file fast.
SMALL_CHROMA = dict(sr=8000, n_fft=256, hop_length=64)
SMALL_CQT = CQT_PARAMS["fsdd-64-72"][1]


# -------------------------------------------------------------------------------- parity
@pytest.mark.parametrize("key", CHROMA_PARAMS)
def test_chroma_equals_dsp(clips, key):
    corpus, params = CHROMA_PARAMS[key]
    x = clips[corpus]
    out = to_np(Chroma(**params)(x))
    ref = channels_last(dsp.chroma_stft(x, **{"tuning": 0.0, **params}))  # the layer's default
    assert out.dtype == np.float32 and out.shape == ref.shape
    for i in range(2):
        np.testing.assert_allclose(out[i], ref[i], rtol=0, atol=1e-5 * max(1.0, ref[i].max()))


def test_chroma_with_the_estimated_tuning_equals_librosas_default(clips):
    """The layer is fixed; given the tuning ``dsp.estimate_tuning`` finds (what a model records),
    it equals ``dsp.chroma_stft``'s default (librosa's: the tuning estimated from the clip)."""
    x = clips["emodb"]  # a clip and the same 60 dB quieter: the same tuning
    power = dsp.spectrogram(x, n_fft=2048, hop_length=512, power=2.0)
    tuning, quiet = dsp.estimate_tuning(S=power, sr=22050)
    assert tuning == quiet != 0.0
    out = to_np(Chroma(sr=22050, tuning=tuning)(x))
    np.testing.assert_allclose(out, channels_last(dsp.chroma_stft(x, sr=22050)), rtol=0, atol=1e-5)


@pytest.mark.parametrize("key", CQT_PARAMS)
def test_cqt_equals_dsp(clips, key):
    corpus, params = CQT_PARAMS[key]
    x = clips[corpus]
    out = to_np(CQT(**params)(x))
    ref = channels_last(np.abs(dsp.cqt(x, **params)))
    assert out.dtype == np.float32 and out.shape == ref.shape
    for i in range(2):  # per example: the quiet one is held to its own scale
        np.testing.assert_allclose(out[i], ref[i], rtol=0, atol=1e-5 * ref[i].max())


def test_cqt_power_and_db_equal_dsp(clips):
    x = clips["fsdd"]
    params = SMALL_CQT
    power = to_np(CQT(power=2.0, **params)(x))
    ref = channels_last(np.abs(dsp.cqt(x, **params)) ** 2)
    np.testing.assert_allclose(power[0], ref[0], rtol=0, atol=1e-5 * ref[0].max())
    log = to_np(PowerToDb()(power))  # float32 products: ~1e-3 dB at 75 dB below the peak
    np.testing.assert_allclose(log, dsp.power_to_db(ref), rtol=0, atol=1e-2)
    half = to_np(CQT(power=0.5, **params)(x))
    np.testing.assert_allclose(half[0], ref[0] ** 0.25, rtol=0, atol=1e-5 * ref[0].max() ** 0.25)


def test_a440_peaks_in_class_a_and_its_bin(clips):
    n = clips["fsdd"].shape[1]
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * np.arange(n) / 8000)).astype(np.float32)
    x = np.stack([tone, tone * np.float32(1e-3)])
    assert (to_np(Chroma(**SMALL_CHROMA)(x))[:, 2:-2].argmax(axis=-1) == 9).all()
    assert (to_np(CQT(**SMALL_CQT)(x))[:, 5:-5].argmax(axis=-1) == 45).all()  # A4 = C1 + 45 semitones


@pytest.mark.parametrize("make", [lambda: Chroma(**SMALL_CHROMA), lambda: SHAPE_LAYERS["cqt-64-36"]()],
                         ids=["Chroma", "CQT"])
def test_batch_equals_single(clips, make):
    layer = make()
    x = clips["fsdd"][:, :1000]  # the shapes of the shape tests below
    out = to_np(layer(x))
    for i in range(2):
        single = to_np(layer(x[i : i + 1]))[0]
        np.testing.assert_allclose(out[i], single, rtol=1e-5, atol=1e-6 * np.abs(single).max())


def test_float64_input_gives_float32(clips):
    x = clips["fsdd"].astype(np.float64)
    assert to_np(Chroma(**SMALL_CHROMA)(x)).dtype == np.float32
    assert to_np(CQT(**SMALL_CQT)(x)).dtype == np.float32


# ------------------------------------------------------------------------------------ shapes
SHAPE_LAYERS = {
    "chroma-256-100": lambda: Chroma(sr=8000, n_fft=256, hop_length=100),
    "chroma-255-64-nocenter": lambda: Chroma(sr=8000, n_fft=255, hop_length=64, center=False, n_chroma=24),
    "cqt-64-36": lambda: CQT(sr=8000, hop_length=64, n_bins=36, fmin=110.0),
}


@pytest.mark.parametrize("make", SHAPE_LAYERS.values(), ids=SHAPE_LAYERS.keys())
@pytest.mark.parametrize("n", [1000, 1023])
def test_compute_output_shape_equals_actual_shape(rng, make, n):
    layer = make()
    x = rng.standard_normal((2, n)).astype(np.float32)
    expected = layer.compute_output_shape((2, n))
    assert tuple(to_np(layer(x)).shape) == tuple(expected)
    n_fft = getattr(layer, "n_fft", 2)
    assert expected[1] == dsp.n_frames(n, n_fft=n_fft, hop_length=layer.hop_length,
                                       center=getattr(layer, "center", True))
    inp = keras.Input((n,))
    sym = make()(inp)
    assert tuple(sym.shape) == (None, *expected[1:])
    assert tuple(to_np(keras.Model(inp, sym)(x)).shape) == tuple(expected)


@pytest.mark.parametrize("make", SHAPE_LAYERS.values(), ids=SHAPE_LAYERS.keys())
def test_unknown_length_gives_unknown_frames(rng, make):
    layer = make()
    expected = layer.compute_output_shape((None, None))
    assert expected[:2] == (None, None)
    inp = keras.Input((None,))
    sym = make()(inp)
    assert tuple(sym.shape) == tuple(expected)
    x = rng.standard_normal((1, 1000)).astype(np.float32)
    assert tuple(to_np(keras.Model(inp, sym)(x)).shape) == tuple(layer.compute_output_shape((1, 1000)))


# ----------------------------------------------------------------------------- serialization
CONFIG_CASES = {
    "Chroma": lambda: Chroma(sr=8000, n_fft=256, hop_length=80, win_length=200, window="hamming",
                             pad_mode="reflect", norm=2.0, tuning=0.1, n_chroma=24, ctroct=4.0,
                             octwidth=None, base_c=False, name="chroma"),
    "Chroma-inf": lambda: Chroma(sr=8000, n_fft=256, hop_length=80, name="chroma_inf"),
    "CQT": lambda: CQT(sr=8000, hop_length=80, fmin=220.0, n_bins=48, bins_per_octave=24, tuning=-0.1,
                       filter_scale=0.9, norm=2.0, sparsity=0.0, window="hamming", scale=False,
                       pad_mode="reflect", power=2.0, name="cqt"),
}


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_get_config_from_config_round_trip(clips, case):
    layer = CONFIG_CASES[case]()
    x = clips["fsdd"]
    out = to_np(layer(x))
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    np.testing.assert_array_equal(to_np(clone(x)), out)
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is type(layer) and again.get_config() == config


def test_model_saves_and_reloads_in_safe_mode(tmp_path, clips):
    wave = keras.Input((clips["fsdd"].shape[1],), name="wave")
    outputs = [make()(wave) for make in CONFIG_CASES.values()]
    cqt2 = CQT(sr=8000, hop_length=64, n_bins=36, fmin=110.0, power=2.0, name="cqt2")
    outputs.append(PowerToDb(name="db")(cqt2(wave)))
    model = keras.Model(wave, outputs)
    x = clips["fsdd"]
    before = [to_np(t) for t in model(x)]
    path = tmp_path / "tonal.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    for a, b in zip(before, [to_np(t) for t in reloaded(x)], strict=True):
        np.testing.assert_array_equal(b, a)
    for name in ("chroma", "chroma_inf", "cqt", "cqt2"):
        layer = reloaded.get_layer(name)
        assert type(layer).__module__ == "tympan.layers.tonal"
        assert layer.get_config() == model.get_layer(name).get_config()
    assert reloaded.trainable_weights == []


def test_constants_are_non_trainable_weights_from_the_builders(clips):
    cqt = CQT(sr=8000, hop_length=64, n_bins=72)
    chroma = Chroma(sr=8000, n_fft=256)
    cqt(clips["fsdd"])
    chroma(clips["fsdd"])
    assert cqt.trainable_weights == [] and chroma.trainable_weights == []
    plan = constantq.cqt_kernels(sr=8000, hop_length=64, n_bins=72)
    assert len(cqt.kernels) == len(plan.octaves) == 6
    for w, octave in zip(cqt.kernels, plan.octaves, strict=True):
        np.testing.assert_array_equal(to_np(w.value), octave.kernel.astype(np.float32))
    toeplitz = constantq.halving_operator(plan.lowpass)[2]
    np.testing.assert_array_equal(to_np(cqt.halving.value), toeplitz.astype(np.float32))
    np.testing.assert_array_equal(to_np(chroma.chroma_weights.value), filters.chroma(sr=8000, n_fft=256).T)


# ----------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: CQT(sr=8000), r"n_bins=84.*sr=8000"),
        (lambda: CQT(sr=8000, n_bins=60, hop_length=0), "hop_length"),
        (lambda: CQT(sr=8000, n_bins=60, fmin=0.0), "fmin"),
        (lambda: CQT(sr=8000, n_bins=60, sparsity=-0.1), "sparsity"),
        (lambda: CQT(sr=8000, n_bins=60, pad_mode="wrap"), "pad_mode"),
        (lambda: CQT(sr=8000, n_bins=60, power=0.0), "power"),
        (lambda: CQT(sr=8000, n_bins=60, window=("kaiser", 8.0)), "window"),
        (lambda: CQT(sr=8000, n_bins=60, norm="l1"), "norm"),
        (lambda: Chroma(sr=8000, n_fft=256, norm=-2.0), "norm"),
        (lambda: Chroma(sr=8000, n_fft=256, n_chroma=0), "n_chroma"),
        (lambda: Chroma(sr=8000, n_fft=256, octwidth=-1.0), "octwidth"),
        (lambda: Chroma(sr=8000, n_fft=256, hop_length=0), "hop_length"),
        (lambda: Chroma(sr=0, n_fft=256), "sr"),
    ],
)
def test_bad_constructor_arguments_raise(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


def test_wrong_input_rank_raises():
    with pytest.raises(ParameterError, match=r"\(batch, samples\)"):
        CQT(sr=8000, n_bins=60)(np.zeros((2, 4000, 1), np.float32))
    with pytest.raises(ParameterError, match=r"\(batch, samples\)"):
        Chroma(sr=8000, n_fft=256)(keras.Input((100, 2)))
