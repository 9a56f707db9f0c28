"""Models by name: ``register_model`` adds a builder, ``build_model`` calls it with checked arguments.

A builder is a function ``builder(*, input_samples, sr, n_classes, features, **params) ->
keras.Model`` whose extra parameters are keyword arguments with defaults (a builder registered
with ``task="reconstruction"`` or ``"separation"``, audio in and audio out, takes no
``n_classes``);
:func:`model_defaults` reads those defaults so that a pipeline can record every resolved
parameter, and :func:`build_model` refuses parameters the builder does not take.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras

from tympan import _validate as v
from tympan.errors import ParameterError

Builder = Callable[..., keras.Model]

_REQUIRED = ("input_samples", "sr", "n_classes", "features")
TASKS = ("classification", "reconstruction", "separation")
_BUILDERS: dict[str, Builder] = {}
_FEATURES: dict[str, dict] = {}
_TASKS: dict[str, str] = {}
_TAKES: dict[str, dict] = {}


def _required(task: str) -> tuple[str, ...]:
    return _REQUIRED if task == "classification" else tuple(p for p in _REQUIRED if p != "n_classes")


def register_model(name: str, *, features: dict | None = None, task: str = "classification",
                   kinds: Sequence[str] | None = None, stacks: bool = False,
                   framewise: bool = False) -> Callable[[Builder], Builder]:
    """Decorator registering ``builder`` under ``name``.

    ``features`` is the feature recipe used when :func:`build_model` gets ``features=None``
    (default ``{"kind": "mel"}``).  The builder must take ``input_samples``, ``sr``,
    ``n_classes`` (only for ``task="classification"``) and ``features`` as keyword-only
    arguments, and give every other parameter a default.

    What the model takes (:func:`tympan.models.model_features` checks it, and
    :func:`tympan.models.feature_table` tabulates it): ``kinds``, the feature kinds (None: the
    builder checks for itself), ``stacks`` whether feature stacks too, and ``framewise`` whether
    it reads frames ``(batch, frames, feature)``, so that a whole-clip kind is refused and kind
    ``fft`` defaults to ``framed=True`` (else to the whole clip's FFT).
    """
    if not isinstance(name, str) or not name:
        raise ParameterError(f"model name must be a non-empty string, got {name!r}")
    v.choice("task", task, TASKS)
    if kinds is not None and (isinstance(kinds, str) or not all(isinstance(k, str) for k in kinds)):
        raise ParameterError(f"kinds of model {name!r} must be a sequence of feature kind names, "
                             f"got {kinds!r}")
    required = _required(task)

    def decorator(builder: Builder) -> Builder:
        params = inspect.signature(builder).parameters
        missing = [p for p in required if p not in params]
        no_default = [p.name for p in params.values() if p.name not in required
                      and p.kind is not p.VAR_KEYWORD and p.default is p.empty]
        if missing or no_default:
            raise ParameterError(f"builder {builder.__name__} for model {name!r} must take "
                                 f"{', '.join(required)} (missing: {missing}) and give every other "
                                 f"parameter a default (none for: {no_default})")
        if name in _BUILDERS and _BUILDERS[name] is not builder:
            raise ParameterError(f"a model named {name!r} is already registered")
        _BUILDERS[name] = builder
        _FEATURES[name] = dict(features or {"kind": "mel"})
        _TASKS[name] = task
        _TAKES[name] = {"kinds": None if kinds is None else tuple(kinds), "stacks": bool(stacks),
                        "framewise": bool(framewise)}
        return builder

    return decorator


def available_models(task: str | None = None) -> tuple[str, ...]:
    """Names of the registered models (of ``task`` only, if given), sorted."""
    return tuple(sorted(n for n in _BUILDERS if task is None or _TASKS[n] == task))


def model_task(name: str) -> str:
    """``"classification"`` (waveform -> class probabilities), ``"reconstruction"``
    (waveform -> waveform, e.g. the autoencoder) or ``"separation"`` (waveform -> one waveform
    per source, ``(batch, samples, n_sources)``)."""
    _builder(name)
    return _TASKS[name]


def _builder(name: str) -> Builder:
    if name not in _BUILDERS:
        raise ParameterError(f"unknown model {name!r}; available models: "
                             f"{', '.join(available_models()) or 'none'}")
    return _BUILDERS[name]


def model_defaults(name: str) -> dict[str, Any]:
    """The builder's parameters and their default values (not the four required ones).

    A default that is a settings dataclass (such as ``augmentation``, an
    :class:`~tympan.models.AugmentationConfig`) is given as its ``to_dict()``, so the result
    is JSON-ready (``pipeline.json`` records it)."""
    params = inspect.signature(_builder(name)).parameters.values()
    return {p.name: _plain(p.default) for p in params
            if p.name not in _REQUIRED and p.default is not p.empty}


def _plain(value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") and not isinstance(value, type) else value


def resolve_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` over the builder's defaults: every parameter ``name`` takes, resolved.

    A parameter whose default is a group of settings (``augmentation``) takes a dict of some
    of them, resolved over the model's own (or the settings dataclass itself).  An unknown
    model raises :class:`~tympan.errors.ParameterError` listing the available ones; an unknown
    parameter one naming it and listing the valid ones.
    """
    known = model_defaults(name)
    unknown = sorted(set(params) - set(known))
    if unknown:
        grouped = [f"{k!r} is a setting of {group!r} ({group}={{{k!r}: ...}}, on the command line "
                   f"--model-param {group}.{k}=...)" for k in unknown
                   for group, value in known.items() if isinstance(value, dict) and k in value]
        raise ParameterError(f"unknown parameter(s) {', '.join(map(repr, unknown))} for model "
                             f"{name!r}; it takes {', '.join(known) or 'none'}"
                             + (f"; {'; '.join(grouped)}" if grouped else ""))
    out = {**known}
    for key, value in params.items():
        value = _plain(value)
        if isinstance(known[key], dict) and isinstance(value, Mapping):
            value = {**known[key], **value}
        out[key] = value
    return out


def default_features(name: str) -> dict:
    """The feature recipe ``name`` uses when none is given (e.g. ``{"kind": "mel"}``)."""
    _builder(name)
    return dict(_FEATURES[name])


def model_takes(name: str) -> dict:
    """What model ``name`` was registered to take: ``{"kinds": tuple or None, "stacks": bool,
    "framewise": bool}`` (see :func:`register_model`)."""
    _builder(name)
    return dict(_TAKES[name])


def build_model(name: str, *, input_samples: int, sr: float, n_classes: int | None = None,
                features: dict | None = None, **params: Any) -> keras.Model:
    """Build the registered model ``name`` (un-compiled, ``feature_norm`` not yet adapted).

    ``features=None`` (or ``{}``) uses the model's default recipe (:func:`default_features`);
    a recipe the model does not take raises :class:`~tympan.errors.ParameterError` saying what
    to use instead (:func:`tympan.models.model_features`).  Unknown
    ``params`` raise :class:`~tympan.errors.ParameterError` naming them and listing the valid
    ones.  ``n_classes`` is required for classifiers and ignored by the other tasks.
    """
    builder = _builder(name)
    resolve_params(name, params)
    input_samples = v.positive_int("input_samples", input_samples)
    sr = v.positive_number("sr", sr)
    features = features or default_features(name)
    if _TASKS[name] != "classification":
        return builder(input_samples=input_samples, sr=sr, features=features, **params)
    if n_classes is None:
        raise ParameterError(f"model {name!r} is a classifier: pass n_classes")
    n_classes = v.positive_int("n_classes", n_classes)
    if n_classes < 2:
        raise ParameterError(f"n_classes must be at least 2, got {n_classes}")
    return builder(input_samples=input_samples, sr=sr, n_classes=n_classes, features=features,
                   **params)


__all__ = ["TASKS", "available_models", "build_model", "default_features", "model_defaults",
           "model_takes", "model_task", "register_model", "resolve_params"]
