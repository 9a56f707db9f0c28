"""Writing files that appear whole or not at all: :func:`replacing`.

Every file tympan writes (audio, figures, label tracks, Parquet shards, manifests, ONNX models)
goes through here: the data go to a hidden temporary file beside the target, flushed to disk,
then renamed over the target in one step.  A reader never sees a partial file, an interrupted
write leaves the old file as it was, and the temporary file is removed on any failure.  Folders
(artifacts) are swapped by :mod:`tympan.pipeline.folder_swap`, which keeps a user's own files.

Whether a target may be replaced at all (``--overwrite``) is the caller's decision, taken before
the work; this module only makes the replacement safe.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["replacing", "temporary_name", "temporary_target"]


def temporary_name(target: Path) -> Path:
    """The hidden temporary file for ``target``: ``.NAME.PID.HEX.tmp`` in the same folder (the same
    file system, so the rename is atomic)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


_TEMPORARY = re.compile(r"\.(.+)\.\d+\.[0-9a-f]{8}\.tmp")


def temporary_target(name: str) -> str | None:
    """The name of the file whose :func:`temporary_name` ``name`` is (a process killed while
    writing left it), or ``None`` when ``name`` is not such a temporary file."""
    match = _TEMPORARY.fullmatch(name)
    return match[1] if match else None


def _flush(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(*targets: str | os.PathLike) -> Iterator[list[Path]]:
    """Temporary paths for ``targets``, renamed over them when the block completes.

    ``with replacing(out) as (tmp,): write(tmp)``.  The temporary files exist (empty, created
    with the usual permissions: a replaced file does not keep its own) when the block starts;
    write them by path.  With several targets none is renamed if the block raises; once it
    completes they are renamed one after another (each in one step, so a failure there leaves
    every target whole, old or new).  The temporary files are removed in either case.  OSError
    from creating them (a missing folder, no permission) comes out before the block runs.
    """
    paths = [Path(os.fspath(t)) for t in targets]
    tmps: list[Path] = []
    try:
        for path in paths:
            tmp = temporary_name(path)
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # umask applies
            tmps.append(tmp)
        yield list(tmps)
        for tmp in tmps:
            _flush(tmp)
        for tmp, path in zip(tmps, paths, strict=True):
            os.replace(tmp, path)
    finally:
        for tmp in tmps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
