"""``tympan plot``: draw a recording (waveform, spectrum, spectrogram, mel, MFCC, chroma, CQT,
scalogram, segments, prediction timeline) or a training run (curves, confusion matrix)."""

from __future__ import annotations

import inspect
from pathlib import Path

import click

from tympan.cli._options import library_option, parse_params, signature_default, use_models
from tympan.errors import ParameterError, TympanError

#: kind -> (function in tympan.plot, one-line help, example options)
AUDIO_KINDS = {
    "waveform": ("plot_waveform", "The waveform against time (min/max envelope for long files).", ""),
    "spectrum": ("plot_spectrum", "The FFT magnitude of the whole file against frequency (dB re peak).",
                 " --scale log -p fmax=4000"),
    "spectrogram": ("plot_spectrogram", "The STFT magnitude in dB, frequency in Hz.",
                    " -p n_fft=512 -p hop_length=128"),
    "mel": ("plot_mel", "The mel spectrogram in dB, frequency in Hz on a mel scale.", " -p n_mels=40"),
    "mfcc": ("plot_mfcc", "MFCCs against time.", " -p n_mfcc=13"),
    "chroma": ("plot_chroma", "The chromagram, pitch classes C to B.", " -p method=cqt"),
    "cqt": ("plot_cqt", "The constant-Q transform in dB, note names on the frequency axis.",
            " -p bins_per_octave=24"),
    "scalogram": ("plot_scalogram", "The Morlet wavelet scalogram in dB (slow beyond a few seconds).",
                  " -p n_bins=48 -p fmin=60"),
}
_SCALED = ("spectrum", "spectrogram")  # kinds with a --scale option (the frequency axis)
_NOT_PARAMS = ("y", "sr", "ax", "title", "scale")


@click.group("plot")
def plot() -> None:
    """Draw figures of recordings and training runs to PNG, PDF or SVG (by the extension of
    -o). Needs matplotlib: pip install 'tympan[plot]'.

    \b
    Examples:
      tympan plot waveform speech.wav -o wave.png
      tympan plot mel speech.mp3 -o mel.png -p n_mels=40
      tympan plot spectrum speech.wav --scale log -o spectrum.svg
      tympan plot history runs/digits -o curves.png
      tympan plot confusion runs/digits --normalize -o confusion.pdf
      tympan plot timeline runs/digits long_recording.wav -o timeline.png
    """


def _function(name: str):
    from tympan import plot as tplot

    return getattr(tplot, name)


def _params(func, pairs: tuple[str, ...]) -> dict:
    """``--param`` values checked against the keyword options of ``func``."""
    params = parse_params(pairs, "--param")
    known = [p for p in inspect.signature(func).parameters if p not in _NOT_PARAMS]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ParameterError(f"--param {unknown[0]} is not an option of {func.__name__}; its options "
                             f"are {', '.join(known)}")
    return params


def _save(fig, out, overwrite: bool, dpi: float) -> None:
    from tympan.plot import save_figure

    click.echo(str(save_figure(fig, out, overwrite=overwrite, dpi=dpi)))


def _check_out(out: str, overwrite: bool) -> None:
    """Fail before the work when the figure could not be written to ``out``."""
    from tympan.plot import check_output

    check_output(out, overwrite=overwrite)


def _output_options(f):
    f = click.option("--dpi", type=float, default=100, show_default=True,
                     help="Resolution of PNG output.")(f)
    f = click.option("--title", default=None, help="Figure title (default: what is drawn).")(f)
    f = click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")(f)
    f = click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
                     help="Output file: .png, .pdf or .svg.")(f)
    return f


def _audio_command(kind: str, func_name: str, summary: str, example: str):
    def run(file, sr, out, overwrite, title, dpi, param, scale=None, run_dir=None):
        from tympan.plot import load_audio

        func = _function(func_name)
        kwargs = _params(func, param)
        if scale is not None:
            kwargs["scale"] = scale
        _check_out(out, overwrite)
        if run_dir is not None:
            if param or sr is not None:
                raise click.UsageError("--run takes the rate, bins and scaling from the run; "
                                       "leave out --sr and --param")
            from tympan.pipeline import network_input

            clip, rate, recipe = network_input(run_dir, file)
            title = f"{Path(file).name}: what the network gets" if title is None else title
            _save(_function("plot_network_spectrum")(clip, rate, features=recipe, title=title, **kwargs),
                  out, overwrite, dpi)
            return
        y, rate = load_audio(file, sr=sr)
        _save(func(y, rate, title=title, **kwargs), out, overwrite, dpi)

    run.__doc__ = (f"{summary}\n\n    FILE is any audio file tympan reads; --param passes the "
                   f"options of tympan.plot.{func_name}.\n\n    \b\n    Example:\n"
                   f"      tympan plot {kind} speech.wav -o {kind}.png{example}\n")
    command = run
    if kind == "spectrum":
        run.__doc__ += ("      tympan plot spectrum speech.wav --run runs/voices -o input.png\n"
                        "    (--run: exactly what the fft model in that run gets: its rate, clip "
                        "length, bins and scaling)\n")
        command = click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False),
                               help="Draw what the 'fft' model in this run folder gets.")(command)
    if kind in _SCALED:
        command = click.option("--scale", type=click.Choice(["linear", "log"]), default="linear",
                               show_default=True, help="Frequency axis.")(command)
    command = click.option("-p", "--param", multiple=True, metavar="KEY=VALUE",
                           help=f"Option of {func_name}, repeatable (values are JSON).")(command)
    command = _output_options(command)
    command = click.option("--sr", type=int, default=None,
                           help="Resample to this rate first (default: the file's own).")(command)
    command = click.argument("file", type=click.Path(exists=True, dir_okay=False))(command)
    return plot.command(kind)(command)


