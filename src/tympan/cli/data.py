"""``tympan data inspect DATA``: what tympan would train on, before a long run."""

from __future__ import annotations

import json

import click

from tympan.cli._options import dataset_options, discovery


@click.group("data")
def data() -> None:
    """Look at a dataset before training on it."""


@data.command("inspect")
@click.argument("data_path", metavar="DATA", type=click.Path(exists=True))
@dataset_options
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="text: a readable report; json: one JSON object (its keys: docs/data.md).")
def inspect(data_path, output_format, **options):
    """Report what `tympan train` would train on in DATA (found with the same options).

    Classes and counts, groups and folds; durations, sample rates, channels and formats;
    unreadable files with the cause; files with identical audio (the same bytes, or the same
    samples in another format), flagged when copies land on both sides of the split (leakage)
    or carry different labels; the split train would make and the audio settings it would
    choose.  Unreadable files and duplicates are reported with exit status 0.

    \b
    Examples:
      tympan data inspect recordings/
      tympan data inspect fsdd/recordings --pattern fsdd
      tympan data inspect UrbanSound8K/audio --csv UrbanSound8K/metadata/UrbanSound8K.csv --format json
    """
    from tympan import data as tdata

    report = tdata.inspect(data_path, discovery=discovery(**options))
    click.echo(report.format() if output_format == "text" else json.dumps(report.to_dict(), indent=2))
