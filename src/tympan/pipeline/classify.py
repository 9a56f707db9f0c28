"""The classification task: one label per input, from audio, never from features.

:data:`CLASSIFICATION` declares its objectives (sparse categorical cross-entropy, accuracy),
how a dataset becomes examples (clips and class indices), how it is applied (:meth:`run`,
what :func:`tympan.pipeline.predict` calls: a file, a folder, a list of files or an array)
and evaluated (:meth:`evaluate`, what :func:`tympan.pipeline.evaluate` calls), and how its
results are serialised.  Training is :func:`tympan.pipeline.train` over
:mod:`tympan.pipeline.driver`.

How inputs are read, windowed, batched and checked is told in :mod:`tympan.pipeline.predict`,
its public face.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan import data as tdata
from tympan import io
from tympan.data import fit_length
from tympan.errors import AudioIOError, DatasetError, ParameterError
from tympan.pipeline import group_norm
from tympan.pipeline.artifact import Artifact, load_artifact
from tympan.pipeline.config import WindowConfig
from tympan.pipeline.inputs import analysis_window, checked_array, checked_file, require_finite
from tympan.pipeline.metrics import Report
from tympan.pipeline.sources import as_dataset, sources, to_mono
from tympan.pipeline.task import Task, misuse, register_task
from tympan.pipeline.windowing import padded_size, sliding_windows

#: What :func:`predict` does with a file it cannot read: raise its error, or skip it (its
#: Prediction then carries the error).
ON_ERROR = ("raise", "skip")
_BLOCK = 1 << 16  # samples read from a file at a time


@dataclass(frozen=True)
class Segment:
    """One window of a long input: times in seconds, its label and class probabilities."""

    start: float
    end: float
    label: str
    probability: float
    probabilities: tuple[float, ...]


@dataclass(frozen=True)
class Prediction:
    """The decision for one input, with the per-window timeline it was combined from.

    An input that could not be read (``predict(..., on_error="skip")``) has ``error`` set to
    the cause (naming the file) and no decision: ``label``, ``probability`` and ``duration``
    are ``None``, ``probabilities`` and ``segments`` empty.

    ``flags`` name what makes the decision doubtful (:mod:`tympan.signal_checks`):
    ``"silent"`` (digital silence or DC), ``"too_short"`` (fewer samples than the model's
    analysis window) and ``"beyond_full_scale"``; empty for an ordinary input.
    """

    source: str
    label: str | None
    probability: float | None
    probabilities: dict[str, float]
    duration: float | None
    segments: tuple[Segment, ...]
    error: str | None = None
    flags: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the input was read and predicted."""
        return self.error is None

    @classmethod
    def failed(cls, source: str, error: str) -> Prediction:
        """The result of an input that could not be read."""
        return cls(source=source, label=None, probability=None, probabilities={}, duration=None,
                   segments=(), error=str(error))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["segments"] = [asdict(s) for s in self.segments]
        d["flags"] = list(self.flags)
        return d


def _signal(name: str, data: np.ndarray | Path, rate: int | None, sr: int, window: int):
    """``(chunks, flags)``: the input as consecutive mono chunks at ``sr`` (a file read,
    checked and resampled in blocks; an array checked and resampled whole, it is in memory
    already) and a function giving its flags once the chunks are consumed."""
    if isinstance(data, np.ndarray):
        flags = checked_array(data, sr=rate, min_samples=-(-window * rate // sr), source=name,
                              stacklevel=6)
        y = to_mono(data).astype(np.float32, copy=False)
        return iter([y if rate == sr else io.resample(y, orig_sr=rate, target_sr=sr)]), lambda: flags
    chunks, monitor = checked_file(data, sr=sr, block_length=_BLOCK, min_samples=window, source=name)
    return chunks, lambda: monitor.finish(stacklevel=6)


def _combine(probs: np.ndarray, how: str) -> np.ndarray:
    if how == "mean":
        return probs.mean(axis=0)
    if how == "max":
        p = probs.max(axis=0)
        return p / p.sum()
    votes = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]).astype(np.float64)
    return votes / votes.sum()


