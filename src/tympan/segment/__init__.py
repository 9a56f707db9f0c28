"""Segmentation of speech: pauses, and vowel / consonant / pause frame by frame.

```
tympan.segment.pauses(y, sr)                       # [(start, end), ...] of the pauses
y2, kept = tympan.segment.remove_pauses(y, sr)      # the audio without them
labels = tympan.segment.label_frames(y, sr, method="learned")   # FrameLabels
tympan.segment.segments(y, sr, method="hmm")       # [(start, end, "vowel"), ...]
vowels, spans = tympan.segment.keep(y, sr, keep="vowels")
```

Methods: ``learned`` (a shipped Conv1D frame classifier), ``hmm``, ``fcm``, ``histogram``
(unsupervised) and ``energy`` (pauses only).  Ground-truth readers and the phone mapping are in
:mod:`tympan.segment.truth`, the scores in :mod:`tympan.segment.metrics`, the writers
(Audacity labels, JSON/CSV, audio per segment) in :mod:`tympan.segment.export`.  Everything
but ``method="learned"`` is numpy/scipy only; that one imports Keras on first use.
"""

from tympan.segment.export import (
    audacity_labels,
    format_segments,
    read_audacity_labels,
    segment_file,
    write_kept,
    write_segment_files,
)
from tympan.segment.features import FEATURE_NAMES, FEATURE_SR, frame_features, stream_features
from tympan.segment.labelling import (
    DEFAULT_METHOD,
    KEEP,
    METHODS,
    FrameLabels,
    keep,
    kept_intervals,
    label_features,
    label_file,
    label_frames,
    segments,
)
from tympan.segment.pauses import PAUSE_METHODS, pauses, remove_pauses
from tympan.segment.truth import CLASSES, PHONE_CLASSES, phone_class

__all__ = [
    "CLASSES",
    "DEFAULT_METHOD",
    "FEATURE_NAMES",
    "FEATURE_SR",
    "KEEP",
    "METHODS",
    "PAUSE_METHODS",
    "PHONE_CLASSES",
    "FrameLabels",
    "audacity_labels",
    "format_segments",
    "frame_features",
    "keep",
    "kept_intervals",
    "label_features",
    "label_file",
    "label_frames",
    "pauses",
    "phone_class",
    "read_audacity_labels",
    "remove_pauses",
    "segment_file",
    "segments",
    "stream_features",
    "write_kept",
    "write_segment_files",
]
