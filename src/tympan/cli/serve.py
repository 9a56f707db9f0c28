"""``tympan serve``: artifacts behind an HTTP API and a page (FastAPI + uvicorn)."""

from __future__ import annotations

import os

import click

from tympan.cli._options import LibraryDefault, use_models
from tympan.errors import MissingDependencyError


def _serve_default(field: str):
    """The default of ``field`` of :class:`tympan.serve.ServeConfig`, the one place they live."""
    def get():
        from tympan.serve.config import ServeConfig

        return getattr(ServeConfig(), field)
    return get


@click.command("serve")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (0.0.0.0 listens on every interface).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--api-key", envvar="TYMPAN_API_KEY", help="Require 'Authorization: Bearer KEY' "
              "(also: TYMPAN_API_KEY).")
@click.option("--max-upload-mb", type=float, cls=LibraryDefault, help="Largest upload in MB.",
              library=_serve_default("max_upload_bytes"), show=lambda b: f"{b / 1e6:g}")
@click.option("--max-duration", type=float, cls=LibraryDefault, help="Longest audio in seconds.",
              library=_serve_default("max_duration"))
@click.option("--queue-size", type=int, cls=LibraryDefault, help="Requests waiting per model before 503.",
              library=_serve_default("queue_size"))
@click.option("--timeout", type=float, cls=LibraryDefault,
              help="Seconds a request may wait for its result (then 504).", library=_serve_default("timeout"))
@click.option("--max-batch", type=int, cls=LibraryDefault, help="Largest micro-batch.",
              library=_serve_default("max_batch"))
@click.option("--max-wait-ms", type=float, cls=LibraryDefault,
              help="How long a batch waits for more requests.", library=_serve_default("max_wait_ms"))
@click.option("--runtime", type=click.Choice(["keras", "onnx"]), cls=LibraryDefault,
              library=_serve_default("runtime"),
              help="What runs the models: keras (RUN/model.keras) or onnx (RUN/model.onnx from "
              "`tympan export RUN`, in onnxruntime, without Keras or jax).")
def serve(runs, host, port, api_key, max_upload_mb, max_duration, queue_size, timeout, max_batch,
          max_wait_ms, runtime):
    """Serve the artifacts RUNS: POST /predict (the first run), POST /models/NAME/predict,
    GET /models, /healthz, /readyz, WS /stream, OpenAPI at /docs, and a page at /.

    \b
    Examples:
      tympan serve runs/digits
      tympan serve runs/digits runs/emotions --host 0.0.0.0 --port 8080 --api-key "$KEY"
      tympan serve runs/digits --runtime onnx          # after: tympan export runs/digits
      tympan serve runs/ae runs/sep                    # audio out: answers are WAV files
    """
    try:
        import uvicorn

        from tympan.serve import create_app
    except ImportError as exc:
        raise MissingDependencyError(f"tympan serve needs fastapi, uvicorn and python-multipart "
                                     f'({exc}): pip install "tympan[serve]"') from exc
    if runtime != "onnx":  # onnxruntime only: Keras (and jax) are never imported
        use_models()
    app = create_app(list(runs), api_key=api_key or None, max_duration=max_duration,
                     max_upload_bytes=None if max_upload_mb is None else round(max_upload_mb * 1e6),
                     queue_size=queue_size, timeout=timeout, max_batch=max_batch, max_wait_ms=max_wait_ms,
                     runtime=runtime)
    click.echo(f"serving {', '.join(app.state.models)} on http://{host}:{port}/ (pid {os.getpid()})")
    uvicorn.run(app, host=host, port=port, log_level="warning")
