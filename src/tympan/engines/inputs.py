"""The inputs of a batch job, as one list of paths in a fixed order.

A source is an audio file, a folder (searched recursively by :func:`tympan.data.audio_files`,
hidden files skipped, natural order: the files ``tympan predict DIR`` sees) or a list file
(``.txt``, ``.lst``, ``.list``: one path a line, blank lines and ``#`` comments skipped, a
relative path read from the list's folder) for archives too large to scan.  The order is the
order given, each folder and list expanded in place, so the same arguments give the same list:
row ``index`` is a position in it, and a resume finds its shards again.

Files are not opened here: a missing or unreadable one becomes its row's error.
"""

from __future__ import annotations

import os
from pathlib import Path

from tympan import data as tdata
from tympan.errors import ParameterError

#: Extensions of a file that lists inputs, one path a line
LIST_EXTENSIONS = (".txt", ".lst", ".list")


def _listed(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read the list of inputs '{path}': {exc}") from exc
    out = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line if os.path.isabs(line) else os.path.normpath(path.parent / line))
    return out


def input_list(sources) -> list[str]:
    """The audio files of ``sources`` (a path or a sequence of paths: files, folders, lists)."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    try:
        sources = list(sources)
    except TypeError:
        raise ParameterError(f"sources must be a path or a list of paths, got {type(sources).__name__}"
                             ) from None
    if not sources:
        raise ParameterError("sources is empty: give at least one file, folder or list")
    out: list[str] = []
    for source in sources:
        if not isinstance(source, (str, os.PathLike)):
            raise ParameterError(f"sources must hold paths, got {type(source).__name__}: {source!r}")
        path = Path(source)
        if path.is_dir():
            files = tdata.audio_files(path)
            if not files:
                raise ParameterError(f"no audio files ({', '.join(tdata.AUDIO_EXTENSIONS)}) in '{path}'")
            out.extend(str(f) for f in files)
        elif path.suffix.lower() in LIST_EXTENSIONS and path.is_file():
            out.extend(_listed(path))
        else:
            out.append(os.fspath(source))
    if not out:
        raise ParameterError(f"no inputs in {[os.fspath(s) for s in sources]}")
    return out


__all__ = ["LIST_EXTENSIONS", "input_list"]
