"""Datasets: find the clips and their labels, split them, and read them into arrays.

- :mod:`tympan.data.dataset`: :class:`Dataset` of :class:`Item`, what every finder returns.
- :mod:`tympan.data.listing`: :func:`from_folders`, :func:`from_regex` (labels from file names,
  e.g. :data:`FSDD_PATTERN`) and :func:`audio_files`; :mod:`tympan.data.csv_layouts`:
  :func:`from_csv` (ESC-50, UrbanSound8K, or any CSV with the columns named);
  :mod:`tympan.data.corpora`: :func:`from_emodb` (EMO-DB, English emotion labels, speakers as
  groups); :mod:`tympan.data.relabel`: labels from file names; :mod:`tympan.data.discover`:
  :func:`discover`, the entry point above them all.
- :mod:`tympan.data.splits`: :func:`split` (stratified, group, fold, pattern) and
  :func:`cross_validation`, returning :class:`Split` index arrays.
- :mod:`tympan.data.loading`: :func:`load_clips` (parallel, fixed length) and :func:`fit_length`.
- :mod:`tympan.data.survey`: :func:`survey` (every file's header, errors kept) and
  :func:`audio_defaults` (the sample rate and clip duration that fit the files).
- :mod:`tympan.data.inspect`: :func:`inspect` (what tympan would train on: counts, formats,
  unreadable files, identical audio across the split or with different labels, the split and
  the audio settings ``tympan train`` would choose).
- :func:`demo_dir` / :func:`example_file`: the small FSDD subset bundled with the package.

numpy and :mod:`tympan.io` only; Keras is never imported here.
"""

from __future__ import annotations

from pathlib import Path

from tympan.data.corpora import EMODB_EMOTIONS, EMODB_PATTERN, from_emodb
from tympan.data.csv_layouts import from_csv
from tympan.data.dataset import Dataset, DatasetWarning, Item
from tympan.data.discover import PATTERNS, discover
from tympan.data.inspect import Duplicate, Inspection, inspect
from tympan.data.listing import AUDIO_EXTENSIONS, FSDD_PATTERN, audio_files, from_folders, from_regex
from tympan.data.loading import CROP_MODES, PAD_MODES, fit_length, load_clips
from tympan.data.splits import (
    AUTO_MIN_GROUPS,
    CV_METHODS,
    DEFAULT_TEST_SIZE,
    SPLIT_METHODS,
    Split,
    auto_method,
    cross_validation,
    split,
)
from tympan.data.survey import AudioChoice, FileInfo, Survey, audio_defaults, survey
from tympan.errors import DatasetError

_DEMO = Path(__file__).resolve().parent / "fsdd_demo"


def demo_dir() -> Path:
    """Folder of the bundled spoken-digit recordings (600 WAV files, CC BY-SA 4.0, see NOTICE.md)."""
    return _DEMO


def example_file(name: str = "7_jackson_0.wav") -> Path:
    """Path of one bundled recording, ``{digit}_{speaker}_{take}.wav`` with take 0-9."""
    path = _DEMO / name
    if not path.is_file():
        raise DatasetError(f"no bundled recording named {name!r} in {_DEMO}")
    return path


__all__ = [
    "AUDIO_EXTENSIONS", "AUTO_MIN_GROUPS", "CROP_MODES", "CV_METHODS", "DEFAULT_TEST_SIZE", "EMODB_EMOTIONS",
    "EMODB_PATTERN", "FSDD_PATTERN", "PAD_MODES", "PATTERNS", "SPLIT_METHODS", "AudioChoice", "Dataset",
    "DatasetWarning", "Duplicate", "FileInfo", "Inspection", "Item", "Split", "Survey", "audio_defaults",
    "audio_files", "auto_method", "cross_validation", "demo_dir", "discover", "example_file", "fit_length",
    "from_csv", "from_emodb", "from_folders", "from_regex", "inspect", "load_clips", "split", "survey",
]
