"""``tympan evaluate``: test a saved artifact on a labelled dataset."""

from __future__ import annotations

import json

import click

from tympan.cli._options import dataset_options, discovery


@click.command("evaluate")
@click.argument("run", type=click.Path())
@click.argument("data", type=click.Path(exists=True))
@dataset_options
@click.option("--on-error", type=click.Choice(["raise", "skip"]), default="raise", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def evaluate(run, data, labels_from, pattern, csv_path, on_error, fmt):
    """Accuracy, macro-F1, per-class precision/recall and confusion matrix of the artifact in
    RUN on the recordings in DATA.

    \b
    Examples:
      tympan evaluate runs/digits new_recordings/ --labels-from folders
      tympan evaluate runs/digits fsdd/recordings --pattern fsdd --format json
    """
    from tympan.pipeline import evaluate as run_evaluate

    report = run_evaluate(run, data, discovery=discovery(labels_from, pattern, csv_path),
                          on_error=on_error)
    click.echo(json.dumps(report.to_dict(), indent=2) if fmt == "json" else report.format())
