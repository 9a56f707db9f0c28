"""Keep libmpg123's diagnostics off the terminal.

libsndfile decodes MP3 with libmpg123, which prints its own notes on a damaged stream ("Note:
Illegal Audio-MPEG-Header ...", "[src/libmpg123/parse.c:...] error: Giving up resync ...")
straight to file descriptor 2, from C.  tympan reports the same failure as one
:class:`~tympan.errors.AudioIOError` line naming the file, so these lines are noise that breaks
the command line's one-line errors.  :func:`mpg123_quiet` sends descriptor 2 to a temporary file
while MPEG audio is decoded, then writes back everything that is not libmpg123's (a warning
another thread printed meanwhile is delayed, not lost).  Nested and concurrent uses share one
redirection.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

__all__ = ["mpg123_quiet"]

_MPG123_LINE = re.compile(rb"^(Note: |Warning: |\[[^\]]*libmpg123)")
_lock = threading.Lock()
_depth = 0
_saved: int | None = None
_capture = None


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


@contextlib.contextmanager
def mpg123_quiet() -> Iterator[None]:
    """While inside, libmpg123's lines on descriptor 2 are dropped; others pass after."""
    global _depth, _saved, _capture
    with _lock:
        redirected = _depth > 0
        if not redirected:
            try:
                capture = tempfile.TemporaryFile()
                _flush()
                saved = os.dup(2)
                os.dup2(capture.fileno(), 2)
                _saved, _capture = saved, capture
                redirected = True
            except OSError:  # no descriptor 2, or no temporary file: leave the messages be
                pass
        if redirected:
            _depth += 1
    if not redirected:
        yield
        return
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _flush()
                os.dup2(_saved, 2)
                os.close(_saved)
                _capture.seek(0)
                kept = [line for line in _capture.read().splitlines(keepends=True)
                        if not _MPG123_LINE.match(line)]
                _capture.close()
                _saved = _capture = None
                if kept:
                    with contextlib.suppress(OSError):
                        os.write(2, b"".join(kept))
