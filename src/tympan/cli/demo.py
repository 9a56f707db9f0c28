"""``tympan demo``: the main job on the bundled spoken digits."""

from __future__ import annotations

import click

from tympan.cli._options import given_values, library_option, signature_default, use_models


@click.command("demo")
@library_option("--out", type=click.Path(),
                library=signature_default("tympan.pipeline.demo", "run_demo", "out"),
                help="Artifact folder (an earlier demo artifact there is replaced).")
@library_option("--epochs", type=int,
                library=signature_default("tympan.pipeline.demo", "run_demo", "epochs"))
@click.option("--quiet", is_flag=True, help="No per-epoch progress.")
def demo(out, epochs, quiet):
    """Train a spoken-digit classifier on the recordings bundled with tympan, with a
    speaker-disjoint test set, save it, and predict a recording of the held-out speaker.

    \b
    Example:
      tympan demo --out runs/demo
      tympan predict runs/demo my_recording.wav
    """
    use_models()
    from tympan.pipeline.demo import run_demo
    from tympan.pipeline.metrics import Report

    click.echo("tympan demo: 600 spoken digits (FSDD subset), 6 speakers; "
               "test speaker 'theo' is never heard in training")
    result = run_demo(**given_values(out=out, epochs=epochs), verbose=0 if quiet else 2,
                      report=click.echo)
    metrics = result.artifact.metrics
    click.echo(f"\ntrained on {metrics['n_train']} clips (validation {metrics['n_val']}), "
               f"{metrics['epochs_run']} epochs; test on {metrics['n_test']} clips of the new speaker:")
    click.echo(Report.from_dict(metrics["test"]).format())
    click.echo(f"\nsaved the artifact to {result.artifact.path}")
    p = result.prediction
    click.echo(f"predicted {result.held_out_file.name}: '{p.label}' with probability "
               f"{p.probability:.3f} (true label '{result.true_label}')")
    click.echo(f"next: tympan predict {result.artifact.path} YOUR_FILE.wav")
