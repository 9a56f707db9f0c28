"""``tympan separate`` (a file into one file per source) and ``tympan separator`` (train, evaluate)."""

from __future__ import annotations

import dataclasses
import json

import click

from tympan.cli._options import (
    config_default,
    given_values,
    library_option,
    parse_params,
    signature_default,
    train_config,
    use_models,
)
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
@library_option("--held-out", library=config_default("MixingConfig", "held_out"),
                help="Sentence ids never trained on (comma-separated; '' for none).")
@library_option("--snr", library=config_default("MixingConfig", "snr_db"),
                help="SNR range of the on-the-fly mixtures, dB.")
@library_option("--speed", library=config_default("MixingConfig", "speed"),
                help="Speed perturbation of the speech mixed on the fly: each window resampled by a "
                "factor drawn from this range (pitch and formants move with it); 1,1 for none.")
@library_option("--by-length/--by-file", library=config_default("MixingConfig", "by_length"),
                show=lambda on: "--by-length" if on else "--by-file",
                help="Draw the speech mixed on the fly in proportion to each file's length (every "
                "second equally often), or every file equally often.")
@click.option("--pair-speed", is_flag=True,
              help="Speed-perturb the pairs' windows too (speech and noise by the same factor).")
@library_option("--examples-per-epoch", type=int,
                library=config_default("MixingConfig", "examples_per_epoch"))
@click.option("--model-param", multiple=True, metavar="KEY=VALUE",
              help="Separator parameters (sources, n_fft, hop_length, kernel_sizes, filters, depth, "
              "dilation, per_bin, recurrent, spectral).")
@library_option("--sr", type=int, library=config_default("SEPARATOR_AUDIO", "sr"),
                help="Sample rate the model works at.")
@library_option("--duration", type=float, library=config_default("SEPARATOR_AUDIO", "duration"),
                help="Window length in seconds (longer files are separated in overlapping windows).")
@library_option("--epochs", type=int, library=config_default("SEPARATOR_TRAINING", "epochs"),
                help="80 took about 28 minutes on 2 CPU cores with the default model, 9 without "
                "its 2-D convolutions (--model-param spectral=0); docs/separation.md.")
@library_option("--batch-size", type=int, library=config_default("SEPARATOR_TRAINING", "batch_size"))
@library_option("--learning-rate", type=float,
                library=config_default("SEPARATOR_TRAINING", "learning_rate"))
@library_option("--validation-size", type=float,
                library=config_default("SEPARATOR_TRAINING", "validation_size"),
                help="Fraction of the training sentences kept for validation and early stopping.")
@library_option("--seed", type=int, library=config_default("SEPARATOR_TRAINING", "seed"))
@library_option("--ensemble", type=int, metavar="N",
                library=config_default("SEPARATOR_TRAINING", "ensemble"),
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
    config, mixing = separator_recipe(
        sr=sr, duration=duration, model_param=model_param, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, validation_size=validation_size, seed=seed, ensemble=ensemble,
        held_out=held_out, snr=snr, speed=speed, by_length=by_length, pair_speed=pair_speed,
        examples_per_epoch=examples_per_epoch)
    artifact = pipeline.train_separator(
        pairs=pairs, speech=list(speech) or None, noise=list(noise) or None, config=config,
        init=init, out=out, overwrite=overwrite, verbose=0 if quiet else 2,
        **dataclasses.asdict(mixing))
    if "test" in artifact.metrics:
        _table(artifact.metrics["test"])
    click.echo(f"saved {artifact.path}")


def separator_recipe(*, sr=None, duration=None, model_param=(), epochs=None, batch_size=None,
                     learning_rate=None, validation_size=None, seed=None, ensemble=None,
                     held_out=None, snr=None, speed=None, by_length=None, pair_speed=False,
                     examples_per_epoch=None):
    """The PipelineConfig and MixingConfig of ``separator train``'s options: those not given
    (``None``) are the separator recipe's (:data:`~tympan.pipeline.config.SEPARATOR_AUDIO`,
    :data:`~tympan.pipeline.config.SEPARATOR_TRAINING`, :class:`~tympan.pipeline.MixingConfig`)."""
    from tympan.pipeline import config as cfg

    audio = dataclasses.replace(cfg.SEPARATOR_AUDIO, **given_values(sr=sr, duration=duration))
    config = cfg.PipelineConfig(
        audio=audio, model={"name": "separator", **parse_params(model_param, "--model-param")},
        training=train_config(cfg.SEPARATOR_TRAINING, epochs=epochs, batch_size=batch_size,
                              learning_rate=learning_rate, seed=seed, ensemble=ensemble,
                              validation_size=validation_size))
    mixing = cfg.MixingConfig(**given_values(
        held_out=None if held_out is None else _names(held_out),
        snr_db=None if snr is None else _floats(snr, "--snr"),
        speed=None if speed is None else _floats(speed, "--speed"),
        by_length=by_length, pair_speed=pair_speed or None, examples_per_epoch=examples_per_epoch))
    return config, mixing


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
@library_option("--snr", library=signature_default("tympan.pipeline.separate", "evaluate_separation",
                                                   "snr_db"),
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
        run, pairs, sentences=_names(sentences) or None, speech=speech, noise=noise,
        **given_values(snr_db=None if snr is None else _floats(snr, "--snr")))
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
