"""Feature stacks: several frame-wise features side by side, e.g. ``"mfcc+delta+chroma"``.

The recipe is one dict.  The first kind of the stack (``mfcc`` may be followed by ``delta``)
takes the recipe's own keys, as if it stood alone; each further kind takes its keys from a
nested dict under its name.  Every part uses the first part's ``hop_length`` (and ``center``),
so all have ``1 + samples // hop_length`` frames and can be joined on the feature axis::

    {"kind": "mfcc+delta+chroma", "n_mfcc": 13, "chroma": {"n_chroma": 12}}

:class:`FeatureStack` is the layer: it holds each part's layers, built from the resolved recipe
in its config, and concatenates their outputs.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from tympan.errors import ParameterError
from tympan.models.feature_kinds import kind_layers, resolve_kind

_SINGLE = ("mel", "mfcc", "spectrogram", "chroma", "cqt", "scalogram")


def is_stack(features: Any) -> bool:
    """Whether ``features`` names a stack (a ``+`` other than the plain ``"mfcc+delta"``)."""
    kind = features.get("kind") if isinstance(features, dict) else None
    return isinstance(kind, str) and "+" in kind and kind != "mfcc+delta"


def parse(kind: str) -> tuple[str, list[str]]:
    """``"mfcc+delta+chroma"`` -> ``("mfcc+delta", ["chroma"])``; errors name the bad part."""
    tokens = [t.strip() for t in kind.split("+")]
    base, rest = tokens[0], tokens[1:]
    if base not in _SINGLE:
        raise ParameterError(f"feature stack {kind!r} must start with one of {', '.join(_SINGLE)}, "
                             f"got {base!r}")
    if rest and rest[0] == "delta":
        if base != "mfcc":
            raise ParameterError(f"in feature stack {kind!r}, 'delta' can follow 'mfcc' only")
        base, rest = "mfcc+delta", rest[1:]
    bad = [t for t in rest if t not in _SINGLE]
    if bad:
        raise ParameterError(f"feature stack {kind!r}: {bad[0]!r} cannot be stacked; frame-wise kinds "
                             f"are {', '.join(_SINGLE)} (and 'delta' right after 'mfcc')")
    seen = [base.split("+")[0], *rest]
    if len(set(seen)) != len(seen) or not rest:
        raise ParameterError(f"feature stack {kind!r} must join two or more different kinds")
    return base, rest


def resolve_stack(features: dict, *, sr: float) -> dict:
    """Every part's parameters filled in (see the module docs); the result is what gets
    recorded in ``pipeline.json``."""
    base, parts = parse(features["kind"])
    own = {k: x for k, x in features.items() if k != "kind" and k not in parts}
    resolved_base = resolve_kind({"kind": base, **own}, sr=sr)
    if not resolved_base.get("center", True):
        raise ParameterError("a feature stack needs center=True so that its parts' frames line up")
    hop = resolved_base["hop_length"]
    out = {"kind": features["kind"], **{k: x for k, x in resolved_base.items() if k != "kind"}}
    for part in parts:
        sub = features.get(part, {})
        if not isinstance(sub, dict):
            raise ParameterError(f"the parameters of stacked kind {part!r} must be a dict, got {sub!r}")
        if sub.get("hop_length", hop) != hop:
            raise ParameterError(f"stacked kind {part!r} has hop_length={sub['hop_length']}, but the "
                                 f"stack's frames follow {base!r}'s hop_length={hop}")
        if not sub.get("center", True):
            raise ParameterError(f"stacked kind {part!r}: a feature stack needs center=True")
        resolved = resolve_kind({"kind": part, **sub, "hop_length": hop}, sr=sr)
        out[part] = {k: x for k, x in resolved.items() if k != "kind"}
    return out


def _part_recipes(resolved: dict) -> list[dict]:
    base, parts = parse(resolved["kind"])
    first = {"kind": base, **{k: x for k, x in resolved.items() if k != "kind" and k not in parts}}
    return [first, *({"kind": p, **resolved[p]} for p in parts)]


@keras.saving.register_keras_serializable(package="tympan")
class FeatureStack(keras.layers.Layer):
    """Waveforms ``(batch, samples)`` -> the stacked features ``(batch, frames, sum of features)``.

    ``features`` is a resolved stack recipe (:func:`resolve_stack`); the config keeps it, so a
    saved model rebuilds the same parts, whose constant matrices are their own weights.
    """

    def __init__(self, features: dict, sr: float, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.features, self.sr = dict(features), float(sr)
        recipes = _part_recipes(self.features)
        self._parts = [kind_layers(r, self.sr) for r in recipes]
        self._names = [r["kind"] for r in recipes]
        self.part_layers = [layer for part in self._parts for layer in part]  # tracked weights

    def _shapes(self, input_shape):
        shapes = []
        for part in self._parts:
            shape = tuple(input_shape)
            for layer in part:
                shape = tuple(layer.compute_output_shape(shape))
            shapes.append(shape)
        return shapes

    def build(self, input_shape):
        for part in self._parts:
            shape = tuple(input_shape)
            for layer in part:
                layer.build(shape)
                shape = tuple(layer.compute_output_shape(shape))
        counts = {name: s[1] for name, s in zip(self._names, self._shapes(input_shape), strict=True)}
        if len(set(counts.values())) > 1:
            raise ParameterError(f"the parts of feature stack {self.features['kind']!r} give "
                                 f"different frame counts {counts}")

    def call(self, inputs):
        outputs = []
        for part in self._parts:
            x = inputs
            for layer in part:
                x = layer(x)
            outputs.append(ops.cast(x, "float32"))
        return ops.concatenate(outputs, axis=-1)

    def compute_output_shape(self, input_shape):
        shapes = self._shapes(input_shape)
        feats = [s[-1] for s in shapes]
        total = None if any(f is None for f in feats) else sum(feats)
        return (input_shape[0], shapes[0][1], total)

    def get_config(self):
        return {**super().get_config(), "features": self.features, "sr": self.sr}


__all__ = ["FeatureStack", "is_stack", "parse", "resolve_stack"]
