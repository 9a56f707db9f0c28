"""``tympan info FILE...``: print what the header of each audio file says."""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from pathlib import Path

import click

from tympan import io
from tympan.cli._options import on_error_option, printable
from tympan.data import AUDIO_EXTENSIONS, audio_files
from tympan.errors import AudioIOError, ParameterError


def _files(paths: tuple[str, ...]) -> list[str]:
    """The arguments with each folder replaced by its audio files (recursively, hidden skipped,
    natural order: the scanner training and predict use)."""
    out = []
    for path in paths:
        if not Path(path).is_dir():
            out.append(path)
            continue
        found = audio_files(path)
        if not found:
            raise ParameterError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in the "
                                 f"directory '{path}'")
        out += [str(p) for p in found]
    return out


@click.command("info")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object per file, with an 'error' field.")
@on_error_option()
def info(files: tuple[str, ...], fmt: str, on_error: str) -> None:
    """Show format, sample rate, channels, duration and bit depth of each FILE (folders: of
    every audio file in them).

    A file that cannot be read is named with its cause on stderr (json: an object with an
    "error" field) and the others are still shown.  Exit status: 0 every file read, 1 some
    file could not be read, 2 a usage error.

    \b
    Examples:
      tympan info speech.wav music.flac song.mp3
      tympan info recordings/ --format json
    """
    rows, failed = [], 0
    for path in _files(files):
        try:
            header = io.info(path)
        except AudioIOError as exc:
            if on_error == "fail":
                raise
            failed += 1
            rows.append({**dict.fromkeys(f.name for f in fields(io.AudioInfo)), "path": path,
                         "error": str(exc)})
            if fmt == "text":
                click.echo(f"error: {printable(str(exc))}", err=True)
            continue
        if fmt == "json":
            rows.append({**asdict(header), "error": None})
        else:
            if len(rows) > failed:
                click.echo()
            rows.append(header)
            click.echo(str(replace(header, path=printable(header.path))))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        if failed:
            click.echo(f"error: {failed} of {len(rows)} files could not be read (see the 'error' "
                       "field)", err=True)
    if failed:
        click.get_current_context().exit(1)
