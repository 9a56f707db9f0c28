"""``tympan separate`` (a file into one file per source) and ``tympan separator`` (train, evaluate)."""

from __future__ import annotations

import json

import click

from tympan.cli._options import parse_params, use_models
from tympan.errors import ParameterError


def _names(text: str | None) -> list[str]:
    """``"sp25, sp26"`` -> ``["sp25", "sp26"]`` (spaces around the commas ignored)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]

@click.command("separate")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the separated files (created if needed).")
@click.option("--overwrite", is_flag=True, help="Replace separated files already in --out.")
def separate(run, source, out_dir, overwrite):
    """Split SOURCE (any supported format, any length) with the separator RUN into one file per
    source in --out (e.g. speech.wav and noise.wav), in SOURCE's format.

    \b
    Example:
      tympan separate runs/sep noisy.wav --out separated/
    """
    use_models()
    from tympan import pipeline

    for name, path in pipeline.separate_file(run, source, out_dir, overwrite=overwrite).items():
        click.echo(f"{name}: {path}")


@click.group("separator")
def separator() -> None:
    """Source separation: train a speech/noise separator and measure it.

    \b
    Examples:
      tympan separator train --pairs ../shared/data/noizeus --out runs/sep
      tympan separator train --speech speech/ --noise noise/ --out runs/sep
      tympan separator evaluate runs/sep --pairs ../shared/data/noizeus
      tympan separator combine runs/sep runs/sep-seed1 --out runs/sep-avg
      tympan separate runs/sep noisy.wav --out separated/
    """


@separator.command("train")
@click.option("--pairs", type=click.Path(exists=True, file_okay=False),
              help="NOIZEUS-style folder: clean/spNN.wav and noisy/<noise>_<snr>dB/ (noise = noisy - clean).")
@click.option("--speech", multiple=True, type=click.Path(exists=True),
              help="Clean speech files or folders to mix on the fly (repeatable; default: the "
              "pairs' clean sentences).")
@click.option("--noise", multiple=True, type=click.Path(exists=True),
              help="Noise files or folders to mix on the fly (repeatable; default: the pairs' noise).")
@click.option("--held-out", default="sp25,sp26,sp27,sp28,sp29,sp30", show_default=True,
              help="Sentence ids never trained on (comma-separated; '' for none).")
@click.option("--snr", default="-5,10", show_default=True, help="SNR range of the on-the-fly mixtures, dB.")
@click.option("--speed", default="0.85,1.15", show_default=True,
              help="Speed perturbation of the speech mixed on the fly: each window resampled by a "
              "factor drawn from this range (pitch and formants move with it); 1,1 for none.")
@click.option("--by-length/--by-file", default=True, show_default=True,
              help="Draw the speech mixed on the fly in proportion to each file's length (every "
              "second equally often), or every file equally often.")
@click.option("--pair-speed", is_flag=True,
              help="Speed-perturb the pairs' windows too (speech and noise by the same factor).")
@click.option("--examples-per-epoch", type=int, default=1024, show_default=True)
@click.option("--model-param", multiple=True, metavar="KEY=VALUE",
              help="Separator parameters (sources, n_fft, hop_length, kernel_sizes, filters, depth, "
              "dilation, per_bin, recurrent, spectral).")
@click.option("--sr", type=int, default=8000, show_default=True, help="Sample rate the model works at.")
@click.option("--duration", type=float, default=1.0, show_default=True,
              help="Window length in seconds (longer files are separated in overlapping windows).")
@click.option("--epochs", type=int, default=80, show_default=True,
              help="80 took about 28 minutes on 2 CPU cores with the default model, 9 without its "
              "2-D convolutions (--model-param spectral=0); docs/separation.md.")
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--learning-rate", type=float, default=2e-3, show_default=True)
@click.option("--validation-size", type=float, default=0.0, show_default=True,
              help="Fraction of the training sentences kept for validation and early stopping.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ensemble", type=int, default=1, show_default=True, metavar="N",
              help="Train N separators (seeds SEED, SEED+1, ...) saved as one that averages "
              "their sources (N times the time).")
@click.option("--init", type=click.Path(exists=True, file_okay=False), default=None,
              metavar="RUN", help="Continue training the separator RUN (its model, --sr and "
              "--duration; new mixtures from the epoch where it stopped). RUN is not changed.")
@click.option("--out", required=True, type=click.Path(), help="Artifact folder to write.")
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact at --out.")
@click.option("--quiet", is_flag=True, help="No Keras progress.")
def train(pairs, speech, noise, held_out, snr, speed, by_length, pair_speed, examples_per_epoch,
          model_param, sr, duration, epochs, batch_size, learning_rate, validation_size, seed,
          ensemble, init, out, overwrite, quiet):
    """Train a separator on noisy/clean pairs (--pairs) and/or speech and noise mixed on the fly
    (--speech, --noise); held-out sentences are measured at the end.

    \b
    Examples:
      tympan separator train --pairs ../shared/data/noizeus --out runs/sep
      tympan separator train --pairs ../shared/data/noizeus --init runs/sep --epochs 40 \\
          --learning-rate 1e-3 --out runs/sep-more
    """
    use_models()
    from tympan import pipeline

    if init is not None and model_param:
        raise ParameterError("--model-param cannot change the model of --init RUN; it is RUN's")
    snr_range = _floats(snr, "--snr")
    config = pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=sr, duration=duration),
        model={"name": "separator", **parse_params(model_param, "--model-param")},
        training=pipeline.TrainConfig(epochs=epochs, batch_size=batch_size,
                                      learning_rate=learning_rate, seed=seed, ensemble=ensemble,
                                      validation_size=validation_size))
    artifact = pipeline.train_separator(
        pairs=pairs, speech=list(speech) or None, noise=list(noise) or None, config=config,
        held_out=_names(held_out), snr_db=snr_range, speed=_floats(speed, "--speed"),
        by_length=by_length, pair_speed=pair_speed, examples_per_epoch=examples_per_epoch,
        init=init, out=out, overwrite=overwrite, verbose=0 if quiet else 2)
    if "test" in artifact.metrics:
        _table(artifact.metrics["test"])
    click.echo(f"saved {artifact.path}")


@separator.command("combine")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(), help="Artifact folder to write.")
@click.option("--pairs", type=click.Path(exists=True, file_okay=False),
              help="NOIZEUS-style folder: measure the sentences every run held out.")
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact at --out.")
def combine(runs, out, pairs, overwrite):
    """Save one separator that averages the sources of RUNS (two or more separators with the
    same sample rate, window length and sources); separating costs the sum of them.

    \b
    Example:
      tympan separator combine runs/sep runs/sep-seed1 --pairs ../shared/data/noizeus \\
          --out runs/sep-avg
    """
    use_models()
    from tympan import pipeline

    artifact = pipeline.combine_separators(list(runs), pairs=pairs, out=out, overwrite=overwrite)
    if "test" in artifact.metrics:
        _table(artifact.metrics["test"])
    click.echo(f"saved {artifact.path}")


@separator.command("evaluate")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--pairs", type=click.Path(exists=True, file_okay=False),
              help="NOIZEUS-style folder; the test sentences default to those RUN held out.")
@click.option("--sentences", default=None, help="Sentence ids to test on (comma-separated).")
@click.option("--speech", type=click.Path(exists=True), help="Clean speech to mix (instead of --pairs).")
@click.option("--noise", type=click.Path(exists=True), help="Noise to mix with --speech.")
@click.option("--snr", default="0,5,10,15", show_default=True,
              help="Input SNRs of the --speech/--noise mixtures, dB.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def evaluate(run, pairs, sentences, speech, noise, snr, fmt):
    """SDR, SI-SDR and SI-SDR improvement of RUN's speech source per input SNR and noise.

    \b
    Example:
      tympan separator evaluate runs/sep --pairs ../shared/data/noizeus
    """
    use_models()
    from tympan import pipeline

    result = pipeline.evaluate_separation(
        run, pairs, sentences=_names(sentences) or None, speech=speech,
        noise=noise, snr_db=_floats(snr, "--snr"))
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        _table(result)


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ParameterError(f"{option} takes comma-separated numbers such as -5,10, got {text!r}") from None


def _table(result: dict) -> None:
    click.echo(f"{'input SNR':>10} {'n':>4} {'input SI-SDR':>13} {'SDR':>7} {'SI-SDR':>7} {'SI-SDRi':>8}")
    rows = [(f"{float(k):g} dB", r) for k, r in result["by_snr"].items()] + [("all", result["mean"])]
    for label, r in rows:
        click.echo(f"{label:>10} {r['n']:>4} {r['input_si_sdr_db']:>13.2f} {r['sdr_db']:>7.2f} "
                   f"{r['si_sdr_db']:>7.2f} {r['si_sdri_db']:>8.2f}")
