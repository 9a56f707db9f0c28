"""``tympan info FILE...``: print what the header of each audio file says."""

from __future__ import annotations

import click

from tympan import io


@click.command("info")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def info(files: tuple[str, ...]) -> None:
    """Show format, sample rate, channels, duration and bit depth of each FILE.

    \b
    Example:
      tympan info speech.wav music.flac song.mp3
    """
    for i, path in enumerate(files):
        if i:
            click.echo()
        click.echo(str(io.info(path)))
