"""Options shared by several commands: dataset discovery, the training recipe and ``key=value``
parameters; and :class:`LibraryDefault`, the option whose default the library states.

Defaults are stated once, in the library (the config dataclasses of
:mod:`tympan.pipeline.config`, a function's own keyword default): an option left to the library
is ``None`` unless given, the command passes on only what was given, and ``--help`` reads the
value to show from the library when it is drawn (so the command line starts without importing
the library).  ``tests/cli/test_defaults.py`` holds every command to this.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re
from collections.abc import Callable
from typing import Any

import click

from tympan.data.survey import DURATION_CEILING, DURATION_PERCENTILE, DURATION_STEP, SR_CEILING
from tympan.errors import ParameterError


def parse_params(pairs: tuple[str, ...], option: str) -> dict:
    """``("n_mels=64", "fmax=3800")`` -> ``{"n_mels": 64, "fmax": 3800}`` (values read as JSON
    when they parse, else kept as strings).  A dotted key sets one field of a group of settings:
    ``augmentation.freq_warp=0`` -> ``{"augmentation": {"freq_warp": 0}}``."""
    out: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"{option} takes key=value, got {pair!r}")
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        group, dot, field = key.strip().partition(".")
        if not dot:
            out[group] = parsed
            continue
        if not group or not field:
            raise ParameterError(f"{option} takes key=value or group.key=value, got {pair!r}")
        if not isinstance(out.setdefault(group, {}), dict):
            raise ParameterError(f"{option} sets {group!r} and {key.strip()!r}: give one of them")
        out[group][field] = parsed
    return out


class LibraryDefault(click.Option):
    """An option the library decides when it is not given: its value is then ``None``, and
    ``--help`` shows ``[default: X]`` with ``X`` read from ``library()`` (a getter such as
    :func:`config_default`) when the help is drawn, formatted by ``show`` (default
    :func:`shown`)."""

    def __init__(self, *decls, library: Callable[[], Any], show: Callable[[Any], str] | None = None,
                 **attrs):
        if attrs.get("default") is not None:
            raise TypeError(f"option {decls}: the library states its default, give none")
        attrs["default"], attrs["show_default"] = None, False
        super().__init__(*decls, **attrs)
        self.library = library
        self.show = show or shown

    def library_default(self) -> Any:
        return self.library()

    def get_help_record(self, ctx):
        record = super().get_help_record(ctx)
        if record is None:
            return None
        opts, text = record
        extra = f"[default: {self.show(self.library_default())}]"
        return opts, f"{text}  {extra}" if text else extra


def shown(value: Any) -> str:
    """A default as the command line takes it: ``60``, ``0.001``, ``-5,10``, ``sp25,sp26``."""
    if isinstance(value, (list, tuple)):
        return ",".join(shown(x) for x in value)
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "none"
    return str(value)


def config_default(owner: str, field: str) -> Callable[[], Any]:
    """A getter of ``field`` of ``tympan.pipeline.config.<owner>``: of the default instance of a
    config dataclass (``"TrainConfig"``), or of a recipe constant (``"SEPARATOR_TRAINING"``)."""
    def get() -> Any:
        from tympan.pipeline import config

        obj = getattr(config, owner)
        return getattr(obj() if isinstance(obj, type) else obj, field)

    get.source = (owner, field)  # for tests/cli/test_defaults.py
    return get


def signature_default(module: str, function: str, parameter: str) -> Callable[[], Any]:
    """A getter of the keyword default of ``parameter`` of ``module.function`` (where the
    library states a default as a function's own, such as ``segment_file(block_sec=30.0)``)."""
    def get() -> Any:
        fn = getattr(importlib.import_module(module), function)
        return inspect.signature(fn).parameters[parameter].default

    get.source = (f"{module}.{function}", parameter)
    return get


class LibraryChoice(click.Choice):
    """``click.Choice`` over the names the library lists (``choices()``: a getter such as
    ``lambda: METHODS``), read when first needed, so they are stated once."""

    def __init__(self, choices: Callable[[], tuple[str, ...]], case_sensitive: bool = True):
        self._choices, self._cache = choices, None
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> tuple[str, ...]:
        if self._cache is None:
            self._cache = tuple(self._choices())
        return self._cache

    @choices.setter
    def choices(self, value) -> None:
        self._cache = tuple(value)


def library_option(*decls, library: Callable[[], Any], show: Callable[[Any], str] | None = None,
                   **attrs):
    """``click.option(*decls, **attrs)`` left to the library: a :class:`LibraryDefault`."""
    return click.option(*decls, cls=LibraryDefault, library=library, show=show, **attrs)


def given_values(**values) -> dict:
    """``values`` without those left ``None`` (the options not given: the library decides)."""
    return {k: val for k, val in values.items() if val is not None}


def train_config(base: Any = None, **values):
    """A ``TrainConfig`` of the options given (``None`` ones left to ``base``, default
    ``TrainConfig()``: the dataclass fills them in)."""
    from tympan.pipeline.config import TrainConfig

    given_ = given_values(**values)
    return dataclasses.replace(base, **given_) if base is not None else TrainConfig(**given_)


#: The CSV column options of :func:`dataset_options`: ``--<role>-column`` and what it holds.
COLUMN_OPTIONS = (("path", "the audio file paths"), ("label", "the labels"),
                  ("group", "the groups (speaker, source recording)"), ("fold", "the predefined folds"))


def dataset_options(f):
    """--labels-from / --pattern / --csv / --label-pattern and the CSV column options, passed on
    as a ``discovery`` dict (see :func:`discovery`)."""
    for role, what in reversed(COLUMN_OPTIONS):
        f = click.option(f"--{role}-column", f"{role}_column", metavar="NAME",
                         help=f"The CSV column that holds {what} (default: the layout's own, "
                         f"e.g. '{role}' for a CSV of your own).")(f)
    f = click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
                     help="CSV listing the clips: ESC-50's meta/esc50.csv or UrbanSound8K's "
                     "metadata/UrbanSound8K.csv as published, or path,label[,group][,fold] (other "
                     "names with the --*-column options).  DATA is then the dataset or its audio "
                     "folder; a CSV file given as DATA is taken as --csv.")(f)
    f = click.option("--pattern", help="Regex on file names with a (?P<label>...) group and optional "
                     "(?P<group>...), or a named corpus: 'fsdd' (spoken digits, speakers as groups), "
                     "'emodb' (EMO-DB, English emotion labels, speakers as groups).")(f)
    f = click.option("--label-pattern", help="Take each label (and group) from the file name with "
                     "this regex's (?P<label>...) and (?P<group>...) groups, after discovery; or a "
                     "named one: 'fsdd-speaker' (speaker labels, takes as groups), 'emodb-speaker' "
                     "(speaker labels, texts as groups).")(f)
    f = click.option("--labels-from", type=click.Choice(["auto", "folders", "regex", "csv"]),
                     default="auto", show_default=True,
                     help="Where labels come from: class folders, a file-name regex, or a CSV.")(f)
    return f


