"""Find the clips of a dataset and their labels: class folders, a CSV, or a file-name pattern.

:func:`discover` is the one entry point of the command line: it picks the finder
(:func:`~tympan.data.listing.from_folders`, :func:`~tympan.data.listing.from_regex`,
:func:`~tympan.data.csv_layouts.from_csv`, :func:`~tympan.data.corpora.from_emodb`) and
relabels the items from their file names (:func:`~tympan.data.relabel.relabel`).  Every finder
returns a :class:`~tympan.data.dataset.Dataset`; audio is decoded later by
:func:`tympan.data.load_clips`.  The finders and the data classes are re-exported here.

A problem with the data (a missing folder, no audio, a CSV without a needed column, rows that
point at missing files, a pattern that matches nothing) raises
:class:`~tympan.errors.DatasetError` naming the path or pattern and what is wrong.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tympan import _validate as v
from tympan.data.corpora import from_emodb
from tympan.data.csv_layouts import from_csv
from tympan.data.dataset import Dataset, Item, natural_key
from tympan.data.listing import AUDIO_EXTENSIONS, FSDD_PATTERN, audio_files, from_folders, from_regex
from tympan.data.relabel import relabel
from tympan.errors import ParameterError

__all__ = [
    "AUDIO_EXTENSIONS", "FSDD_PATTERN", "PATTERNS", "Dataset", "Item", "audio_files", "discover",
    "from_folders", "from_regex", "natural_key",
]

#: Named patterns that :func:`discover` accepts in place of a regular expression.
PATTERNS = {"fsdd": FSDD_PATTERN}


# --------------------------------------------------------------------------- one entry point
def discover(root: str | os.PathLike | None, *, labels_from: str = "folders",
             pattern: str | re.Pattern | None = None,
             csv: str | os.PathLike | None = None,
             label_pattern: str | re.Pattern | None = None,
             columns: dict[str, str] | None = None) -> Dataset:
    """Find a dataset: the one entry point of the command line.

    labels_from "folders"  :func:`from_folders` (``root/<label>/...``)
    labels_from "regex"    :func:`from_regex` with ``pattern`` (a regular expression, or a
                           name from :data:`PATTERNS` such as ``"fsdd"``); ``"emodb"``:
                           :func:`tympan.data.from_emodb` (English emotion labels)
    labels_from "csv"      :func:`tympan.data.from_csv` with ``csv`` (layout detected: ESC-50,
                           UrbanSound8K or generic) and ``columns``, audio under ``root`` (the
                           dataset or its audio folder; ``None``: found from the CSV's place)
    labels_from "auto"     "csv" when ``csv`` is given, "regex" when ``pattern`` is, else "folders"

    A ``root`` that is a ``.csv`` file is taken as ``csv`` (labels from the CSV, audio found
    from its place), whatever ``labels_from`` says but "regex".

    ``label_pattern`` then takes each item's label (and group) from its file name with
    :func:`tympan.data.relabel.relabel` (e.g. ``"fsdd-speaker"`` for speaker recognition); with
    "auto" or "folders" and no ``pattern`` or ``csv``, every audio file under ``root`` is a
    candidate.
    """
    v.choice("labels_from", labels_from, ("folders", "regex", "csv", "auto"))
    if isinstance(root, (str, os.PathLike)) and Path(root).suffix.lower() == ".csv" \
            and Path(root).expanduser().is_file():
        if csv is not None and Path(csv).expanduser().resolve() != Path(root).expanduser().resolve():
            raise ParameterError(f"give the CSV file once, as the dataset or as csv, got the dataset "
                                 f"'{root}' and csv '{csv}'")
        if labels_from == "regex":
            raise ParameterError(f"labels_from='regex' needs a folder of audio files, got the CSV "
                                 f"file '{root}'")
        root, csv, labels_from = None, root, "csv"
    if label_pattern is not None:
        if labels_from in ("auto", "folders") and csv is None and pattern is None:
            if columns is not None:
                raise ParameterError(f"columns is used with a CSV only, got columns={columns!r}")
            return relabel(from_regex(root, r"(?P<label>.+)"), label_pattern)
        return relabel(discover(root, labels_from=labels_from, pattern=pattern, csv=csv,
                                columns=columns), label_pattern)
    if labels_from == "auto":
        labels_from = "csv" if csv is not None else "regex" if pattern is not None else "folders"
    if pattern is not None and labels_from != "regex":
        raise ParameterError(f"pattern is used with labels_from='regex' only, got "
                             f"labels_from={labels_from!r}")
    if csv is not None and labels_from != "csv":
        raise ParameterError(f"csv is used with labels_from='csv' only, got labels_from={labels_from!r}")
    if columns is not None and labels_from != "csv":
        raise ParameterError(f"columns is used with a CSV only (csv or labels_from='csv'), got "
                             f"columns={columns!r} with labels_from={labels_from!r}")
    if labels_from == "csv":
        if csv is None:
            raise ParameterError("csv must name a CSV file when labels_from='csv', got None")
        return from_csv(csv, root=root, columns=columns)
    if labels_from == "regex":
        if pattern is None:
            raise ParameterError("pattern must be a regular expression with a (?P<label>...) "
                                 f"group or one of {sorted([*PATTERNS, 'emodb'])} for labels_from='regex', "
                                 "got None")
        if isinstance(pattern, str) and pattern.lower() == "emodb":
            return from_emodb(root)
        pattern = PATTERNS.get(pattern.lower(), pattern) if isinstance(pattern, str) else pattern
        return from_regex(root, pattern)
    return from_folders(root)
