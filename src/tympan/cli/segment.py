"""``tympan segment``: vowels, consonants and pauses of a recording of any length."""

from __future__ import annotations

import click

from tympan.cli._options import parse_params, use_models


@click.command("segment")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--method", type=click.Choice(["learned", "hmm", "fcm", "histogram", "energy"]),
              default="learned", show_default=True,
              help="learned: the shipped frame classifier; hmm, fcm, histogram: unsupervised; "
              "energy: pauses only.")
@click.option("--keep", type=click.Choice(["vowels", "consonants", "speech"]), default=None,
              help="What --out and --export-dir keep (default: speech, i.e. drop the pauses).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the kept parts, joined, here.")
@click.option("--export", type=click.Path(dir_okay=False),
              help="Write every segment as an Audacity label track (start<TAB>end<TAB>label).")
@click.option("--export-dir", type=click.Path(file_okay=False),
              help="Write one audio file per kept segment into this folder.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="How the segments are printed.")
@click.option("--param", multiple=True, metavar="KEY=VALUE",
              help="Method parameter, repeatable (e.g. threshold_db=-35, stay=0.9).")
@click.option("--block-sec", type=float, default=30.0, show_default=True,
              help="Seconds of audio read at a time (memory stays bounded whatever the length).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (the input file is never written).")
@click.option("--quiet", is_flag=True, help="Print nothing on stdout.")
def segment(source, method, keep, out, export, export_dir, fmt, param, block_sec, overwrite, quiet):
    """Label SOURCE frame by frame as pause / consonant / vowel, print the segments, and
    optionally write the kept parts (--out), an Audacity label track (--export) or one file
    per segment (--export-dir).  The file is read in blocks, so any length works.

    \b
    Examples:
      tympan segment speech.wav
      tympan segment speech.wav --method learned --keep vowels --out vowels.wav
      tympan segment speech.wav --method energy --keep speech --out no_pauses.wav
      tympan segment speech.wav --export labels.txt --format json
      tympan segment speech.wav --keep vowels --export-dir segments/
    """
    if method == "learned":  # the shipped frame classifier is a Keras model
        use_models()
    from tympan.segment import format_segments, segment_file

    labels, kept = segment_file(source, method=method, keep=keep, out=out, export=export,
                                export_dir=export_dir, overwrite=overwrite, block_sec=block_sec,
                                **parse_params(param, "--param"))
    if not quiet:
        click.echo(format_segments(labels.segments(), fmt), nl=False)
    if out is not None or export_dir is not None:
        seconds = sum(b - a for a, b, _ in kept)
        click.echo(f"kept {len(kept)} {keep or 'speech'} segment(s), {seconds:.2f} of "
                   f"{labels.duration:.2f} s", err=True)
