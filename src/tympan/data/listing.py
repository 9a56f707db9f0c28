"""Datasets from folder listings: one sub-folder per label (:func:`from_folders`) or labels in the
file names (:func:`from_regex`, e.g. :data:`FSDD_PATTERN`), with the one audio-file scanner
(:func:`audio_files`) behind discovery, ``predict`` and ``data inspect``.

Nothing is read but folder listings; a problem with the data (a missing folder, no audio, a
pattern that matches nothing) raises :class:`~tympan.errors.DatasetError` naming the path or
pattern and what is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tympan import _validate as v
from tympan.data.dataset import Dataset, Item, natural_key
from tympan.errors import DatasetError, ParameterError

__all__ = ["AUDIO_EXTENSIONS", "FSDD_PATTERN", "audio_files", "dataset_folder", "from_folders", "from_regex"]

#: File extensions taken as audio by discovery (compared case-insensitively).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".opus")

#: Free Spoken Digit Dataset names: ``{digit}_{speaker}_{take}.wav``.
FSDD_PATTERN = r"(?P<label>\d)_(?P<group>[a-z]+)_(?P<take>\d+)\.wav"


def dataset_folder(root: Any, what: str = "root") -> Path:
    """``root`` as an existing folder; ParameterError for a value that is not a path, DatasetError
    naming ``what`` and the path when it does not exist or is not a folder."""
    if not isinstance(root, (str, os.PathLike)):
        raise ParameterError(f"{what} must be a str or os.PathLike, got {type(root).__name__}")
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetError(f"dataset {what} '{path}' does not exist")
    if not path.is_dir():
        raise DatasetError(f"dataset {what} '{path}' is not a folder")
    return path



def _extensions(extensions: Any) -> tuple[str, ...]:
    if isinstance(extensions, str):
        extensions = (extensions,)
    exts = tuple("." + str(e).lower().lstrip(".") for e in extensions)
    if not exts:
        raise ParameterError(f"extensions must name at least one extension, got {extensions!r}")
    return exts



def audio_files(folder: str | os.PathLike, exts: Sequence[str] = AUDIO_EXTENSIONS,
                recursive: bool = True) -> list[Path]:
    """Audio files under ``folder`` (hidden files and folders skipped), in natural order: the
    one scanner behind discovery, ``predict`` and ``data inspect``, so all see the same files."""
    folder = Path(folder)
    exts = _extensions(exts)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")] if recursive else []
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in exts:
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: natural_key(p.relative_to(folder).as_posix()))



def _no_audio(root: Path, exts: Sequence[str], where: str = "in") -> DatasetError:
    return DatasetError(f"no audio files ({', '.join(exts)}) found {where} '{root}'")



# --------------------------------------------------------------------------- folders
def from_folders(root: str | os.PathLike, *,
                 extensions: Sequence[str] = AUDIO_EXTENSIONS) -> Dataset:
    """One sub-folder of ``root`` per label: ``root/<label>/**/*.<ext>``.

    Files anywhere below a label folder belong to it; files directly in ``root``, hidden files
    and label folders without audio are ignored.  Items come label by label, files in natural
    order.
    """
    base = dataset_folder(root)
    exts = _extensions(extensions)
    items = []
    for sub in sorted((d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")),
                      key=lambda d: natural_key(d.name)):
        items += [Item(path, sub.name) for path in audio_files(sub, exts)]
    if not items:
        loose = audio_files(base, exts, recursive=False)
        if loose:
            raise DatasetError(
                f"no audio files in label folders of '{base}', but {len(loose)} directly in it "
                f"(e.g. '{loose[0].name}'): put them in one folder per label, or take labels "
                "from the file names with from_regex / labels_from='regex'")
        raise _no_audio(base, exts, "in the label folders of")
    return Dataset(tuple(items), base)



# --------------------------------------------------------------------------- regex
def from_regex(root: str | os.PathLike, pattern: str | re.Pattern, *, recursive: bool = True,
               extensions: Sequence[str] = AUDIO_EXTENSIONS) -> Dataset:
    """Labels (and groups, folds) from the file names.

    ``pattern`` must match the whole file name (``re.fullmatch``, folders excluded) and have a
    named group ``label``; the optional groups ``group`` and ``fold`` (an integer) fill those
    fields and any other named group goes to ``Item.meta``.  Files that do not match are
    skipped; if none matches, DatasetError names the pattern and a file name.  For the Free
    Spoken Digit Dataset use :data:`FSDD_PATTERN`.
    """
    base = dataset_folder(root)
    regex = v.regex("pattern", pattern)
    if "label" not in regex.groupindex:
        raise ParameterError(f"pattern must have a named group 'label' (?P<label>...), "
                             f"got {regex.pattern!r}")
    exts = _extensions(extensions)
    files = audio_files(base, exts, recursive)
    if not files:
        raise _no_audio(base, exts, "in" if recursive else "directly in")
    extra = [g for g in regex.groupindex if g not in ("label", "group", "fold")]
    items = []
    for path in files:
        m = regex.fullmatch(path.name)
        if m is None or not m["label"]:
            continue
        fold = m["fold"] if "fold" in regex.groupindex else None
        if fold is not None and not fold.lstrip("-").isdigit():
            raise DatasetError(f"pattern '{regex.pattern}' gives fold {fold!r} for '{path}': "
                               "the 'fold' group must match an integer")
        meta = tuple(sorted((g, m[g]) for g in extra if m[g] is not None))
        group = m["group"] if "group" in regex.groupindex else None
        items.append(Item(path, m["label"], group=group or None,
                          fold=None if fold is None else int(fold), meta=meta))
    if not items:
        raise DatasetError(f"pattern '{regex.pattern}' matches none of the {len(files)} audio "
                           f"file names in '{base}' (e.g. '{files[0].name}'); it must match "
                           "the whole file name")
    return Dataset(tuple(items), base)
