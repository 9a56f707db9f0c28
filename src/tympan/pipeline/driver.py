"""The one training driver: what every task's trainer shares, and the only call of Keras ``fit``.

A task (:mod:`tympan.pipeline.task`) says *what* is learned: how a dataset becomes inputs and
targets, the loss, the metrics, the learning-rate shape.  The driver says *how*: the seed, the
model built from the registry (:func:`build`), continued from an artifact (:func:`continued`,
``init=``), compiled (:func:`compile_model`), fitted with early stopping on a validation part
carved by file, never by window (:func:`split_files`), several times for an ensemble
(:func:`members`, :func:`ensemble_model`), with a progress bar while loading
(:func:`tympan.data.loading.progress_bar`), and saved atomically (:func:`save`).  The shape is
Keras's own: one ``fit`` for every model, the task supplies the objective (SpeechBrain's
``compute_objectives``).

Keras is imported inside the functions that need it, so ``import tympan.pipeline`` stays free
of it (commands that never build a model start fast).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tympan.errors import ArtifactError, DatasetError, ParameterError
from tympan.pipeline.artifact import Artifact, load_artifact, save_artifact
from tympan.pipeline.config import PipelineConfig, TrainConfig
from tympan.pipeline.task import Task

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


# ------------------------------------------------------------------------------ pieces
def seed_everything(seed: int) -> None:
    """Seed Python, numpy and the backend (``keras.utils.set_random_seed``)."""
    import keras

    keras.utils.set_random_seed(int(seed))


def make_optimizer(name: str, learning_rate):
    """The Keras optimizer ``name`` (``TrainConfig.optimizer``) at ``learning_rate`` (a number
    or a Keras schedule)."""
    import keras

    optimizers = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
                  "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
    if name not in optimizers:
        raise ParameterError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    return optimizers[name](learning_rate=learning_rate)


def cosine_decay(learning_rate: float, steps: int):
    """The rate decayed along a cosine to 5 % of ``learning_rate`` over ``steps`` steps (the
    schedule of the audio-out tasks: docs/autoencoder.md, docs/separation.md)."""
    import keras

    return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, int(steps)),
                                                  alpha=0.05)


def class_weights(y, n_classes: int) -> dict[int, float]:
    """Inverse class frequency, ``n / (n_classes * count)`` for every class present in ``y``:
    the loss weights of ``TrainConfig.class_weight``."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    return {i: float(len(y) / (n_classes * c)) for i, c in enumerate(counts) if c}


def history_dict(history) -> dict[str, list[float]]:
    """A Keras ``History`` (or its dict) as plain floats, ready for ``history.json``."""
    items = history.history if hasattr(history, "history") else history
    return {k: [float(x) for x in vals] for k, vals in items.items()}


# ------------------------------------------------------------------------------ model
def resolve_config(config: PipelineConfig) -> PipelineConfig:
    """Fill every default of the feature recipe and the model parameters, so that
    ``pipeline.json`` records exactly what was used."""
    from tympan import models

    if not config.audio.resolved or not config.model:
        raise ParameterError(f"resolve_config needs the sample rate, duration and model chosen, got "
                             f"sr={config.audio.sr!r}, duration={config.audio.duration!r}, "
                             f"model={config.model!r} (pipeline.train chooses them from the data)")
    name = config.model["name"]
    params = models.resolve_params(name, {k: val for k, val in config.model.items() if k != "name"})
    features = models.model_features(name, config.features, sr=config.audio.sr)
    return dataclasses.replace(config, features=features, model={"name": name, **params})


def model_params(config: PipelineConfig) -> dict:
    """The model's parameters of ``config`` (its ``model`` without the ``name``)."""
    return {k: val for k, val in config.model.items() if k != "name"}


