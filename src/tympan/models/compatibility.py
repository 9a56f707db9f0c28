"""Which feature kinds each model takes, and what to use instead when it does not.

Every model is registered with what it reads (:func:`tympan.models.register_model`: its
``kinds``, whether ``stacks``, whether ``framewise``).  :func:`model_features` resolves a recipe
for a model, with the one default that depends on the model (kind ``fft``: frames for the
models that read frames, the whole clip otherwise), and refuses a kind the model does not take
with a :class:`~tympan.errors.ParameterError` that names the models taking that kind and the
kind to give this model instead.  :func:`feature_table` is the same knowledge as the Markdown
table of ``docs/models.md`` (a test keeps the two equal and builds every pair).
"""

from __future__ import annotations

from tympan.errors import ParameterError
from tympan.models.frontend import FEATURE_KINDS, resolve_features
from tympan.models.registry import available_models, default_features, model_takes, model_task
from tympan.models.stack import is_stack

#: the stack standing for every stack in :func:`feature_table`
STACK_EXAMPLE = "mfcc+delta+chroma"
# the nearest kind a model may take instead of the one it refuses
_NEAREST = {"mean_mfcc": "mfcc", "mfcc": "mel", "mfcc+delta": "mel", "chroma": "cqt",
            "waveform": "mel"}
_WHOLE_CLIP = ("mean_mfcc",)  # one vector per clip (and fft with framed=False)


def _takes(name: str, kind: str, framed: bool | None) -> bool:
    spec = model_takes(name)
    if spec["kinds"] is None:
        return True
    if is_stack({"kind": kind}):
        return spec["stacks"]
    if kind not in spec["kinds"]:
        return False
    whole = kind in _WHOLE_CLIP or (kind == "fft" and framed is False)
    return not (spec["framewise"] and whole)


def _default_framed(name: str) -> bool:
    return model_takes(name)["framewise"]


def _whole_clip(kind: str, framed: bool | None) -> bool:
    return kind in _WHOLE_CLIP or (kind == "fft" and framed is False)


def _alternatives(name: str, kind: str, framed: bool | None) -> tuple[list[str], str]:
    """(the other models of ``name``'s task that take ``kind``, the kind to give ``name``
    instead, e.g. ``"mfcc"`` or ``"fft" with framed=True``)."""
    models = [m for m in available_models(model_task(name)) if m != name
              and model_takes(m)["kinds"] is not None
              and _takes(m, kind, _default_framed(m) if framed is None else framed)]
    kinds = model_takes(name)["kinds"] or ()
    if kind == "fft" and framed is False and "fft" in kinds:
        return models, "'fft' with framed=True"
    nearest = _NEAREST.get(kind)
    return models, repr(nearest if nearest in kinds else default_features(name).get("kind", "mel"))


def refusal(name: str, kind: str, *, framed: bool | None = None) -> str | None:
    """None when model ``name`` takes feature kind ``kind`` (a stack, ``"a+b"``, stands for
    every stack; ``framed`` for kind ``fft``, None: each model's default), else the
    :class:`~tympan.errors.ParameterError` message saying what to use instead."""
    if _takes(name, kind, _default_framed(name) if framed is None else framed):
        return None
    spec = model_takes(name)
    models, instead = _alternatives(name, kind, framed)
    if is_stack({"kind": kind}):
        what = f"feature stacks such as {kind!r}"
    else:
        what = f"feature kind {kind!r}" + ("" if framed is None else f" with framed={framed}")
    whole = _whole_clip(kind, _default_framed(name) if framed is None else framed)
    why = " (one vector per clip; it reads frames)" if spec["framewise"] and whole else ""
    use = f"use model {' or '.join(map(repr, models))} for it, or " if models else "use "
    takes = ", ".join(spec["kinds"]) + (" and stacks of frame-wise kinds" if spec["stacks"] else "")
    return f"model {name!r} does not take {what}{why}: {use}give {name!r} kind {instead} (it takes {takes})"


def model_features(name: str, features: dict | None = None, *, sr: float) -> dict:
    """``features`` (None or ``{}``: the model's default recipe) resolved for model ``name``.

    Like :func:`tympan.models.resolve_features`, plus the model's own default for kind
    ``fft``: ``framed=True`` for a model that reads frames (``conv1d``, ``conv1d_lstm``,
    ``conv2d``), the whole clip's FFT otherwise (``mlp``).  A kind the model does not take
    raises :class:`~tympan.errors.ParameterError` naming the models that take it and the kind
    to use with this one.  The builders call it; the result is what ``pipeline.json`` records.
    """
    features = features or default_features(name)
    framed = features.get("framed") if isinstance(features, dict) else None  # as given
    if isinstance(features, dict) and features.get("kind") == "fft" and framed is None \
            and model_takes(name)["kinds"] is not None:
        features = {**features, "framed": _default_framed(name)}
    resolved = resolve_features(features, sr=sr)
    message = refusal(name, resolved["kind"], framed=framed if resolved["kind"] == "fft" else None)
    if message:
        raise ParameterError(message)
    return resolved


def _cell(name: str, kind: str) -> str:
    if refusal(name, kind) is None:
        if kind == "fft":
            return "yes, framed" if _default_framed(name) else "yes, whole clip"
        return "yes"
    models, instead = _alternatives(name, kind, None)
    instead = instead.replace("'", "`")
    return "no: " + (f"model {'/'.join(f'`{m}`' for m in models)}, or " if models else "") + f"kind {instead}"


def feature_table(task: str = "classification") -> str:
    """The Markdown table of feature kinds (rows; a stack stands for every stack) by the
    models of ``task`` (columns): ``yes``, or ``no:`` the models that take the kind, or the
    kind to use with this model."""
    names = [m for m in available_models(task) if model_takes(m)["kinds"] is not None]
    rows = [*FEATURE_KINDS, STACK_EXAMPLE]
    lines = ["| kind | " + " | ".join(f"`{m}`" for m in names) + " |",
             "|---|" + "---|" * len(names)]
    for kind in rows:
        label = f"stacks, e.g. `{kind}`" if kind == STACK_EXAMPLE else f"`{kind}`"
        lines.append(f"| {label} | " + " | ".join(_cell(m, kind) for m in names) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["STACK_EXAMPLE", "feature_table", "model_features", "refusal"]
