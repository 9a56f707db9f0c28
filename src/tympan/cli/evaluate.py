"""``tympan evaluate``: test a saved artifact on a labelled dataset, or cross-validate a recipe."""

from __future__ import annotations

import json

import click

from tympan.cli._options import (
    LIBRARY_ON_ERROR,
    RECIPE_PARAMS,
    dataset_options,
    discovery,
    given,
    given_values,
    library_option,
    on_error_option,
    parse_ints,
    printable,
    recipe_config,
    recipe_options,
    signature_default,
    use_models,
)

CV_METHODS = {"auto": "auto", "leave-one-group-out": "leave_one_group_out",
              "group-kfold": "group_kfold", "kfold": "kfold", "fold": "fold"}
_ROW = "{:>4}  {:<14} {:>5}  {:>8}  {:>6}  {:>8}  {:>6}  {:>7}"
_FLAGGED_LINES = 10  # files named one per line; the rest counted (all of them are in the json)


@click.command("evaluate")
@click.argument("paths", nargs=-1, required=True, metavar="[RUN] DATA", type=click.Path())
@dataset_options
@click.option("--cv", type=click.Choice(list(CV_METHODS)), default=None,
              help="Cross-validate the recipe given by the options below on DATA (no RUN): "
              "auto (the data's folds, else --folds folds of whole groups, else kfold), "
              "leave-one-group-out (e.g. each speaker once), group-kfold (--folds folds of whole "
              "groups), kfold (stratified), fold (predefined folds, e.g. UrbanSound8K).")
@library_option("--folds", "n_folds", type=int,
                library=signature_default("tympan.pipeline.evaluate", "cross_validate", "n_splits"),
                help="Number of folds for --cv group-kfold and kfold.")
@click.option("--only-folds", help="Run only these folds (0-based, comma-separated, e.g. 0,3).")
@recipe_options
@on_error_option()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--per-group/--no-per-group", "per_group", default=None,
              help="With RUN: adapt the model to each group (speaker) of DATA from that group's "
              "own clips before testing it.  Default: on for a RUN trained with --feature-norm "
              "group (and not adapted already) when DATA has groups.")
