"""Statistics pooling: one vector of per-feature statistics over the frames of a clip.

:class:`FrameStatistics` turns ``(batch, frames, feature)`` into ``(batch, feature * len(stats))``
with, for every feature, its mean, standard deviation and percentiles over the frames: the
"utterance statistics" that speech emotion and speaker models have used for decades.  The same
numbers in numpy are ``x.mean(1)``, ``x.std(1)`` and ``np.percentile(x, q, axis=1)`` (linear
interpolation), which the tests check.
"""

from __future__ import annotations

import re

import keras
from keras import ops

from tympan.errors import ParameterError

_STAT = re.compile(r"^(mean|std|min|max|median|p(\d{1,2}))$")


def _check_stats(stats) -> tuple[str, ...]:
    if isinstance(stats, str):
        stats = (stats,)
    stats = tuple(stats) if stats is not None else ()
    if not stats:
        raise ParameterError("stats must name at least one statistic, such as ('mean', 'std')")
    for s in stats:
        if not isinstance(s, str) or not _STAT.match(s):
            raise ParameterError(f"unknown statistic {s!r} in stats; use mean, std, min, max, "
                                 "median or pNN (a percentile from p0 to p99, e.g. p10)")
    stats = tuple(f"p{int(s[1:])}" if s[0] == "p" else s for s in stats)  # "p05" is "p5"
    if len(set(stats)) != len(stats):
        raise ParameterError(f"stats names a statistic twice: {list(stats)!r}")
    return stats


def _percentile_q(stat: str) -> float | None:
    """The percentile (0-100) a sorting statistic stands for, or None for mean/std."""
    if stat in ("mean", "std"):
        return None
    return {"min": 0.0, "max": 100.0, "median": 50.0}.get(stat, None) if stat[0] != "p" \
        else float(stat[1:])


@keras.saving.register_keras_serializable(package="tympan")
class FrameStatistics(keras.layers.Layer):
    """``(batch, frames, feature)`` -> ``(batch, feature * len(stats))``: statistics over frames.

    ``stats`` lists, in output order, any of ``"mean"``, ``"std"`` (population, like
    ``numpy.std``), ``"min"``, ``"max"``, ``"median"`` and ``"pNN"`` (the NN-th percentile,
    linear interpolation between the sorted frames like ``numpy.percentile``).  The output is
    statistic-major: all features' means, then all their standard deviations, and so on.
    Every example is pooled on its own, so a batch equals its examples one by one.
    """

    def __init__(self, stats=("mean", "std", "p10", "p90"), **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.stats = _check_stats(stats)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ParameterError(f"FrameStatistics takes (batch, frames, feature) inputs, got "
                                 f"shape {tuple(input_shape)}")

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        n = x.shape[1]
        if n is None:
            raise ParameterError("FrameStatistics needs a known number of frames")
        ordered = ops.sort(x, axis=1) if any(_percentile_q(s) is not None for s in self.stats) \
            else None
        mean = ops.mean(x, axis=1)
        out = []
        for s in self.stats:
            if s == "mean":
                out.append(mean)
            elif s == "std":
                out.append(ops.sqrt(ops.mean(ops.square(x - mean[:, None, :]), axis=1)))
            else:
                pos = _percentile_q(s) / 100.0 * (n - 1)
                lo = int(pos)
                hi = min(lo + 1, n - 1)
                frac = pos - lo
                out.append(ordered[:, lo, :] * (1.0 - frac) + ordered[:, hi, :] * frac)
        return ops.concatenate(out, axis=-1)

    def compute_output_shape(self, input_shape):
        feats = None if input_shape[-1] is None else input_shape[-1] * len(self.stats)
        return (input_shape[0], feats)

    def get_config(self):
        return {**super().get_config(), "stats": list(self.stats)}


__all__ = ["FrameStatistics"]
