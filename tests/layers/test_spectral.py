"""tympan.layers.spectral on the active Keras backend: parity with tympan.dsp, shapes, errors.

Layers are channels-last, so ``layer(x)`` is compared with ``np.swapaxes(dsp_fn(x), -1, -2)``.
Each parameter set is one dict passed unchanged to the layer and to the numpy function.
Tolerances: log-mel 1e-3 dB, MFCC 1e-3, spectrogram magnitude/power 1e-5 of the peak.
"""

from __future__ import annotations

import keras
import librosa
import numpy as np
import pytest
from keras import ops

from tympan import dsp
from tympan.errors import ParameterError
from tympan.layers import MFCC, Delta, MelSpectrogram, PowerToDb, Spectrogram

DB_TOL = 1e-3
MFCC_TOL = 1e-3


# numpy 2 warns about Keras's own np.array(tensor) in convert_to_numpy / model.save (torch and
# jax tensors' __array__ lack the copy keyword); not tympan's to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def to_np(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def channels_last(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


# The parameter mapping: layer and numpy function take the same names with the same meaning.
PARAMS = {
    "emodb-512-128-slaney": (
        "emodb",
        dict(sr=22050, n_fft=512, hop_length=128, win_length=None, window="hann", center=True,
             pad_mode="constant", n_mels=64, fmin=0.0, fmax=None, htk=False),
    ),
    "emodb-512-100-htk-nocenter": (
        "emodb",
        dict(sr=22050, n_fft=512, hop_length=100, win_length=None, window="hann", center=False,
             pad_mode="constant", n_mels=40, fmin=50.0, fmax=8000.0, htk=True),
    ),
    "fsdd-256-80-win200-hamming-reflect": (
        "fsdd",
        dict(sr=8000, n_fft=256, hop_length=80, win_length=200, window="hamming", center=True,
             pad_mode="reflect", n_mels=40, fmin=20.0, fmax=4000.0, htk=False),
    ),
}
STFT_KEYS = ("n_fft", "hop_length", "win_length", "window", "center", "pad_mode")


def stft_args(params: dict) -> dict:
    return {k: params[k] for k in STFT_KEYS}


@pytest.fixture(scope="module")
def clips(recording):
    """Per corpus a (2, n) batch: a real clip and the same clip 60 dB quieter."""
    emodb = recording("emodb", "03a01Fa")[0][10000:26000]  # 0.73 s of speech at 22.05 kHz
    fsdd = recording("fsdd", "3_jackson_5")[0]  # 0.45 s at 8 kHz
    return {name: np.stack([y, y * np.float32(1e-3)]) for name, y in (("emodb", emodb), ("fsdd", fsdd))}


# -------------------------------------------------------------------------------- parity
@pytest.mark.parametrize("key", PARAMS)
@pytest.mark.parametrize("mode", ["magnitude", "power", "complex"])
def test_spectrogram_equals_dsp_stft(clips, key, mode):
    corpus, params = PARAMS[key]
    x = clips[corpus]
    out = to_np(Spectrogram(mode=mode, **stft_args(params))(x))
    S = dsp.stft(x, **stft_args(params))
    ref = {
        "magnitude": channels_last(np.abs(S)),
        "power": channels_last(np.abs(S) ** 2),
        "complex": np.stack([channels_last(S.real), channels_last(S.imag)], axis=-1),
    }[mode]
    assert out.dtype == np.float32
    assert out.shape == ref.shape
    for i in range(2):  # per example: the quiet one is held to its own scale
        np.testing.assert_allclose(out[i], ref[i], rtol=0, atol=1e-5 * np.abs(ref[i]).max())


@pytest.mark.parametrize("key", PARAMS)
def test_mel_and_log_mel_equal_dsp(clips, key):
    corpus, params = PARAMS[key]
    x = clips[corpus]
    mel = MelSpectrogram(**params)(x)
    ref_mel = channels_last(dsp.melspectrogram(x, **params))
    assert tuple(mel.shape) == ref_mel.shape
    np.testing.assert_allclose(to_np(mel)[0], ref_mel[0], rtol=1e-4, atol=1e-5 * ref_mel[0].max())
    out = to_np(PowerToDb()(mel))
    ref = channels_last(dsp.power_to_db(dsp.melspectrogram(x, **params)))
    np.testing.assert_allclose(out, ref, rtol=0, atol=DB_TOL)


