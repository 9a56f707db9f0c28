"""The defaults that depend on the data, decided in one place and recorded.

A recipe leaves a setting to the data by not giving it: ``AudioConfig(sr=None)`` or
``duration=None``, an empty ``PipelineConfig.model``.  Before training, :func:`resolve_for_data`
reads every file's header once (:func:`tympan.data.survey`), then

- drops the files that cannot be opened (each named, with its cause),
- chooses the sample rate and clip duration (:func:`tympan.data.audio_defaults`),
- chooses the model and features from the size of the data (:func:`tympan.pipeline.recipes.choose_recipe`),

and returns the resolved config with a :class:`Choices` record, which ``pipeline.json`` keeps
under ``"chosen"`` and the command line prints.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tympan import data as tdata
from tympan.errors import AudioIOError, DatasetError
from tympan.pipeline.config import DEFAULT_MODEL, PipelineConfig, TrainConfig
from tympan.pipeline.recipes import choose_recipe


@dataclass(frozen=True)
class Choices:
    """What was chosen from the data, and why (``pipeline.json``'s ``"chosen"``)."""

    audio: dict = field(default_factory=dict)  # sr, duration and their reasons
    recipe: dict = field(default_factory=dict)  # model, features and the reason
    split: str | None = None  # why the "auto" split took its method
    unreadable: tuple[str, ...] = ()  # files left out, each with its cause

    def to_dict(self) -> dict:
        return {k: (list(val) if isinstance(val, tuple) else val)
                for k, val in dataclasses.asdict(self).items() if val}

    def lines(self) -> list[str]:
        """One line per choice, for the log."""
        out = []
        if self.audio:
            a = self.audio
            out.append(f"audio: {a['sr']} Hz ({a['sr_reason']}), {a['duration']:g} s clips "
                       f"({a['duration_reason']})")
        if self.recipe:
            out.append(f"recipe: {self.recipe['reason']}")
        if self.split:
            out.append(f"split: {self.split}")
        if self.unreadable:
            out.append(f"left out {len(self.unreadable)} unreadable file(s):")
            out += [f"  {cause}" for cause in self.unreadable]
        return out


def resolve_for_data(config: PipelineConfig, dataset: tdata.Dataset, *, on_error: str = "skip",
                     warn: bool = True) -> tuple[PipelineConfig, tdata.Dataset, Choices]:
    """Fill what ``config`` leaves to the data (see the module docstring); returns the config,
    the dataset without its unreadable files, and the record of the choices.

    A file that cannot be opened raises its AudioIOError with ``on_error="raise"``; with
    ``"skip"`` it is left out (with a :class:`~tympan.data.DatasetWarning` naming each when
    ``warn``)."""
    found = tdata.survey(dataset)
    bad = [f for f in found.files if not f.ok]
    if bad and on_error == "raise":
        raise AudioIOError(bad[0].error)
    if len(bad) == len(dataset):
        raise DatasetError(f"none of the {len(dataset)} files in '{dataset.root}' can be read "
                           f"(the first: {bad[0].error})")
    unreadable = tuple(f.error for f in bad)
    if bad and warn:
        warnings.warn(f"{len(bad)} unreadable file(s) left out: " + "; ".join(unreadable),
                      tdata.DatasetWarning, stacklevel=3)
    if bad:
        keep = np.array([f.ok for f in found.files])
        dataset, found = dataset.subset(keep), tdata.Survey(found.readable)
    audio, audio_record = config.audio, {}
    if audio.sr is None or audio.duration is None:
        choice = tdata.audio_defaults(found, sr=audio.sr, duration=audio.duration)
        audio = dataclasses.replace(audio, sr=choice.sr, duration=choice.duration)
        audio_record = choice.to_dict()
    model, features, recipe_record = config.model, config.features, {}
    training = config.training
    if not model:
        recipe = choose_recipe(n_clips=len(dataset), n_classes=len(dataset.labels),
                               duration=audio.duration, sr=audio.sr)
        model = recipe.model
        recipe_record = recipe.to_dict()
        if features:  # the user's features: a model that takes them
            model, recipe_record = _model_for(features, recipe)
        else:
            features = recipe.features
            training = _recipe_training(training, recipe.training)
    config = dataclasses.replace(config, audio=audio, model=model, features=features,
                                 training=training)
    return config, dataset, Choices(audio=audio_record, recipe=recipe_record, unreadable=unreadable)


def _recipe_training(training: TrainConfig, settings: dict) -> TrainConfig:
    """``training`` with the recipe's ``settings`` in the fields still at their defaults (a
    value the user set, such as ``--epochs``, is kept)."""
    default = TrainConfig()
    keep = {k: val for k, val in settings.items() if getattr(training, k) == getattr(default, k)}
    return dataclasses.replace(training, **keep)


#: Models tried, in order, when the recipe's model does not take the features a user gave.
_FALLBACKS = (DEFAULT_MODEL, "mlp", "conv1d_lstm", "conv2d", "waveform")


def _model_for(features: dict, recipe) -> tuple[dict, dict]:
    """The recipe's model when it takes ``features`` (its parameters only with its own
    features: they are tuned to them), else the first of :data:`_FALLBACKS` that does (with
    its defaults), and the record of the choice."""
    from tympan import models

    kind, framed = features.get("kind"), features.get("framed")
    name = recipe.model["name"]
    if features == recipe.features:
        return recipe.model, recipe.to_dict()
    if kind is None or models.refusal(name, kind, framed=framed) is None:
        reason = f"{name} with the features given (kind {kind!r}); the recipe for this data: {recipe.reason}"
        return {"name": name}, {"model": {"name": name}, "features": features, "reason": reason}
    for other in _FALLBACKS:
        if models.refusal(other, kind, framed=framed) is None:
            reason = (f"{other}: the features given (kind {kind!r}) are not for {name}, the recipe "
                      f"for this data ({recipe.reason})")
            return {"name": other}, {"model": {"name": other}, "features": features,
                                     "reason": reason}
    return recipe.model, recipe.to_dict()  # the model then names what to use instead


def with_split_reason(choices: Choices, split) -> Choices:
    """``choices`` with the reason of an "auto" split (``split.params["auto"]``), if any."""
    reason = split.params.get("auto")
    if not reason:
        return choices
    return dataclasses.replace(choices, split=f"{split.method} ({reason})")


def announce(choices: Choices, report: Callable[[str], None] | None) -> None:
    if report is not None:
        for line in choices.lines():
            report(line)


__all__ = ["Choices", "announce", "resolve_for_data", "with_split_reason"]