def build(config: PipelineConfig, *, n_classes: int | None = None, start: Artifact | None = None):
    """Seed with ``config.training.seed`` and build the registered model of ``config``
    (resolved); with ``start`` (an artifact being continued) its weights are copied in."""
    from tympan import models

    seed_everything(config.training.seed)
    audio = config.audio
    kwargs = {} if n_classes is None else {"n_classes": n_classes}
    model = models.build_model(config.model["name"], input_samples=audio.samples, sr=audio.sr,
                               features=config.features, **kwargs, **model_params(config))
    if start is not None:
        try:
            model.set_weights(start.model.get_weights())
        except ValueError as exc:
            raise ArtifactError(f"cannot continue from {start.path or 'init'}: its weights do not "
                                f"fit the model built from its own recipe ({exc})") from None
    return model


def compile_model(model, training: TrainConfig | None = None, *, loss, metrics=None,
                  weighted_metrics=None, learning_rate=None, optimizer: str | None = None) -> None:
    """Compile ``model`` with the optimizer of ``training`` (or ``optimizer``) at
    ``learning_rate`` (a number or schedule; default ``training.learning_rate``)."""
    training = training or TrainConfig()
    rate = training.learning_rate if learning_rate is None else learning_rate
    kwargs = {}
    if metrics is not None:
        kwargs["metrics"] = list(metrics)
    if weighted_metrics is not None:
        kwargs["weighted_metrics"] = list(weighted_metrics)
    model.compile(optimizer=make_optimizer(optimizer or training.optimizer, rate), loss=loss,
                  **kwargs)


def fit_model(model, x, y=None, *, epochs: int, batch_size: int | None = None, validation=None,
        patience: int | None = None, sample_weight=None, class_weight=None,
        shuffle: bool = True, verbose=1) -> dict[str, list[float]]:
    """Fit the compiled ``model``: the one call of Keras ``fit`` in tympan.

    ``x`` is an array (with targets ``y``) or a ``keras.utils.PyDataset`` (then ``y`` and
    ``batch_size`` stay None; :class:`tympan.pipeline.streaming.ClipStream`).  ``validation``
    (a tuple of arrays or a PyDataset, or None / empty) drives early stopping with
    ``patience`` epochs on the validation loss, keeping the best weights.  Inside
    :func:`distributed` over ``n`` devices, arrays are cut to a multiple of ``n`` examples
    (at most ``n - 1`` left out), so that every batch splits evenly over the devices.
    Returns the history as plain floats."""
    import keras

    if isinstance(validation, keras.utils.PyDataset):
        has_val = len(validation) > 0
    else:
        has_val = validation is not None and len(validation[0]) > 0
    callbacks = []
    if has_val and patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience),
                                                       restore_best_weights=True))
    n = device_count()
    if n > 1 and not isinstance(x, keras.utils.PyDataset):
        x, y, sample_weight = (None if a is None else a[: len(a) - len(a) % n]
                               for a in (x, y, sample_weight))
        if has_val and not isinstance(validation, keras.utils.PyDataset):
            validation = tuple(a[: len(a) - len(a) % n] for a in validation)
            has_val = len(validation[0]) > 0
    kwargs = {}
    if batch_size is not None:
        kwargs["batch_size"] = int(batch_size)
    if sample_weight is not None:
        kwargs["sample_weight"] = sample_weight
    # a PyDataset shuffles its own examples (a ClipStream: a seeded new order each epoch)
    shuffle = shuffle and not isinstance(x, keras.utils.PyDataset)
    hist = model.fit(x, y, validation_data=validation if has_val else None, epochs=int(epochs),
                     shuffle=shuffle, callbacks=callbacks, class_weight=class_weight,
                     verbose=verbose, **kwargs)
    return history_dict(hist)


# ------------------------------------------------------------------------------ devices
#: The environment variables of a multi-host launch (``keras.distribution.initialize``):
#: the coordinator's ``host:port`` (or every process's, comma-separated), the number of
#: processes, this process's index.
MULTI_HOST_ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                  "KERAS_DISTRIBUTION_PROCESS_ID")


