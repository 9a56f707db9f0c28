"""``tympan export RUN``: the artifact's whole model as one ONNX file."""

from __future__ import annotations

import click

from tympan.cli._options import given_values, library_option, printable, signature_default


@click.command("export")
@click.argument("run", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="The file to write (default: RUN/model.onnx).")
@click.option("--overwrite", is_flag=True, help="Replace an existing file that tympan exported.")
@click.option("--check-with", multiple=True, type=click.Path(), metavar="FILE",
              help="Also compare the ONNX and Keras outputs on the windows of this audio file "
              "(repeatable); a fixed set of test signals is always compared.")
@library_option("--check/--no-check", library=signature_default("tympan.export", "export_onnx", "check"),
                show=lambda on: "--check" if on else "--no-check",
                help="Run the written graph in onnxruntime next to the Keras model before keeping it.")
@click.option("--opset", type=int, help="ONNX opset (default: the library's).")
def export(run, fmt, out, overwrite, check_with, check, opset):
    """Write the model of the artifact RUN, feature layers included, as an ONNX file that
    takes waveforms (batch, samples) at the artifact's rate, any batch size.

    The file is written only after onnxruntime ran it and its outputs equalled the Keras
    model's (within 1e-4); its metadata holds the rate, clip length, labels and task.  Needs
    torch, onnx, onnxscript and onnxruntime (pip install "tympan[onnx]"); the export runs in
    a child process on Keras's torch backend.

    \b
    Examples:
      tympan export runs/digits
      tympan export runs/digits --out digits.onnx --check-with recording.wav
    """
    from tympan.export import export_onnx

    result = export_onnx(run, out=out, opset=opset, check_with=check_with, overwrite=overwrite,
                         **given_values(check=check))
    click.echo(f"wrote {printable(str(result.path))} ({result.size / 1e6:.2f} MB, {fmt}, exported in "
               f"{result.seconds:.1f} s)")
    if result.max_abs_diff is None:
        click.echo("not checked (--no-check)")
    else:
        click.echo(f"checked on {result.checked} inputs: max |onnx - keras| = {result.max_abs_diff:.2g}")
