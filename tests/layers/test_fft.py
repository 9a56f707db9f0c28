"""tympan.layers.FFTMagnitude on the active backend: parity with tympan.dsp.fft_features (the
whole clip and frames, every scaling), output shapes, safe-mode reload, errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from tympan import dsp
from tympan.errors import ParameterError
from tympan.layers import FFTMagnitude

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

PARAMS = {
    "whole-db-max": dict(),
    "whole-fmax-standard": dict(fmax=2000.0, normalize="standard"),
    "whole-linear": dict(scale="linear", normalize=None),
    "whole-n_fft-no-window": dict(n_fft=4096, window=None, n_bins=300),
    "framed-db": dict(framed=True, n_fft=256, hop_length=80, n_bins=64),
    "framed-linear-max": dict(framed=True, n_fft=256, hop_length=64, scale="linear"),
}
DB_TOL, LIN_TOL = 5e-3, 1e-5  # dB (float32 FFTs, 80 dB below the peak); linear: of the peak


@pytest.fixture(scope="module")
def clips(recording):
    a, sr = recording("fsdd", "3_theo_0")
    b, _ = recording("fsdd", "7_jackson_5")
    n = 4000
    fit = [np.pad(y, (0, max(0, n - len(y))))[:n] for y in (a, b)]
    return np.stack(fit).astype(np.float32), sr


@pytest.mark.parametrize("name", PARAMS)
def test_layer_equals_numpy(clips, name):
    x, sr = clips
    params = PARAMS[name]
    layer = FFTMagnitude(sr=sr, **params)
    got = np.asarray(ops.convert_to_numpy(layer(x)))
    ref = dsp.fft_features(x, sr, **params)
    if params.get("framed"):
        ref = np.swapaxes(ref, -1, -2)
    assert got.shape == ref.shape == layer.compute_output_shape(x.shape)
    if params.get("scale", "db") == "db" and params.get("normalize", "max") != "standard":
        np.testing.assert_allclose(got, ref, atol=DB_TOL)
    else:
        scale = np.abs(ref).max(axis=tuple(range(1, ref.ndim)), keepdims=True)
        np.testing.assert_allclose(got / scale, ref / scale, atol=LIN_TOL * 10)


def test_sine_in_its_bin(clips):
    sr = 8000
    t = np.arange(4000) / sr
    x = np.sin(2 * np.pi * 1500.0 * t).astype(np.float32)[None]
    out = np.asarray(ops.convert_to_numpy(FFTMagnitude(sr=sr)(x)))
    assert np.argmax(out[0]) == 750  # 2 Hz bins over 0.5 s


def test_safe_mode_reload_gives_equal_outputs(tmp_path, clips):
    x, sr = clips
    params = PARAMS["whole-fmax-standard"]
    inp = keras.Input((x.shape[1],))
    model = keras.Model(inp, keras.layers.Dense(3)(FFTMagnitude(sr=sr, name="fft", **params)(inp)))
    before = np.asarray(ops.convert_to_numpy(model(x)))
    path = tmp_path / "m.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(ops.convert_to_numpy(reloaded(x))), before, atol=1e-6)
    config = reloaded.get_layer("fft").get_config()
    assert config["fmax"] == 2000.0 and config["normalize"] == "standard" and config["n_fft"] is None


def test_errors():
    with pytest.raises(ParameterError, match="scale"):
        FFTMagnitude(sr=8000, scale="log")
    with pytest.raises(ParameterError, match="n_bins or fmax"):
        FFTMagnitude(sr=8000, n_fft=256, n_bins=3, fmax=100.0)
    with pytest.raises(ParameterError, match=r"\(batch, samples\)"):
        FFTMagnitude(sr=8000).build((None, 100, 2))
    with pytest.raises(ParameterError, match="fixed input length"):
        FFTMagnitude(sr=8000).build((None, None))
    with pytest.raises(ParameterError, match="fixed input length"):
        FFTMagnitude(sr=8000, n_fft=512).build((None, None))