def device_count() -> int:
    """Devices the current ``keras.distribution`` splits each batch over (1 without one)."""
    import keras

    dist = keras.distribution.distribution()
    if not isinstance(dist, keras.distribution.DataParallel):
        return 1
    return int(np.asarray(dist.device_mesh.devices).size)


def process_shard() -> tuple[int, int]:
    """``(index, count)`` of this process among the processes of a multi-host run (jax's
    ``process_index``, ``process_count``); ``(0, 1)`` in a run of one process."""
    import keras

    if keras.backend.backend() != "jax":
        return 0, 1
    import jax

    return int(jax.process_index()), int(jax.process_count())


def _start_multi_host() -> None:
    """``keras.distribution.initialize()`` (``jax.distributed.initialize``) once, when the
    variables of :data:`MULTI_HOST_ENV` are set."""
    import keras

    if not os.environ.get(MULTI_HOST_ENV[0]) or getattr(_start_multi_host, "done", False):
        return
    keras.distribution.initialize()
    _start_multi_host.done = True


@contextlib.contextmanager
def distributed(training: TrainConfig) -> Iterator[int]:
    """Build and fit inside this for data-parallel training over ``training.devices``
    (``keras.distribution.DataParallel``, jax backend): the variables are replicated on every
    device and each batch is split between them.  Gives the number of devices (1 with
    ``devices=None``: nothing changes).  ``batch_size`` must be a multiple of it; another
    backend, more devices than are visible, are ParameterErrors.  With the variables of
    :data:`MULTI_HOST_ENV` set, ``keras.distribution.initialize()`` starts the multi-host run
    first (docs/scale.md)."""
    if training.devices is None:
        yield 1
        return
    import keras

    if keras.backend.backend() != "jax":
        raise ParameterError(f"devices={training.devices!r} (--devices) needs the jax backend, "
                             f"Keras runs on {keras.backend.backend()!r} (set KERAS_BACKEND=jax)")
    _start_multi_host()
    visible = keras.distribution.list_devices()
    n = len(visible) if training.devices == "all" else int(training.devices)
    if n > len(visible):
        raise ParameterError(f"devices={training.devices!r} (--devices) asks for more devices than "
                             f"the {len(visible)} visible: {', '.join(map(str, visible))}")
    if training.batch_size % n:
        raise ParameterError(f"batch_size {training.batch_size} must be a multiple of the {n} "
                             f"devices of devices={training.devices!r} (--devices): each device "
                             "takes an equal part of every batch")
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=visible[:n]))
    try:
        yield n
    finally:
        keras.distribution.set_distribution(previous)


# ------------------------------------------------------------------------------ splits
def split_files(files: list, test_size: float, seed: int, *, what: str = "test_size") -> tuple[list, list]:
    """``(kept, held_out)``: ``test_size`` of ``files`` held out whole (at least one when
    ``test_size > 0`` and there are two or more), seeded; both sorted.  What the audio tasks
    hold out for testing and for validation: windows of one file never land on both sides."""
    if not 0.0 <= test_size < 1.0:
        raise ParameterError(f"{what} must be in [0, 1), got {test_size!r}")
    order = np.random.default_rng(seed).permutation(len(files))
    n_out = round(test_size * len(files))
    if test_size > 0 and n_out == 0 and len(files) > 1:
        n_out = 1
    held = sorted(files[i] for i in order[:n_out])
    kept = sorted(files[i] for i in order[n_out:])
    if not kept:
        raise DatasetError(f"no files left to train on ({len(files)} found, {what}={test_size})")
    return kept, held


# ------------------------------------------------------------------------------ continue
def continued(init, config: PipelineConfig | None, task: Task) -> tuple[Artifact, PipelineConfig]:
    """``(start, config)`` of a run continuing the artifact ``init`` (a folder or an Artifact)
    of ``task``: its model, audio and features, ``config``'s training (``init``'s when
    ``config`` is None).  An artifact of another task is an ArtifactError; an ensemble is
    refused (continue each member's own artifact)."""
    start = load(init, task)
    if "members" in start.config.model or start.config.training.ensemble > 1:
        raise ParameterError(f"{start.path or 'init'} is an ensemble of {task.kind}s; continue "
                             "training each member's own artifact, then combine them again")
    training = start.config.training if config is None else config.training
    return start, dataclasses.replace(start.config, model=dict(start.config.model),
                                      training=training)


