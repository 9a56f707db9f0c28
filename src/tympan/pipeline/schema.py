"""The one schema of ``pipeline.json``, checked before anything of an artifact is loaded.

Three passes, each an :class:`~tympan.errors.ArtifactError` naming the file, the field (a dotted
path such as ``audio.sr``) and the bad value:

1. :func:`validate_pipeline` (no Keras): the top level is an object; the required sections
   (:data:`REQUIRED`) are there with the right types (:data:`SECTIONS`); ``schema_version`` is
   one this tympan reads; ``task`` is known; ``audio``, ``training`` and ``windows`` pass the
   checks of their config dataclasses (:mod:`tympan.pipeline.config`: types from their
   annotations, ranges and choices from their own ``__post_init__``); ``input.shape`` is
   ``[audio.sr * audio.duration]``; ``labels`` is a list of unique non-empty strings (empty for
   an autoencoder).
2. :func:`validate_recipe` (imports the models): ``model.name`` is a registered model of the
   artifact's task and ``features`` a recipe its front end accepts
   (:func:`tympan.models.resolve_features`: ``n_fft: -1`` is refused there).
3. :func:`validate_model` (after Keras loaded ``model.keras``): the model takes
   ``audio.sr * audio.duration`` samples, its front-end layers were built for ``audio.sr``, its
   head is the task's (softmax: classification, sigmoid: tagging) and it has one output per label.

Unknown keys of the top level are ignored (they carry no setting); unknown keys of a config
section are refused.

Older versions are migrated first (:func:`migrate`, one step per version, on a copy; the file is
not rewritten): version 1 held the classifiers' augmentation settings flat among the model
parameters (``"augment": true, "gain_db": 6.0, ...``); version 2 holds them as one object,
``model.augmentation`` (:class:`tympan.models.AugmentationConfig`, with ``augment`` renamed
``enabled``), and a separator's ``split.mixing`` as a :class:`~tympan.pipeline.config.MixingConfig`.
"""

from __future__ import annotations

import copy
import types
import typing
from pathlib import Path
from typing import Any

from tympan.errors import ArtifactError, ParameterError
from tympan.pipeline.config import AudioConfig, MixingConfig, PipelineConfig, TrainConfig, WindowConfig

#: The schema version this tympan writes; it reads this one and every older one (:func:`migrate`)
SCHEMA_VERSION = 2
#: Version 1's flat augmentation parameters of a model -> their field in version 2's
#: ``model.augmentation`` (fixed: this is what version 1 wrote)
V1_AUGMENTATION = {"augment": "enabled", "gain_db": "gain_db", "time_shift": "time_shift",
                   "noise_snr_db": "noise_snr_db", "time_stretch": "time_stretch",
                   "freq_warp": "freq_warp", "freq_masks": "freq_masks", "freq_width": "freq_width",
                   "time_masks": "time_masks", "time_width": "time_width"}
TASKS = ("classification", "reconstruction", "separation", "tagging")
#: tasks trained on another task's models (a tagger is a classifier with a sigmoid head)
MODEL_TASK = {"tagging": "classification"}

#: top-level field -> the JSON types it may hold (a missing optional field is fine)
SECTIONS: dict[str, tuple[type, ...]] = {
    "schema_version": (int,), "task": (str,), "input": (dict,), "audio": (dict,),
    "windows": (dict,), "features": (dict,), "model": (dict,), "training": (dict,),
    "labels": (list,),
    "split": (dict,), "metrics": (dict,), "chosen": (dict,), "adaptation": (dict,),
    "tympan_version": (str,), "keras_version": (str,), "backend": (str,), "created": (str,),
}
REQUIRED = ("schema_version", "task", "input", "audio", "windows", "features", "model", "training",
            "labels")
#: sections checked by a config dataclass of :mod:`tympan.pipeline.config`
DATACLASS_SECTIONS = {"audio": AudioConfig, "training": TrainConfig, "windows": WindowConfig}

_JSON_TYPES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               dict: "an object", list: "a list"}