class _Batches:
    """Windows of any inputs gathered into batches of ``size`` for the model; each window's
    probabilities go back to its input.

    A partial batch is padded with zero rows to the next power of two (at most ``size``): a
    jit-compiling backend (jax) compiles the model once per batch shape, about a second each,
    and the last batch of every call would otherwise bring a new shape (up to ``size`` of them
    over a long job: the engines call predict batch after batch).  A model that says
    ``compiles_per_shape = False`` (onnxruntime, which pays per row instead) is not padded.
    """

    def __init__(self, model, size: int, samples: int, inputs: int):
        self.model = model
        self.pad = getattr(model, "compiles_per_shape", True)
        self.x = np.empty((size, samples), np.float32)
        self.owners: list[int] = []  # input of each filled row of x
        self.probs: list[list[np.ndarray]] = [[] for _ in range(inputs)]

    def add(self, k: int, window: np.ndarray) -> None:
        self.x[len(self.owners)] = window
        self.owners.append(k)
        if len(self.owners) == len(self.x):
            self.flush()

    def drop(self, k: int) -> None:
        """Forget input ``k``: its windows waiting in the batch and its probabilities."""
        rows = [i for i, owner in enumerate(self.owners) if owner != k]
        self.x[: len(rows)] = self.x[rows]
        self.owners = [self.owners[i] for i in rows]
        self.probs[k] = []

    def flush(self) -> None:
        if self.owners:
            n = len(self.owners)
            rows = padded_size(n, len(self.x)) if self.pad else n
            self.x[n:rows] = 0.0  # rows of earlier batches (or never written): predicted, dropped
            out = np.asarray(self.model.predict_on_batch(self.x[:rows]))[:n]
            for k, p in zip(self.owners, out, strict=True):
                self.probs[k].append(p)
            self.owners = []


def predict_labels(
    artifact: Artifact | str | os.PathLike,
    source,
    *,
    sr: int | None = None,
    window_sec: float | None = None,
    hop_sec: float | None = None,
    combine: str | None = None,
    batch_size: int = 64,
    on_error: str = "raise",
) -> list[Prediction]:
    """The predictions of :func:`tympan.pipeline.predict` (documented there)."""
    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    if artifact.task != CLASSIFICATION.name:
        raise ParameterError(misuse(artifact))
    if artifact.config.training.feature_norm == "group" and not artifact.adaptation:
        warnings.warn(f"{artifact.path or 'this model'} was trained with every speaker "
                      "normalised by their own statistics and is not adapted to a speaker yet; "
                      "it predicts with the training speakers' pooled statistics. Adapt it "
                      "first: tympan adapt RUN CLIPS... --out RUN_SPEAKER (pipeline.adapt)",
                      UserWarning, stacklevel=4)
    audio = artifact.config.audio
    base = artifact.config.windows
    window = WindowConfig(window_sec if window_sec is not None else base.window_sec,
                          hop_sec if hop_sec is not None else base.hop_sec,
                          combine or base.combine).resolved(audio.duration)
    batch_size = v.positive_int("batch_size", batch_size)
    v.choice("on_error", on_error, ON_ERROR)
    win = round(window.window_sec * audio.sr)
    hop = round(window.hop_sec * audio.sr)
    for name, value, samples in (("window_sec", window.window_sec, win), ("hop_sec", window.hop_sec, hop)):
        if samples < 1:  # hop 1e-9 s: one window per sample of every file, a job that never ends
            raise ParameterError(f"{name} must be at least one sample at {audio.sr} Hz, got {value!r}")
    inputs = sources(source, sr)
    batches = _Batches(artifact.model, batch_size, audio.samples, len(inputs))
    spans: list[list[tuple[int, int]]] = [[] for _ in inputs]  # each window's samples
    errors: dict[int, str] = {}
    flags: dict[int, tuple[str, ...]] = {}
    analysis = analysis_window(artifact.config)
    for k, (name, data, rate) in enumerate(inputs):
        try:
            chunks, finish = _signal(name, data, rate, audio.sr, analysis)
            for start, frame in sliding_windows(chunks, length=win, hop=hop):
                spans[k].append((start, start + len(frame)))
                batches.add(k, fit_length(frame, audio.samples, pad=audio.pad, crop=audio.crop))
            flags[k] = tuple(finish())
            continue
        except AudioIOError as exc:  # only files raise it: it names the file and the cause
            failure = exc
        except ParameterError as exc:
            if isinstance(data, np.ndarray):  # the caller's array: a bad argument
                raise
            failure = AudioIOError(f"cannot use audio file '{name}': its samples fail a check ({exc})")
            failure.__cause__ = exc  # a float file with NaN or infinite samples
        if on_error == "raise":
            raise failure
        errors[k] = str(failure)
        batches.drop(k)
        spans[k] = []
    batches.flush()
    labels = artifact.labels
    results = []
    for k, (name, _, _) in enumerate(inputs):
        if k in errors:
            results.append(Prediction.failed(name, errors[k]))
            continue
        # a model with broken weights (NaN) gives NaN probabilities: an error, never a label
        p = require_finite(np.stack(batches.probs[k]), source=name, model=artifact.path)
        segments = tuple(
            Segment(start=s / audio.sr, end=e / audio.sr, label=labels[int(q.argmax())],
                    probability=float(q.max()), probabilities=tuple(float(x) for x in q))
            for (s, e), q in zip(spans[k], p, strict=True))
        overall = _combine(p, window.combine)
        best = int(overall.argmax())
        results.append(Prediction(source=name, label=labels[best], probability=float(overall[best]),
                                  probabilities=dict(zip(labels, map(float, overall), strict=True)),
                                  duration=spans[k][-1][1] / audio.sr, segments=segments,
                                  flags=flags[k]))
    return results