def epochs_before(start: Artifact | None) -> int:
    """Epochs the artifact ``start`` was trained for, over all its runs (0 without one)."""
    if start is None:
        return 0
    return int(start.metrics.get("epochs_total", start.metrics.get("epochs_run", 0)))


def record_continuation(start: Artifact | None, metrics: dict, history: dict) -> dict:
    """Add ``epochs_total`` (and ``init``: where the run started) to ``metrics``; returns the
    history of every run, ``start``'s first."""
    done = epochs_before(start)
    metrics["epochs_total"] = done + int(metrics.get("epochs_run", 0))
    if start is None:
        return history
    metrics["init"] = {"path": None if start.path is None else os.fspath(start.path),
                       "epochs": done, "train_seconds": start.metrics.get("train_seconds")}
    return {k: [*start.history.get(k, []), *vals] for k, vals in history.items()}


# ------------------------------------------------------------------------------ ensembles
def member_configs(config: PipelineConfig) -> list[PipelineConfig]:
    """The configs of ``config.training.ensemble`` members: member ``k`` with the seed
    ``seed + k`` and ``ensemble=1`` (``[config]`` itself when there is one)."""
    t = config.training
    if t.ensemble == 1:
        return [config]
    return [dataclasses.replace(config, training=dataclasses.replace(t, seed=t.seed + k, ensemble=1))
            for k in range(t.ensemble)]


def members(config: PipelineConfig, train_one: Callable[[PipelineConfig], Any]) -> list:
    """``train_one`` called on every member config (:func:`member_configs`), in order."""
    return [train_one(member) for member in member_configs(config)]


def ensemble_model(models_, input_samples: int, *, output_name: str = "probabilities"):
    """One model that averages the outputs of ``models_`` (waveform models, nested under the
    names ``member<k>``): the probabilities of classifiers, what ``TrainConfig.ensemble``
    saves, or the sources of separators (:func:`tympan.pipeline.combine_separators`)."""
    import keras

    from tympan import models

    inputs = keras.Input((input_samples,), name="waveform")
    outputs = []
    for k, member in enumerate(models_):
        member.name = models.member_name(k)
        outputs.append(member(inputs))
    averaged = keras.layers.Average(dtype="float32", name=output_name)(outputs)
    return keras.Model(inputs, averaged, name=f"ensemble_of_{len(models_)}")


# ------------------------------------------------------------------------------ save, load
def load(artifact, task: Task | None = None) -> Artifact:
    """``artifact`` itself or the one loaded from its folder
    (:func:`tympan.pipeline.artifact.load_artifact`), checked to be of ``task`` when given."""
    art = artifact if isinstance(artifact, Artifact) else load_artifact(artifact)
    return art if task is None else task.check(art)


def save(artifact: Artifact, out, *, overwrite: bool = False) -> Artifact:
    """Write ``artifact`` to ``out`` atomically (:func:`tympan.pipeline.artifact.save_artifact`)
    when ``out`` is given; returns the artifact."""
    if out is not None:
        save_artifact(artifact, Path(out), overwrite=overwrite)
    return artifact


__all__ = [
    "MULTI_HOST_ENV",
    "OPTIMIZERS",
    "build",
    "class_weights",
    "compile_model",
    "continued",
    "cosine_decay",
    "device_count",
    "distributed",
    "ensemble_model",
    "epochs_before",
    "fit_model",
    "history_dict",
    "load",
    "make_optimizer",
    "member_configs",
    "members",
    "model_params",
    "process_shard",
    "record_continuation",
    "resolve_config",
    "save",
    "seed_everything",
    "split_files",
]
