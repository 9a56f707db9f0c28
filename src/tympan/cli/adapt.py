"""``tympan adapt``: adapt a trained classifier to one speaker from a few of their recordings."""

from __future__ import annotations

import click


@click.command("adapt")
@click.argument("run", type=click.Path())
@click.argument("clips", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(), help="Folder for the adapted artifact.")
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact at --out.")
@click.option("--on-error", type=click.Choice(["raise", "skip"]), default="raise", show_default=True,
              help="skip: unreadable files are skipped with a warning naming each.")
def adapt(run, clips, out, overwrite, on_error):
    """Write a copy of the artifact RUN adapted to one speaker: its feature normalisation set to
    the statistics of CLIPS (files or folders of that speaker's recordings; no labels needed).

    For models trained with --feature-norm group, which normalise every speaker by their own
    statistics; a dozen clips or more give stable statistics.  RUN itself is not changed.

    \b
    Examples:
      tympan train emodb/wav --pattern emodb --model mlp --model-param hidden_units=[] \\
          --model-param pooling=stats --features mfcc+delta --feature-norm group \\
          --sr 16000 --duration 2.0 --class-weight --out runs/emotions
      tympan adapt runs/emotions anna/*.wav --out runs/emotions-anna
      tympan predict runs/emotions-anna anna/new.wav
    """
    from tympan import pipeline

    adapted = pipeline.adapt(run, list(clips), out=out, overwrite=overwrite, on_error=on_error)
    click.echo(f"adapted to {adapted.adaptation['clips']} clips; saved {adapted.path}")