# ------------------------------------------------------------------------------ evaluation
@dataclass(frozen=True)
class EvaluationReport(Report):
    """The :class:`Report` of :func:`tympan.pipeline.evaluate`, with the files it could not
    read (``on_error="skip"``): ``failures`` holds ``(file, cause)`` pairs in dataset order; and
    the files it scored whose own samples the signal policy flags (:mod:`tympan.signal_checks`:
    ``silent``, ``too_short`` for the model's analysis window, ``beyond_full_scale``):
    ``flagged`` holds ``(file, flags)`` pairs."""

    failures: tuple[tuple[str, str], ...] = ()
    flagged: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_dict(self) -> dict:
        return {**super().to_dict(),
                "failures": [{"file": file, "error": cause} for file, cause in self.failures],
                "flagged": [{"file": file, "flags": list(flags)} for file, flags in self.flagged]}


def load_clips_caught(dataset, audio, *, on_error: str, progress: bool, min_samples: int = 0):
    """:func:`tympan.data.load_clips` of the dataset's clips with ``audio``'s settings, the
    DatasetWarning naming each clip skipped (one each, in order) taken instead of shown (other
    warnings are shown).  Returns ``(X, kept, caught, flags)``, ``caught`` the DatasetWarning
    records and ``flags`` the signal policy's flags of each kept clip (``min_samples``: the
    model's analysis window)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", tdata.DatasetWarning)
        X, kept, flags = tdata.load_clips(dataset, sr=audio.sr, duration=audio.duration,
                                          pad=audio.pad, crop=audio.crop, on_error=on_error,
                                          progress=progress, min_samples=min_samples,
                                          return_flags=True)
    for w in caught:
        if not issubclass(w.category, tdata.DatasetWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return X, kept, [w for w in caught if issubclass(w.category, tdata.DatasetWarning)], flags


def flagged_files(dataset, kept, flags) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(file, flags)`` of each loaded clip the signal policy flags, in dataset order."""
    return tuple((str(dataset.items[i].path), f) for i, f in zip(kept, flags, strict=True) if f)


def _load_reporting(dataset, config, on_error: str, progress: bool):
    """:func:`load_clips_caught`, plus ``(file, cause)`` of each clip skipped and
    :func:`flagged_files`."""
    X, kept, skipped, flags = load_clips_caught(dataset, config.audio, on_error=on_error,
                                                progress=progress,
                                                min_samples=analysis_window(config))
    failed = np.setdiff1d(np.arange(len(dataset)), kept)
    causes = iter(str(w.message) for w in skipped)
    failures = []
    for i in failed:
        path = str(dataset.items[i].path)
        cause = next(causes, f"'{path}' could not be read")
        prefix = f"skipped clip {i} '{Path(path).name}': "
        failures.append((path, cause.removeprefix(prefix)))
    return X, kept, tuple(failures), flagged_files(dataset, kept, flags)


