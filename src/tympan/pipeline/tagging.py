"""Multi-label tagging (AudioSet / FSD50K style): a clip carries any number of labels.

A dataset's label holds the tags joined by ``;`` (``"dog;bark"``, a CSV label column); the
task splits them.  Any classifier of the registry is used with a sigmoid head: binary
cross-entropy, a threshold per tag chosen on the validation part (the one that maximises the
tag's F1; 0.5 for a tag without validation positives), recorded in ``pipeline.json``'s
``metrics.thresholds``; tested with mAP (mean average precision over tags) and micro/macro F1.
Prediction reuses the classifier's windowing (window probabilities averaged per file).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

import numpy as np

from tympan.errors import DatasetError, ParameterError
from tympan.pipeline import driver
from tympan.pipeline import train as classify_train
from tympan.pipeline.artifact import Artifact, check_destination, runtime_info
from tympan.pipeline.choices import announce, with_split_reason
from tympan.pipeline.classify import predict_labels
from tympan.pipeline.metrics import average_precision, best_thresholds, tagging_metrics
from tympan.pipeline.sources import as_dataset
from tympan.pipeline.task import Task, register_task

SEPARATOR = ";"


def split_tags(label: str) -> tuple[str, ...]:
    """The tags of one joined label (``"b; a;b"`` -> ``("a", "b")``)."""
    return tuple(sorted({t.strip() for t in str(label).split(SEPARATOR) if t.strip()}))


def multi_label(dataset) -> bool:
    """Whether any label of ``dataset`` joins several tags with ``;``."""
    return any(SEPARATOR in label for label in dataset.labels)


@dataclass(frozen=True)
class TagPrediction:
    """The tags of one input: ``labels`` above their thresholds, every tag's probability."""

    source: str
    labels: tuple[str, ...]
    probabilities: dict[str, float]
    duration: float | None
    error: str | None = None
    flags: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return {**asdict(self), "labels": list(self.labels), "flags": list(self.flags)}


@dataclass(frozen=True)
class TagReport:
    """:func:`tagging_metrics` of a tagger on a dataset, and the files it could not read."""

    metrics: dict
    failures: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict:
        return {**self.metrics, "failures": [{"file": f, "error": e} for f, e in self.failures]}

    def format(self) -> str:
        m = self.metrics
        lines = [f"{m['n']} clips: " + ", ".join(f"{k} {m[k]:.3f}" for k in ("mAP", "micro_f1", "macro_f1")
                                                if m[k] is not None)]
        return "\n".join(lines + [f"  AP {t:<12} {a:.3f}" for t, a in m["ap"].items() if a is not None])


def train_tagging(dataset, config=None, *, discovery=None, split="auto", split_options=None,
                  out=None, overwrite=False, on_error="skip", verbose=1, progress=True,
                  report=None, init=None) -> Artifact:
    """Train a tagger on ``dataset`` (``;``-joined labels); the arguments are those of
    :func:`tympan.pipeline.train`.  Returns (and with ``out`` saves) the artifact."""
    import keras

    from tympan import data as tdata
    from tympan import models

    if out is not None:
        check_destination(out, overwrite=overwrite)
    start = None
    if init is not None:
        start, config = driver.continued(init, config, TAGGING)
    dataset, config, choices = classify_train.prepare(dataset, config, discovery=discovery,
                                                      on_error=on_error, warn=report is None)
    tags = tuple(sorted({t for label in dataset.labels for t in split_tags(label)}))
    if start is not None and tags != tuple(start.labels):
        raise ParameterError(f"init knows the tags {list(start.labels)}, the data {list(tags)}")
    Y = np.array([[t in split_tags(it.label) for t in tags] for it in dataset.items])
    t = config.training
    if t.ensemble > 1 or t.feature_norm == "group":
        raise ParameterError("a tagger trains one model with dataset normalisation: set "
                             f"ensemble=1 and feature_norm='dataset', got {t.ensemble}, {t.feature_norm!r}")
    if not isinstance(split, tdata.Split):
        try:
            split = tdata.split(dataset, method=split, seed=t.seed, **(split_options or {}))
        except DatasetError:  # tag sets too rare to stratify: held out at random, by file
            if split != "auto":
                raise
            size = (split_options or {}).get("test_size", tdata.DEFAULT_TEST_SIZE)
            kept, held = driver.split_files(list(range(len(dataset))), size, t.seed)
            split = tdata.Split(kept, held, method="random", params={"test_size": size})
    announce(with_split_reason(choices, split), report)
    X, row, choices = classify_train.load_recording(dataset, config.audio, choices,
                                                    on_error=on_error, progress=progress, report=report)
    if start is None:
        config = classify_train.fit_features(config, X, row, split.train)
    train_ids = [int(i) for i in split.train if row[i] >= 0]
    test_ids = np.array([i for i in split.test if row[i] >= 0], dtype=int)
    fit_ids, val_ids = (np.array(p, dtype=int) for p in
                        driver.split_files(train_ids, t.validation_size, t.seed, what="validation_size"))
    model = driver.build(config, n_classes=len(tags), start=start)
    model.get_layer("probabilities").activation = keras.activations.get("sigmoid")
    Xf, Yf = TAGGING.examples((X[row[fit_ids]], Y[fit_ids]), config)
    val = TAGGING.examples((X[row[val_ids]], Y[val_ids]), config) if len(val_ids) else None
    if start is None:
        models.adapt_normalization(model, Xf)
    driver.compile_model(model, t, loss=TAGGING.loss(config), metrics=TAGGING.metrics(config))
    history = driver.fit_model(model, Xf, Yf, validation=val, epochs=t.epochs,
                               batch_size=t.batch_size, patience=t.early_stopping, verbose=verbose)
    if val is not None:
        thresholds = best_thresholds(Y[val_ids], model.predict(val[0], verbose=0))
    else:
        thresholds = np.full(len(tags), 0.5)
    metrics = {"n_train": len(fit_ids), "n_val": len(val_ids), "n_test": len(test_ids),
               "epochs_run": len(history.get("loss", [])),
               "thresholds": dict(zip(tags, map(float, thresholds), strict=True))}
    if len(test_ids):
        P = model.predict(X[row[test_ids]], batch_size=128, verbose=0)
        metrics["test"] = tagging_metrics(Y[test_ids], P, thresholds, tags)
    history = driver.record_continuation(start, metrics, history)
    artifact = Artifact(model=model, config=config, labels=tags, metrics=metrics,
                        split=split.to_json(), history=history, info=runtime_info(),
                        chosen=choices.to_dict(), task=TAGGING.name)
    return driver.save(artifact, out, overwrite=overwrite)


