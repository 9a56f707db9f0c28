"""Replacing a folder atomically while keeping what a user put in it.

:func:`replace_folder` writes the new content into a hidden temporary folder beside the
destination, carries the destination's other entries (those not in ``owned``, the names the
writer owns) into it as hard links (copies where the file system has none), and swaps the two
folders in one step: ``renameat2(RENAME_EXCHANGE)`` on Linux, so the path always holds either
the complete old folder or the complete new one.  Then the old folder is emptied of what the
new one holds (the owned files, and the user's files that are the same file or the same bytes
at the path) and removed; anything else in it (a file changed or added while the swap ran) is
kept and named in a warning.  Nothing a user wrote is ever deleted without an identical copy at
the path.

Where there is no exchange (not Linux, an old kernel or C library, a file system without it),
the swap is two renames: the destination to ``.NAME.old-PID``, the temporary folder to the
destination.  An interrupt between them puts the old folder back; a crash there (the process
killed) leaves the path missing, and :func:`recover` (called by every load and save) renames
the hidden copy back with a warning.

A process killed during a save (SIGKILL, power loss) leaves its hidden ``.NAME.tmp-PID-XXXXXXXX``
folder (and, after the second of two renames, ``.NAME.old-PID``) beside the destination.
:func:`remove_stale` (called by every load and save) clears such a folder once its process is
gone and nothing in it has changed for :data:`STALE_AFTER` seconds (a process id means nothing
on another host: a save running there, on a shared volume, keeps writing into its temporary
folder; the two-rename fallback, which such volumes take, has a moment between its renames where
a load on another host puts the old copy back: save an artifact on one host at a time), as
the interrupted save would have: the ``owned`` files and what the destination holds too
(the same file or the same bytes) are removed; anything else is kept and named in a warning.
Only folders of exactly these names are touched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import filecmp
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from tympan.atomic import temporary_target
from tympan.errors import ArtifactError

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_NO_EXCHANGE = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM}
_renameat2 = None


def exchange(a: Path, b: Path) -> bool:
    """Swap the folders ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``);
    False, changing nothing, where this system or file system cannot."""
    global _renameat2
    if not sys.platform.startswith("linux"):
        return False
    if _renameat2 is None:
        try:
            fn = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).renameat2
        except (OSError, AttributeError):  # no libc found, or glibc < 2.28
            _renameat2 = False
            return False
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        fn.restype = ctypes.c_int
        _renameat2 = fn
    if _renameat2 is False:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, f"cannot swap {a} and {b}: {os.strerror(code)}")


def old_name(dest: Path, pid: int | None = None) -> Path:
    """Where the two-rename swap parks the old folder: ``.NAME.old-PID`` beside ``dest``."""
    return dest.parent / f".{dest.name}.old-{os.getpid() if pid is None else pid}"


def replace_folder(dest, fill: Callable[[Path], None], *, owned: Iterable[str]) -> Path:
    """Write the folder ``dest`` with ``fill(folder)`` without a moment where ``dest`` is
    missing or half written, keeping every entry of an existing ``dest`` not named in
    ``owned`` (see the module docstring).  Returns ``dest``."""
    dest = Path(dest)
    if dest.is_symlink():  # write where the link points, keep the link
        dest = dest.resolve()
    owned = frozenset(owned)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-{os.getpid()}-", dir=dest.parent))
    old = old_name(dest)
    try:
        fill(tmp)
        if dest.is_dir():
            _carry(dest, tmp, owned)
            os.chmod(tmp, stat.S_IMODE(dest.stat().st_mode))
            if exchange(tmp, dest):
                _clear(tmp, dest, owned)  # tmp now holds the old folder
            else:
                os.rename(dest, old)
                os.rename(tmp, dest)
                _clear(old, dest, owned)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)
            os.rename(tmp, dest)
    except BaseException:
        if old.is_dir() and not dest.exists():
            os.rename(old, dest)  # interrupted between the two renames: the old folder back
        for folder in (tmp, old):
            if folder.is_dir() and dest.is_dir():
                _clear(folder, dest, owned)
            elif folder == tmp and folder.is_dir():  # a new folder: tmp holds only what we wrote
                shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def recover(dest, *, accept: Callable[[Path], bool]) -> Path | None:
    """When ``dest`` is missing and a ``.NAME.old-PID`` folder left by an interrupted
    two-rename swap is beside it (its process gone, ``accept(folder)`` true), rename the newest
    such folder back to ``dest`` and warn.  Returns the folder recovered, or None."""
    dest = Path(dest)
    if dest.exists() or dest.is_symlink() or not dest.parent.is_dir():
        return None
    found = []
    prefix = f".{dest.name}.old-"
    for folder in dest.parent.iterdir():
        pid = folder.name[len(prefix):]
        if (folder.name.startswith(prefix) and pid.isdigit() and folder.is_dir()
                and not _running(int(pid)) and accept(folder)):
            found.append(folder)
    if not found:
        return None
    folder = max(found, key=lambda f: f.stat().st_mtime)
    os.rename(folder, dest)
    warnings.warn(f"{dest} was missing after an interrupted save: recovered it from {folder.name}",
                  RuntimeWarning, stacklevel=3)
    return folder


#: Seconds without a change in a hidden folder of a process not running here before
#: :func:`remove_stale` takes it for a killed save's (a live one writes into it all along).
STALE_AFTER = 600.0


def _idle_for(folder: Path) -> float:
    """Seconds since anything in ``folder`` (the folder or an entry of it) last changed: its
    data or its inode (a rename, a new link: ``.NAME.old-PID`` keeps its mtime when renamed)."""
    st = os.stat(folder, follow_symlinks=False)
    newest = max(st.st_mtime, st.st_ctime)
    with os.scandir(folder) as entries:
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            newest = max(newest, st.st_mtime, st.st_ctime)
    return time.time() - newest


def remove_stale(dest, *, owned: Iterable[str]) -> list[Path]:
    """Clear the hidden folders beside ``dest`` that a killed save left: ``.NAME.tmp-PID-X``
    (the :func:`replace_folder` temporary, ``X`` the 8 characters ``tempfile`` adds) and, when
    ``dest`` exists, ``.NAME.old-PID``, of processes no longer running (see the module
    docstring; this process's own are left to it).  Returns the folders removed."""
    dest = Path(dest)
    if dest.is_symlink():
        dest = dest.resolve()
    if not dest.parent.is_dir():
        return []
    owned = frozenset(owned)
    name = re.escape(dest.name)
    pattern = re.compile(rf"\.{name}\.tmp-(\d+)-[a-z0-9_]{{8}}|\.{name}\.old-(\d+)")
    removed = []
    for entry in os.scandir(dest.parent):
        match = pattern.fullmatch(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(match[1] or match[2])
        if pid == os.getpid() or _running(pid) or (match[2] and not dest.is_dir()):
            continue  # a live save's, or a hidden old copy that recover() brings back
        folder = Path(entry.path)
        try:
            if _idle_for(folder) < STALE_AFTER:
                continue  # maybe a save on another host sharing this folder
            _clear(folder, dest, owned | _temporaries(folder, owned))
        except OSError:  # a read-only place, or removed meanwhile: a later save tries again
            continue
        if not folder.exists():
            removed.append(folder)
    return removed


def _temporaries(folder: Path, owned: frozenset[str]) -> frozenset[str]:
    """The temporary files of ``owned`` files in ``folder`` (:func:`tympan.atomic.temporary_name`:
    a figure a killed save was writing), tympan's as the files they were to become."""
    return frozenset(entry.name for entry in os.scandir(folder)
                     if entry.is_file(follow_symlinks=False) and temporary_target(entry.name) in owned)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is not saving it now: it was interrupted earlier
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _carry(src: Path, dst: Path, owned: frozenset[str] = frozenset()) -> None:
    """Recreate ``src``'s entries (but the ``owned`` names) in ``dst``: folders as folders,
    links as links, files as hard links to the same data (copies where linking fails)."""
    for entry in os.scandir(src):
        source, target = Path(entry.path), dst / entry.name
        if entry.name in owned:
            if entry.is_dir(follow_symlinks=False):
                raise ArtifactError(f"cannot replace {source}: it is a folder, not the file tympan "
                                    "writes there; move it out of the way or choose another --out")
            continue
        if entry.is_symlink():
            os.symlink(os.readlink(source), target)
        elif entry.is_dir(follow_symlinks=False):
            os.mkdir(target)
            _carry(source, target)
            shutil.copystat(source, target)
        elif entry.is_file(follow_symlinks=False):
            try:
                os.link(source, target)
            except OSError:  # another file system inside, or one without hard links
                shutil.copy2(source, target)
        else:
            raise ArtifactError(f"cannot keep {source} while replacing the artifact: it is not a "
                                "file, folder or link; move it out or choose another --out")


def _clear(folder: Path, keep: Path, owned: frozenset[str]) -> None:
    """Empty ``folder`` of the ``owned`` files and of every entry that ``keep`` holds too (the
    same file, or a file of the same bytes), then remove it; warn naming it if anything else
    is left (nothing is deleted that is not also at ``keep``)."""
    if _clear_tree(folder, keep, owned):
        os.rmdir(folder)
    else:
        warnings.warn(f"kept {folder}: it holds files that are not the same in {keep} (changed "
                      "while the artifact was replaced); compare them and delete it",
                      RuntimeWarning, stacklevel=3)


def _clear_tree(folder: Path, keep: Path, owned: frozenset[str]) -> bool:
    empty = True
    for entry in os.scandir(folder):
        path, twin = Path(entry.path), keep / entry.name
        if entry.is_symlink():
            gone = twin.is_symlink() and os.readlink(twin) == os.readlink(path)
        elif entry.is_dir(follow_symlinks=False):
            gone = (twin.is_dir() and not twin.is_symlink()
                    and _clear_tree(path, twin, frozenset()))
            if gone:
                os.rmdir(path)
                continue
        elif entry.is_file(follow_symlinks=False):
            gone = entry.name in owned or _same_file(path, twin)
        else:
            gone = False
        if gone:
            os.unlink(path)
        else:
            empty = False
    return empty


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
        return (b.is_file() and not b.is_symlink() and a.stat().st_size == b.stat().st_size
                and filecmp.cmp(a, b, shallow=False))
    except OSError:
        return False


__all__ = ["STALE_AFTER", "exchange", "old_name", "recover", "remove_stale", "replace_folder"]