def discovery(labels_from: str, pattern: str | None, csv_path: str | None,
              label_pattern: str | None = None, *, path_column: str | None = None,
              label_column: str | None = None, group_column: str | None = None,
              fold_column: str | None = None) -> dict:
    """The :func:`tympan.data.discover` options of the :func:`dataset_options` values."""
    named = {"path": path_column, "label": label_column, "group": group_column, "fold": fold_column}
    columns = {role: name for role, name in named.items() if name is not None}
    return {"labels_from": labels_from, "pattern": pattern, "csv": csv_path,
            "label_pattern": label_pattern, "columns": columns or None}


#: The keyword arguments that :func:`recipe_options` adds to a command.
RECIPE_PARAMS = ("model_name", "model_param", "features", "feature_param", "sr", "duration", "epochs",
                 "batch_size", "learning_rate", "seed", "class_weight", "feature_norm", "ensemble",
                 "validation_size", "self_training")


def recipe_options(f):
    """The training recipe: model, features, audio and training settings.  The command takes
    them as ``**recipe`` and turns them into a PipelineConfig with :func:`recipe_config`."""
    options = [
        click.option("--model", "model_name", default=None,
                     help="Model family from the registry (conv1d, conv1d_lstm, conv2d, mlp, waveform); "
                     "default: chosen from the size of the data (printed and kept in pipeline.json)."),
        click.option("--model-param", multiple=True, metavar="KEY=VALUE",
                     help="Model parameter, repeatable (values are JSON: filters=[32,64]); without "
                     "--model they tune the default architecture, conv1d."),
        click.option("--features", default=None, help="Feature kind (mel, mfcc, mfcc+delta, mean_mfcc, "
                     "spectrogram, chroma, cqt, scalogram, fft, waveform) or a stack such as "
                     "mfcc+delta+chroma; default: the model's own."),
        click.option("--feature-param", multiple=True, metavar="KEY=VALUE",
                     help="Feature parameter, repeatable."),
        click.option("--sr", type=int, default=None,
                     help="Sample rate the model works at; default: the files' most common rate, "
                     f"at most {SR_CEILING}."),
        click.option("--duration", type=float, default=None,
                     help=f"Clip length in seconds; default: what {DURATION_PERCENTILE} % of "
                     f"the clips fit in, rounded up to {DURATION_STEP:g} s, at most "
                     f"{DURATION_CEILING:g}."),
        library_option("--epochs", type=int, library=config_default("TrainConfig", "epochs"),
                       help="At most this many (early stopping on a validation part)."),
        library_option("--batch-size", type=int, library=config_default("TrainConfig", "batch_size")),
        library_option("--learning-rate", type=float,
                       library=config_default("TrainConfig", "learning_rate")),
        library_option("--seed", type=int, library=config_default("TrainConfig", "seed")),
        click.option("--class-weight", is_flag=True,
                     help="Weight the loss by inverse class frequency (unbalanced classes)."),
        library_option("--feature-norm", type=LibraryChoice(_feature_norms),
                       library=config_default("TrainConfig", "feature_norm"),
                       help="group: normalise each speaker's features by that speaker's own "
                       "statistics; test speakers are adapted on their own clips, and a new "
                       "speaker needs `tympan adapt` before predicting."),
        library_option("--validation-size", type=float,
                       library=config_default("TrainConfig", "validation_size"),
                       help="Part of the training clips kept for early stopping; 0: none, every "
                       "epoch is run (for models trained to convergence)."),
        library_option("--ensemble", type=int, library=config_default("TrainConfig", "ensemble"),
                       help="Train N models (seeds seed..seed+N-1) and save one model that averages "
                       "their probabilities: better accuracy, N times the training and model time."),
        library_option("--self-training", type=int, metavar="ROUNDS",
                       library=config_default("TrainConfig", "self_training"),
                       help="With --feature-norm group: after training, fine-tune on the test "
                       "clips the model is sure of (probability at least the training's "
                       "pseudo_label_threshold), labelled with its own predictions, ROUNDS times; "
                       "the test labels are never used."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _feature_norms() -> tuple[str, ...]:
    from tympan.pipeline.config import FEATURE_NORMS

    return FEATURE_NORMS


def recipe_config(*, model_name=None, model_param=(), features=None, feature_param=(), sr=None,
                  duration=None, epochs=None, batch_size=None, learning_rate=None, seed=None,
                  class_weight=False, feature_norm=None, ensemble=None, validation_size=None,
                  self_training=None):
    """The PipelineConfig of the :func:`recipe_options` values (those left ``None``: the
    config dataclasses' defaults)."""
    from tympan import pipeline

    feats = parse_params(feature_param, "--feature-param")
    if features:
        feats["kind"] = features
    params = parse_params(model_param, "--model-param")
    if params and not model_name:  # parameters tune the default architecture
        model_name = pipeline.DEFAULT_MODEL
    return pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(**given_values(sr=sr, duration=duration)),
        features=feats,
        model={"name": model_name, **params} if model_name else {},
        training=train_config(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                              seed=seed, class_weight=class_weight or None,
                              feature_norm=feature_norm, ensemble=ensemble,
                              validation_size=validation_size, self_training=self_training),
    )


def given(ctx: click.Context, names) -> list[str]:
    """The options among ``names`` (parameter names) that were given on the command line,
    as ``--option`` strings."""
    found = []
    for param in ctx.command.params:
        if param.name in names and ctx.get_parameter_source(param.name) not in (
                click.core.ParameterSource.DEFAULT, None):
            found.append(max(param.opts, key=len))
    return found


def parse_ints(text: str | None, option: str) -> list[int] | None:
    """``"0,3"`` -> ``[0, 3]`` (None stays None)."""
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ParameterError(f"{option} takes comma-separated integers such as 0,3, got {text!r}") from None


class OnError(click.Choice):
    """``skip`` or ``fail``; ``raise``, the older name of ``fail``, is still taken."""

    def __init__(self):
        super().__init__(["skip", "fail"])

    def convert(self, value, param, ctx):
        return super().convert("fail" if value == "raise" else value, param, ctx)


def on_error_option(default: str | None = "skip", extra: str = "", skip_help: str | None = None):
    """``--on-error skip|fail`` for commands that work through many files.  The command gets
    ``"skip"`` or ``"fail"`` (``"raise"`` for the library: :data:`LIBRARY_ON_ERROR`)."""
    skip_help = skip_help or ("go on after a file that cannot be read, name it with its cause, "
                              "and exit with status 1 at the end")
    return click.option(
        "--on-error", type=OnError(), default=default, show_default=default is not None,
        help=f"skip: {skip_help}; fail: stop at the first one (status 1)." + extra)


#: ``--on-error`` values as the library's ``on_error``.
LIBRARY_ON_ERROR = {"skip": "skip", "fail": "raise"}


def use_models() -> None:
    """Set up Keras for a command that loads or trains a model: import it without the packages
    the command never uses (:func:`tympan._backend.import_keras_lean`) and turn on jax's
    compilation cache.  Commands that read headers or draw audio never call it."""
    from tympan._backend import enable_compilation_cache, import_keras_lean

    import_keras_lean()
    enable_compilation_cache()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters (newline, tab, escape, ...) written as escapes
    (``\\n``, ``\\t``, ``\\x1b``), so a file name cannot break a table or a terminal line;
    json and csv output keep names exact (they quote them)."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