def fail(file: Path, field: str, value: Any, rule: str) -> ArtifactError:
    """``<file>: <field> must be <rule>, got <value>`` (the value shortened to 80 characters)."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ArtifactError(f"{file}: {field} must be {rule}, got {shown}")


def validate_pipeline(meta: Any, file) -> dict[str, Any]:
    """Check the parsed ``pipeline.json`` of ``file`` (pass 1, no Keras) and return it."""
    file = Path(file)
    if not isinstance(meta, dict):
        raise ArtifactError(f"{file} is not a tympan pipeline: its top level must be an object, "
                            f"got {type(meta).__name__}")
    _check_version(meta, file)
    for key in REQUIRED:
        if key not in meta:
            raise ArtifactError(f"{file}: the required field {key!r} is missing")
    for key, allowed in SECTIONS.items():
        if key in meta and not _is(meta[key], allowed):
            raise fail(file, key, meta[key], " or ".join(_JSON_TYPES[t] for t in allowed))
    meta = migrate(meta)
    if meta["task"] not in TASKS:
        raise fail(file, "task", meta["task"], f"one of {', '.join(map(repr, TASKS))}")
    for section, cls in DATACLASS_SECTIONS.items():
        _check_dataclass(cls, meta[section], section, file)
    audio = meta["audio"]
    for key in ("sr", "duration"):
        if audio.get(key) is None:
            raise fail(file, f"audio.{key}", audio.get(key), "set in a trained artifact")
    windows = meta["windows"]
    for key in ("window_sec", "hop_sec"):
        if windows.get(key) is None:
            raise fail(file, f"windows.{key}", windows.get(key), "set in a trained artifact")
    try:
        PipelineConfig.from_dict({k: meta[k] for k in ("audio", "features", "model", "training",
                                                       "windows")})
    except ParameterError as exc:  # model without a name
        raise ArtifactError(f"{file}: {exc}") from None
    if not isinstance(meta["model"].get("name"), str):  # {} passes PipelineConfig: no name yet
        raise fail(file, "model.name", meta["model"].get("name"), "a string")
    _check_input(meta, file)
    _check_labels(meta, file)
    _check_mixing(meta, file)
    return meta


def migrate(meta: dict) -> dict:
    """``meta`` (a parsed ``pipeline.json`` of any version this tympan reads) in the current
    schema: a migrated copy, or ``meta`` itself when it is current."""
    version = meta["schema_version"]
    if version == SCHEMA_VERSION:
        return meta
    meta = copy.deepcopy(meta)
    while version < SCHEMA_VERSION:
        meta = _MIGRATIONS[version](meta)
        version += 1
        meta["schema_version"] = version
    return meta


def _v1_to_v2(meta: dict) -> dict:
    """The flat augmentation parameters of version 1 into ``model.augmentation``."""
    model = meta.get("model")
    if isinstance(model, dict) and "augmentation" not in model:
        flat = {V1_AUGMENTATION[k]: model.pop(k) for k in list(model) if k in V1_AUGMENTATION}
        if flat:
            model["augmentation"] = flat
    return meta


#: version -> the step from it to the next
_MIGRATIONS = {1: _v1_to_v2}


def _check_version(meta: dict, file: Path) -> None:
    version = meta.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArtifactError(f"{file} has no integer schema_version (got {version!r}); not a tympan "
                            "artifact")
    if version > SCHEMA_VERSION:
        raise ArtifactError(
            f"{file} has schema_version {version}, newer than this tympan understands "
            f"({SCHEMA_VERSION}); upgrade tympan to load it")
    if version < 1:
        raise ArtifactError(f"{file} has an unknown schema_version {version}")


def _check_input(meta: dict, file: Path) -> None:
    samples = AudioConfig(**meta["audio"]).samples
    shape = meta["input"].get("shape")
    if shape != [samples]:
        raise fail(file, "input.shape", shape,
                   f"[audio.sr * audio.duration] = [{samples}] (audio.sr {meta['audio']['sr']}, "
                   f"audio.duration {meta['audio']['duration']})")


def _check_labels(meta: dict, file: Path) -> None:
    labels = meta["labels"]
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label:
            raise fail(file, f"labels[{i}]", label, "a non-empty string")
    seen = set()
    for label in labels:
        if label in seen:
            raise fail(file, "labels", labels, f"unique strings ({label!r} appears twice)")
        seen.add(label)
    if meta["task"] == "reconstruction":
        if labels:
            raise fail(file, "labels", labels, "empty for a reconstruction model")
    elif not labels:
        raise fail(file, "labels", labels,
                   f"a non-empty list for a {meta['task']} model (its classes or sources)")


def _check_mixing(meta: dict, file: Path) -> None:
    """A separator's ``split.mixing``, when recorded, is a :class:`MixingConfig`."""
    mixing = meta.get("split", {}).get("mixing")
    if mixing is None:
        return
    try:
        MixingConfig.from_dict(mixing)
    except (ParameterError, TypeError) as exc:
        raise ArtifactError(f"{file}: split.mixing: {exc}") from None