@pytest.mark.parametrize("key", PARAMS)
def test_mfcc_equals_dsp(clips, key):
    corpus, params = PARAMS[key]
    x = clips[corpus]
    out = to_np(MFCC(n_mfcc=20, **params)(x))
    ref = channels_last(dsp.mfcc(x, n_mfcc=20, **params))
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=0, atol=MFCC_TOL)


def test_mfcc_options_equal_dsp(clips):
    x = clips["fsdd"]
    params = dict(
        sr=8000, n_fft=256, hop_length=80, n_mels=40, n_mfcc=13, lifter=22.0, top_db=None, power=1.0
    )
    out = to_np(MFCC(**params)(x))
    ref = channels_last(dsp.mfcc(x, **params))
    gain = dsp.filters.lifter_weights(13, 22.0, dtype=np.float64)  # liftering scales rounding too
    np.testing.assert_allclose(out / gain, ref / gain, rtol=0, atol=MFCC_TOL)


@pytest.mark.parametrize(("width", "order"), [(9, 1), (9, 2), (3, 1)])
def test_delta_equals_dsp(clips, width, order):
    params = PARAMS["fsdd-256-80-win200-hamming-reflect"][1]
    log_mel = dsp.power_to_db(dsp.melspectrogram(clips["fsdd"], **params))  # (2, n_mels, frames)
    out = to_np(Delta(width=width, order=order)(channels_last(log_mel)))
    ref = channels_last(dsp.delta(log_mel, width=width, order=order))
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4)
    # and so librosa's delta
    np.testing.assert_allclose(
        out, channels_last(librosa.feature.delta(log_mel, width=width, order=order)), rtol=0, atol=1e-4
    )


# -------------------------------------------------------------------- per-example decibels
@pytest.fixture(scope="module")
def mel_batch(clips):
    """Channels-last mel power of a clip and of the same clip 60 dB quieter."""
    params = PARAMS["emodb-512-128-slaney"][1]
    return channels_last(dsp.melspectrogram(clips["emodb"], **params)).astype(np.float32)


def test_power_to_db_top_db_is_per_example(mel_batch):
    layer = PowerToDb(top_db=80.0)
    out = to_np(layer(mel_batch))
    for i in range(2):
        single = to_np(layer(mel_batch[i : i + 1]))[0]
        np.testing.assert_allclose(out[i], single, rtol=0, atol=1e-5)
        np.testing.assert_allclose(out[i], dsp.power_to_db(mel_batch[i]), rtol=0, atol=DB_TOL)
    # the check has teeth: clipping over the batch (librosa on the stack) changes the quiet one
    assert np.abs(librosa.power_to_db(mel_batch)[1] - out[1]).max() > 10.0


def test_power_to_db_ref_max_is_per_example(mel_batch):
    out = to_np(PowerToDb(ref="max", top_db=80.0)(mel_batch))
    np.testing.assert_allclose(out.max(axis=(1, 2)), [0.0, 0.0], atol=1e-4)
    for i in range(2):
        np.testing.assert_allclose(out[i], dsp.power_to_db(mel_batch[i], ref=np.max), rtol=0, atol=DB_TOL)
    # with amin out of the way, the same clip 60 dB down has the same dB relative to its own peak
    low_floor = to_np(PowerToDb(ref="max", amin=1e-20, top_db=80.0)(mel_batch))
    np.testing.assert_allclose(low_floor[0], low_floor[1], rtol=0, atol=DB_TOL)


def test_power_to_db_numeric_ref_amin_and_no_top_db(mel_batch):
    out = to_np(PowerToDb(ref=10.0, amin=1e-6, top_db=None)(mel_batch))
    ref = dsp.power_to_db(mel_batch, ref=10.0, amin=1e-6, top_db=None)
    np.testing.assert_allclose(out, ref, rtol=0, atol=DB_TOL)
    assert out.min() == pytest.approx(-70.0, abs=1e-3)  # the amin floor: 10 log10(1e-6 / 10)


