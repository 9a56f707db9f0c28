"""Predict from audio, never from features: a file, a folder, a list of files or an array.

Every input is brought to the training pipeline (sample rate, mono, clip length); inputs longer
than the training clip are cut into windows whose predictions form a timeline and are combined
into one file-level decision.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan import io
from tympan.data import AUDIO_EXTENSIONS, fit_length
from tympan.errors import ParameterError
from tympan.pipeline.artifact import Artifact, load_artifact
from tympan.pipeline.config import WindowConfig


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
    """The decision for one input, with the per-window timeline it was combined from."""

    source: str
    label: str
    probability: float
    probabilities: dict[str, float]
    duration: float
    segments: tuple[Segment, ...]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["segments"] = [asdict(s) for s in self.segments]
        return d


def _sources(source, sr) -> list[tuple[str, np.ndarray | Path, int | None]]:
    """Normalise ``source`` to a list of (name, path-or-array, sample-rate-for-arrays)."""
    if isinstance(source, np.ndarray):
        if sr is None:
            raise ParameterError("predicting from an array needs its sample rate: pass sr=")
        return [("<array>", source, v.positive_int("sr", sr))]
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], np.ndarray):
        return [("<array>", source[0], v.positive_int("sr", source[1]))]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
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


def _windows(y: np.ndarray, *, sr: int, clip: int, window: WindowConfig, audio):
    """Cut ``y`` into model inputs; returns (batch, starts in samples, window length)."""
    win = round(window.window_sec * sr)
    hop = max(1, round(window.hop_sec * sr))
    if len(y) <= win:
        return fit_length(y, clip, pad=audio.pad, crop=audio.crop)[None], np.array([0]), len(y)
    starts = list(range(0, len(y) - win + 1, hop))
    if starts[-1] + win < len(y):
        starts.append(len(y) - win)  # the tail gets a window of its own
    frames = np.stack([fit_length(y[s : s + win], clip, pad=audio.pad, crop=audio.crop)
                       for s in starts])
    return frames, np.array(starts), win


def _combine(probs: np.ndarray, how: str) -> np.ndarray:
    if how == "mean":
        return probs.mean(axis=0)
    if how == "max":
        p = probs.max(axis=0)
        return p / p.sum()
    votes = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]).astype(np.float64)
    return votes / votes.sum()


def predict(
    artifact: Artifact | str | os.PathLike,
    source,
    *,
    sr: int | None = None,
    window_sec: float | None = None,
    hop_sec: float | None = None,
    combine: str | None = None,
    batch_size: int = 64,
) -> list[Prediction]:
    """Predict labels for ``source``: a path, a folder (recursively), a list of those, or an
    array (``sr=`` required; ``(samples,)`` or ``(channels, samples)``).

    Any sample rate, channel count and length is accepted.  Windowing defaults come from the
    artifact (``window_sec`` = clip duration, ``hop_sec`` = half of it) and may be overridden.
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
    inputs, spans = [], []
    for name, data, rate in _sources(source, sr):
        if isinstance(data, np.ndarray):
            y = _to_mono(data).astype(np.float32, copy=False)
            if rate != audio.sr:
                y = io.resample(y, orig_sr=rate, target_sr=audio.sr)
        else:
            y, _ = io.load(data, sr=audio.sr, mono=True)
        frames, starts, win = _windows(y, sr=audio.sr, clip=audio.samples, window=window,
                                       audio=audio)
        spans.append((name, len(y), starts, win, len(inputs), len(frames)))
        inputs.extend(frames)
    probs = np.asarray(artifact.model.predict(np.stack(inputs), batch_size=batch_size, verbose=0))
    labels = artifact.labels
    results = []
    for name, n, starts, win, first, count in spans:
        p = probs[first : first + count]
        segments = tuple(
            Segment(start=s / audio.sr, end=min(s + win, n) / audio.sr, label=labels[int(q.argmax())],
                    probability=float(q.max()), probabilities=tuple(float(x) for x in q))
            for s, q in zip(starts, p, strict=True))
        overall = _combine(p, window.combine)
        best = int(overall.argmax())
        results.append(Prediction(source=name, label=labels[best], probability=float(overall[best]),
                                  probabilities=dict(zip(labels, map(float, overall), strict=True)),
                                  duration=n / audio.sr, segments=segments))
    return results
