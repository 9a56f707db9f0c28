"""The batch functions: the one piece of code that turns inputs into rows, on either engine.

A batch is columnar, a dict of equal-length sequences: ``"source"`` (a path), optional
``"index"`` (the input's position in the job, default 0, 1, ...) and optional ``"bytes"`` (the
file's content, for a source that is not on this machine's disk; the name still gives the
format by its extension).  A call returns the rows' columns as a dict of lists, one entry per
input, in order.  The local engine calls these in its own process; the Ray engine calls them
in actors (:mod:`tympan.engines.ray_engine`): ``--engine`` changes where the work runs, never
what it computes.

An input that fails (missing, corrupt, no audio, non-finite samples) gives a row with
``error`` set and empty results; nothing is raised for one input.

:class:`PredictBatch` gives what :func:`tympan.pipeline.predict` gives (it calls it, with
``on_error="skip"``: the same windows, batching across files, combination and signal policy);
:class:`FeatureBatch` gives features (:class:`~tympan.engines.config.FeatureConfig`) or a
model's embedding.  Column types: :mod:`tympan.engines.shards`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from tympan import dsp, io
from tympan.data import fit_length
from tympan.dsp.features import default_hop_length, default_n_fft, default_n_mels
from tympan.engines.config import RUNTIMES, FeatureConfig
from tympan.errors import InputWarning, ParameterError, TympanError

#: The layer whose input is a classifier's embedding (:func:`tympan.models.blocks.classifier_head`)
CLASSIFIER_LAYER = "probabilities"


def _columns(batch: Mapping) -> tuple[list[str], list[int], list | None]:
    if "source" not in batch:
        raise ParameterError(f"a batch needs a 'source' column, got columns {sorted(batch)}")
    sources = [str(s) for s in batch["source"]]
    index = batch.get("index")
    indices = list(range(len(sources))) if index is None else [int(i) for i in index]
    content = batch.get("bytes")
    if len(indices) != len(sources) or (content is not None and len(content) != len(sources)):
        raise ParameterError("the columns of a batch must have equal lengths, got "
                             f"{ {k: len(c) for k, c in batch.items()} }")
    return sources, indices, None if content is None else list(content)


@contextlib.contextmanager
def _local_paths(sources: list[str], content: list | None) -> Iterator[list[str]]:
    """The paths to read: the sources themselves, or (with ``bytes``) temporary copies with the
    same file names (an extension tells the decoder the format), removed afterwards."""
    if content is None:
        yield sources
        return
    with tempfile.TemporaryDirectory(prefix="tympan-batch-") as tmp:
        paths = []
        for k, (source, data) in enumerate(zip(sources, content, strict=True)):
            if data is None:  # no content given for this one: read the path itself
                paths.append(source)
                continue
            path = Path(tmp) / str(k) / Path(source).name
            path.parent.mkdir()
            path.write_bytes(bytes(data))
            paths.append(str(path))
        yield paths


def _renamed(text: str | None, path: str, source: str) -> str | None:
    """An error message about the temporary copy ``path``, naming ``source`` instead."""
    return text if text is None or path == source else text.replace(path, source)


def _error_text(exc: BaseException, path: str) -> str:
    """A row's error: a library error's message (it names the file), or any other exception
    named with the file it met (``embedded null byte`` from a list's line says nothing alone)."""
    if isinstance(exc, TympanError):
        return str(exc)
    return f"cannot process '{path}': {type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------ predict
class PredictBatch:
    """Predictions of the artifact ``run`` for a batch (one row per input); the model is
    loaded once, here.

    ``runtime``: ``"keras"`` (``RUN/model.keras``) or ``"onnx"`` (``RUN/model.onnx`` in
    onnxruntime, :func:`tympan.runtime.load_onnx_artifact`).  ``window_sec``, ``hop_sec`` and
    ``combine`` as :func:`tympan.pipeline.predict` takes them (default: the artifact's).

    Columns: ``index``, ``source``, ``label`` (a classifier's decision), ``labels`` (a tagger's
    tags at or above their thresholds; a classifier's ``[label]``), ``probability`` (the
    decision's), ``probabilities`` (every class, in the order of :attr:`labels`), ``windows``
    (each window of a file longer than one: ``start``, ``end`` in seconds, ``label``,
    ``probability``; empty for a one-window file), ``duration`` (seconds), ``flags``
    (``"silent"``, ``"too_short"``, ``"beyond_full_scale"``), ``error`` (``None`` when fine).
    """

    def __init__(self, run, *, runtime: str = "keras", window_sec: float | None = None,
                 hop_sec: float | None = None, combine: str | None = None, batch_size: int = 64):
        if runtime not in RUNTIMES:
            raise ParameterError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        if runtime == "onnx":
            from tympan.runtime import load_onnx_artifact as load_artifact
        else:
            from tympan.pipeline import load_artifact
        self.artifact = load_artifact(run)
        task = self.artifact.task
        if task not in ("classification", "tagging"):
            raise ParameterError(f"'{run}' is a {task} model: batch prediction takes classifiers "
                                 "and taggers (task classification or tagging)")
        self.tagger = task == "tagging"
        self.labels = tuple(self.artifact.labels)
        self.options = {"window_sec": window_sec, "hop_sec": hop_sec, "combine": combine,
                        "batch_size": batch_size}

    def _predict(self, paths: list[str]) -> list:
        from tympan.pipeline import predict

        with warnings.catch_warnings():  # what they warn of is in each row's flags
            warnings.simplefilter("ignore", InputWarning)
            return predict(self.artifact, paths, on_error="skip", **self.options)

    def _row(self, p) -> dict:
        if p.error is not None:
            return {"label": None, "labels": [], "probability": None, "probabilities": [],
                    "windows": [], "duration": None, "flags": [], "error": p.error}
        probs = [p.probabilities[name] for name in self.labels]
        if self.tagger:
            label, labels, probability, windows = None, list(p.labels), None, []
        else:
            label, labels, probability = p.label, [p.label], p.probability
            windows = [{"start": s.start, "end": s.end, "label": s.label, "probability": s.probability}
                       for s in p.segments] if len(p.segments) > 1 else []
        return {"label": label, "labels": labels, "probability": probability, "probabilities": probs,
                "windows": windows, "duration": p.duration, "flags": list(p.flags), "error": None}

    def _one(self, path: str):
        """The prediction of the input ``path`` alone, or a :class:`_Failed` with its error; a
        folder is an input that is not a file (as reading it says), never its files' rows."""
        try:
            if os.path.isdir(path):
                io.info(path)  # its error: "... it is a directory, not a file"
            (p,) = self._predict([path])
            return p
        except Exception as exc:
            return _Failed(_error_text(exc, path))

    def __call__(self, batch: Mapping) -> dict[str, list]:
        sources, indices, content = _columns(batch)
        rows: list[dict] = []
        with _local_paths(sources, content) as paths:
            try:
                if any(os.path.isdir(path) for path in paths):  # predict would read its files, all
                    raise ParameterError("a folder among the inputs")
                preds = self._predict(paths) if paths else []
                if len(preds) != len(paths):  # a folder (a line of a list) gave its files
                    raise ParameterError("not one prediction per input")
            except Exception:  # one input broke the batch: each on its own, its error its row
                preds = [self._one(path) for path in paths]
            for source, path, p in zip(sources, paths, preds, strict=True):
                row = self._row(p)
                row["error"] = _renamed(row["error"], path, source)
                rows.append(row)
        return _as_columns(indices, sources, rows, PREDICT_COLUMNS)


@dataclasses.dataclass(frozen=True)
class _Failed:
    error: str


#: The columns each batch function gives after ``index`` and ``source``
PREDICT_COLUMNS = ("label", "labels", "probability", "probabilities", "windows", "duration", "flags",
                   "error")
FEATURE_COLUMNS = ("feature", "shape", "error")


def _as_columns(indices: list[int], sources: list[str], rows: list[dict], names) -> dict[str, list]:
    return {"index": indices, "source": sources, **{name: [row[name] for row in rows] for name in names}}


# ------------------------------------------------------------------------------ features
def feature_config(**options) -> FeatureConfig:
    """The :class:`~tympan.engines.config.FeatureConfig` of ``options`` (``None``: its default),
    with ``n_fft``, ``hop_length`` and ``n_mels`` left unset filled in by the training pipeline's
    rules for ``sr`` (what the manifest records and a resume compares); an unknown option is a
    ParameterError naming it and the known ones."""
    fields = {f.name for f in dataclasses.fields(FeatureConfig)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ParameterError(f"unknown feature option(s) {unknown}; the options are {sorted(fields)}")
    c = FeatureConfig(**{k: x for k, x in options.items() if x is not None})
    if c.kind == "waveform":
        return c
    return dataclasses.replace(c, n_fft=c.n_fft or default_n_fft(c.sr),
                               hop_length=c.hop_length or default_hop_length(c.sr),
                               n_mels=c.n_mels or default_n_mels(c.sr))


class FeatureBatch:
    """Features of each input of a batch (:class:`~tympan.engines.config.FeatureConfig`:
    ``kind``, ``sr``, ``duration`` and the feature options), or with ``embedding=RUN`` the
    embedding of the classifier in ``RUN``: the input of its last layer (the ``Dense`` softmax
    named ``probabilities``), for each file read at the artifact's rate and fitted to its clip
    length as in training (one vector per file).

    Columns: ``index``, ``source``, ``feature`` (the values, flattened in C order, float32),
    ``shape`` (the feature's shape: ``(n_mels, frames)``, ``(samples,)``, ``(width,)`` for an
    embedding), ``error`` (``None`` when fine).
    """

    def __init__(self, *, kind: str | None = None, embedding=None, batch_size: int = 64,
                 **options):
        self.batch_size = batch_size
        self.embedding = None
        if embedding is not None:
            given = {k: x for k, x in {"kind": kind, **options}.items() if x is not None}
            if given:
                raise ParameterError("an embedding reads the audio as its model was trained "
                                     f"(the artifact's sr and duration); drop {sorted(given)}")
            self._load_embedding(embedding)
            return
        self.config = feature_config(kind=kind, **options)

    def _load_embedding(self, run) -> None:
        import keras

        from tympan.pipeline import load_artifact

        artifact = load_artifact(run)
        model = artifact.model
        try:
            head = model.get_layer(CLASSIFIER_LAYER)
        except ValueError:
            raise ParameterError(f"'{run}' has no classifier layer named {CLASSIFIER_LAYER!r}: "
                                 "embeddings are taken from classifiers and taggers") from None
        self.embedding = keras.Model(model.inputs, head.input, name="embedding")
        audio = artifact.config.audio
        self.audio = audio
        self.config = FeatureConfig(kind="waveform", sr=audio.sr, duration=audio.duration)

    def _signal(self, path: str) -> np.ndarray:
        """The file mono at the config's rate, checked (no audio or non-finite samples raise
        naming it), fitted to the clip length (pad at the end, crop in the middle)."""
        from tympan.pipeline.inputs import load_checked

        c = self.config
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InputWarning)
            y = load_checked(path, sr=c.sr)
        if c.duration is not None:
            pad, crop = "end", "center"
            if self.embedding is not None:  # as the model's training fitted clips
                pad, crop = self.audio.pad, ("center" if self.audio.crop == "random" else self.audio.crop)
            y = fit_length(y, round(c.duration * c.sr), pad=pad, crop=crop)
        return np.ascontiguousarray(y, dtype=np.float32)

    def feature(self, y: np.ndarray) -> np.ndarray:
        """The feature of the waveform ``y`` (mono at the config's rate)."""
        c = self.config
        if c.kind == "waveform":
            return y
        s = {"n_fft": c.n_fft, "hop_length": c.hop_length, "n_mels": c.n_mels}
        if c.kind == "spectrogram":
            S = dsp.spectrogram(y, n_fft=s["n_fft"], hop_length=s["hop_length"], power=2.0)
            return dsp.power_to_db(S, top_db=c.top_db)
        mel = {**s, "sr": c.sr, "fmin": c.fmin, "fmax": c.fmax}
        if c.kind == "mfcc":
            return dsp.mfcc(y, n_mfcc=c.n_mfcc, top_db=c.top_db, **mel)
        return dsp.power_to_db(dsp.melspectrogram(y, **mel), top_db=c.top_db)

    def __call__(self, batch: Mapping) -> dict[str, list]:
        sources, indices, content = _columns(batch)
        rows: list[dict] = []
        waves: dict[int, np.ndarray] = {}  # embedding: the signals, run through the model together
        with _local_paths(sources, content) as paths:
            for k, (source, path) in enumerate(zip(sources, paths, strict=True)):
                try:
                    y = self._signal(path)
                    if self.embedding is not None:
                        waves[k] = y
                        rows.append({})
                        continue
                    x = np.asarray(self.feature(y), dtype=np.float32)
                    rows.append(_feature_row(x))
                except Exception as exc:  # a file's fault (or a bug): its row says which
                    rows.append({"feature": None, "shape": None,
                                 "error": _renamed(_error_text(exc, path), path, source)})
        if waves:
            self._embed(waves, rows)
        return _as_columns(indices, sources, rows, FEATURE_COLUMNS)

    def _embed(self, waves: dict[int, np.ndarray], rows: list[dict]) -> None:
        order = list(waves)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            out = np.asarray(self.embedding.predict_on_batch(np.stack([waves[k] for k in chunk])),
                             dtype=np.float32)
            for k, e in zip(chunk, out, strict=True):
                rows[k] = _feature_row(e)


def _feature_row(x: np.ndarray) -> dict:
    return {"feature": x.ravel().tolist(), "shape": list(x.shape), "error": None}


__all__ = ["CLASSIFIER_LAYER", "FEATURE_COLUMNS", "PREDICT_COLUMNS", "FeatureBatch", "PredictBatch",
           "feature_config"]