def evaluate(paths, labels_from, pattern, csv_path, label_pattern, path_column, label_column,
             group_column, fold_column, cv, n_folds, only_folds, on_error, fmt, per_group, **recipe):
    """Accuracy, macro-F1, UAR, per-class precision/recall and confusion matrix of the artifact
    in RUN on the recordings in DATA; or, with --cv, of the recipe given by the training options
    (as for tympan train), trained and tested once per fold of DATA.

    \b
    Examples:
      tympan evaluate runs/digits new_recordings/ --labels-from folders
      tympan evaluate runs/digits fsdd/recordings --pattern fsdd --format json
      tympan evaluate --cv leave-one-group-out emodb/wav --pattern emodb \\
          --model conv1d_lstm --features mfcc --sr 16000 --duration 2.0 --class-weight
      tympan evaluate --cv group-kfold --folds 5 --only-folds 0,3 fsdd/recordings --pattern fsdd
      tympan evaluate --cv group-kfold emodb/wav --pattern emodb --model mlp \\
          --model-param hidden_units=[] --model-param pooling=stats --features mfcc+delta \\
          --feature-norm group --sr 16000 --duration 2.0 --class-weight
    """
    use_models()
    from tympan import pipeline

    ctx = click.get_current_context()
    on_error = LIBRARY_ON_ERROR[on_error]
    found = discovery(labels_from, pattern, csv_path, label_pattern, path_column=path_column,
                      label_column=label_column, group_column=group_column, fold_column=fold_column)
    if cv is None:
        misplaced = given(ctx, (*RECIPE_PARAMS, "n_folds", "only_folds"))
        if misplaced:
            raise click.UsageError(f"{', '.join(misplaced)} only with --cv (a saved RUN has its recipe)")
        if len(paths) != 2:
            raise click.UsageError("give RUN and DATA (or --cv METHOD and DATA only)")
        report = pipeline.evaluate(paths[0], paths[1], discovery=found, on_error=on_error,
                                   adapt_per_group=per_group)
        click.echo(json.dumps(report.to_dict(), indent=2) if fmt == "json" else report.format())
        if report.flagged:  # scored as they are; said, as predict says it (docs/reliability.md)
            shown = report.flagged[:_FLAGGED_LINES] if fmt == "table" else ()
            lines = [f"warning: '{printable(file)}' is scored, but flagged {', '.join(flags)}"
                     for file, flags in shown]
            rest = len(report.flagged) - len(shown)
            if rest:
                lines.append(f"warning: {rest} {'more ' if shown else ''}"
                             f"{'file is' if rest == 1 else 'files are'} flagged (see 'flagged'"
                             f"{' in --format json' if fmt == 'table' else ''})")
            click.echo("\n".join(lines), err=True)
        if report.failures:
            lines = ([f"error: {printable(cause)}" for _, cause in report.failures] if fmt == "table" else
                     [f"error: {len(report.failures)} files could not be read and are not in "
                      "the report (see 'failures')"])
            click.echo("\n".join(lines), err=True)
            ctx.exit(1)
        return
    if len(paths) != 1:
        raise click.UsageError("with --cv give DATA only: the recipe comes from the options")
    if per_group is not None:
        raise click.UsageError("--per-group is for a saved RUN; with --cv, --feature-norm group "
                               "adapts each test speaker")
    if CV_METHODS[cv] in ("leave_one_group_out", "fold") and given(ctx, ("n_folds",)):
        raise click.UsageError(f"--folds is for --cv group-kfold and kfold, not {cv}")
    table = fmt == "table"
    result = pipeline.cross_validate(
        paths[0], recipe_config(**recipe), discovery=found, method=CV_METHODS[cv],
        **given_values(n_splits=n_folds), on_error=on_error, only=parse_ints(only_folds, "--only-folds"),
        on_fold=_fold_printer() if table else None, report=click.echo if table else None)
    left_out = result.get("chosen", {}).get("unreadable", [])
    if not table:
        click.echo(json.dumps(result, indent=2))
        for cause in left_out:
            click.echo(f"error: {printable(cause)}", err=True)
        if left_out:
            ctx.exit(1)
        return
    pooled = pipeline.Report.from_dict(result["pooled"])
    click.echo(_ROW.format("", "pooled", pooled.confusion.sum(), f"{pooled.accuracy:.4f}",
                           f"{pooled.uar:.4f}", f"{pooled.macro_f1:.4f}", "", "").rstrip())
    click.echo(_ROW.format("", "mean of folds", "", f"{result['mean_accuracy']:.4f}",
                           f"{result['mean_uar']:.4f}", f"{result['mean_macro_f1']:.4f}", "",
                           "").rstrip())
    click.echo(f"\nall folds' test predictions together:\n{pooled.format()}")
    if left_out:  # named above, as they were left out
        ctx.exit(1)


def _fold_printer():
    """A callback printing one table row per fold as it finishes, the header before the first."""
    rows = []

    def show(fold: dict) -> None:
        if not rows:
            click.echo(_ROW.format("fold", "held out", "n", "accuracy", "UAR", "macro-F1", "epochs",
                                   "train s"))
        rows.append(fold["fold"])
        params = fold["split"]["params"]
        held = params.get("test_groups") or params.get("test_folds") or ["-"]
        click.echo(_ROW.format(fold["fold"], ",".join(map(str, held)), fold["n"],
                               f"{fold['accuracy']:.4f}", f"{fold['uar']:.4f}",
                               f"{fold['macro_f1']:.4f}", fold["epochs_run"],
                               f"{fold['train_seconds']:.0f}"))

    return show
