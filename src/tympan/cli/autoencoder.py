"""``tympan autoencoder``: train an audio autoencoder, reconstruct files, measure the loss."""

from __future__ import annotations

import importlib
import json

import click

from tympan.cli._options import (
    LibraryChoice,
    config_default,
    given_values,
    library_option,
    parse_params,
    signature_default,
    train_config,
    use_models,
)


def _model_default(name: str):
    """A getter of the autoencoder builder's default ``name`` (read when --help is drawn)."""
    def get():
        from tympan import models

        return models.model_defaults("autoencoder")[name]

    get.source = ("autoencoder", name)
    return get


def _representations() -> tuple[str, ...]:
    from tympan.models.autoencoder import REPRESENTATIONS

    return REPRESENTATIONS


@click.group("autoencoder")
def autoencoder() -> None:
    """Audio in, audio out: train an autoencoder and reconstruct recordings with it.

    \b
    Examples:
      tympan autoencoder train speech/ --representation stft --compression 8 --out runs/ae
      tympan autoencoder reconstruct runs/ae in.mp3 out.mp3
      tympan autoencoder evaluate runs/ae held_out_speech/
    """


@autoencoder.command("train")
@click.argument("data", type=click.Path(exists=True))
@library_option("--representation", type=LibraryChoice(_representations),
                library=_model_default("representation"),
                help="stft: complex STFT (exact inverse); logmag: log-magnitude STFT with the "
                "input's phase; waveform: the samples.")
@library_option("--compression", type=float, library=_model_default("compression"),
                help="Waveform samples per number in the bottleneck.")
@click.option("--model-param", multiple=True, metavar="KEY=VALUE",
              help="Other autoencoder parameters (n_fft, hop_length, width, depth, kernel_size, stride).")
@library_option("--sr", type=int, library=lambda: "the files' most common rate",
                help="Sample rate the model works at.")
@library_option("--duration", type=float,
                library=lambda: importlib.import_module("tympan.pipeline.reconstruct").AUTOENCODER_WINDOW,
                help="Window length in seconds (longer files are cut into half-overlapping windows).")
@library_option("--test-size", type=float,
                library=signature_default("tympan.pipeline.reconstruct", "train_autoencoder",
                                          "test_size"),
                help="Fraction of the files held out and measured after training.")
@library_option("--epochs", type=int, library=config_default("AUTOENCODER_TRAINING", "epochs"))
@library_option("--batch-size", type=int, library=config_default("AUTOENCODER_TRAINING", "batch_size"))
@library_option("--learning-rate", type=float,
                library=config_default("AUTOENCODER_TRAINING", "learning_rate"))
@library_option("--seed", type=int, library=config_default("AUTOENCODER_TRAINING", "seed"))
@click.option("--out", required=True, type=click.Path(), help="Artifact folder to write.")
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact at --out.")
@click.option("--quiet", is_flag=True, help="No Keras progress.")
def train(data, representation, compression, model_param, sr, duration, test_size, epochs,
          batch_size, learning_rate, seed, out, overwrite, quiet):
    """Train an autoencoder on the audio files under DATA (labels are not needed).

    \b
    Example:
      tympan autoencoder train speech/ --representation stft --compression 8 --out runs/ae
    """
    use_models()
    from tympan import pipeline

    config = autoencoder_recipe(representation=representation, compression=compression,
                                model_param=model_param, sr=sr, duration=duration, epochs=epochs,
                                batch_size=batch_size, learning_rate=learning_rate, seed=seed)
    artifact = pipeline.train_autoencoder(data, config, out=out, overwrite=overwrite,
                                          verbose=0 if quiet else 2,
                                          **given_values(test_size=test_size))
    m = artifact.metrics
    click.echo(f"bottleneck: {m['bottleneck_values']} numbers per {artifact.config.audio.samples} "
               f"samples ({m['compression']:.2f}x compression)")
    if "test" in m:
        t = m["test"]
        click.echo(f"held-out files ({m['n_test_files']}): SNR {t['mean_snr_db']:.2f} dB, "
                   f"SI-SDR {t['mean_si_sdr_db']:.2f} dB, log-spectral distance {t['mean_lsd_db']:.2f} dB")
    click.echo(f"saved {artifact.path}")


def autoencoder_recipe(*, representation=None, compression=None, model_param=(), sr=None,
                       duration=None, epochs=None, batch_size=None, learning_rate=None, seed=None):
    """The PipelineConfig of ``autoencoder train``'s options: those not given (``None``) are
    the library's (the builder's own parameters, the files' rate and
    :data:`~tympan.pipeline.config.AUTOENCODER_TRAINING`)."""
    from tympan.pipeline import config as cfg

    model = {"name": "autoencoder", **parse_params(model_param, "--model-param"),
             **given_values(representation=representation, compression=compression)}
    return cfg.PipelineConfig(
        audio=cfg.AudioConfig(**given_values(sr=sr, duration=duration)), model=model,
        training=train_config(cfg.AUTOENCODER_TRAINING, epochs=epochs, batch_size=batch_size,
                              learning_rate=learning_rate, seed=seed))


@autoencoder.command("reconstruct")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("dest", type=click.Path(dir_okay=False))
@click.option("--phase", type=click.Choice(["input", "griffinlim"]), default="input", show_default=True,
              help="logmag models: keep the input's phase, or estimate it with Griffin-Lim.")
@click.option("--subtype", default=None, help="Output sample format, e.g. PCM_16, PCM_24, FLOAT.")
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
def reconstruct(run, source, dest, phase, subtype, overwrite):
    """Pass SOURCE (any supported format, any length) through the autoencoder RUN and write
    DEST (format from its extension: .wav, .flac, .ogg, .mp3).

    \b
    Example:
      tympan autoencoder reconstruct runs/ae in.mp3 out.mp3
    """
    use_models()
    from tympan import pipeline

    r = pipeline.reconstruct_file(run, source, dest, phase=phase, overwrite=overwrite,
                                  subtype=subtype)
    click.echo(f"wrote {r['out']} ({r['seconds']:.2f} s at {r['sr']} Hz): SNR {r['snr_db']:.2f} dB, "
               f"SI-SDR {r['si_sdr_db']:.2f} dB, log-spectral distance {r['lsd_db']:.2f} dB")


@autoencoder.command("evaluate")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("data", type=click.Path(exists=True))
@click.option("--phase", type=click.Choice(["input", "griffinlim"]), default="input", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def evaluate(run, data, phase, fmt):
    """Reconstruction quality of RUN on every audio file under DATA.

    \b
    Example:
      tympan autoencoder evaluate runs/ae held_out_speech/
    """
    use_models()
    from tympan import pipeline

    result = pipeline.evaluate_reconstruction(run, data, phase=phase)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{'file':<40} {'SNR dB':>8} {'SI-SDR dB':>10} {'LSD dB':>8}")
    for r in result["files"]:
        click.echo(f"{r['file'][-40:]:<40} {r['snr_db']:>8.2f} {r['si_sdr_db']:>10.2f} {r['lsd_db']:>8.2f}")
    click.echo(f"{'mean':<40} {result['mean_snr_db']:>8.2f} {result['mean_si_sdr_db']:>10.2f} "
               f"{result['mean_lsd_db']:>8.2f}")