def _is(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in allowed
    if float in allowed and isinstance(value, int):
        return True
    return isinstance(value, allowed)


def _field_types(cls) -> dict[str, tuple[tuple[type, ...], bool]]:
    """field -> (JSON types allowed, whether None is allowed), from ``cls``'s annotations."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        allowed = tuple(a for a in args if a is not type(None))
        out[name] = (allowed, type(None) in args)
    return out


def _check_dataclass(cls, values: dict, section: str, file: Path) -> None:
    """``values`` (a section of pipeline.json) has only ``cls``'s fields, each of its annotated
    type, and ``cls(**values)`` accepts them (ranges and choices: the config's own checks)."""
    fields = _field_types(cls)
    for key, value in values.items():
        if key not in fields:
            raise fail(file, f"{section}.{key}", value,
                       f"absent: {section} takes {', '.join(sorted(fields))}")
        allowed, nullable = fields[key]
        if value is None and nullable:
            continue
        if not _is(value, allowed):
            rule = " or ".join(_JSON_TYPES.get(t, t.__name__) for t in allowed)
            raise fail(file, f"{section}.{key}", value, rule + (" or null" if nullable else ""))
    try:
        cls(**values)
    except (ParameterError, TypeError, ValueError) as exc:
        message = str(exc)
        named = next((k for k in sorted(fields, key=len, reverse=True) if message.startswith(k)), None)
        where = f"{section}.{message}" if named else f"{section}: {message}"
        raise ArtifactError(f"{file}: {where}") from None


def validate_recipe(meta: dict, file) -> None:
    """Pass 2 (imports :mod:`tympan.models`): the model is registered for the artifact's task
    and its feature recipe is one the front end accepts at ``audio.sr``."""
    from tympan import models

    file = Path(file)
    name = meta["model"]["name"]
    try:
        task = models.model_task(name)
    except ParameterError:
        raise fail(file, "model.name", name,
                   f"a registered model ({', '.join(models.available_models())})") from None
    if task != MODEL_TASK.get(meta["task"], meta["task"]):
        raise fail(file, "task", meta["task"], f"{task!r}, the task of model {name!r}")
    try:
        models.resolve_features(meta["features"], sr=meta["audio"]["sr"])
    except (ParameterError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{file}: features: {exc}") from None
    if "augmentation" in meta["model"]:
        try:
            models.AugmentationConfig.from_dict(meta["model"]["augmentation"])
        except (ParameterError, TypeError) as exc:
            raise ArtifactError(f"{file}: model.augmentation: {exc}") from None


def validate_model(model, meta: dict, file) -> None:
    """Pass 3: the loaded Keras ``model`` takes ``audio.sr * audio.duration`` samples (so a
    changed ``audio.sr`` is refused) and gives one output per label (class or source)."""
    file = Path(file)
    audio = meta["audio"]
    samples = AudioConfig(**audio).samples
    shape = _shape(model.inputs[0]) if len(model.inputs) == 1 else None
    if shape is None or len(shape) != 2 or shape[1] != samples:
        raise ArtifactError(
            f"{file}: audio.sr {audio['sr']} x audio.duration {audio['duration']} s = {samples} "
            f"samples, but the model in {file.with_name('model.keras').name} takes input of shape "
            f"{shape}: the audio settings do not match the model (was pipeline.json edited?)")
    for layer in _layers(model):  # a front end built for another rate (sr and duration both edited)
        sr = getattr(layer, "sr", None)
        if isinstance(sr, (int, float)) and not isinstance(sr, bool) and float(sr) != float(audio["sr"]):
            raise ArtifactError(
                f"{file}: audio.sr is {audio['sr']}, but the model's layer {layer.name!r} was built for "
                f"{sr:g} Hz: the audio settings do not match the model (was pipeline.json edited?)")
    _check_head(model, meta, file)
    out = _shape(model.outputs[0])
    labels = meta["labels"]
    if meta["task"] in ("classification", "tagging"):
        expected, got, what = len(labels), out[-1], "classes"
    elif meta["task"] == "separation":
        expected, got, what = len(labels), out[-1] if len(out) == 3 else 1, "sources"
    else:
        expected, got, what = samples, out[-1], "output samples"
    if got != expected:
        raise ArtifactError(
            f"{file}: labels lists {len(labels)} {what} {labels!r}, but the model gives "
            f"{got} (output shape {out}): labels do not match the model"
            if what != "output samples" else
            f"{file}: the reconstruction model gives output of shape {out}, not {samples} samples")


def _layers(model):
    """Every layer of ``model``, nested models' layers included."""
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _layers(layer)


#: The activation of the ``probabilities`` head of each task (tympan.pipeline.tagging sets sigmoid)
_HEADS = {"classification": "softmax", "tagging": "sigmoid"}


def _check_head(model, meta: dict, file: Path) -> None:
    """A classifier's head is a softmax and a tagger's a sigmoid: ``task`` edited from one to
    the other would read probabilities as what they are not."""
    want = _HEADS.get(meta["task"])
    head = next((layer for layer in _layers(model) if layer.name == "probabilities"), None)
    got = getattr(getattr(head, "activation", None), "__name__", None)
    if want and got in _HEADS.values() and got != want:
        task = next(t for t, a in _HEADS.items() if a == got)
        raise fail(file, "task", meta["task"], f"{task!r}: the model's output layer is a {got}")


def _shape(tensor) -> tuple:
    return tuple(None if d is None else int(d) for d in tensor.shape)


__all__ = ["DATACLASS_SECTIONS", "REQUIRED", "SCHEMA_VERSION", "SECTIONS", "TASKS",
           "V1_AUGMENTATION", "fail", "migrate", "validate_model", "validate_pipeline",
           "validate_recipe"]
