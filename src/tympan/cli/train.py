"""``tympan train``: train a classifier on a folder of recordings and save the artifact."""

from __future__ import annotations

import click

from tympan.cli._options import dataset_options, discovery, parse_params


@click.command("train")
@click.argument("data", type=click.Path(exists=True))
@dataset_options
@click.option("--split", type=click.Choice(["group", "stratified", "fold", "pattern"]), default="group",
              show_default=True, help="group: speaker/session-disjoint test set.")
@click.option("--test-size", type=float, default=0.2, show_default=True)
@click.option("--test-groups", help="Comma-separated groups for the test set (with --split group).")
@click.option("--test-folds", help="Comma-separated folds for the test set (with --split fold).")
@click.option("--test-pattern", help="Regex: matching file names are the test set (--split pattern).")
@click.option("--model", "model_name", default="conv1d", show_default=True,
              help="Model family from the registry (conv1d, conv2d, mlp, waveform).")
@click.option("--model-param", multiple=True, metavar="KEY=VALUE", help="Model parameter, repeatable.")
@click.option("--features", default=None, help="Feature kind (mel, mfcc, mfcc+delta, mean_mfcc, "
              "spectrogram, chroma, cqt, scalogram, waveform) or a stack such as mfcc+delta+chroma; "
              "default: the model's own.")
@click.option("--feature-param", multiple=True, metavar="KEY=VALUE", help="Feature parameter, repeatable.")
@click.option("--sr", type=int, default=8000, show_default=True, help="Sample rate the model works at.")
@click.option("--duration", type=float, default=1.0, show_default=True, help="Clip length in seconds.")
@click.option("--epochs", type=int, default=60, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--learning-rate", type=float, default=1e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--on-error", type=click.Choice(["raise", "skip"]), default="raise", show_default=True,
              help="skip: unreadable files are skipped with a warning naming each.")
@click.option("--out", required=True, type=click.Path(), help="Artifact folder to write.")
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact at --out.")
@click.option("--quiet", is_flag=True, help="No Keras progress.")
def train(data, labels_from, pattern, csv_path, split, test_size, test_groups, test_folds,
          test_pattern, model_name, model_param, features, feature_param, sr, duration, epochs,
          batch_size, learning_rate, seed, on_error, out, overwrite, quiet):
    """Train a classifier on DATA and save the artifact folder to --out.

    \b
    Examples:
      tympan train recordings/ --labels-from folders --out runs/sounds
      tympan train fsdd/recordings --labels-from regex --pattern fsdd \\
          --split group --model conv1d --features mel --out runs/digits
      tympan train fsdd/recordings --pattern fsdd --split pattern \\
          --test-pattern '_[0-4]\\.wav$' --out runs/digits-standard
    """
    from tympan import pipeline

    split_options = {"test_size": test_size}
    if test_groups:
        split_options["test_groups"] = test_groups.split(",")
    if test_folds:
        split_options["test_folds"] = [int(f) for f in test_folds.split(",")]
    if test_pattern:
        split_options["test_pattern"] = test_pattern
    feats = parse_params(feature_param, "--feature-param")
    if features:
        feats["kind"] = features
    config = pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=sr, duration=duration),
        features=feats,
        model={"name": model_name, **parse_params(model_param, "--model-param")},
        training=pipeline.TrainConfig(epochs=epochs, batch_size=batch_size,
                                      learning_rate=learning_rate, seed=seed),
    )
    artifact = pipeline.train(data, config, discovery=discovery(labels_from, pattern, csv_path),
                              split=split, split_options=split_options, out=out,
                              overwrite=overwrite, on_error=on_error, verbose=0 if quiet else 2)
    test = artifact.metrics.get("test")
    if test:
        click.echo(pipeline.Report.from_dict(test).format())
    click.echo(f"saved {artifact.path}")
