"""tympan.layers.InverseSTFT (exact reconstruction, edges included) and GriffinLim (parity with
tympan.dsp.griffinlim) on the active Keras backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from tympan import dsp
from tympan.dsp.metrics import snr_db, spectral_convergence
from tympan.errors import ParameterError
from tympan.layers import GriffinLim, InverseSTFT, Spectrogram

# numpy 2 warns about Keras's own np.array(tensor) in convert_to_numpy / model.save (torch and
# jax tensors' __array__ lack the copy keyword); not tympan's to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def to_np(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(scope="module")
def speech(recording):
    """Two clips of running speech (loud at both ends), 0.5 s at 22.05 kHz: 11025 samples.

    The length matters for hop = n_fft / 2: the last sample then lies at offset
    ``n_fft / 2 + (n % hop) - 1`` of the only frame that covers it, and its float32 rounding is
    amplified by one over the window there (see tests/dsp/test_spectrum.py,
    test_istft_edge_precision_by_length).  11025 = 43 * 256 + 17 keeps it near the window peak.
    """
    y, _ = recording("emodb", "03a01Fa")
    z, _ = recording("emodb", "16b03Wb")
    x = np.stack([y[12000:23025], z[9000:20025]])
    for edge in (x[:, :100], x[:, -100:]):
        assert np.all(np.sqrt(np.mean(edge**2, axis=-1)) > 1e-3), "edge segment is silent"
    return x


STFT_SETS = {
    "512-128": dict(n_fft=512, hop_length=128),
    "512-256": dict(n_fft=512, hop_length=256),
    "256-100": dict(n_fft=256, hop_length=100),  # hop does not divide n_fft
}
WIN800 = {"1024-256-win800": dict(n_fft=1024, hop_length=256, win_length=800)}


@pytest.mark.parametrize("params", STFT_SETS.values(), ids=STFT_SETS.keys())
def test_spectrogram_inverse_round_trip_is_exact_at_the_edges(speech, params):
    n = speech.shape[1]
    spec = Spectrogram(mode="complex", **params)(speech)
    out = to_np(InverseSTFT(length=n, **params)(spec))
    assert out.shape == speech.shape and out.dtype == np.float32
    for i in range(2):
        assert snr_db(speech[i], out[i]) >= 100
        assert snr_db(speech[i, :100], out[i, :100]) >= 100  # first 100 samples
        assert snr_db(speech[i, -100:], out[i, -100:]) >= 100  # last 100 samples


@pytest.mark.parametrize("params", [*STFT_SETS.values(), *WIN800.values()], ids=[*STFT_SETS, *WIN800])
def test_inverse_stft_equals_dsp_istft(speech, params):
    S = dsp.stft(speech, **params)  # (2, bins, frames) complex64
    layer_in = np.stack([np.swapaxes(S.real, 1, 2), np.swapaxes(S.imag, 1, 2)], axis=-1)
    n = speech.shape[1]
    for length in (None, n - 31, n + 40):
        out = to_np(InverseSTFT(length=length, **params)(layer_in))
        ref = dsp.istft(S, length=length, **params)
        assert out.shape == ref.shape
        # past the signal's end the envelope falls to the window's tail, which amplifies
        # rounding: compare up to the end of the signal there
        np.testing.assert_allclose(out[:, :n], ref[:, :n], rtol=0, atol=2e-6)


def test_inverse_stft_center_false_equals_dsp(speech):
    params = dict(n_fft=512, hop_length=128, center=False)
    spec = Spectrogram(mode="complex", **params)(speech)
    out = to_np(InverseSTFT(**params)(spec))
    ref = dsp.istft(dsp.stft(speech, **params), **params)
    assert out.shape == ref.shape
    # without centre padding the first and last samples are seen only through the window's
    # tails (Hann is ~0 there), so rounding is amplified: compare from 64 samples in
    np.testing.assert_allclose(out[:, 64:-64], ref[:, 64:-64], rtol=0, atol=2e-6)
    # away from the edges it is the signal again
    np.testing.assert_allclose(out[:, 512:-512], speech[:, 512 : out.shape[1] - 512], atol=1e-5)


@pytest.mark.parametrize("length", [None, 900, 1100])
def test_inverse_stft_compute_output_shape(rng, length):
    frames = 16  # what Spectrogram(n_fft=256, hop_length=64) gives for 1000 samples
    layer = InverseSTFT(n_fft=256, hop_length=64, length=length)
    x = rng.standard_normal((2, frames, 129, 2)).astype(np.float32)
    expected = layer.compute_output_shape((2, frames, 129, 2))
    assert tuple(to_np(layer(x)).shape) == tuple(expected)
    assert expected[1] == (length if length is not None else 64 * (frames - 1))
    inp = keras.Input((frames, 129, 2))
    assert tuple(InverseSTFT(n_fft=256, hop_length=64, length=length)(inp).shape) == (None, expected[1])


def test_inverse_stft_unknown_frames(rng):
    assert InverseSTFT(n_fft=256, hop_length=64).compute_output_shape((None, None, 129, 2)) == (None, None)
    assert InverseSTFT(n_fft=256, hop_length=64, length=800).compute_output_shape((None, None, 129, 2)) == (
        None,
        800,
    )
    inp = keras.Input((None,))
    spec = Spectrogram(n_fft=256, hop_length=64, mode="complex")(inp)
    wav = InverseSTFT(n_fft=256, hop_length=64)(spec)
    assert tuple(wav.shape) == (None, None)
    x = rng.standard_normal((2, 1000)).astype(np.float32)
    out = to_np(keras.Model(inp, wav)(x))
    ref = dsp.istft(dsp.stft(x, n_fft=256, hop_length=64), hop_length=64)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6)


def test_inverse_stft_errors():
    with pytest.raises(ParameterError, match="hop_length"):
        InverseSTFT(n_fft=256, hop_length=0)
    with pytest.raises(ParameterError, match="window"):
        InverseSTFT(n_fft=256, window=np.hanning(256))
    with pytest.raises(ParameterError, match="length"):
        InverseSTFT(n_fft=256, length=0)
    with pytest.raises(ParameterError, match="win_length"):
        InverseSTFT(n_fft=256, win_length=512)
    with pytest.raises(ParameterError, match=r"\(batch, frames, 129, 2\)"):
        InverseSTFT(n_fft=256)(np.zeros((1, 5, 100, 2), np.float32))  # wrong number of bins
    with pytest.raises(ParameterError, match=r"\(batch, frames, 129, 2\)"):
        InverseSTFT(n_fft=256)(np.zeros((1, 5, 129), np.float32))  # magnitude, not complex


# ------------------------------------------------------------------------------- GriffinLim
GL = dict(n_fft=256, hop_length=64)
GL_SAMPLES = 2240  # 35 hops: 36 frames, and the natural inverse length is the clip's


@pytest.fixture(scope="module")
def digit_mags(recording):
    """Two spoken digits (8 kHz) and their STFT magnitudes, numpy layout (2, 129, 36)."""
    clips = np.stack([recording("fsdd", name)[0][:GL_SAMPLES] for name in ("3_jackson_5", "7_theo_3")])
    return clips, np.abs(dsp.stft(clips, **GL))


@pytest.mark.parametrize("with_phase", [False, True], ids=["zero-phase", "given-phase"])
def test_griffinlim_layer_equals_dsp_griffinlim(digit_mags, with_phase):
    clips, S = digit_mags
    mag = np.swapaxes(S, 1, 2)  # channels-last (batch, frames, bins)
    if with_phase:
        phase = np.random.default_rng(0).uniform(0, 2 * np.pi, S.shape).astype(np.float32)
        out = to_np(GriffinLim(n_iter=32, length=GL_SAMPLES, **GL)([mag, np.swapaxes(phase, 1, 2)]))
        ref = dsp.griffinlim(S, n_iter=32, init=phase, length=GL_SAMPLES, **GL)
    else:
        out = to_np(GriffinLim(n_iter=32, length=GL_SAMPLES, **GL)(mag))
        ref = dsp.griffinlim(S, n_iter=32, init=None, length=GL_SAMPLES, **GL)
    assert out.shape == ref.shape == clips.shape and out.dtype == np.float32
    # float32 FFTs in the layer, float64 ones (cast back) in numpy; measured <= 6.5e-5 (peak 0.36)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-3 * np.abs(ref).max())
    # and it did converge towards the magnitude (numpy: about -25 dB after 32 rounds)
    sc = spectral_convergence(S, np.abs(dsp.stft(out, **GL)))
    assert 20 * np.log10(sc) < -20


def test_griffinlim_layer_saves_and_reloads_in_safe_mode(tmp_path, digit_mags):
    _, S = digit_mags
    mag = np.swapaxes(S, 1, 2)
    inp = keras.Input((None, 129))
    layer = GriffinLim(n_iter=8, momentum=0.5, window="hamming", pad_mode="reflect", name="gl", **GL)
    model = keras.Model(inp, layer(inp))
    assert tuple(model.output.shape) == (None, None)
    before = to_np(model(mag))
    assert before.shape == (2, GL_SAMPLES)
    config = layer.get_config()
    assert {k: config[k] for k in ("n_fft", "hop_length", "win_length", "window", "center", "n_iter",
                                   "momentum", "length", "pad_mode")} == dict(
        n_fft=256, hop_length=64, win_length=256, window="hamming", center=True, n_iter=8, momentum=0.5,
        length=None, pad_mode="reflect")
    assert GriffinLim.from_config(config).get_config() == config
    model.save(tmp_path / "gl.keras")
    reloaded = keras.models.load_model(tmp_path / "gl.keras", safe_mode=True)
    assert type(reloaded.get_layer("gl")) is GriffinLim
    assert reloaded.trainable_weights == []
    np.testing.assert_array_equal(to_np(reloaded(mag)), before)


def test_griffinlim_compute_output_shape():
    layer = GriffinLim(**GL)
    assert layer.compute_output_shape((2, 36, 129)) == (2, 64 * 35)
    assert layer.compute_output_shape([(2, 36, 129), (2, 36, 129)]) == (2, 64 * 35)
    assert GriffinLim(length=2250, **GL).compute_output_shape((None, None, 129)) == (None, 2250)
    assert layer.compute_output_shape((None, None, 129)) == (None, None)


def test_griffinlim_layer_errors():
    with pytest.raises(ParameterError, match="n_iter"):
        GriffinLim(n_iter=0, **GL)
    with pytest.raises(ParameterError, match="momentum"):
        GriffinLim(momentum=-0.1, **GL)
    with pytest.raises(ParameterError, match="window"):
        GriffinLim(window=np.hanning(256), **GL)
    with pytest.raises(ParameterError, match="pad_mode"):
        GriffinLim(pad_mode="wrap", **GL)
    with pytest.raises(ParameterError, match=r"\(batch, frames, 129\)"):
        GriffinLim(**GL)(np.zeros((1, 36, 100), np.float32))
    with pytest.raises(ParameterError, match=r"\(batch, frames, 129\)"):
        GriffinLim(**GL)(np.zeros((1, 36, 129, 2), np.float32))  # complex layout, not a magnitude
    with pytest.raises(ParameterError, match="length=1000"):
        GriffinLim(length=1000, **GL)(np.zeros((1, 36, 129), np.float32))
