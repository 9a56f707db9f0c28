"""FrameStatistics: per-feature statistics over frames, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import tympan  # noqa: F401  (picks the Keras backend before keras is first imported)

# isort: split
import keras

from tympan.errors import ParameterError
from tympan.layers import FrameStatistics

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _numpy(x, stats):
    q = {"min": 0, "max": 100, "median": 50}
    parts = []
    for s in stats:
        if s == "mean":
            parts.append(x.mean(axis=1))
        elif s == "std":
            parts.append(x.std(axis=1))
        else:
            parts.append(np.percentile(x, q.get(s, None) if s in q else float(s[1:]), axis=1))
    return np.concatenate(parts, axis=-1)


@pytest.mark.parametrize("frames", [1, 2, 7, 101])
@pytest.mark.parametrize("stats", [("mean", "std", "p10", "p90"), ("min", "median", "max"),
                                   ("p25",), ("std", "p99", "mean")])
def test_equals_numpy(rng, frames, stats):
    x = (rng.normal(0, 5, size=(3, frames, 6)) + rng.normal(0, 20, size=(3, 1, 6))).astype("float32")
    out = keras.ops.convert_to_numpy(FrameStatistics(stats)(x))
    assert out.shape == (3, 6 * len(stats))
    np.testing.assert_allclose(out, _numpy(x.astype(np.float64), stats), rtol=1e-5, atol=1e-4)


def test_batch_equals_single(rng):
    x = rng.normal(size=(4, 30, 5)).astype("float32")
    layer = FrameStatistics()
    batch = keras.ops.convert_to_numpy(layer(x))
    for i in range(4):
        np.testing.assert_allclose(batch[i], keras.ops.convert_to_numpy(layer(x[i : i + 1]))[0],
                                   rtol=1e-6, atol=1e-6)


def test_known_answer():
    x = np.array([[[1.0], [2.0], [3.0], [4.0], [5.0]]], dtype="float32")  # 5 frames, 1 feature
    out = keras.ops.convert_to_numpy(FrameStatistics(("mean", "std", "p25", "max"))(x))
    np.testing.assert_allclose(out, [[3.0, np.sqrt(2.0), 2.0, 5.0]], rtol=1e-6)


def test_output_shape_and_config_round_trip():
    layer = FrameStatistics(("mean", "p90"))
    assert layer.compute_output_shape((None, 50, 20)) == (None, 40)
    again = FrameStatistics.from_config(layer.get_config())
    assert again.stats == ("mean", "p90")


@pytest.mark.parametrize("stats, match", [((), "at least one"), (("mean", "var"), "'var'"),
                                          (("p100",), "'p100'"), (("mean", "mean"), "twice"),
                                          (("p5", "p05"), "twice")])
def test_bad_stats_are_refused(stats, match):
    with pytest.raises(ParameterError, match=match):
        FrameStatistics(stats)


def test_needs_frames():
    with pytest.raises(ParameterError, match="batch, frames, feature"):
        FrameStatistics()(np.zeros((2, 5), dtype="float32"))
