"""Train a classifier from a dataset and a recipe, and return (optionally save) the artifact.

The classification task's side of training: the dataset, the split, the validation part
carved from the training items (by item, that is by file), ensembles and self-training on
the test part; building, compiling and fitting go through :mod:`tympan.pipeline.driver`
with the objectives of :data:`tympan.pipeline.classify.CLASSIFICATION`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings

import numpy as np

from tympan import _validate as v
from tympan import data as tdata
from tympan.errors import DatasetError, InputWarning, ParameterError
from tympan.pipeline import driver, group_norm
from tympan.pipeline.artifact import Artifact, check_destination, runtime_info
from tympan.pipeline.choices import announce, resolve_for_data, with_split_reason
from tympan.pipeline.classify import CLASSIFICATION, flagged_files, load_clips_caught
from tympan.pipeline.config import PipelineConfig
from tympan.pipeline.driver import resolve_config
from tympan.pipeline.metrics import Report
from tympan.pipeline.self_training import self_train
from tympan.pipeline.sources import as_dataset
from tympan.pipeline.task import get_task


def in_memory_mb(n_clips: int, samples: int) -> float:
    """MB that ``n_clips`` clips of ``samples`` samples take as one float32 array (what
    :func:`tympan.data.load_clips` allocates)."""
    return n_clips * samples * 4 / 1e6


def streaming_wanted(training, n_clips: int, samples: int) -> bool:
    """Whether ``training`` (a TrainConfig) streams a dataset of ``n_clips`` clips of
    ``samples`` samples (:mod:`tympan.pipeline.streaming`): ``stream_above_mb`` is not None
    and the clips would take more than it as arrays (0: always)."""
    limit = training.stream_above_mb
    return limit is not None and (limit == 0 or in_memory_mb(n_clips, samples) > limit)


def fit_features(config: PipelineConfig, X, row, train_ids) -> PipelineConfig:
    """``config`` with the feature defaults that depend on the data (the chroma ``tuning``)
    estimated on the training clips (:func:`tympan.models.fit_feature_params`)."""
    from tympan import models

    rows = row[np.asarray(train_ids, dtype=int)]
    features = models.fit_feature_params(config.features, X[rows[rows >= 0]], sr=config.audio.sr)
    return dataclasses.replace(config, features=features)


def classifier_config(config: PipelineConfig | None) -> PipelineConfig:
    """:func:`resolve_config` for the classifier trainers; a model of another task (the
    autoencoder, the separator) is refused with the trainer to use instead."""

    config = config or PipelineConfig()
    if not config.model:
        raise ParameterError("the model is not chosen yet (an empty model is chosen from the "
                             "training data): use pipeline.train or prepare")
    _check_classifier(config.model["name"])
    return resolve_config(config)


def _check_classifier(name: str) -> None:
    from tympan import models

    task = models.model_task(name)
    if task != "classification":
        raise ParameterError(f"model {name!r} is a {task} model, not a classifier: "
                             f"train it with {get_task(task).trained_with or 'its own trainer'}")


def _validation_part(dataset, train_idx: np.ndarray, size: float, seed: int,
                     method: str = "stratified"):
    """Carve a validation part from the training items, for early stopping.

    ``"stratified"`` (default) takes it from the same speakers/groups as training; ``"group"``
    holds out whole groups.  Measured on FSDD (docs/results.md): with one held-out speaker as
    validation, early stopping follows that one voice's loss and stops after a few epochs, so
    the stratified part trains better models for new speakers too.
    """
    if size <= 0:
        return train_idx, np.array([], dtype=int)
    sub = dataset.subset(train_idx)
    if method == "group" and (sub.groups() is None or len(set(sub.groups())) <= 2):
        method = "stratified"
    try:
        part = tdata.split(sub, method=method, test_size=size, seed=seed)
    except DatasetError as exc:
        warnings.warn(f"no validation split ({exc}); training without early stopping",
                      stacklevel=3)
        return train_idx, np.array([], dtype=int)
    return train_idx[part.train], train_idx[part.test]


def fit_arrays(config: PipelineConfig, labels, X_train, y_train, X_val=None, y_val=None, *,
               groups_train=None, groups_val=None, start: Artifact | None = None, verbose=1):
    """Build, adapt and fit the model of ``config`` (already resolved) on arrays, through the
    driver (:mod:`tympan.pipeline.driver`) with the classification task's objectives; with
    ``start`` (``init=``) the model starts from that artifact's weights; over
    ``config.training.devices`` devices (:func:`tympan.pipeline.driver.distributed`).

    With ``config.training.feature_norm == "group"`` the groups (speakers) of the training and
    validation clips are needed: each group's features are normalised by its own statistics
    (:mod:`tympan.pipeline.group_norm`).  Returns ``(model, history_dict)``.
    """
    with driver.distributed(config.training):
        return _fit_arrays(config, labels, X_train, y_train, X_val, y_val, groups_train=groups_train,
                           groups_val=groups_val, start=start, verbose=verbose)


def _fit_arrays(config, labels, X_train, y_train, X_val, y_val, *, groups_train, groups_val, start,
                verbose):
    from tympan import models

    t = config.training
    model = driver.build(config, n_classes=len(labels), start=start)
    has_val = X_val is not None and len(X_val) > 0
    X_train, y_train = CLASSIFICATION.examples((X_train, y_train), config)
    if has_val:
        X_val, y_val = CLASSIFICATION.examples((X_val, y_val), config)
    class_weight = driver.class_weights(y_train, len(labels)) if t.class_weight else None
    loss, metrics = CLASSIFICATION.loss(config), CLASSIFICATION.metrics(config)
    if t.feature_norm == "group":
        if groups_train is None or any(g is None for g in groups_train):
            raise DatasetError("feature_norm='group' normalises each speaker by their own "
                               "statistics, so every clip needs a group (speaker): use a dataset "
                               "with groups (e.g. --pattern fsdd, a group column in the CSV)")
        history = group_norm.fit_group_normalized(
            model, X_train, y_train, np.asarray(groups_train),
            X_val if has_val else None, y_val, None if not has_val else np.asarray(groups_val),
            training=t, loss=loss, metrics=metrics, class_weight=class_weight, verbose=verbose)
        return model, history
    models.adapt_normalization(model, X_train)
    driver.compile_model(model, t, loss=loss, metrics=metrics)
    history = driver.fit_model(model, X_train, y_train, validation=(X_val, y_val) if has_val else None,
                         epochs=t.epochs, batch_size=t.batch_size, patience=t.early_stopping,
                         class_weight=class_weight, verbose=verbose)
    return model, history


def load_indexed(dataset, audio, *, on_error: str, progress: bool):
    """Load every clip of ``dataset`` once; returns ``(X, row)`` where ``X[row[i]]`` is item
    ``i`` and ``row[i] == -1`` marks a file skipped as unreadable."""
    X, kept = tdata.load_clips(dataset, sr=audio.sr, duration=audio.duration, pad=audio.pad,
                               crop=audio.crop, on_error=on_error, progress=progress)
    return X, _rows(len(dataset), kept)


def _rows(n: int, kept) -> np.ndarray:
    row = np.full(n, -1)
    row[kept] = np.arange(len(kept))
    return row


def load_recording(dataset, audio, choices, *, on_error: str, progress: bool, report=None):
    """:func:`load_indexed`, with the files that open but fail to decode (skipped with
    ``on_error="skip"``) added to ``choices.unreadable`` and reported (through ``report``, else
    as the loader's warnings).  Returns ``(X, row, choices)``."""
    X, kept, caught, flags = load_clips_caught(dataset, audio, on_error=on_error, progress=progress)
    row = _rows(len(dataset), kept)
    skipped = tuple(str(w.message) for w in caught)
    if report is None:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    silent = [file for file, f in flagged_files(dataset, kept, flags) if "silent" in f]
    if silent:  # kept (the data are the user's), but said: a class of silent clips teaches nothing
        warnings.warn(f"{len(silent)} of {len(kept)} clips hold no signal (digital silence or a "
                      f"constant), e.g. '{silent[0]}'; they are trained on as they are",
                      InputWarning, stacklevel=2)
    if skipped:
        choices = dataclasses.replace(choices, unreadable=choices.unreadable + skipped)
        if report is not None:
            report(f"left out {len(skipped)} file(s) that failed to decode:")
            for line in skipped:
                report(f"  {line}")
    return X, row, choices


def fit_and_test(config: PipelineConfig, dataset, X, row, train_ids, test_ids, *,
                 start: Artifact | None = None, verbose=1):
    """One training run on item indices: drop skipped items, carve the validation part, fit,
    and test.  Returns ``(model, history, report or None, counts)``.

    With ``config.training.ensemble = n > 1`` the model is trained ``n`` times, member ``k``
    with the seed ``seed + k`` and its own validation part (so the members see slightly
    different data), and they are combined by :func:`tympan.pipeline.driver.ensemble_model`;
    the history is the first member's.  ``start``: the artifact a single model continues.
    With ``config.training.self_training`` each (member) model is then self-trained on the
    unlabelled test clips (:mod:`tympan.pipeline.self_training`) before it is tested."""
    train_ids, test_ids = (np.asarray(i, dtype=int) for i in (train_ids, test_ids))
    train_ids, test_ids = train_ids[row[train_ids] >= 0], test_ids[row[test_ids] >= 0]
    t = config.training
    targets = dataset.targets()
    by_group = t.feature_norm == "group"
    # (only when needed: groups() refuses datasets where some clips lack one)
    groups = dataset.groups() if by_group else None
    groups = None if groups is None else np.asarray(groups, dtype=object)
    members, member_epochs, history, sizes, self_trained = [], [], {}, None, []
    for k, member in enumerate(driver.member_configs(config)):
        fit_ids, val_ids = _validation_part(dataset, train_ids, t.validation_size,
                                            member.training.seed, t.validation)
        if len(fit_ids) == 0:
            raise DatasetError("no training items left after the split (and skipped files)")
        model, hist = fit_arrays(
            member, dataset.labels, X[row[fit_ids]], targets[fit_ids], X[row[val_ids]],
            targets[val_ids], groups_train=None if groups is None else groups[fit_ids],
            groups_val=None if groups is None else groups[val_ids], start=start, verbose=verbose)
        if t.self_training and len(test_ids):  # on the unlabelled test clips (enrolment)
            labelled = np.concatenate([fit_ids, val_ids])
            self_trained.append(self_train(
                model, X[row[labelled]], targets[labelled], groups[labelled], X[row[test_ids]],
                groups[test_ids], rounds=t.self_training, threshold=t.pseudo_label_threshold,
                class_weight=t.class_weight, seed=member.training.seed))
        elif t.self_training and k == 0:
            warnings.warn("self_training is set but there is no test part to self-train on: "
                          "the model is saved as trained", UserWarning, stacklevel=3)
        members.append(model)
        member_epochs.append(len(hist.get("loss", [])))
        history = history or hist
        sizes = sizes or (len(fit_ids), len(val_ids))
    if t.ensemble > 1:
        model = driver.ensemble_model(members, X.shape[1])
    report = None
    if len(test_ids):
        if by_group:  # each test speaker adapted on their own (unlabelled) test clips
            probs = group_norm.predict_per_group(model, X[row[test_ids]], groups[test_ids])
        else:
            probs = np.asarray(model.predict(X[row[test_ids]], batch_size=128, verbose=0))
        report = Report.from_predictions(targets[test_ids], probs.argmax(axis=1), dataset.labels)
    # the first member's figures (like the history); each member draws its own validation part
    counts = {"n_train": sizes[0], "n_val": sizes[1], "n_test": len(test_ids),
              "epochs_run": member_epochs[0]}
    if t.ensemble > 1:
        counts["members_epochs"] = member_epochs
    if by_group:
        counts["test_normalization"] = "per test group, from its own clips"
    if self_trained:  # pseudo-labelled test clips per round (of each member)
        counts["self_training"] = self_trained[0] if len(self_trained) == 1 else self_trained
    return model, history, report, counts


def fit_and_test_streamed(config: PipelineConfig, dataset, train_ids, test_ids, *,
                          on_error: str = "skip", start: Artifact | None = None, verbose=1):
    """:func:`fit_and_test` with the clips streamed from their files, never all in memory
    (:class:`tympan.pipeline.streaming.ClipStream`): the training part in a new seeded order
    each epoch, the validation part (early stopping) and the test part read in order, batch by
    batch.  The feature normalisation is fitted on one pass over the training stream (the
    statistics of the in-memory path).  Files that fail to decode are skipped (``on_error``)
    with the loader's DatasetWarning, as in memory.  ``feature_norm="group"`` and
    ``self_training`` need every clip of a speaker at once, so they are refused.  Returns
    ``(model, history, report or None, counts)``."""
    from tympan import models
    from tympan.data.loading import crop_seeds
    from tympan.pipeline.streaming import ClipStream

    t = config.training
    if t.feature_norm == "group" or t.self_training:
        raise ParameterError("streamed training (--stream, training.stream_above_mb) cannot take "
                             "feature_norm='group' or self_training, which hold every clip of a "
                             "speaker at once: train in memory (stream_above_mb=None)")
    train_ids, test_ids = (np.asarray(i, dtype=int) for i in (train_ids, test_ids))
    targets = dataset.targets()
    seeds = crop_seeds(len(dataset), config.audio.crop)

    def stream(ids, *, shuffle=False, seed=0, multiple=1, batch_size=t.batch_size, shard=(0, 1)):
        return ClipStream([dataset.items[i] for i in ids], targets[ids], config.audio,
                          batch_size=batch_size, shuffle=shuffle, seed=seed,
                          seeds=[seeds[i] for i in ids], on_error=on_error, multiple=multiple,
                          workers=t.stream_workers, numbers=ids, shard=shard)

    loss, metrics = CLASSIFICATION.loss(config), CLASSIFICATION.metrics(config)
    members, member_epochs, history, sizes = [], [], {}, None
    for member in driver.member_configs(config):
        fit_ids, val_ids = _validation_part(dataset, train_ids, t.validation_size,
                                            member.training.seed, t.validation)
        with driver.distributed(member.training) as n, contextlib.ExitStack() as opened:
            # several hosts: each process reads its share of every batch, on its own devices
            shard = driver.process_shard() if n > 1 else (0, 1)
            local = max(1, n // shard[1])
            train = opened.enter_context(contextlib.closing(
                stream(fit_ids, shuffle=True, seed=member.training.seed, multiple=local, shard=shard)))
            val = (opened.enter_context(contextlib.closing(stream(val_ids, multiple=local, shard=shard)))
                   if len(val_ids) >= n else None)
            model = driver.build(member, n_classes=len(dataset.labels), start=start)
            models.adapt_normalization(model, train.waveforms())
            driver.compile_model(model, t, loss=loss, metrics=metrics)
            class_weight = (driver.class_weights(targets[fit_ids], len(dataset.labels))
                            if t.class_weight else None)
            hist = driver.fit_model(model, train, validation=val, epochs=t.epochs,
                                    patience=t.early_stopping, class_weight=class_weight,
                                    verbose=verbose)
        members.append(model)
        member_epochs.append(len(hist.get("loss", [])))
        history = history or hist
        sizes = sizes or (len(fit_ids) - len(train.failures),
                          len(val_ids) - (len(val.failures) if val is not None else 0))
    if t.ensemble > 1:
        model = driver.ensemble_model(members, config.audio.samples)
    report, n_test = None, 0
    if len(test_ids):
        true, predicted = [], []
        with contextlib.closing(stream(test_ids, batch_size=128)) as test:
            for k in range(len(test)):
                x, y = test[k]
                predicted.append(np.asarray(model.predict_on_batch(x)).argmax(axis=1))
                true.append(y)
        n_test = int(sum(len(y) for y in true))
        report = Report.from_predictions(np.concatenate(true), np.concatenate(predicted),
                                         dataset.labels)
    counts = {"n_train": sizes[0], "n_val": sizes[1], "n_test": n_test,
              "epochs_run": member_epochs[0], "streamed": True}
    if t.ensemble > 1:
        counts["members_epochs"] = member_epochs
    return model, history, report, counts


def _train_streamed(config, dataset, split, choices, *, on_error, start, verbose, report):
    """The streamed run of :func:`train`: the features fitted on the first training clips,
    :func:`fit_and_test_streamed`, the files skipped added to ``choices.unreadable`` and
    reported as :func:`load_recording` does.  Returns ``(config, model, history, report,
    metrics, choices)``."""
    if start is None:  # the chroma tuning, if any, from the first 256 training clips
        first = np.asarray(split.train[:256], dtype=int)
        with warnings.catch_warnings():  # the stream names the files it skips
            warnings.simplefilter("ignore", tdata.DatasetWarning)
            X, _ = tdata.load_clips(dataset.subset(first), sr=config.audio.sr,
                                    duration=config.audio.duration, pad=config.audio.pad,
                                    crop=config.audio.crop, on_error="skip", progress=False)
        config = fit_features(config, X, np.arange(len(X)), np.arange(len(X)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", tdata.DatasetWarning)
        model, history, test_report, metrics = fit_and_test_streamed(
            config, dataset, split.train, split.test, on_error=on_error, start=start,
            verbose=verbose)
    skipped = [str(w.message) for w in caught if issubclass(w.category, tdata.DatasetWarning)]
    for w in caught:  # shown, but for the skipped files when they are reported
        if report is None or not issubclass(w.category, tdata.DatasetWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if skipped:
        choices = dataclasses.replace(choices, unreadable=choices.unreadable + tuple(skipped))
        if report is not None:
            report(f"left out {len(skipped)} file(s) that failed to decode:")
            for line in skipped:
                report(f"  {line}")
    return config, model, history, test_report, metrics, choices


def prepare(dataset, config: PipelineConfig | None, *, discovery: dict | None = None,
            keep_items: bool = False, on_error: str = "skip", warn: bool = True):
    """The dataset and the resolved classifier config for training: what the config leaves to
    the data is chosen from it (:func:`tympan.pipeline.choices.resolve_for_data`) and the files
    that cannot be opened are left out (unless ``keep_items``: item indices must not shift).
    Returns ``(dataset, config, choices)``."""
    dataset = as_dataset(dataset, discovery)
    if len(dataset) == 0:
        raise DatasetError("the dataset is empty: nothing to train on")
    config = config or PipelineConfig()
    if config.model:  # a model of another task is refused before any file is read
        _check_classifier(config.model["name"])
    v.choice("on_error", on_error, ("skip", "raise"))
    if len(dataset.labels) < 2:
        raise DatasetError(f"the dataset in '{dataset.root}' has one class ({dataset.labels[0]!r}): "
                           "a classifier needs at least 2")
    # with keep_items the load names unreadable files itself (on_error), so no warning here
    config, kept, choices = resolve_for_data(config, dataset, on_error=on_error,
                                             warn=warn and not keep_items)
    if keep_items:  # the load names (or raises) the unreadable files, at their own indices
        choices = dataclasses.replace(choices, unreadable=())
    return (dataset if keep_items else kept), classifier_config(config), choices


def train(
    dataset,
    config: PipelineConfig | None = None,
    *,
    discovery: dict | None = None,
    split: str | tdata.Split = "auto",
    split_options: dict | None = None,
    out=None,
    overwrite: bool = False,
    on_error: str = "skip",
    verbose: int = 1,
    progress: bool = True,
    report=None,
    init=None,
) -> Artifact:
    """Train the recipe ``config`` on ``dataset`` and evaluate it on the held-out part.

    ``dataset`` is a :class:`tympan.data.Dataset` or a folder (or CSV root) found with
    ``discovery`` options, e.g. ``{"labels_from": "regex", "pattern": "fsdd"}``.

    What ``config`` leaves unset is chosen from the data and recorded in ``pipeline.json``'s
    ``"chosen"``: the sample rate and clip duration (``AudioConfig(sr=None, duration=None)``,
    the default), the model and features (an empty ``model``, the default).

    ``split`` is a :class:`tympan.data.Split` or a method name for :func:`tympan.data.split`:
    ``"auto"`` (the default: the data's own folds, else whole groups such as speakers, else
    stratified), ``"group"``, ``"stratified"``, ``"fold"``, ``"pattern"``, with
    ``split_options`` (e.g. ``{"test_size": 0.2}`` or ``{"test_pattern": r"_[0-4]\\.wav$"}``).
    Files that cannot be opened are left out, each named; ``on_error="skip"`` (the default)
    also skips files that open but fail to decode, with a warning naming each, ``"raise"``
    stops at the first.  ``report`` (e.g. ``print``) receives one line per choice made from
    the data.  With ``out`` the artifact folder is written atomically (an existing artifact is
    replaced only with ``overwrite=True``; anything else there is never touched).

    ``init`` (an artifact or its folder) continues a classifier: its model, audio and features
    recipe and weights, ``config``'s training settings (its own when ``config`` is None); the
    dataset must have the same labels.  ``metrics["epochs_total"]`` counts the epochs of both
    runs and the history is theirs together.
    """
    if out is not None:
        check_destination(out, overwrite=overwrite)  # fail before hours of training
    start = None
    if init is not None:
        start, config = driver.continued(init, config, CLASSIFICATION)
        if config.training.ensemble > 1:
            raise ParameterError("init continues one classifier; with training.ensemble > 1 "
                                 "continue each member's own artifact")
    given_split = isinstance(split, tdata.Split)
    dataset, config, choices = prepare(dataset, config, discovery=discovery,
                                       keep_items=given_split, on_error=on_error,
                                       warn=report is None)
    if start is not None and tuple(dataset.labels) != tuple(start.labels):
        raise DatasetError(f"init {start.path or ''} knows the labels {list(start.labels)}, the "
                           f"dataset has {list(dataset.labels)}: continue on data of the same classes")
    seed = config.training.seed
    if not isinstance(split, tdata.Split):
        split = tdata.split(dataset, method=split, seed=seed, **(split_options or {}))
    choices = with_split_reason(choices, split)
    announce(choices, report)
    if streaming_wanted(config.training, len(dataset), config.audio.samples):
        if report is not None:
            size = in_memory_mb(len(dataset), config.audio.samples)
            why = ("--stream" if config.training.stream_above_mb == 0 else
                   f"more than stream_above_mb={config.training.stream_above_mb:g}")
            report(f"streaming the clips from their files ({size:.0f} MB as arrays; {why})")
        config, model, history, test_report, metrics, choices = _train_streamed(
            config, dataset, split, choices, on_error=on_error, start=start, verbose=verbose,
            report=report)
    else:
        X, row, choices = load_recording(dataset, config.audio, choices, on_error=on_error,
                                         progress=progress, report=report)
        if start is None:  # a continued model keeps the features its weights were trained on
            config = fit_features(config, X, row, split.train)
        model, history, test_report, metrics = fit_and_test(config, dataset, X, row, split.train,
                                                            split.test, start=start,
                                                            verbose=verbose)
    if start is not None:
        history = driver.record_continuation(start, metrics, history)
    if test_report is not None:
        metrics["test"] = test_report.to_dict()
    split_record = split.to_json()
    if choices.unreadable and not given_split:
        split_record["items"] = ("indices of the files that could be opened, in discovery order; "
                                 "the files in chosen.unreadable were left out of training and test")
    artifact = Artifact(model=model, config=config, labels=dataset.labels, metrics=metrics,
                        split=split_record, history=history, info=runtime_info(),
                        chosen=choices.to_dict())
    return driver.save(artifact, out, overwrite=overwrite)