def train_any(dataset, config=None, *, task: str | None = None, discovery=None, **options) -> Artifact:
    """Train the task ``task`` (``"classification"`` or ``"tagging"``; None: tagging when a
    label joins tags with ``;``) with :func:`tympan.pipeline.train` or :func:`train_tagging`."""
    if task not in (None, "classification", TAGGING.name):
        raise ParameterError(f"task must be 'classification' or 'tagging', got {task!r}")
    if options.get("out") is not None:  # refused before the data is read
        check_destination(options["out"], overwrite=options.get("overwrite", False))
    dataset = as_dataset(dataset, discovery)
    if task == TAGGING.name or (task is None and multi_label(dataset)):
        if config is not None and config.training.stream_above_mb == 0:
            raise ParameterError("streamed training (--stream, stream_above_mb=0) trains "
                                 "classifiers; a tagger (several labels per clip) trains in memory")
        return train_tagging(dataset, config, **options)
    return classify_train.train(dataset, config, **options)


class TaggingTask(Task):
    """Any number of labels per clip: sigmoid outputs, binary cross-entropy, per-tag thresholds."""

    name = "tagging"
    kind = "tagger"
    output = "labels"
    trained_with = "pipeline.tagging.train_tagging (tympan train --task tagging)"
    applied_with = "tympan.pipeline.predict (tympan predict)"
    noun = "a tagger (several labels per clip)"
    needs = "tagging needs a tagger (tympan train --task tagging)"
    supports = frozenset({"init"})

    def loss(self, config):
        return "binary_crossentropy"

    def metrics(self, config):
        return ["binary_accuracy"]

    def examples(self, data, config):
        X, Y = data
        return np.asarray(X, np.float32), np.asarray(Y, np.float32)

    def run(self, artifact, source, *, combine=None, **options) -> list[TagPrediction]:
        """The tags of each input (:func:`tympan.pipeline.predict`'s arguments; windows are
        combined by their mean)."""
        art = driver.load(artifact, self)
        if combine not in (None, "mean"):
            raise ParameterError(f"combine must be 'mean' for a tagger, got {combine!r}")
        thresholds = art.metrics.get("thresholds", {})
        view = dataclasses.replace(art, task="classification")
        out = []
        for p in predict_labels(view, source, combine="mean", **options):
            tags = tuple(t for t in art.labels if p.ok and p.probabilities[t] >= thresholds.get(t, 0.5))
            out.append(TagPrediction(p.source, tags, p.probabilities, p.duration, p.error, p.flags))
        return out

    def evaluate(self, artifact, data, *, discovery=None, on_error="raise", progress=True,
                 batch_size=128, **_) -> TagReport:
        """mAP and micro/macro F1 of ``artifact`` on ``data`` (``;``-joined labels), at its
        thresholds (what :func:`tympan.pipeline.evaluate` gives for a tagger)."""
        art = driver.load(artifact, self)
        dataset = as_dataset(data, discovery)
        X, row = classify_train.load_indexed(dataset, art.config.audio, on_error=on_error,
                                             progress=progress)
        kept = np.flatnonzero(row >= 0)
        Y = np.array([[t in split_tags(dataset.items[i].label) for t in art.labels] for i in kept])
        P = art.model.predict(X[row[kept]], batch_size=batch_size, verbose=0)
        thresholds = [art.metrics.get("thresholds", {}).get(t, 0.5) for t in art.labels]
        failures = tuple((str(dataset.items[i].path), "could not be read") for i in np.flatnonzero(row < 0))
        return TagReport(tagging_metrics(Y, P, thresholds, art.labels), failures)

    def rows(self, result) -> list[dict]:
        return [{"source": result.source, "labels": SEPARATOR.join(result.labels),
                 "duration": result.duration, "error": result.error, "flags": ";".join(result.flags)}]


TAGGING = register_task(TaggingTask())

__all__ = ["SEPARATOR", "TAGGING", "TagPrediction", "TagReport", "TaggingTask", "average_precision",
           "best_thresholds", "multi_label", "split_tags", "tagging_metrics", "train_any",
           "train_tagging"]
