"""Evaluate an artifact on a dataset (the classification task's
:meth:`~tympan.pipeline.classify.ClassificationTask.evaluate`), and cross-validate a recipe."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from tympan import data as tdata
from tympan.errors import ParameterError
from tympan.pipeline.artifact import Artifact, load_artifact
from tympan.pipeline.choices import announce, with_split_reason
from tympan.pipeline.classify import CLASSIFICATION, EvaluationReport
from tympan.pipeline.config import PipelineConfig
from tympan.pipeline.metrics import Report
from tympan.pipeline.task import labels_task
from tympan.pipeline.train import fit_and_test, fit_features, load_recording, prepare


def evaluate(artifact, dataset, *, discovery: dict | None = None, on_error: str = "raise",
             progress: bool = True, batch_size: int = 128,
             adapt_per_group: bool | None = None) -> EvaluationReport:
    """Accuracy, macro-F1, per-class precision/recall and the confusion matrix of ``artifact``
    (an :class:`Artifact` or its folder) on ``dataset`` (a Dataset, or a path found with
    ``discovery`` options), clips fitted to the training duration as in training.

    on_error ``"raise"``: the first file that cannot be read raises its error (naming the file
    and the cause).  ``"skip"``: the report is made of the readable files and its ``failures``
    name each other one with its cause (``to_dict()["failures"]``); DatasetError when none is
    readable.

    ``adapt_per_group``: set the model's feature normalisation to each group's (speaker's) own
    statistics before predicting that group's clips (:mod:`tympan.pipeline.adaptation`).  By
    default (None) this is done for models trained with ``feature_norm="group"`` that have not
    been adapted to a speaker already, when the dataset has groups.
    """
    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    task = labels_task(artifact, CLASSIFICATION)  # a tagger's own task (registered by the package)
    return task.evaluate(artifact, dataset, discovery=discovery, on_error=on_error,
                         progress=progress, batch_size=batch_size, adapt_per_group=adapt_per_group)


def cross_validate(dataset, config: PipelineConfig | None = None, *,
                   discovery: dict | None = None,
                   method: str = "auto", n_splits: int = 5,
                   on_error: str = "skip", verbose: int = 0, progress: bool = True,
                   only: Sequence[int] | None = None,
                   on_fold: Callable[[dict], None] | None = None, report=None) -> dict:
    """Train and test one model per fold; returns per-fold and overall reports.

    ``method``: ``"auto"`` (the data's folds, else ``n_splits`` folds of whole groups, else
    stratified k-fold), ``"leave_one_group_out"`` (e.g. leave one speaker out),
    ``"group_kfold"``, ``"kfold"`` or ``"fold"``.  What ``config`` leaves unset (audio
    settings, model) is chosen from the data as in :func:`tympan.pipeline.train`, once for all
    folds, and returned under ``"chosen"``; ``report`` receives one line per choice.
    The clips are loaded once.  The overall report pools every
    fold's test predictions.  ``only``: run just these folds (0-based indices, in the order of
    :func:`tympan.data.cross_validation`; for leave-one-group-out, the sorted group names), for
    a quick look before the full run.  ``on_fold`` is called with each fold's result as soon
    as it is done (to show progress).

    Returns ``{"method", "folds": [{"fold", "split", "train_seconds", "epochs_run", "n",
    "accuracy", "macro_f1", "uar", "per_class", "labels", "confusion_matrix"}, ...],
    "mean_accuracy", "std_accuracy", "mean_uar", "std_uar", "mean_macro_f1", "pooled"}``.
    """
    dataset, config, choices = prepare(dataset, config, discovery=discovery, on_error=on_error,
                                       warn=report is None)
    audio = config.audio
    folds = tdata.cross_validation(dataset, method=method, n_splits=n_splits,
                                   seed=config.training.seed)
    choices = with_split_reason(choices, folds[0])
    announce(choices, report)
    if only is not None:
        picked = list(only)
        if not picked or any(isinstance(k, bool) or not isinstance(k, (int, np.integer))
                             or not 0 <= k < len(folds) for k in picked):
            raise ParameterError(f"only must name folds among 0..{len(folds) - 1}, got {list(only)!r}")
        folds = [folds[k] for k in picked]
    X, row, choices = load_recording(dataset, audio, choices, on_error=on_error, progress=progress,
                                     report=report)
    results, pooled = [], np.zeros((len(dataset.labels),) * 2, dtype=np.int64)
    for k, fold in enumerate(folds):
        t0 = time.perf_counter()
        _, _, report, counts = fit_and_test(fit_features(config, X, row, fold.train), dataset, X, row,
                                            fold.train, fold.test, verbose=verbose)
        results.append({"fold": picked[k] if only is not None else k, "split": fold.to_json(),
                        "train_seconds": time.perf_counter() - t0,
                        "epochs_run": counts["epochs_run"], **report.to_dict(),
                        **({"self_training": counts["self_training"]}
                           if "self_training" in counts else {})})
        pooled += report.confusion
        if on_fold is not None:
            on_fold(results[-1])
    overall = Report(dataset.labels, pooled)  # every fold's test predictions together
    accs = [r["accuracy"] for r in results]
    uars = [r["uar"] for r in results]
    return {"method": folds[0].method, "folds": results, "chosen": choices.to_dict(),
            "mean_accuracy": float(np.mean(accs)),
            "std_accuracy": float(np.std(accs)), "mean_uar": float(np.mean(uars)),
            "std_uar": float(np.std(uars)),
            "mean_macro_f1": float(np.mean([r["macro_f1"] for r in results])),
            "pooled": overall.to_dict()}


__all__ = ["EvaluationReport", "cross_validate", "evaluate"]
