"""tympan.layers.MaskedInverseSTFT: parity with numpy masking + tympan.dsp.istft, sources that
add back to the mixture, config and `.keras` round trips, errors (on the active backend)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from tympan import dsp
from tympan.errors import ParameterError
from tympan.layers import MaskedInverseSTFT, Spectrogram

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

N, N_FFT, HOP = 4000, 256, 64


def to_np(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(scope="module")
def mixture(recording, rng_module):
    """Two real clips (FSDD speech) with real-valued random masks for three sources."""
    y, _ = recording("fsdd", "5_lucas_20")
    z, _ = recording("fsdd", "0_george_3")
    x = np.stack([y[:N], z[:N]])
    spec = to_np(Spectrogram(n_fft=N_FFT, hop_length=HOP, mode="complex")(x))
    masks = rng_module.uniform(0, 1, (*spec.shape[:3], 3)).astype("float32")
    return x, spec, masks


@pytest.fixture(scope="module")
def rng_module():
    return np.random.default_rng(7)


def test_equals_numpy_masking_and_istft(mixture):
    x, spec, masks = mixture
    out = to_np(MaskedInverseSTFT(n_fft=N_FFT, hop_length=HOP, length=N)([masks, spec]))
    assert out.shape == (2, N, 3) and out.dtype == np.float32
    S = dsp.stft(x, n_fft=N_FFT, hop_length=HOP)  # (2, bins, frames), complex
    for i in range(3):
        want = dsp.istft(S * np.swapaxes(masks[..., i], 1, 2), hop_length=HOP, length=N)
        np.testing.assert_allclose(out[..., i], want, atol=2e-5 * np.abs(x).max())


def test_masks_summing_to_one_give_sources_that_add_to_the_mixture(mixture):
    x, spec, masks = mixture
    masks = masks / masks.sum(-1, keepdims=True)
    out = to_np(MaskedInverseSTFT(n_fft=N_FFT, hop_length=HOP, length=N)([masks, spec]))
    np.testing.assert_allclose(out.sum(-1), x, atol=1e-5)


def test_batch_equals_items_one_by_one(mixture):
    _, spec, masks = mixture
    layer = MaskedInverseSTFT(n_fft=N_FFT, hop_length=HOP, length=N)
    both = to_np(layer([masks, spec]))
    for i in range(2):
        np.testing.assert_allclose(both[i], to_np(layer([masks[i:i + 1], spec[i:i + 1]]))[0],
                                   atol=1e-6)


def test_config_round_trip_and_output_shape(mixture):
    _, spec, masks = mixture
    layer = MaskedInverseSTFT(n_fft=N_FFT, hop_length=HOP, win_length=200, window="hamming",
                              length=N, name="masked")
    clone = MaskedInverseSTFT.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert layer.compute_output_shape([masks.shape, spec.shape]) == (2, N, 3)
    assert MaskedInverseSTFT(n_fft=N_FFT, hop_length=HOP).compute_output_shape(
        [(None, 63, 129, 2), (None, 63, 129, 2)]) == (None, HOP * 62, 2)


def test_keras_file_round_trip_in_safe_mode(tmp_path, mixture):
    _, spec, masks = mixture
    m_in = keras.Input(masks.shape[1:])
    s_in = keras.Input(spec.shape[1:])
    out = MaskedInverseSTFT(n_fft=N_FFT, hop_length=HOP, length=N)([m_in, s_in])
    model = keras.Model([m_in, s_in], out)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(to_np(loaded([masks, spec])), to_np(model([masks, spec])))


def test_errors(mixture):
    _, spec, masks = mixture
    with pytest.raises(ParameterError, match=r"masks must be \(batch, frames, 129, n_sources\)"):
        MaskedInverseSTFT(n_fft=N_FFT, hop_length=HOP)([masks[:, :, :100], spec])
    with pytest.raises(ParameterError, match="takes \\[masks, stft\\]"):
        MaskedInverseSTFT(n_fft=N_FFT, hop_length=HOP)(spec)
    with pytest.raises(ParameterError, match="frames"):
        MaskedInverseSTFT(n_fft=N_FFT, hop_length=HOP)([masks[:, :10], spec])
