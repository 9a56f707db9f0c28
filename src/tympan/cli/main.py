"""Entry point of the ``tympan`` command.

Commands are thin: they parse options, call one library function and print.  Library errors
(:class:`tympan.errors.TympanError`) become a one-line ``error: ...`` message and exit status 1
here, at the boundary, and nowhere else.

Exit status: 0 success; 1 an error, or (``predict``, ``info``, ``evaluate``) some of the files
could not be read while the others were done; 2 a usage error (click's).
"""

from __future__ import annotations

import os
import sys
import warnings

import click

from tympan import __version__
from tympan._backend import enable_compilation_cache, import_keras_lean
from tympan.errors import TympanError


class _TympanGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TympanError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_TympanGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="tympan")
def cli() -> None:
    """tympan: deep learning on audio with Keras 3.

    On the jax backend compiled programs are cached in ~/.cache/tympan/jax so later runs
    start faster (TYMPAN_JAX_CACHE=off disables it).

    \b
    Examples:
      tympan demo
      tympan train DATA --out runs/sounds
      tympan predict runs/sounds recording.mp3
      tympan evaluate runs/sounds DATA
      tympan adapt runs/emotions speaker_clips/ --out runs/emotions-anna
      tympan info recording.wav
      tympan data inspect DATA --pattern fsdd
      tympan plot mel recording.wav -o mel.png
      tympan autoencoder train speech/ --representation stft --compression 8 --out runs/ae
      tympan separate runs/sep noisy.wav --out separated/
      tympan segment speech.wav --method learned --keep vowels --out vowels.wav
    """
    import_keras_lean()
    enable_compilation_cache()


def _register() -> None:
    from tympan.cli import (
        adapt,
        autoencoder,
        data,
        demo,
        evaluate,
        info,
        plot,
        predict,
        segment,
        separate,
        train,
    )

    for command in (info.info, train.train, evaluate.evaluate, predict.predict, demo.demo,
                    autoencoder.autoencoder, plot.plot, segment.segment, separate.separate,
                    separate.separator, adapt.adapt, data.data):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (used by tests and the console script)."""
    try:
        rv = cli.main(args=argv, prog_name="tympan", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    return rv if isinstance(rv, int) else 0


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the command line: ``warning: <message>``, without Python's source line."""
    return f"warning: {message}\n"


def run() -> None:
    """The ``tympan`` console script: :func:`main`, then a fast exit.

    Output is flushed and every file the command wrote is closed by then; what is skipped is
    the interpreter's teardown of Keras, jax and XLA (module finalisers, backend shutdown),
    which took about 0.5 s of a 3 s cold ``tympan predict`` (``benchmarks/predict_latency.py``).
    ``TYMPAN_FAST_EXIT=0`` exits normally.
    """
    warnings.formatwarning = _one_line_warning
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.environ.get("TYMPAN_FAST_EXIT", "1") != "0":
        os._exit(rc)
    sys.exit(rc)


if __name__ == "__main__":
    run()
