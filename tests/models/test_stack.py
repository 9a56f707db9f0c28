"""New feature kinds (chroma, cqt, scalogram) and feature stacks in model recipes."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tympan import dsp, models
from tympan.errors import ParameterError

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
SR = 8000


def _frontend(features, x):
    inputs = keras.Input((x.shape[1],))
    y = inputs
    for layer in models.build_frontend(features, sr=SR):
        y = layer(y)
    return keras.Model(inputs, y).predict(x, verbose=0)


@pytest.fixture(scope="module")
def digits(recording):
    out = np.zeros((2, SR), "float32")
    for i, name in enumerate(("3_jackson_5", "8_theo_2")):
        y = recording("fsdd", name)[0][:SR]
        out[i, : len(y)] = y
    return out


def test_chroma_kind_equals_dsp_chroma(digits):
    out = _frontend({"kind": "chroma", "tuning": 0.0}, digits)
    ref = dsp.chroma_stft(digits, sr=SR, n_fft=256, hop_length=80, tuning=0.0)
    np.testing.assert_allclose(out, np.swapaxes(ref, -1, -2), atol=1e-4)


def test_chroma_tuning_is_fitted_once_and_equals_librosas_per_clip_default(digits):
    """``tuning=None`` (librosa's default) cannot build layers; fit_feature_params estimates it
    from the clips, and with a single clip the model's chroma is librosa's default chroma."""
    with pytest.raises(ParameterError, match=r"tuning=None.*fit_feature_params"):
        models.build_frontend({"kind": "chroma"}, sr=SR)
    one = digits[:1]
    fitted = models.fit_feature_params({"kind": "chroma"}, one, sr=SR)
    estimate = dsp.estimate_tuning(S=dsp.spectrogram(one[0], n_fft=256, hop_length=80, power=2.0),
                                   sr=SR)
    assert fitted["tuning"] == estimate != 0.0
    assert fitted == models.resolve_features({"kind": "chroma", "tuning": estimate}, sr=SR)
    ref = dsp.chroma_stft(one, sr=SR, n_fft=256, hop_length=80)  # estimated, as librosa does
    np.testing.assert_allclose(_frontend(fitted, one), np.swapaxes(ref, -1, -2), atol=1e-4)
    # a given tuning is kept; a stack's chroma part is fitted too; nothing else to fit: no data read
    assert models.fit_feature_params({"kind": "chroma", "tuning": 0.1}, one, sr=SR)["tuning"] == 0.1
    stack = models.fit_feature_params({"kind": "mfcc+chroma"}, one, sr=SR)
    assert stack["chroma"]["tuning"] == estimate
    assert models.fit_feature_params({"kind": "mel"}, None, sr=SR)["n_mels"] == 40
    with pytest.raises(ParameterError, match=r"waveforms \(clips, samples\).*shape \(0, 8000\)"):
        models.fit_feature_params({"kind": "chroma"}, one[:0], sr=SR)


@pytest.mark.parametrize(("values", "median"), [
    ([0.1, 0.2, 0.3], 0.2),
    ([-0.45, 0.45, 0.48], 0.48),  # across the wrap at +-0.5: not the linear median 0.45
    ([0.0, 0.0, 0.3, -0.3], 0.0),
    ([-0.2, 0.2], -0.2),  # a tie: the one nearer 0 (both equal: the first)
])
def test_circular_median(values, median):
    from tympan.models.fitting import circular_median

    assert circular_median(values) == pytest.approx(median)


def test_cqt_kind_is_per_example_db_of_dsp_cqt(digits):
    out = _frontend({"kind": "cqt"}, digits)
    C = dsp.cqt(digits, sr=SR, hop_length=80, n_bins=81)
    ref = np.swapaxes(dsp.power_to_db(np.abs(C) ** 2, top_db=80.0), -1, -2)
    assert out.shape == (2, 101, 81)
    for got, want in zip(out, ref, strict=True):  # per example, the cells within 40 dB of its peak
        loud = want > want.max() - 40.0
        np.testing.assert_allclose(got[loud], want[loud], atol=0.05)
        assert got.max() - got.min() <= 80.0 + 1e-3


def test_scalogram_kind_shape_and_db_range(digits):
    out = _frontend({"kind": "scalogram", "n_bins": 32}, digits)
    assert out.shape == (2, 101, 32)
    for example in out:  # per example: top_db below its own peak
        assert example.max() - example.min() <= 80.0 + 1e-3


def test_a_stack_is_its_parts_side_by_side(digits):
    stack = _frontend({"kind": "mfcc+delta+chroma", "n_mfcc": 13,
                       "chroma": {"n_chroma": 12, "tuning": 0.0}}, digits)
    mfcc = _frontend({"kind": "mfcc+delta", "n_mfcc": 13}, digits)
    chroma = _frontend({"kind": "chroma", "tuning": 0.0}, digits)
    assert stack.shape == (2, 101, 38)
    np.testing.assert_allclose(stack, np.concatenate([mfcc, chroma], axis=-1), atol=1e-5)


def test_stack_recipe_resolves_once_and_round_trips():
    recipe = models.resolve_features({"kind": "mel+cqt", "n_mels": 32, "hop_length": 160,
                                      "cqt": {"n_bins": 48}}, sr=SR)
    assert recipe["n_mels"] == 32 and recipe["cqt"]["hop_length"] == 160
    assert recipe["cqt"]["n_bins"] == 48 and recipe["cqt"]["fmin"] == pytest.approx(32.7032, abs=1e-4)
    assert models.resolve_features(recipe, sr=SR) == recipe


def test_conv1d_on_a_stack_saves_and_reloads(tmp_path, digits):
    model = models.build_model("conv1d", input_samples=SR, sr=SR, n_classes=10, filters=(8,),
                               augmentation={"enabled": False}, features=models.fit_feature_params(
                                   {"kind": "mfcc+chroma", "n_mfcc": 13}, digits, sr=SR))
    models.adapt_normalization(model, digits)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    np.testing.assert_allclose(loaded.predict(digits, verbose=0), model.predict(digits, verbose=0),
                               atol=1e-6)


@pytest.mark.parametrize("features, match", [
    ({"kind": "mel+waveform"}, "'waveform' cannot be stacked"),
    ({"kind": "mean_mfcc+chroma"}, "must start with one of"),
    ({"kind": "mel+delta"}, "'delta' can follow 'mfcc' only"),
    ({"kind": "mel+mel"}, "two or more different kinds"),
    ({"kind": "mfcc+chroma", "chroma": {"hop_length": 40}}, "hop_length=40"),
    ({"kind": "mfcc+chroma", "chroma": 12}, "must be a dict"),
    ({"kind": "mfcc+chroma", "center": False}, "center=True"),
    ({"kind": "mfcc+chroma", "chroma": {"n_mels": 40}}, "unknown parameter"),
    ({"kind": "cqt", "n_bins": 96}, "n_bins"),
])
def test_stack_errors_name_the_problem(features, match):
    with pytest.raises(ParameterError, match=match):
        models.resolve_features(features, sr=SR)


def test_models_check_their_feature_kinds():
    with pytest.raises(ParameterError, match=r"'conv2d' does not take feature stacks such as 'mfcc\+chroma': "
                       r"use model 'conv1d' or 'conv1d_lstm' or 'mlp'"):
        models.build_model("conv2d", input_samples=SR, sr=SR, n_classes=10,
                           features={"kind": "mfcc+chroma"})
    m = models.build_model("mlp", input_samples=SR, sr=SR, n_classes=3,
                           features={"kind": "mfcc+chroma", "chroma": {"tuning": 0.0}})
    assert m.output_shape == (None, 3)
