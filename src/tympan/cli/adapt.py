"""``tympan adapt``: adapt a trained classifier to one speaker from a few of their recordings."""

from __future__ import annotations

import click

from tympan.cli._options import (
    dataset_options,
    discovery,
    given_values,
    library_option,
    signature_default,
    use_models,
)


@click.command("adapt")
@click.argument("run", type=click.Path())
@click.argument("clips", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(), help="Folder for the adapted artifact.")
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact at --out.")
@library_option("--on-error", type=click.Choice(["raise", "skip"]),
                library=signature_default("tympan.pipeline.adaptation", "adapt", "on_error"),
                help="skip: unreadable files are skipped with a warning naming each.")
@library_option("--self-training", type=int, metavar="ROUNDS",
                library=signature_default("tympan.pipeline.adaptation", "adapt", "self_training"),
              help="Also fine-tune the model, ROUNDS times, on --training-data plus the CLIPS it "
              "labels with probability >= its pseudo_label_threshold (models trained with "
              "--feature-norm group).")
@click.option("--training-data", type=click.Path(), default=None,
              help="The labelled training clips, for --self-training (found with the dataset "
              "options below, as in `tympan train`; they need groups).")
@dataset_options
def adapt(run, clips, out, overwrite, on_error, self_training, training_data, labels_from,
          pattern, csv_path, label_pattern, path_column, label_column, group_column, fold_column):
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
      tympan adapt runs/digits my_voice/ --out runs/digits-me --self-training 2 \\
          --training-data fsdd/recordings --pattern fsdd
    """
    use_models()
    from tympan import pipeline

    adapted = pipeline.adapt(run, list(clips), out=out, overwrite=overwrite,
                             **given_values(on_error=on_error, self_training=self_training),
                             training_data=training_data,
                             discovery=discovery(labels_from, pattern, csv_path, label_pattern,
                                                 path_column=path_column, label_column=label_column,
                                                 group_column=group_column, fold_column=fold_column))
    record = adapted.adaptation.get("self_training")
    trained = (f", self-trained {record['rounds']} rounds ({record['pseudo_labelled']} clips "
               f"pseudo-labelled per round) with {record['training_clips']} training clips"
               + (f" ({record['left_out_own_clips']} of the speaker's own left out)"
                  if record["left_out_own_clips"] else "") if record else "")
    click.echo(f"adapted to {adapted.adaptation['clips']} clips{trained}; saved {adapted.path}")
