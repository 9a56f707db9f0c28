"""Options of the batch commands that write Parquet (``tympan predict --out``, ``tympan
features``): the engine, the cluster, the output folder; and the summary they print."""

from __future__ import annotations

import click

from tympan.cli._options import LibraryDefault, printable
from tympan.engines.config import ENGINES


def engine_default(owner: str, field: str):
    """The default of ``field`` of ``tympan.engines.config.<owner>``, the one place they live."""
    def get():
        from tympan.engines import config

        return getattr(getattr(config, owner)(), field)

    get.source = (owner, field)
    return get


def engine_options(f):
    """``--engine``, ``--address``, ``--workers``, ``--resume``, ``--overwrite``,
    ``--shard-size``, ``--batch-size`` (``--out`` is the command's own)."""
    options = [
        click.option("--engine", type=click.Choice(ENGINES), cls=LibraryDefault,
                     library=engine_default("EngineConfig", "engine"),
                     help="Where the work runs: this process, or a Ray cluster (pip install "
                     "'tympan[ray]'); the rows are the same."),
        click.option("--address", help="Ray cluster to join (ray start --head prints it; 'auto': the "
                     "one on this machine); default: one started for the job."),
        click.option("--workers", type=int, cls=LibraryDefault, show=lambda w: w or "one per CPU",
                     library=engine_default("EngineConfig", "workers"),
                     help="Ray actors, each with the model loaded once."),
        click.option("--resume", is_flag=True, help="Finish an earlier run of the same job in OUT: "
                     "shards already written are kept."),
        click.option("--overwrite", is_flag=True, help="Replace an earlier output in OUT."),
        click.option("--shard-size", type=int, cls=LibraryDefault,
                     library=engine_default("EngineConfig", "shard_size"),
                     help="Inputs per Parquet file (the unit a resume skips)."),
        click.option("--batch-size", type=int, cls=LibraryDefault,
                     library=engine_default("EngineConfig", "batch_size"),
                     help="Inputs per call of the batch function."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


#: Names that promise one file of another format: --out is a folder of Parquet shards.
NOT_PARQUET = (".csv", ".tsv", ".json", ".jsonl", ".txt", ".xlsx")


def check_parquet_folder(out: str) -> None:
    """A usage error for an ``--out`` named like a file of another format (``preds.csv``):
    the output is a folder of Parquet shards, which such a name would hide."""
    if str(out).lower().endswith(NOT_PARQUET):
        raise click.UsageError(f"--out is a folder of Parquet shards (e.g. preds.parquet or "
                               f"preds/), got {printable(out)!r}; to print CSV, leave out --out "
                               "and give --format csv")


def report(summary: dict) -> None:
    """Print a job's summary (stdout), and on stderr the count of rows with an error; exit status
    1 when some rows have one."""
    skipped = (f", {summary['shards_skipped']} already there" if summary["shards_skipped"] else "")
    click.echo(f"{summary['rows_written']} rows in {summary['shards_written']} of {summary['shards']} "
               f"shards{skipped} -> {printable(summary['out'])} ({summary['engine']}, "
               f"{summary['seconds']:.1f} s)")
    if summary["errors"]:
        click.echo(f"error: {summary['errors']} of {summary['inputs']} files could not be read "
                   "(see the 'error' column)", err=True)
        click.get_current_context().exit(1)
