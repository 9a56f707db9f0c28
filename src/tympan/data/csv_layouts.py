"""Datasets listed in a CSV file: ESC-50 and UrbanSound8K as published, or any CSV whose columns
you name.

:func:`from_csv` reads the header, picks the layout (ESC-50 and UrbanSound8K are recognised by
their columns), maps the columns onto the fields of :class:`~tympan.data.Item` (path, label,
group, fold, start, end; every other column goes to ``Item.meta``) and finds the folder that
holds the audio: the folder given, its ``audio/`` sub-folder, the CSV's folder, an ``audio/``
folder beside or inside it, or the folder above.  Nothing but the CSV text and file names is
read.

A problem with the CSV raises :class:`~tympan.errors.DatasetError`: a missing column names the
columns the file has and the option that names another; audio that is not found names every
place looked in.
"""

from __future__ import annotations

import csv as _csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from tympan import _validate as v
from tympan.data.dataset import Dataset, Item
from tympan.data.listing import dataset_folder
from tympan.errors import DatasetError, ParameterError

__all__ = ["COLUMN_ROLES", "LAYOUTS", "from_csv", "layout_columns"]

#: The layouts :func:`from_csv` reads ("auto" picks one from the header).
LAYOUTS = ("auto", "esc50", "urbansound8k", "generic")

#: The Item fields a CSV column can fill: the keys of ``from_csv(..., columns=...)``.
COLUMN_ROLES = ("path", "label", "group", "fold", "start", "end")

# Each layout's column for each role; the named layouts need all of theirs, "generic" only
# path and label.  start/end are ranges to read; UrbanSound8K's start/end (the place of a slice
# in its source recording) are not, and go to meta with the other columns.
_COLUMNS = {
    "esc50": {"path": "filename", "label": "category", "group": "src_file", "fold": "fold"},
    "urbansound8k": {"path": "slice_file_name", "label": "class", "group": "fsID", "fold": "fold"},
    "generic": {"path": "path", "label": "label", "group": "group", "fold": "fold", "start": "start",
                "end": "end"},
}
_REQUIRED = {"esc50": ("path", "label", "group", "fold"),
             "urbansound8k": ("path", "label", "group", "fold"), "generic": ("path", "label")}
_WHAT = {"path": "the audio file paths", "label": "the labels", "group": "the groups",
         "fold": "the folds", "start": "the start times", "end": "the end times"}
_KIND = {"fold": "int", "start": "sec", "end": "sec"}
_SHOW = 5  # how many offending names an error message lists


def layout_columns(layout: str) -> dict[str, str]:
    """The column each role is read from in ``layout`` ("esc50", "urbansound8k", "generic")."""
    v.choice("layout", layout, LAYOUTS[1:])
    return dict(_COLUMNS[layout])


