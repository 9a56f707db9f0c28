"""Predict from audio, never from features: a file, a folder, a list of files or an array.

Every input is brought to the training pipeline (sample rate, mono, clip length); inputs longer
than the training clip are cut into windows whose predictions form a timeline and are combined
into one file-level decision.

Files are read in blocks (:func:`tympan.io.stream`, resampled as a stream) and their windows go
through the model ``batch_size`` at a time, batches shared across files, so memory does not grow
with a file's length or the number of files.  With ``on_error="skip"`` an unreadable file gives
a :class:`Prediction` that carries its ``error`` and the others are still predicted.

Every input is checked by the policy of :mod:`tympan.signal_checks` as it is read
(:mod:`tympan.pipeline.inputs`): no audio and non-finite samples are errors naming the file;
a silent input (digital silence, DC), one shorter than the model's analysis window and one
beyond full scale are predicted, with an :class:`~tympan.errors.InputWarning`, and their
:attr:`Prediction.flags` say so.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan import io
from tympan.data import AUDIO_EXTENSIONS, audio_files, fit_length
from tympan.errors import AudioIOError, ParameterError
from tympan.pipeline.artifact import Artifact, load_artifact, register_predictor
from tympan.pipeline.config import WindowConfig
from tympan.pipeline.inputs import analysis_window, checked_array, checked_file
from tympan.pipeline.windowing import sliding_windows

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


def _sources(source, sr) -> list[tuple[str, np.ndarray | Path, int | None]]:
    """Normalise ``source`` to a list of (name, path-or-array, sample-rate-for-arrays); folders
    are scanned with :func:`tympan.data.audio_files` (recursively, hidden files skipped,
    natural order)."""
    if isinstance(source, np.ndarray):
        if sr is None:
            raise ParameterError("predicting from an array needs its sample rate: pass sr=")
        return [("<array>", source, v.positive_int("sr", sr))]
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], np.ndarray):
        return [("<array>", source[0], v.positive_int("sr", source[1]))]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = audio_files(path)
            if not files:
                raise ParameterError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in {path}")
            return [(str(p), p, None) for p in files]
        return [(str(path), path, None)]
    if isinstance(source, (list, tuple)):
        if not source:
            raise ParameterError("source is an empty list: give at least one file")
        return [item for s in source for item in _sources(s, sr)]
    raise ParameterError(f"source must be a path, a folder, a list of paths or an array, "
                         f"got {type(source).__name__}")


def _to_mono(y: np.ndarray) -> np.ndarray:
    y = v.valid_audio(np.asarray(y))
    if y.ndim == 2:
        return io.to_mono(y)
    if y.ndim != 1:
        raise ParameterError(f"an audio array must be (samples,) or (channels, samples), got {y.shape}")
    return y


def _signal(name: str, data: np.ndarray | Path, rate: int | None, sr: int, window: int):
    """``(chunks, flags)``: the input as consecutive mono chunks at ``sr`` (a file read,
    checked and resampled in blocks; an array checked and resampled whole, it is in memory
    already) and a function giving its flags once the chunks are consumed."""
    if isinstance(data, np.ndarray):
        flags = checked_array(data, sr=rate, min_samples=-(-window * rate // sr), source=name,
                              stacklevel=4)
        y = _to_mono(data).astype(np.float32, copy=False)
        return iter([y if rate == sr else io.resample(y, orig_sr=rate, target_sr=sr)]), lambda: flags
    chunks, monitor = checked_file(data, sr=sr, block_length=_BLOCK, min_samples=window, source=name)
    return chunks, lambda: monitor.finish(stacklevel=4)


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
    probabilities go back to its input."""

    def __init__(self, model, size: int, samples: int, inputs: int):
        self.model = model
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
            out = np.asarray(self.model.predict_on_batch(self.x[: len(self.owners)]))
            for k, p in zip(self.owners, out, strict=True):
                self.probs[k].append(p)
            self.owners = []


def predict(
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
    """Predict labels for ``source``: a path, a folder (recursively, with
    :func:`tympan.data.audio_files`), a list of those, or an array (``sr=`` required;
    ``(samples,)`` or ``(channels, samples)``).  One :class:`Prediction` per input file or
    array, in order.

    Any sample rate, channel count and length is accepted.  Windowing defaults come from the
    artifact (``window_sec`` = clip duration, ``hop_sec`` = half of it) and may be overridden.
    Files are streamed: at most ``batch_size`` windows and a block of samples are held at a
    time, so an hour-long file needs about the memory of a short one.

    on_error ``"raise"``: the first file that cannot be read (missing, empty, corrupt,
    truncated, a format libsndfile does not decode) raises its AudioIOError, which names the
    file and the cause.  ``"skip"``: every readable file is predicted and each unreadable one
    gives a Prediction with ``error`` set (``ok`` False).  Bad arguments (an array with NaN, a
    folder without audio files) raise ParameterError whatever ``on_error`` says.
    """
    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    if artifact.task == "separation":
        raise ParameterError(f"{artifact.path or 'the artifact'} is a source separator (audio in, "
                             "one audio per source out): use tympan.pipeline.separate (tympan separate)")
    if artifact.task != "classification":
        raise ParameterError(f"{artifact.path or 'the artifact'} is an autoencoder (audio in, audio "
                             "out): use tympan.pipeline.reconstruct (tympan autoencoder reconstruct)")
    if artifact.config.training.feature_norm == "group" and not artifact.adaptation:
        warnings.warn(f"{artifact.path or 'this model'} was trained with every speaker "
                      "normalised by their own statistics and is not adapted to a speaker yet; "
                      "it predicts with the training speakers' pooled statistics. Adapt it "
                      "first: tympan adapt RUN CLIPS... --out RUN_SPEAKER (pipeline.adapt)",
                      UserWarning, stacklevel=2)
    audio = artifact.config.audio
    base = artifact.config.windows
    window = WindowConfig(window_sec if window_sec is not None else base.window_sec,
                          hop_sec if hop_sec is not None else base.hop_sec,
                          combine or base.combine).resolved(audio.duration)
    batch_size = v.positive_int("batch_size", batch_size)
    v.choice("on_error", on_error, ON_ERROR)
    win = round(window.window_sec * audio.sr)
    hop = max(1, round(window.hop_sec * audio.sr))
    if win < 1:
        raise ParameterError(f"window_sec must be at least one sample at {audio.sr} Hz, "
                             f"got {window.window_sec!r}")
    inputs = _sources(source, sr)
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
        p = np.stack(batches.probs[k])
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


register_predictor("classification", predict)  # Artifact.predict
