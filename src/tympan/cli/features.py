"""``tympan features``: features or a model's embedding of many files, as Parquet shards."""

from __future__ import annotations

import click

from tympan.cli._options import LibraryDefault, use_models
from tympan.cli.engine_options import check_parquet_folder, engine_default, engine_options, report
from tympan.engines.config import FEATURE_KINDS


def _feature_option(name: str, kind, text: str):
    field = name.lstrip("-").replace("-", "_")
    return click.option(name, field, type=kind, cls=LibraryDefault,
                        library=engine_default("FeatureConfig", field), help=text)


@click.command("features")
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(),
              help="Output folder of Parquet shards and _manifest.json.")
@click.option("--features", "kind", type=click.Choice(FEATURE_KINDS),
              cls=LibraryDefault, library=engine_default("FeatureConfig", "kind"),
              help="What to compute from each file.")
@click.option("--embedding", type=click.Path(), metavar="RUN",
              help="The embedding of the classifier in RUN (the layer before its softmax) instead, "
              "from audio read as RUN was trained.")
@_feature_option("--sr", int, "Sample rate the files are resampled to.")
@_feature_option("--duration", float, "Seconds each file is padded or cropped to (none: whole files).")
@_feature_option("--n-fft", int, "FFT length (none: about 25 ms at --sr).")
@_feature_option("--hop-length", int, "Hop between frames (none: 10 ms at --sr).")
@_feature_option("--n-mels", int, "Mel bands (none: 40 below 16 kHz, else 64).")
@_feature_option("--n-mfcc", int, "MFCCs (--features mfcc).")
@_feature_option("--fmin", float, "Lowest mel frequency in Hz.")
@_feature_option("--fmax", float, "Highest mel frequency in Hz (none: sr / 2).")
@_feature_option("--top-db", float, "dB below the peak where log spectra are clipped.")
@engine_options
def features(sources, out, kind, embedding, engine, address, workers, resume, overwrite, shard_size,
             batch_size, **feature_options):
    """Features of SOURCES (files, folders, or .txt lists of paths, one a line), or a model's
    embedding, written to OUT as Parquet shards (one row per file: index, source, feature
    flattened, shape, error) that pyarrow, pandas, Spark or DuckDB read as one table.

    A file that cannot be read is a row with its error (exit status 1), never a failed job.

    \b
    Examples:
      tympan features recordings/ --features logmel --sr 16000 --out mels.parquet
      tympan features archive.txt --embedding runs/digits --engine ray --address auto --out emb.parquet
      tympan features recordings/ --out mels.parquet --resume      # after an interrupted run
    """
    check_parquet_folder(out)
    if embedding is not None:
        use_models()
    from tympan.engines import features_to_parquet

    summary = features_to_parquet(list(sources), out=out, kind=kind, embedding=embedding, engine=engine,
                                  address=address, workers=workers, resume=resume, overwrite=overwrite,
                                  shard_size=shard_size, batch_size=batch_size, **feature_options)
    report(summary)
