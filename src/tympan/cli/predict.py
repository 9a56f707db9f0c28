"""``tympan predict``: labels for files, folders or long recordings, from a saved artifact."""

from __future__ import annotations

import csv
import io
import json

import click

from tympan.cli._options import LIBRARY_ON_ERROR, on_error_option, printable, use_models
from tympan.cli.engine_options import check_parquet_folder, engine_options, report


def _table(predictions, timeline: bool) -> str:
    """Aligned columns; file names and labels with control characters escaped (a newline in a
    name must not start a row), and the input's flags after the window count: ``(silent)``."""
    names = [printable(p.source) for p in predictions]
    width = max(6, *(len(n) for n in names))
    lines = [f"{'file':<{width}}  {'label':<10} {'prob':>6}  {'seconds':>7}  windows"]
    for name, p in zip(names, predictions, strict=True):
        marker = f"  ({', '.join(p.flags)})" if p.flags else ""
        lines.append(f"{name:<{width}}  {printable(p.label):<10} {p.probability:6.3f}  "
                     f"{p.duration:7.2f}  {len(p.segments)}{marker}")
        if timeline and len(p.segments) > 1:
            lines += [f"    {s.start:7.2f}-{s.end:7.2f} s  {printable(s.label):<10} {s.probability:6.3f}"
                      for s in p.segments]
    return "\n".join(lines)


def _csv(predictions) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "start", "end", "label", "probability", "error", "flags"])
    for p in predictions:
        if not p.ok:
            w.writerow([p.source, "", "", "", "", p.error, ""])
            continue
        for s in p.segments if len(p.segments) > 1 else ():
            w.writerow([p.source, f"{s.start:.3f}", f"{s.end:.3f}", s.label, f"{s.probability:.4f}",
                        "", ""])
        w.writerow([p.source, "", "", p.label, f"{p.probability:.4f}", "", " ".join(p.flags)])
    return buf.getvalue().rstrip("\n")


@click.command("predict")
@click.argument("run", type=click.Path())
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--window", type=float, help="Window length in seconds for long inputs "
              "(default: the training clip).")
@click.option("--hop", type=float, help="Hop between windows in seconds (default: half a window).")
@click.option("--combine", type=click.Choice(["mean", "max", "vote"]),
              help="How window predictions make the file decision (default: the artifact's).")
@click.option("--timeline", is_flag=True, help="Table format: also list each window.")
@click.option("--runtime", type=click.Choice(["keras", "onnx"]),
              help="What runs the model: keras (default: RUN/model.keras) or onnx (RUN/model.onnx "
              "from `tympan export RUN`, in onnxruntime, without Keras: a faster start).")
@on_error_option()
@click.option("--out", type=click.Path(), help="Write one row per file to this folder of Parquet "
              "shards (and _manifest.json) instead of printing; needed by --engine ray.")
@engine_options
def predict(run, sources, fmt, window, hop, combine, timeline, runtime, on_error, out, engine, address,
            workers, resume, overwrite, shard_size, batch_size):
    """Predict labels for SOURCES (files or folders, any format, rate, channels or length)
    with the artifact in RUN.

    Folders are searched recursively (hidden files skipped).  A file that cannot be read is
    named with its cause on stderr (json, csv: a row with an "error" field) and the others are
    still predicted.  A silent file (digital silence, DC), one shorter than the model's analysis
    window or one beyond full scale is predicted with a warning naming it, and flagged (table:
    "(silent)" after the row; json: "flags"; csv: a "flags" column).  Exit status: 0 every
    file predicted, 1 some file could not be read (or another error), 2 a usage error.

    \b
    Examples:
      tympan predict runs/digits a.wav b.mp3
      tympan predict runs/digits recordings/ --format csv > labels.csv
      tympan predict runs/digits long_recording.flac --window 1.0 --hop 0.25 --timeline
      tympan predict runs/digits recordings/ --on-error fail
      tympan predict runs/digits a.wav --runtime onnx     # after: tympan export runs/digits
      tympan predict runs/digits archive/ --out preds.parquet
      tympan predict runs/digits archive.txt --engine ray --address auto --out preds.parquet

    With --out the rows (source, label, probability, probabilities, windows, duration, flags,
    error) go to Parquet shards, on this machine or (--engine ray) a Ray cluster, and a bad
    file is a row with its error whatever --on-error says; --resume finishes an interrupted
    run.  SOURCES may then also be .txt files listing paths, one a line.
    """
    if out is None:
        given = [name for name, value in (("--engine ray", engine == "ray"), ("--address", address),
                                          ("--workers", workers), ("--resume", resume),
                                          ("--overwrite", overwrite), ("--shard-size", shard_size),
                                          ("--batch-size", batch_size)) if value]
        if given:
            raise click.UsageError(f"{', '.join(given)} write(s) Parquet: give --out FOLDER")
    else:
        source = click.get_current_context().get_parameter_source
        printed = [name for name, param in (("--format", "fmt"), ("--timeline", "timeline"))
                   if source(param) is click.core.ParameterSource.COMMANDLINE]
        if printed:
            raise click.UsageError(f"{', '.join(printed)} shape(s) the printed output; --out writes "
                                   "Parquet shards (read them with pyarrow or pandas)")
        check_parquet_folder(out)
        if runtime != "onnx":
            use_models()
        from tympan.engines import predict_to_parquet

        report(predict_to_parquet(run, list(sources), out=out, engine=engine, address=address,
                                  workers=workers, resume=resume, overwrite=overwrite,
                                  runtime=runtime or "keras", shard_size=shard_size,
                                  window_sec=window, hop_sec=hop, combine=combine,
                                  batch_size=batch_size))
        return
    if runtime == "onnx":  # onnxruntime only: Keras (and jax) are never imported
        from tympan.runtime import load_onnx_artifact as load_artifact
    else:
        use_models()
        from tympan.pipeline import load_artifact
    from tympan.pipeline import get_task
    from tympan.pipeline import predict as run_predict

    artifact = load_artifact(run)
    preds = run_predict(artifact, list(sources), window_sec=window, hop_sec=hop, combine=combine,
                        on_error=LIBRARY_ON_ERROR[on_error])
    good = [p for p in preds if p.ok]
    if fmt == "json":
        click.echo(json.dumps([p.to_dict() for p in preds], indent=2))
    elif artifact.task != "classification":  # a tagger: the rows of its task
        click.echo(get_task(artifact.task).serialise(preds, fmt).rstrip("\n"))
    elif fmt == "csv":
        click.echo(_csv(preds))
    else:
        if good:
            click.echo(_table(good, timeline))
        for p in preds:
            if not p.ok:
                click.echo(f"error: {printable(p.error)}", err=True)
    if len(good) < len(preds):
        if fmt != "table":  # stdout may go to a file: say so where the user looks
            click.echo(f"error: {len(preds) - len(good)} of {len(preds)} files could not be read "
                       "(see the 'error' field)", err=True)
        click.get_current_context().exit(1)
