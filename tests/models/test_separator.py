"""The separator: shapes, masks that sum to one, sources that add back to the mixture, the
SI-SDR loss against the numpy metric, `.keras` round trip, errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tympan import models
from tympan.data.mixing import mix_at_snr
from tympan.dsp.metrics import si_sdr
from tympan.errors import ParameterError
from tympan.models.separator import MASKS, si_sdr_loss

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

N = 4000
SMALL = {"filters": 8, "depth": 1, "kernel_sizes": [3, 5]}


@pytest.fixture(scope="module")
def model():
    return models.build_model("separator", input_samples=N, sr=8000, **SMALL)


@pytest.fixture(scope="module")
def mixtures(recording, shared_data):
    """Real speech plus real NOIZEUS noise (noisy - clean of sp01) at 0 dB, and one silent row."""
    from tympan.data.mixing import load_pair, noizeus_pairs

    y, _ = recording("fsdd", "5_lucas_20")
    _, noise = load_pair(noizeus_pairs(shared_data / "noizeus", only=["sp01"])[0], sr=8000)
    mix, _ = mix_at_snr(y[:N], noise[:N], 0.0)
    return np.stack([mix, y[:N] * np.float32(0.01), np.zeros(N, np.float32)])


def test_registered_as_a_separation_model(model):
    assert models.model_task("separator") == "separation"
    assert "separator" in models.available_models("separation")
    assert model.input_shape == (None, N) and model.output_shape == (None, N, 2)
    assert models.model_defaults("separator")["sources"] == ("speech", "noise")
    m3 = models.build_model("separator", input_samples=N, sr=8000, sources=["a", "b", "c"], **SMALL)
    assert m3.output_shape == (None, N, 3)
    assert m3.get_layer(MASKS).output.shape == (None, 63, 129, 3)  # n_fft 256, hop 64 at 8 kHz


def test_masks_sum_to_one_and_sources_add_back_to_the_mixture(model, mixtures):
    """Random (untrained) weights: the softmax masks sum to one in every bin and the exact
    inverse STFT is linear, so the sources add up to the input, silence included."""
    out = model.predict(mixtures, verbose=0)
    assert out.shape == (3, N, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(-1), mixtures, atol=1e-5 * np.abs(mixtures).max())
    assert not np.allclose(out[..., 0], out[..., 1])
    masks = keras.Model(model.inputs, model.get_layer(MASKS).output).predict(mixtures, verbose=0)
    assert masks.min() >= 0
    np.testing.assert_allclose(masks.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(out[2], 0.0)


def test_batch_equals_items_one_by_one(model, mixtures):
    both = model.predict(mixtures, verbose=0)
    for i in range(len(mixtures)):
        np.testing.assert_allclose(both[i], model.predict(mixtures[i:i + 1], verbose=0)[0],
                                   atol=1e-6)


def test_recurrent_context_keeps_the_sum_and_sees_the_whole_window(mixtures):
    """With ``recurrent`` a bidirectional GRU reads every frame: the sources still add back to
    the mixture, a batch equals its items, and a frame reaches earlier and later ones."""
    keras.utils.set_random_seed(0)  # some draws of 4-unit GRUs forget 10 frames below 1e-4
    rec = models.build_model("separator", input_samples=N, sr=8000, recurrent=[4, 4], **SMALL)
    assert [layer.name for layer in rec.layers if layer.name.startswith("recurrent")] == \
        ["recurrent_1", "recurrent_2"]
    out = rec.predict(mixtures, verbose=0)
    np.testing.assert_allclose(out.sum(-1), mixtures, atol=1e-5 * np.abs(mixtures).max())
    np.testing.assert_allclose(out[1], rec.predict(mixtures[1:2], verbose=0)[0], atol=1e-6)
    gru = rec.get_layer("recurrent_1")  # both directions: a later frame reaches an earlier one
    x = np.random.default_rng(0).standard_normal((1, 63, gru.input.shape[-1])).astype("float32")
    y = keras.ops.convert_to_numpy(gru(x))
    x[0, 20] += 1.0
    z = keras.ops.convert_to_numpy(gru(x))
    assert np.abs(z[0, 15] - y[0, 15]).max() > 1e-4 and np.abs(z[0, 25] - y[0, 25]).max() > 1e-4
    none = models.build_model("separator", input_samples=N, sr=8000, recurrent=0, **SMALL)
    assert not [layer for layer in none.layers if layer.name.startswith("recurrent")]


def test_spectral_convolutions_keep_the_sum_and_share_weights_along_frequency(mixtures):
    """``spectral``: 2-D convolutions over (frames, bins) feed the branches; the sources still
    add back to the mixture, a batch equals its items, and the same pattern one bin higher
    gives the same response one bin higher (weights shared along frequency)."""
    spec = models.build_model("separator", input_samples=N, sr=8000, spectral=4, **SMALL)
    assert spec.get_layer("spectral_1").output.shape == (None, 63, 129, 4)
    assert spec.get_layer("with_spectral").output.shape == (None, 63, 4 * 129)
    out = spec.predict(mixtures, verbose=0)
    np.testing.assert_allclose(out.sum(-1), mixtures, atol=1e-5 * np.abs(mixtures).max())
    np.testing.assert_allclose(out[1], spec.predict(mixtures[1:2], verbose=0)[0], atol=1e-6)
    planes = keras.Model(spec.get_layer("planes").input, spec.get_layer("spectral_out").output)
    x = np.zeros((1, 63, 2 * 129), "float32")
    x[0, 30, 40], x[0, 30, 129 + 40] = 1.0, -1.0   # one time-frequency point, both planes
    shifted = np.roll(x.reshape(1, 63, 2, 129), 1, axis=-1).reshape(1, 63, 2 * 129)
    a, b = (keras.ops.convert_to_numpy(planes(z)) for z in (x, shifted))
    np.testing.assert_allclose(b[0, :, 35:50], a[0, :, 34:49], atol=1e-6)
    assert np.abs(a[0, 30, 40]).max() > 0
    default = models.build_model("separator", input_samples=N, sr=8000, **SMALL)
    assert [layer.output.shape[-1] for layer in default.layers
            if layer.name.startswith("spectral_") and layer.name[-1].isdigit()] == [16, 16]
    none = models.build_model("separator", input_samples=N, sr=8000, spectral=0, **SMALL)
    assert not [layer for layer in none.layers if layer.name.startswith("spectral")]


def test_si_sdr_loss_equals_the_numpy_metric(mixtures, rng):
    ref = np.stack([mixtures[:2], rng.standard_normal((2, N)).astype("float32")], -1)
    est = ref * np.float32(0.7) + 0.3 * rng.standard_normal(ref.shape).astype("float32")
    loss = keras.ops.convert_to_numpy(si_sdr_loss(ref, est))
    want = [-np.mean([si_sdr(ref[b, :, s], est[b, :, s]) for s in range(2)]) for b in range(2)]
    np.testing.assert_allclose(loss, want, rtol=1e-4)
    one = keras.ops.convert_to_numpy(si_sdr_loss(ref[..., 0], est[..., 0]))  # (batch, samples)
    np.testing.assert_allclose(one, [-si_sdr(ref[b, :, 0], est[b, :, 0]) for b in range(2)], rtol=1e-4)
    silent = keras.ops.convert_to_numpy(si_sdr_loss(np.zeros((1, N, 2)), np.zeros((1, N, 2))))
    assert np.all(np.isfinite(silent))


def test_save_and_reload_in_safe_mode(tmp_path, model, mixtures):
    model.save(tmp_path / "sep.keras")
    loaded = keras.models.load_model(tmp_path / "sep.keras", safe_mode=True, compile=False)
    np.testing.assert_allclose(loaded.predict(mixtures, verbose=0), model.predict(mixtures, verbose=0),
                               atol=1e-6)


def test_errors():
    with pytest.raises(ParameterError, match="sources must name at least two"):
        models.build_model("separator", input_samples=N, sr=8000, sources=["speech"])
    with pytest.raises(ParameterError, match="sources must be distinct"):
        models.build_model("separator", input_samples=N, sr=8000, sources=["a", "a"])
    with pytest.raises(ParameterError, match="hop_length must be at most n_fft // 2"):
        models.build_model("separator", input_samples=N, sr=8000, n_fft=256, hop_length=200)
    with pytest.raises(ParameterError, match="kernel_sizes"):
        models.build_model("separator", input_samples=N, sr=8000, kernel_sizes=[])
    with pytest.raises(ParameterError, match="per_bin must be True or False"):
        models.build_model("separator", input_samples=N, sr=8000, per_bin="yes")
    with pytest.raises(ParameterError, match="recurrent must be a positive integer"):
        models.build_model("separator", input_samples=N, sr=8000, recurrent=[64, -1])
    with pytest.raises(ParameterError, match="spectral must be a positive integer, got -2"):
        models.build_model("separator", input_samples=N, sr=8000, spectral=-2)
    with pytest.raises(ParameterError, match="unknown parameter"):
        models.build_model("separator", input_samples=N, sr=8000, width=3)
