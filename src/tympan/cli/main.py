"""Entry point of the ``tympan`` command.

Commands are thin: they parse options, call one library function and print.  Errors become a
one-line message and exit status 1 here, at the boundary, and nowhere else: library errors
(:class:`tympan.errors.TympanError`) as ``error: <message>``, anything else (a bug, or
``MemoryError``) as ``error: <Type>: <message> (run with --debug for the traceback)``.
``--debug`` (or ``TYMPAN_DEBUG=1``) prints the traceback as well.  Warnings are one line each,
``warning: <message>``.

Exit status: 0 success; 1 an error, or (``predict``, ``info``, ``evaluate``) some of the files
could not be read while the others were done; 2 a usage error (click's); 130 interrupted
(Ctrl-C).

Keras (and jax) are imported only by the commands that use a model
(:func:`tympan.cli._options.use_models`), so ``tympan info``, ``tympan data inspect``, the
audio plots, ``--help`` and ``--version`` start without them.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings

import click

from tympan import __version__
from tympan.cli._options import printable
from tympan.errors import TympanError

#: Exit status of a command interrupted by Ctrl-C (SIGINT), as shells report it.
INTERRUPTED = 130
_TRUE = ("1", "true", "yes", "on")


def debug_enabled(ctx: click.Context | None = None) -> bool:
    """Whether ``--debug`` was given or ``TYMPAN_DEBUG`` is set (to 1, true, yes or on)."""
    root = ctx.find_root() if ctx is not None else None
    if root is not None and root.params.get("debug"):
        return True
    return os.environ.get("TYMPAN_DEBUG", "").strip().lower() in _TRUE


def _unexpected(exc: BaseException) -> str:
    text = str(exc).strip() or ("out of memory" if isinstance(exc, MemoryError) else "")
    text = text.splitlines()[0] if text else ""
    return printable(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


class _TympanGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except TympanError as exc:
            if debug_enabled(ctx):
                traceback.print_exc()
            click.echo(f"error: {printable(str(exc))}", err=True)
            ctx.exit(1)
        except Exception as exc:  # a bug, or MemoryError: one line, the traceback on demand
            if debug_enabled(ctx):
                traceback.print_exc()
                click.echo(f"error: {_unexpected(exc)}", err=True)
            else:
                click.echo(f"error: {_unexpected(exc)} (run with --debug for the traceback)",
                           err=True)
            ctx.exit(1)


@click.group(cls=_TympanGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="tympan")
@click.option("--debug", is_flag=True, help="Print the traceback of an error (also: TYMPAN_DEBUG=1).")
def cli(debug: bool) -> None:
    """tympan: deep learning on audio with Keras 3.

    On the jax backend compiled programs are cached in ~/.cache/tympan/jax so later runs
    start faster (TYMPAN_JAX_CACHE=off disables it).

    \b
    Examples:
      tympan demo
      tympan train DATA --out runs/sounds
      tympan predict runs/sounds recording.mp3
      tympan predict runs/sounds archive/ --engine ray --out preds.parquet
      tympan features archive/ --features logmel --out mels.parquet
      tympan evaluate runs/sounds DATA
      tympan adapt runs/emotions speaker_clips/ --out runs/emotions-anna
      tympan info recording.wav
      tympan data inspect DATA --pattern fsdd
      tympan plot mel recording.wav -o mel.png
      tympan autoencoder train speech/ --representation stft --compression 8 --out runs/ae
      tympan separate runs/sep noisy.wav --out separated/
      tympan segment speech.wav --method learned --keep vowels --out vowels.wav
    """


def _register() -> None:
    from tympan.cli import (
        adapt,
        autoencoder,
        data,
        demo,
        evaluate,
        export,
        features,
        info,
        plot,
        predict,
        segment,
        separate,
        serve,
        train,
    )

    for command in (info.info, train.train, evaluate.evaluate, predict.predict, demo.demo,
                    autoencoder.autoencoder, plot.plot, segment.segment, separate.separate,
                    separate.separator, adapt.adapt, data.data, export.export, serve.serve,
                    features.features):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (used by tests and the console script).  Warnings
    are shown as one line each while it runs, and each text once (a command that reads a file
    several times, as ``segment`` does, warns about it once)."""
    formatted, show = warnings.formatwarning, warnings.showwarning
    warnings.formatwarning = _one_line_warning
    warnings.showwarning = _once(show)
    try:
        return _main(argv)
    except KeyboardInterrupt:  # outside click's own handling (e.g. while it parses)
        click.echo("error: interrupted", err=True)
        return INTERRUPTED
    finally:
        warnings.formatwarning, warnings.showwarning = formatted, show


def _once(show):
    """``warnings.showwarning`` that passes each (category, text) to ``show`` once."""
    seen: set[tuple[type, str]] = set()

    def show_once(message, category, filename, lineno, file=None, line=None):
        key = (category, str(message))
        if key not in seen:
            seen.add(key)
            show(message, category, filename, lineno, file, line)
    return show_once


def _main(argv: list[str] | None) -> int:
    try:
        rv = cli.main(args=argv, prog_name="tympan", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C (KeyboardInterrupt) and end of input into Abort
        if isinstance(exc.__cause__, KeyboardInterrupt):
            click.echo("error: interrupted", err=True)
            return INTERRUPTED
        click.echo("Aborted.", err=True)
        return 1
    return rv if isinstance(rv, int) else 0


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the command line: ``warning: <message>``, without Python's source line."""
    return f"warning: {printable(str(message))}\n"


def run() -> None:
    """The ``tympan`` console script: :func:`main`, then a fast exit.

    Output is flushed and every file the command wrote is closed by then; what is skipped is
    the interpreter's teardown of Keras, jax and XLA (module finalisers, backend shutdown),
    which took about 0.5 s of a 3 s cold ``tympan predict`` (``benchmarks/predict_latency.py``).
    ``TYMPAN_FAST_EXIT=0`` exits normally.
    """
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.environ.get("TYMPAN_FAST_EXIT", "1") != "0":
        os._exit(rc)
    sys.exit(rc)


if __name__ == "__main__":
    run()