# -------------------------------------------------------------------------- batch == single
BATCH_LAYERS = {
    "Spectrogram": lambda p: Spectrogram(mode="complex", **stft_args(p)),
    "MelSpectrogram": lambda p: MelSpectrogram(**p),
    "MFCC": lambda p: MFCC(n_mfcc=20, **p),
}


@pytest.mark.parametrize("make", BATCH_LAYERS.values(), ids=BATCH_LAYERS.keys())
def test_layer_batch_equals_single(clips, make):
    layer = make(PARAMS["fsdd-256-80-win200-hamming-reflect"][1])
    x = clips["fsdd"]  # a clip and the same clip 60 dB down
    out = to_np(layer(x))
    for i in range(2):
        single = to_np(layer(x[i : i + 1]))[0]
        np.testing.assert_allclose(out[i], single, rtol=1e-5, atol=1e-5 * np.abs(single).max())


def test_delta_batch_equals_single(rng):
    x = rng.standard_normal((3, 20, 7)).astype(np.float32)
    layer = Delta(width=5)
    out = to_np(layer(x))
    for i in range(3):
        np.testing.assert_allclose(out[i], to_np(layer(x[i : i + 1]))[0], rtol=1e-6, atol=1e-6)


def test_layers_give_float32_for_float64_input(clips):
    params = PARAMS["fsdd-256-80-win200-hamming-reflect"][1]
    x = clips["fsdd"].astype(np.float64)
    assert to_np(Spectrogram(**stft_args(params))(x)).dtype == np.float32
    assert to_np(MFCC(n_mfcc=20, **params)(x)).dtype == np.float32


# ------------------------------------------------------------------------------------ shapes
SHAPE_LAYERS = {
    "spec-256-100": lambda: Spectrogram(n_fft=256, hop_length=100),
    "spec-complex-255-64-nocenter": lambda: Spectrogram(
        n_fft=255, hop_length=64, center=False, mode="complex"
    ),
    "mel-512-128-nocenter": lambda: MelSpectrogram(
        sr=8000, n_fft=512, hop_length=128, n_mels=32, center=False
    ),
    "mfcc-256-80": lambda: MFCC(sr=8000, n_fft=256, hop_length=80, n_mels=32, n_mfcc=13),
}


@pytest.mark.parametrize("make", SHAPE_LAYERS.values(), ids=SHAPE_LAYERS.keys())
@pytest.mark.parametrize("n", [1000, 1023])  # and 1500 in test_unknown_length_gives_unknown_frames
def test_compute_output_shape_equals_actual_shape(rng, make, n):
    layer = make()
    x = rng.standard_normal((2, n)).astype(np.float32)
    expected = layer.compute_output_shape((2, n))
    assert tuple(to_np(layer(x)).shape) == tuple(expected)
    assert expected[1] == dsp.n_frames(n, n_fft=layer.n_fft, hop_length=layer.hop_length, center=layer.center)
    # the same through a functional model with a fixed input length
    inp = keras.Input((n,))
    sym = make()(inp)
    assert tuple(sym.shape) == (None, *expected[1:])
    model = keras.Model(inp, sym)
    assert tuple(to_np(model(x)).shape) == tuple(expected)


@pytest.mark.parametrize("make", SHAPE_LAYERS.values(), ids=SHAPE_LAYERS.keys())
def test_unknown_length_gives_unknown_frames(rng, make):
    layer = make()
    expected = layer.compute_output_shape((None, None))
    assert expected[:2] == (None, None)
    inp = keras.Input((None,))
    sym = make()(inp)
    assert tuple(sym.shape) == tuple(expected)
    x = rng.standard_normal((1, 1500)).astype(np.float32)
    assert tuple(to_np(keras.Model(inp, sym)(x)).shape) == tuple(layer.compute_output_shape((1, 1500)))


def test_power_to_db_and_delta_keep_their_input_shape(rng):
    x = rng.uniform(0.0, 1.0, (2, 30, 8)).astype(np.float32)
    for layer in (PowerToDb(), Delta()):
        assert tuple(layer.compute_output_shape((2, 30, 8))) == (2, 30, 8)
        assert to_np(layer(x)).shape == (2, 30, 8)
        assert tuple(layer.compute_output_shape((None, None, 8))) == (None, None, 8)


