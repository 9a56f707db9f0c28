"""The autoencoder family: shapes, bottleneck size, exact STFT path, loss, saving, errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tympan import models
from tympan.errors import ParameterError
from tympan.models.autoencoder import RMSNormalize, snr_loss

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _bottleneck(model) -> int:
    return int(np.prod(model.get_layer("bottleneck").output.shape[1:]))


@pytest.mark.parametrize("representation", ["stft", "logmag", "waveform"])
@pytest.mark.parametrize("compression", [2, 8, 16])
def test_waveform_in_waveform_out_with_the_asked_compression(representation, compression):
    m = models.build_model("autoencoder", input_samples=4000, sr=8000, width=16, depth=1,
                           representation=representation, compression=compression)
    assert models.model_task("autoencoder") == "reconstruction"
    assert m.input_shape == (None, 4000) and m.output_shape == (None, 4000)
    assert 4000 / _bottleneck(m) == pytest.approx(compression, rel=0.08)


def test_waveform_representation_pads_to_the_stride():
    m = models.build_model("autoencoder", input_samples=1000, sr=8000, representation="waveform",
                           width=8, depth=2, stride=64, compression=8)
    y = m(np.zeros((2, 1000), "float32"))
    assert tuple(y.shape) == (2, 1000)
    assert m.get_layer("bottleneck").output.shape[1:] == (16, 8)  # ceil(1000 / 64) steps


def test_output_level_follows_the_input_level(rng):
    """The input is divided by its RMS and the output multiplied back: a clip 100x quieter
    comes back 100x quieter (the model sees the same normalised input)."""
    m = models.build_model("autoencoder", input_samples=2000, sr=8000, width=8, depth=1)
    x = rng.standard_normal((1, 2000)).astype("float32") * 0.1
    loud, quiet = (keras.ops.convert_to_numpy(m(a)) for a in (x, x / 100))
    np.testing.assert_allclose(quiet * 100, loud, rtol=1e-3, atol=1e-6)


def test_rms_normalize_known_answer():
    x = np.array([[3.0, -3.0, 3.0, -3.0], [0.0, 0.0, 0.0, 0.0]], "float32")
    y, rms = (keras.ops.convert_to_numpy(a) for a in RMSNormalize()(x))
    np.testing.assert_allclose(rms[:, 0], [3.0, 1e-4])
    np.testing.assert_allclose(y[0], [1, -1, 1, -1])
    np.testing.assert_array_equal(y[1], 0.0)


def test_snr_loss_known_answers(rng):
    y = rng.standard_normal((3, 500)).astype("float32")
    noise = rng.standard_normal((3, 500)).astype("float32")
    noise *= np.sqrt((y**2).sum(1, keepdims=True) / (noise**2).sum(1, keepdims=True)) * 0.1
    loss = keras.ops.convert_to_numpy(snr_loss(y, y + noise))
    np.testing.assert_allclose(loss, -20.0, atol=1e-3)  # an error a tenth the amplitude: 20 dB
    assert keras.ops.convert_to_numpy(snr_loss(y, y)).max() < -80


def test_stft_path_is_exact_without_the_bottleneck(rng):
    """STFT -> InverseSTFT of the model's own layers gives the input back, so only the
    bottleneck can lose anything in the ``stft`` representation."""
    m = models.build_model("autoencoder", input_samples=4000, sr=8000, width=8, depth=1)
    x = rng.standard_normal((2, 4000)).astype("float32")
    back = m.get_layer("istft")(m.get_layer("stft")(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(back), x, atol=1e-4)


@pytest.mark.parametrize("representation", ["stft", "logmag", "waveform"])
def test_save_and_reload_in_safe_mode(tmp_path, rng, representation):
    m = models.build_model("autoencoder", input_samples=2000, sr=8000, width=8, depth=1,
                           representation=representation)
    x = rng.standard_normal((2, 2000)).astype("float32") * 0.2
    m.save(tmp_path / "ae.keras")
    loaded = keras.models.load_model(tmp_path / "ae.keras", safe_mode=True, compile=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("params, match", [
    ({"representation": "mel"}, "representation"),
    ({"compression": 0}, "compression"),
    ({"compression": 500}, "compression=500"),
    ({"representation": "waveform", "compression": 100}, "compression=100"),
    ({"representation": "waveform", "stride": 0}, "stride"),
    ({"depth": 0}, "depth"),
    ({"size": 3}, "unknown parameter"),
])
def test_errors_name_the_parameter(params, match):
    with pytest.raises(ParameterError, match=match):
        models.build_model("autoencoder", input_samples=4000, sr=8000, **params)


def test_classifiers_still_need_n_classes():
    with pytest.raises(ParameterError, match="pass n_classes"):
        models.build_model("conv1d", input_samples=4000, sr=8000)
    assert "autoencoder" in models.available_models("reconstruction")
    assert "autoencoder" not in models.available_models("classification")