def from_csv(csv_path: str | os.PathLike, *, root: str | os.PathLike | None = None,
             layout: str = "auto", columns: dict[str, str] | None = None) -> Dataset:
    """Read a dataset from a CSV file.

    layout "esc50"
        The ESC-50 metadata as published (``meta/esc50.csv``): ``filename, fold, target,
        category, esc10, src_file, take``.  ``label`` is ``category``, ``fold`` is ``fold`` and
        ``group`` is ``src_file`` (the source recording: its takes are near copies, keep them on
        one side of a split); ``target``, ``esc10`` and ``take`` go to ``Item.meta``.  Audio at
        ``<audio folder>/<filename>``.
    layout "urbansound8k"
        The UrbanSound8K metadata: ``slice_file_name, fsID, start, end, salience, fold,
        classID, class``; audio at ``<audio folder>/fold<fold>/<slice_file_name>``.  ``label``
        is ``class``, ``group`` is ``fsID`` (the source recording) and ``fold`` is ``fold``.
        The slices are already cut, so ``start``/``end`` (times in the source recording) are
        kept in ``Item.meta`` with ``salience`` and ``classID``, not as ``Item.start``/``end``.
    layout "generic"
        Columns ``path, label`` and optionally ``group, fold, start, end`` (seconds; an empty
        cell means none); other columns go to ``Item.meta``.
    layout "auto"
        "urbansound8k" when the header has ``slice_file_name``, "esc50" when it has
        ``filename`` and ``category``, else "generic".

    ``columns`` names other columns for the roles ``path``, ``label``, ``group``, ``fold``
    (and ``start``, ``end``), e.g. ``{"path": "file", "label": "species"}``; the layout's own
    column is used for a role left out.  A column no role takes goes to ``Item.meta``.

    The audio folder is the first of these that holds every file: ``root`` (the dataset or its
    audio folder), ``root/audio``, the CSV's folder, ``audio/`` in it, ``audio/`` beside it
    (the archives' ``meta/`` + ``audio/``), and the folder above it; absolute paths are used as
    they are.  It becomes ``Dataset.root``.  When no folder holds every file, DatasetError
    lists the missing files and every place looked in.
    """
    if not isinstance(csv_path, (str, os.PathLike)):
        raise ParameterError(f"csv_path must be a str or os.PathLike, got {type(csv_path).__name__}")
    v.choice("layout", layout, LAYOUTS)
    given = _columns(columns)
    path = Path(csv_path).expanduser()
    if not path.is_file():
        raise DatasetError(f"CSV file '{path}' " + ("is a folder" if path.is_dir() else "does not exist"))
    top = None if root is None else dataset_folder(root, "audio root")
    header, rows = _read(path)
    if layout == "auto":
        layout = ("urbansound8k" if "slice_file_name" in header
                  else "esc50" if {"filename", "category"} <= set(header) else "generic")
    roles = _roles(path, header, layout, given)
    fields = []
    for line, row in rows:
        if len(row) != len(header):
            raise DatasetError(f"CSV file '{path}', line {line}: {len(row)} fields, but the "
                               f"header has {len(header)}")
        cells = {h: c.strip() for h, c in zip(header, row, strict=True)}
        try:
            fields.append((line, _fields(cells, roles, layout)))
        except ValueError as exc:
            raise DatasetError(f"CSV file '{path}', line {line}: {exc}") from None
    if not fields:
        raise DatasetError(f"CSV file '{path}' lists no clips (empty dataset)")
    base = _audio_folder(path, top, [Path(f["path"]) for _, f in fields])
    items = []
    for line, f in fields:
        try:
            items.append(Item(**{**f, "path": base / f["path"]}))
        except ValueError as exc:
            raise DatasetError(f"CSV file '{path}', line {line}: {exc}") from None
    return Dataset(tuple(items), base)


# --------------------------------------------------------------------------- reading
def _columns(columns: Any) -> dict[str, str]:
    if columns is None:
        return {}
    if not isinstance(columns, dict):
        raise ParameterError(f"columns must be a dict such as {{'path': 'file', 'label': 'class'}}, "
                             f"got {type(columns).__name__}")
    for role, name in columns.items():
        if role not in COLUMN_ROLES:
            raise ParameterError(f"columns keys must be among {', '.join(map(repr, COLUMN_ROLES))}, "
                                 f"got {role!r}")
        if not isinstance(name, str) or not name.strip():
            raise ParameterError(f"columns[{role!r}] must name a column (a non-empty str), got {name!r}")
    return {role: name.strip() for role, name in columns.items()}


def _read(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = _csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, _csv.Error) as exc:
        raise DatasetError(f"cannot read CSV file '{path}': {exc}") from exc
    if not header or not any(header):
        raise DatasetError(f"CSV file '{path}' is empty (no header row)")
    return header, rows