def test_dynamic_length_model_with_delta(rng):
    inp = keras.Input((None,))
    mel = MelSpectrogram(sr=8000, n_fft=256, hop_length=64, n_mels=32)(inp)
    out = Delta()(PowerToDb()(mel))
    assert tuple(out.shape) == (None, None, 32)
    x = rng.standard_normal((2, 3000)).astype(np.float32)
    assert to_np(keras.Model(inp, out)(x)).shape == (2, dsp.n_frames(3000, n_fft=256, hop_length=64), 32)


# ----------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Spectrogram(hop_length=0), "hop_length"),
        (lambda: Spectrogram(n_fft=-2), "n_fft"),
        (lambda: Spectrogram(n_fft=256, win_length=300), "win_length"),
        (lambda: Spectrogram(pad_mode="wrap"), "pad_mode"),
        (lambda: Spectrogram(mode="phase"), "mode"),
        (lambda: Spectrogram(n_fft=256, window=np.hanning(256)), "window"),
        (lambda: MelSpectrogram(hop_length=0), "hop_length"),
        (lambda: MelSpectrogram(sr=8000, fmin=3000.0, fmax=1000.0), "fmin"),
        (lambda: MelSpectrogram(sr=8000, fmax=5000.0), "fmax"),
        (lambda: MelSpectrogram(n_mels=0), "n_mels"),
        (lambda: MelSpectrogram(sr=-1), "sr"),
        (lambda: MFCC(n_mfcc=50, n_mels=40), "n_mfcc"),
        (lambda: MFCC(lifter=-1.0), "lifter"),
        (lambda: MFCC(top_db=-5.0), "top_db"),
        (lambda: PowerToDb(ref=0.0), "ref"),
        (lambda: PowerToDb(ref="min"), "ref"),
        (lambda: PowerToDb(amin=0.0), "amin"),
        (lambda: PowerToDb(top_db=-1.0), "top_db"),
        (lambda: Delta(width=4), "width"),
        (lambda: Delta(order=0), "order"),
    ],
)
def test_bad_constructor_arguments_raise(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


def test_wrong_input_rank_raises_at_build():
    with pytest.raises(ParameterError, match=r"\(batch, samples\)"):
        Spectrogram(n_fft=256)(np.zeros((2, 4000, 1), np.float32))
    with pytest.raises(ParameterError, match=r"\(batch, samples\)"):
        MFCC(n_fft=256, n_mels=40)(np.zeros((4000,), np.float32))
    with pytest.raises(ParameterError, match=r"\(batch, samples\)"):
        MelSpectrogram(n_fft=256, n_mels=40)(keras.Input((100, 2)))
    with pytest.raises(ParameterError, match=r"\(batch, frames, feature\)"):
        Delta()(np.zeros((2, 30), np.float32))


def test_too_short_input_raises():
    with pytest.raises(ParameterError, match="n_fft"):
        Spectrogram(n_fft=256, center=False)(keras.Input((100,)))
    with pytest.raises(ParameterError, match="width=9 frames"):
        Delta()(np.zeros((1, 5, 3), np.float32))
    with pytest.raises(ParameterError, match="width=5 frames"):
        Delta(width=5)(keras.Input((4, 3)))


# ------------------------------------------------------------- one config dict drives both
# As in librosa.feature.mfcc, `norm` is the DCT norm and `mel_norm` the filterbank's, in the
# layer and in dsp.mfcc alike, so one config dict gives the same MFCCs on both sides.
def test_one_mfcc_config_means_the_same_in_layer_and_dsp(clips):
    x = clips["fsdd"][:1]
    config = dict(sr=8000, n_fft=256, hop_length=80, n_mels=40, n_mfcc=13, norm=None)
    out = to_np(MFCC(**config)(x))
    ref = channels_last(dsp.mfcc(x, **config))
    np.testing.assert_allclose(out, ref, rtol=0, atol=MFCC_TOL)
