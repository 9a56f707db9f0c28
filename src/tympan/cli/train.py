"""``tympan train``: train a classifier on a folder of recordings and save the artifact."""

from __future__ import annotations

import dataclasses

import click

from tympan.cli._options import (
    LIBRARY_ON_ERROR,
    config_default,
    dataset_options,
    discovery,
    library_option,
    on_error_option,
    parse_ints,
    recipe_config,
    recipe_options,
    train_config,
    use_models,
)
from tympan.data.splits import DEFAULT_TEST_SIZE


@click.command("train")
@click.argument("data", type=click.Path(exists=True))
@dataset_options
@click.option("--split", type=click.Choice(["auto", "group", "stratified", "fold", "pattern"]),
              default="auto", show_default=True,
              help="auto: the data's own folds (one held out), else group-disjoint (speakers, source "
              "recordings), else stratified. group: speaker/session-disjoint test set.")
@click.option("--test-size", type=float, default=DEFAULT_TEST_SIZE, show_default=True,
              help="Part of the clips held out for the test (split auto, stratified, group).")
@click.option("--test-groups", help="Comma-separated groups for the test set (with --split group).")
@click.option("--test-folds", help="Comma-separated folds for the test set (with --split fold).")
@click.option("--test-pattern", help="Regex: matching file names are the test set (--split pattern).")
@recipe_options
@on_error_option(skip_help="train without the files that cannot be read, each named with its cause "
                 "and listed in pipeline.json")
@click.option("--out", required=True, type=click.Path(), help="Artifact folder to write.")
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact at --out.")
@click.option("--quiet", is_flag=True, help="No Keras progress.")
@click.option("--task", type=click.Choice(["classification", "tagging"]),
              help="tagging: several ';'-joined labels per clip (default: tagging when a label "
              "contains ';', else classification).")
@click.option("--stream", is_flag=True,
              help="Stream the clips from their files in batches while training, never all in "
              "memory (the default for datasets above --stream-above-mb).")
@library_option("--stream-above-mb", type=float, metavar="MB",
                library=config_default("TrainConfig", "stream_above_mb"),
                help="Stream when the clips would take more than this many MB as arrays.")
@library_option("--stream-workers", type=int, library=config_default("TrainConfig", "stream_workers"),
                help="Threads that read the next batches of a stream.")
@library_option("--devices", metavar="N|all", library=config_default("TrainConfig", "devices"),
                help="Data-parallel training over N devices (or all visible ones; jax backend): "
                "each batch is split between them; the batch size must be a multiple of N.")
def train(data, labels_from, pattern, csv_path, label_pattern, path_column, label_column, group_column,
          fold_column, split, test_size, test_groups, test_folds, test_pattern, on_error, out, overwrite,
          quiet, task, stream, stream_above_mb, stream_workers, devices, **recipe):
    """Train a classifier on DATA and save the artifact folder to --out.

    \b
    Audio settings, model and split are chosen from the data unless given, printed, and kept
    in pipeline.json.

    \b
    Examples:
      tympan train my_sounds/ --out runs/sounds
      tympan train fsdd/recordings --labels-from regex --pattern fsdd \\
          --split group --model conv1d --features mel --out runs/digits
      tympan train fsdd/recordings --pattern fsdd --split pattern \\
          --test-pattern '_[0-4]\\.wav$' --out runs/digits-standard
      tympan train emodb/wav --pattern emodb --model conv1d_lstm --features mfcc \\
          --sr 16000 --duration 2.0 --class-weight --out runs/emotions
      tympan train fsdd/recordings --label-pattern fsdd-speaker --split group \\
          --test-groups 0,1,2,3,4 --model mlp --features fft --out runs/voices
      tympan train tags.csv --out runs/tags      # labels "dog;bark": a multi-label tagger
      tympan train big_corpus/ --stream --devices all --batch-size 64 --out runs/big
    """
    use_models()
    from tympan import pipeline

    split_options = {"test_size": test_size}
    if test_groups:
        split_options["test_groups"] = test_groups.split(",")
    if test_folds:
        split_options["test_folds"] = parse_ints(test_folds, "--test-folds")
    if test_pattern:
        split_options["test_pattern"] = test_pattern
    config = recipe_config(**recipe)
    config = dataclasses.replace(config, training=train_config(
        config.training, stream_above_mb=0.0 if stream else stream_above_mb,
        stream_workers=stream_workers, devices=devices))
    found = discovery(labels_from, pattern, csv_path, label_pattern, path_column=path_column,
                      label_column=label_column, group_column=group_column, fold_column=fold_column)

    artifact = pipeline.train_any(data, config, task=task, discovery=found, split=split,
                         split_options=split_options, out=out, overwrite=overwrite,
                         on_error=LIBRARY_ON_ERROR[on_error], verbose=0 if quiet else 2,
                         report=click.echo)
    test = artifact.metrics.get("test")
    if "test_normalization" in artifact.metrics:
        click.echo(f"test clips normalised {artifact.metrics['test_normalization']}")
    if "self_training" in artifact.metrics:
        record = artifact.metrics["self_training"]
        record = record if isinstance(record, dict) else record[0]  # an ensemble's first member
        click.echo(f"self-trained on the unlabelled test clips: {record['rounds']} rounds, "
                   f"{record['pseudo_labelled']} clips pseudo-labelled per round")
    if test and artifact.task == "tagging":
        click.echo(", ".join(f"{k} {test[k]:.3f}" for k in ("mAP", "micro_f1", "macro_f1")
                             if test[k] is not None) + f" on {test['n']} test clips")
    elif test:
        click.echo(pipeline.Report.from_dict(test).format())
    click.echo(f"saved {artifact.path}")