for _kind, (_name, _summary, _example) in AUDIO_KINDS.items():
    _audio_command(_kind, _name, _summary, _example)


@plot.command("history")
@click.argument("run", type=click.Path(exists=True))
@_output_options
def history(run, out, overwrite, title, dpi):
    """Training curves (loss, accuracy; training and validation) of the run folder RUN (or a
    history.json file).

    \b
    Example:
      tympan plot history runs/digits -o curves.png
    """
    from tympan.plot import plot_history

    _check_out(out, overwrite)
    _save(plot_history(run, title=title), out, overwrite, dpi)


@plot.command("confusion")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--normalize", is_flag=True, help="Divide each row by its total (recall on the diagonal).")
@_output_options
def confusion(run, normalize, out, overwrite, title, dpi):
    """The test-set confusion matrix stored in RUN's pipeline.json (written by tympan train).

    \b
    Example:
      tympan plot confusion runs/digits --normalize -o confusion.png
    """
    from tympan.plot import plot_confusion

    _check_out(out, overwrite)
    _save(plot_confusion(run, normalize=normalize, title=title), out, overwrite, dpi)


@plot.command("timeline")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--window", type=float, help="Window length in seconds (default: the training clip).")
@click.option("--hop", type=float, help="Hop between windows in seconds (default: half a window).")
@click.option("--sr", type=int, default=None, help="Rate of the spectrogram (default: the file's own).")
@_output_options
def timeline(run, file, window, hop, sr, out, overwrite, title, dpi):
    """The window-by-window predictions of the classifier RUN over the spectrogram of FILE (a
    long recording).

    \b
    Example:
      tympan plot timeline runs/digits long_recording.wav --window 1.0 --hop 0.25 -o timeline.png
    """
    use_models()
    from tympan.pipeline import predict
    from tympan.plot import load_audio, plot_prediction

    _check_out(out, overwrite)
    prediction = predict(run, file, window_sec=window, hop_sec=hop)[0]
    y, rate = load_audio(file, sr=sr)
    _save(plot_prediction(y, rate, prediction, title=title), out, overwrite, dpi)


@plot.command("segments")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@library_option("--method", library=signature_default("tympan.segment.labelling", "segments", "method"),
                help="tympan.segment method: learned, hmm, fcm, histogram, or energy (pauses only).")
@click.option("--on", "on", type=click.Choice(["waveform", "spectrogram"]), default="waveform",
              show_default=True, help="Draw the segments over the waveform or the spectrogram.")
@click.option("--sr", type=int, default=None, help="Resample to this rate first (default: the file's own).")
@_output_options
def segments(file, method, on, sr, out, overwrite, title, dpi):
    """Pauses, vowels and consonants of FILE (found by tympan.segment.segments) in colour over
    its waveform or spectrogram.

    \b
    Examples:
      tympan plot segments speech.wav -o segments.png
      tympan plot segments speech.wav --method hmm --on spectrogram -o segments.png
    """
    from pathlib import Path

    from tympan.plot import load_audio, plot_segments

    default = signature_default("tympan.segment.labelling", "segments", "method")
    if (method or default()) == "learned":  # the shipped frame classifier is a Keras model
        use_models()

    try:
        from tympan.segment import segments as find_segments
    except ImportError:
        raise TympanError("segmentation is not available in this version of tympan "
                          "(tympan.segment.segments is missing)") from None
    _check_out(out, overwrite)
    y, rate = load_audio(file, sr=sr)
    options = {} if method is None else {"method": method}
    found = find_segments(y, rate, **options)
    if title is None:
        title = f"{Path(file).name}: {method or 'default'} segmentation ({len(found)} segments)"
    _save(plot_segments(y, rate, found, on=on, title=title), out, overwrite, dpi)
