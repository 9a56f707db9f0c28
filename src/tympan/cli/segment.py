"""``tympan segment``: vowels, consonants and pauses of a recording of any length."""

from __future__ import annotations

import click

from tympan.cli._options import (
    LibraryChoice,
    given_values,
    library_option,
    parse_params,
    signature_default,
    use_models,
)


def _methods() -> tuple[str, ...]:
    from tympan.segment.labelling import METHODS

    return METHODS


def _keeps() -> tuple[str, ...]:
    from tympan.segment.labelling import KEEP

    return KEEP


@click.command("segment")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@library_option("--method", type=LibraryChoice(_methods),
                library=signature_default("tympan.segment.export", "segment_file", "method"),
                help="learned: the shipped frame classifier; hmm, fcm, histogram: unsupervised; "
                "energy: pauses only.")
@library_option("--keep", type=LibraryChoice(_keeps),
                library=signature_default("tympan.segment.export", "segment_file", "keep"),
                help="What --out and --export-dir keep (speech: all but the pauses).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the kept parts, joined, here.")
@click.option("--export", type=click.Path(dir_okay=False),
              help="Write every segment as an Audacity label track (start<TAB>end<TAB>label).")
@click.option("--export-dir", type=click.Path(file_okay=False),
              help="Write one audio file per kept segment into this folder.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="How the segments are printed.")
@click.option("--param", multiple=True, metavar="KEY=VALUE",
              help="Method parameter, repeatable (e.g. threshold_db=-35, stay=0.9).")
@library_option("--block-sec", type=float,
                library=signature_default("tympan.segment.export", "segment_file", "block_sec"),
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
    from tympan.segment import format_segments, segment_file

    options = given_values(method=method, keep=keep, block_sec=block_sec)
    if options.get("method", _default("method")) == "learned":  # a Keras model
        use_models()
    labels, kept = segment_file(source, out=out, export=export, export_dir=export_dir,
                                overwrite=overwrite, **options, **parse_params(param, "--param"))
    if not quiet:
        click.echo(format_segments(labels.segments(), fmt), nl=False)
    if out is not None or export_dir is not None:
        seconds = sum(b - a for a, b, _ in kept)
        click.echo(f"kept {len(kept)} {keep or _default('keep')} segment(s), {seconds:.2f} of "
                   f"{labels.duration:.2f} s", err=True)


def _default(name: str):
    return signature_default("tympan.segment.export", "segment_file", name)()
