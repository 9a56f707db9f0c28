"""Vowel / consonant / pause, frame by frame: :func:`label_frames`, :func:`segments`,
:func:`keep`, and :func:`label_file` for files of any length (features computed in blocks).

Methods (``method=``): ``"learned"`` (the shipped Conv1D frame classifier), ``"hmm"``,
``"fcm"`` and ``"histogram"`` (unsupervised, :mod:`tympan.segment.methods`) label frames as
pause / consonant / vowel; ``"energy"`` only tells pause from speech (:mod:`.pauses`).

Every signal is checked by the policy of :mod:`tympan.signal_checks` on its own samples (before
resampling): non-finite samples and no audio are errors naming the file; a silent one (digital
silence, DC: :data:`FrameLabels.flags` ``"silent"``) is one pause, whatever the method, with an
:class:`~tympan.errors.InputWarning`.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from dataclasses import dataclass

import numpy as np

from tympan import _validate as v
from tympan import io
from tympan.errors import ParameterError
from tympan.segment import intervals as iv
from tympan.segment import methods
from tympan.segment.features import (
    FEATURE_SR,
    frame_features,
    frame_settings,
    input_flags,
    stream_features,
)
from tympan.segment.pauses import SILENCE_DB, cut, pause_frames
from tympan.segment.truth import CLASSES
from tympan.signal_checks import SignalMonitor

METHODS = ("learned", "hmm", "fcm", "histogram", "energy")
#: The method every function here (and ``tympan segment``) uses when none is named
DEFAULT_METHOD = "learned"
KEEP = ("vowels", "consonants", "speech")
SPEECH_CLASSES = ("pause", "speech")


@dataclass(frozen=True)
class FrameLabels:
    """Labels of frames centred every ``hop_sec`` from 0: ``labels[i]`` indexes ``classes``.

    ``memberships`` (``fcm``) or class probabilities (``learned``), ``(n_frames,
    len(classes))``, are kept when the method gives them, else ``None``.  ``flags`` are the
    input's (:mod:`tympan.signal_checks`): ``("silent",)`` for silence or DC, every frame a pause.
    """

    labels: np.ndarray
    classes: tuple[str, ...]
    hop_sec: float
    duration: float
    method: str
    memberships: np.ndarray | None = None
    flags: tuple[str, ...] = ()

    @property
    def times(self) -> np.ndarray:
        """Frame centres in seconds."""
        return np.arange(self.labels.size) * self.hop_sec

    def segments(self) -> list[tuple[float, float, str]]:
        """``[(start, end, class), ...]``: the runs of equal labels, contiguous from 0 to
        ``duration``."""
        out = []
        for first, stop, value in iv.runs(self.labels):
            start, end = iv.frame_span(first, stop, hop_sec=self.hop_sec, duration=self.duration)
            if stop == self.labels.size:
                end = self.duration
            if end > start:
                out.append((start, end, self.classes[value]))
        return out

    def intervals(self, *names: str) -> list[tuple[float, float]]:
        """The merged intervals of the classes ``names``."""
        for name in names:
            v.choice("class", name, self.classes)
        return iv.merge((a, b) for a, b, label in self.segments() if label in names)


def _accepted(fn) -> set[str]:
    params = inspect.signature(fn).parameters
    names = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):  # hmm passes on the histogram rules
        names |= _accepted(methods.histogram_labels)
    return names


def _call(fn, features, params: dict, **fixed):
    accepted = _accepted(fn) - set(fixed)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown} for this method; it takes {sorted(accepted)}")
    return fn(features, **params, **fixed)


def label_features(features: np.ndarray, *, duration: float, method: str = DEFAULT_METHOD,
                   hop_sec: float = 0.010, silence_db: float | None = SILENCE_DB,
                   **params) -> FrameLabels:
    """:class:`FrameLabels` from a feature matrix of :func:`frame_features` (frames every
    ``hop_sec``) of a signal of ``duration`` seconds; ``params`` go to the method.  Frames
    quieter than ``silence_db`` (dB re full scale; ``None``: no such rule) are pauses whatever
    the method says, so digital silence is a pause for every method."""
    v.choice("method", method, METHODS)
    hop_sec = v.positive_number("hop_sec", hop_sec)
    features = np.asarray(features)
    if method == "energy" and silence_db is not None:
        params = {"silence_db": silence_db, **params}
    memberships = None
    if method == "energy":
        labels = _call(pause_frames, features[0], params, hop_sec=hop_sec, method="energy")
        labels, classes = np.where(labels, 0, 1), SPEECH_CLASSES
    else:
        classes = CLASSES
        if method == "learned":
            from tympan.segment.learned import learned_labels

            labels, memberships = _call(learned_labels, features, params)
        elif method == "fcm":
            labels, memberships = _call(methods.fcm_labels, features, params)
        elif method == "hmm":
            labels = _call(methods.hmm_labels, features, params, hop_sec=hop_sec)
        else:
            labels = _call(methods.histogram_labels, features, params, hop_sec=hop_sec)
    labels = np.asarray(labels, dtype=np.int64)
    if silence_db is not None:
        labels[features[0] < silence_db] = 0
    return FrameLabels(labels, classes, hop_sec, float(duration), method, memberships)


def label_frames(y: np.ndarray, sr: float, *, method: str = DEFAULT_METHOD, frame_sec: float = 0.025,
                 hop_sec: float = 0.010, **params) -> FrameLabels:
    """Label every frame of ``y`` (mono, or ``(channels, samples)`` averaged) as pause /
    consonant / vowel (``method="energy"``: pause / speech).  Frames of ``frame_sec`` every
    ``hop_sec`` (rounded to samples at 16 kHz), frame ``i`` centred at ``i * hop_sec``."""
    v.choice("method", method, METHODS)
    flags = input_flags(y, sr)
    y = v.valid_audio(y)
    feats = frame_features(y, sr, frame_sec=frame_sec, hop_sec=hop_sec)
    hop = frame_settings(frame_sec, hop_sec)[1] / FEATURE_SR
    return _flagged(label_features(feats, duration=y.shape[-1] / float(sr), method=method,
                                   hop_sec=hop, **params), flags)


def _flagged(labels: FrameLabels, flags: list[str]) -> FrameLabels:
    """``labels`` carrying the input's ``flags``; a silent input is one pause (resampling
    makes a constant signal ring at its ends, which no method should take for speech)."""
    if "silent" in flags:
        labels = dataclasses.replace(labels, labels=np.zeros_like(labels.labels), memberships=None)
    return dataclasses.replace(labels, flags=tuple(flags))


def _file_flags(path: str | os.PathLike) -> list[str]:
    """The policy's flags of the file's own samples (read in blocks, mixed to mono)."""
    blocks = io.stream(path, block_length=1 << 16, mono=True, for_sr=FEATURE_SR)  # (features' rate)
    monitor = SignalMonitor(sr=blocks.sr, source=os.fspath(path), from_file=True)
    for block in blocks:
        monitor.check(block)
    return monitor.finish(stacklevel=4)


def label_file(path: str | os.PathLike, *, method: str = DEFAULT_METHOD, frame_sec: float = 0.025,
               hop_sec: float = 0.010, block_sec: float = 30.0, **params) -> FrameLabels:
    """:func:`label_frames` of an audio file of any length, read in blocks of ``block_sec``."""
    v.choice("method", method, METHODS)
    flags = _file_flags(path)
    feats, duration = stream_features(path, frame_sec=frame_sec, hop_sec=hop_sec, block_sec=block_sec)
    hop = frame_settings(frame_sec, hop_sec)[1] / FEATURE_SR
    return _flagged(label_features(feats, duration=duration, method=method, hop_sec=hop, **params),
                    flags)


def segments(y: np.ndarray, sr: float, *, method: str = DEFAULT_METHOD,
             **kwargs) -> list[tuple[float, float, str]]:
    """``[(start, end, label), ...]`` in seconds, contiguous over the whole signal, labels
    ``"pause"``, ``"consonant"``, ``"vowel"`` (``method="energy"``: ``"pause"``, ``"speech"``);
    ``kwargs`` as :func:`label_frames`."""
    return label_frames(y, sr, method=method, **kwargs).segments()


def kept_intervals(labels: FrameLabels, keep: str) -> list[tuple[float, float]]:
    """The intervals of ``labels`` that ``keep`` (``"vowels"``, ``"consonants"``, ``"speech"``)
    selects."""
    v.choice("keep", keep, KEEP)
    if keep == "speech":
        return iv.complement(labels.intervals("pause"), duration=labels.duration)
    if labels.classes != CLASSES:
        raise ParameterError(f"keep={keep!r} needs vowel/consonant labels; method={labels.method!r} "
                             "only finds pauses (use keep='speech' or another method)")
    return labels.intervals(keep[:-1])


def keep(y: np.ndarray, sr: float, *, keep: str = "vowels", method: str = DEFAULT_METHOD,
         **kwargs) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """``(the samples of y in the kept parts joined, those intervals in seconds)``: ``keep``
    is ``"vowels"``, ``"consonants"`` or ``"speech"`` (everything but the pauses)."""
    v.choice("keep", keep, KEEP)
    y = v.valid_audio(y)
    spans = kept_intervals(label_frames(y, sr, method=method, **kwargs), keep)
    return cut(y, sr, spans), spans