def _roles(path: Path, header: list[str], layout: str, given: dict[str, str]) -> dict[str, str]:
    """The column of each role present in the CSV; DatasetError for a needed one it lacks."""
    roles = {**_COLUMNS[layout], **given}
    missing = [r for r, c in roles.items() if c not in header and (r in _REQUIRED[layout] or r in given)]
    if missing:
        hints = "; ".join(f"name the column of {_WHAT[r]} with columns={{'{r}': ...}} "
                          f"(command line: --{r}-column)" for r in missing)
        names = ", ".join(repr(roles[r]) for r in missing)
        raise DatasetError(f"CSV file '{path}' has no column {names} (needed for layout {layout!r}; "
                           f"its columns: {', '.join(header)}); {hints}")
    return {r: c for r, c in roles.items() if c in header}


def _cell(cells: dict[str, str], name: str, kind: str = "str", need: bool = False) -> Any:
    """The cell ``name`` as text, an integer ("int") or seconds ("sec"); ``None`` when empty."""
    value = cells.get(name, "")
    if not value:
        if need:
            raise ValueError(f"empty {name!r}")
        return None
    if kind == "str":
        return value
    try:
        x = float(value)
        if kind == "int":
            if not x.is_integer():
                raise ValueError
            return int(x)
        if np.isfinite(x) and x >= 0:
            return x
    except ValueError:
        pass
    rule = "an integer" if kind == "int" else "a non-negative number of seconds"
    raise ValueError(f"{name!r} must be {rule}, got {value!r}")


def _fields(cells: dict[str, str], roles: dict[str, str], layout: str) -> dict[str, Any]:
    """One row as the fields of an Item, its path as written (relative to the audio folder)."""
    need = _REQUIRED[layout]
    value = {r: _cell(cells, c, _KIND.get(r, "str"), need=r in need) for r, c in roles.items()}
    if layout == "urbansound8k":  # the archive's audio/fold<N>/, N from the published column
        fold = _cell(cells, "fold", "int", need=True) if "fold" in cells else value["fold"]
        value["path"] = f"fold{fold}/{value['path']}"
    used = set(roles.values())
    value["meta"] = tuple(sorted((k, c) for k, c in cells.items() if k not in used and k and c))
    return value


# --------------------------------------------------------------------------- the audio folder
def _places(csv_path: Path, top: Path | None) -> list[Path]:
    """The folders that may hold the audio, in the order they are tried (existing ones, once)."""
    here = csv_path.parent
    places = [top, top / "audio"] if top is not None else []
    places += [here, here / "audio", here.parent / "audio", here.parent]
    seen, found = set(), []
    for place in places:
        key = os.path.normcase(os.path.abspath(place))
        if key not in seen and place.is_dir():
            seen.add(key)
            found.append(place)
    return found


def _audio_folder(csv_path: Path, top: Path | None, paths: list[Path]) -> Path:
    """The first place that holds every file of ``paths``; DatasetError naming the missing
    files and every place tried when none does."""
    places = _places(csv_path, top)
    for place in places:  # all() stops at the first file missing
        if all((place / p).is_file() for p in paths):
            return place
    counts = [sum((place / p).is_file() for p in paths) for place in places]
    best = places[counts.index(max(counts))]
    absent = [p for p in paths if not (best / p).is_file()]
    shown = ", ".join(f"'{p.as_posix()}'" for p in absent[:_SHOW])
    more = f" and {len(absent) - _SHOW} more" if len(absent) > _SHOW else ""
    text = f"CSV file '{csv_path}' references {len(absent)} missing audio file(s): {shown}{more}"
    relative = next((p for p in absent if not p.is_absolute()), None)
    if relative is not None:
        tried = ", ".join(f"'{place}'" for place in places)
        found = len(paths) - len(absent)
        text += (f"; looked for under {tried} (e.g. '{places[0] / relative}')"
                 + (f"; the other {found} are under '{best}'" if found else "")
                 + "; give the folder that holds them as root (DATA on the command line)")
    raise DatasetError(text)