def evaluate_labels(artifact, dataset, *, discovery: dict | None = None, on_error: str = "raise",
                    progress: bool = True, batch_size: int = 128,
                    adapt_per_group: bool | None = None) -> EvaluationReport:
    """The report of :func:`tympan.pipeline.evaluate` (documented there)."""
    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    dataset = as_dataset(dataset, discovery)
    if len(dataset) == 0:
        raise DatasetError("the dataset is empty: nothing to evaluate")
    unknown = sorted(set(dataset.labels) - set(artifact.labels))
    if unknown:
        raise DatasetError(f"the dataset has labels the model was not trained on: {unknown}; "
                           f"the model knows {list(artifact.labels)}")
    grouped = artifact.config.training.feature_norm == "group" and not artifact.adaptation
    # (only asked when needed: groups() refuses datasets where some clips lack one)
    groups = dataset.groups() if (adapt_per_group or (adapt_per_group is None and grouped)) \
        else None
    if adapt_per_group is None:
        adapt_per_group = grouped and groups is not None
        if grouped and groups is None:
            warnings.warn("the model normalises each speaker by their own statistics, but the "
                          "dataset has no groups (speakers) to adapt to: it is tested with the "
                          "training speakers' pooled statistics", UserWarning, stacklevel=4)
    elif adapt_per_group and groups is None:
        raise DatasetError("adapt_per_group needs the dataset's groups (speakers), and it has "
                           "none: use a dataset with groups (e.g. --pattern fsdd)")
    if adapt_per_group:
        group_norm.adaptable_models(artifact.model)  # before loading every clip
    X, kept, failures, flagged = _load_reporting(dataset, artifact.config, on_error, progress)
    index = {label: i for i, label in enumerate(artifact.labels)}
    y_true = np.array([index[dataset.items[i].label] for i in kept])
    if adapt_per_group:
        probs = group_norm.predict_per_group(artifact.model, X, np.asarray(groups)[kept],
                                             batch_size=batch_size)
    else:
        probs = artifact.model.predict(X, batch_size=batch_size, verbose=0)
    probs = require_finite(np.asarray(probs), source=f"{len(kept)} clips of the dataset",
                           model=artifact.path)  # NaN would be argmax'ed to the first label
    report = Report.from_predictions(y_true, probs.argmax(axis=1), artifact.labels)
    return EvaluationReport(report.labels, report.confusion, failures, flagged)


# ------------------------------------------------------------------------------ the task
class ClassificationTask(Task):
    """One label per clip: softmax outputs, sparse categorical cross-entropy, accuracy."""

    name = "classification"
    kind = "classifier"
    output = "labels"
    trained_with = "pipeline.train (tympan train)"
    applied_with = "tympan.pipeline.predict (tympan predict)"
    noun = "a classifier"
    needs = "predicting labels needs a classifier (tympan train)"
    supports = frozenset({"adapt", "self_training", "ensemble", "init", "class_weight"})

    def loss(self, config):
        return "sparse_categorical_crossentropy"

    def metrics(self, config):
        return ["accuracy"]

    def examples(self, data, config):
        """``(clips, class indices)`` of ``data``: a ``(waveforms, targets)`` pair already
        loaded (:func:`tympan.data.load_clips` at ``config.audio``)."""
        X, y = data
        return np.asarray(X, np.float32), np.asarray(y, np.int64)

    def run(self, artifact, source, **options) -> list[Prediction]:
        return predict_labels(artifact, source, **options)

    def evaluate(self, artifact, data, **options) -> EvaluationReport:
        return evaluate_labels(artifact, data, **options)

    def rows(self, result) -> list[dict]:
        return [{"source": result.source, "label": result.label,
                 "probability": result.probability, "duration": result.duration,
                 "error": result.error, "flags": ";".join(result.flags)}]


CLASSIFICATION = register_task(ClassificationTask())

__all__ = ["CLASSIFICATION", "ON_ERROR", "ClassificationTask", "EvaluationReport", "Prediction",
           "Segment", "evaluate_labels", "predict_labels"]
