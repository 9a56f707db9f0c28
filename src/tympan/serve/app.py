"""The endpoints of ``tympan serve``.

``POST /predict`` and ``POST /models/{name}/predict`` take the audio as a multipart field
``file`` or as the raw request body, write it to a temporary file and predict it with
:func:`tympan.pipeline.predict` through the model's micro-batcher: the answer is the object that
``tympan predict --format json`` prints for that file (``source`` is the upload's file name).
Library errors keep the CLI's message: 415 for a format tympan does not read, 422 for a file
that is corrupt, holds no audio or non-finite samples, or is longer than ``max_duration``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from tympan import __version__, io
from tympan.errors import AudioIOError, ParameterError, TympanError
from tympan.serve.batching import QueueFull
from tympan.serve.config import ServeConfig
from tympan.serve.limits import UploadLimit, token_ok
from tympan.serve.models import Served, load_models

_AUDIO_BODY = {
    "requestBody": {
        "description": "The audio: a multipart form with the field `file`, or the file's bytes as "
                       "the body (any format tympan reads: WAV, FLAC, OGG, MP3, AIFF, ...).",
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary"}}}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    "responses": {
        "401": {"description": "missing or wrong bearer token"},
        "413": {"description": "the upload passes the size limit"},
        "415": {"description": "a format tympan does not read"},
        "422": {"description": "corrupt audio, non-finite samples, or longer than the limit"},
        "501": {"description": "an audio-out model (autoencoder, separator)"},
        "503": {"description": "the queue is full (see Retry-After)"},
        "504": {"description": "the prediction took longer than the timeout"},
    },
}
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def create_app(runs, *, config: ServeConfig | None = None, max_upload_bytes: int | None = None,
               max_duration: float | None = None, queue_size: int | None = None,
               timeout: float | None = None, api_key: str | None = None, max_batch: int | None = None,
               max_wait_ms: float | None = None, warm_up: bool = True) -> FastAPI:
    """The FastAPI application serving the artifacts ``runs`` (folders; the first is the
    default of ``POST /predict``).  Options left None take :class:`ServeConfig`'s defaults.
    The models are loaded here (a bad folder raises its ArtifactError now); their worker
    threads start, and warm up with one predict on silence, when the application starts."""
    config = (config or ServeConfig()).updated(
        max_upload_bytes=max_upload_bytes, max_duration=max_duration, queue_size=queue_size,
        timeout=timeout, api_key=api_key, max_batch=max_batch, max_wait_ms=max_wait_ms)
    models = load_models(runs, config)
    default = next(iter(models))
    page_html = resources.files("tympan.serve").joinpath("page/index.html").read_text("utf-8")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        for m in models.values():
            if m.batcher is not None:
                m.batcher.start(warm_up=warm_up)
        yield
        for m in models.values():
            if m.batcher is not None:
                await asyncio.to_thread(m.batcher.stop)

    app = FastAPI(title="tympan serve", version=__version__, lifespan=lifespan,
                  description="Predictions from tympan artifacts. See docs/serving.md.")
    app.state.config = config
    app.state.models = models
    app.add_middleware(UploadLimit, limit=config.max_upload_bytes)

    def authorize(request: Request) -> None:
        if not token_ok(config.api_key, request.headers.get("authorization")):
            raise HTTPException(401, "missing or wrong bearer token (Authorization: Bearer <key>)",
                                headers={"WWW-Authenticate": "Bearer"})

    def model(name: str) -> Served:
        if name not in models:
            raise HTTPException(404, f"no model named '{name}'; loaded: {sorted(models)}")
        return models[name]

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # never a traceback to the client
        return JSONResponse({"detail": f"internal error ({type(exc).__name__})"}, status_code=500)

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(page_html)

    @app.get("/healthz", summary="The process answers")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", summary="Every model is loaded and warmed up (503 until then)")
    async def readyz():
        waiting = [m.name for m in models.values() if m.batcher is not None and not m.ready]
        if waiting:
            return JSONResponse({"status": "warming up", "models": waiting}, status_code=503)
        return {"status": "ready", "models": list(models)}

    @app.get("/models", summary="The loaded models")
    async def list_models(request: Request) -> dict:
        authorize(request)
        return {"default": default, "models": [m.describe() for m in models.values()]}

    @app.post("/predict", summary="Predict an audio file with the default model", openapi_extra=_AUDIO_BODY)
    async def predict_default(request: Request):
        authorize(request)
        return await _predict(model(default), request, config)

    @app.post("/models/{name}/predict", summary="Predict an audio file with the model `name`",
              openapi_extra=_AUDIO_BODY)
    async def predict_named(name: str, request: Request):
        authorize(request)
        return await _predict(model(name), request, config)

    from tympan.serve.stream import add_stream

    add_stream(app, models, default, config)
    return app


async def _upload(request: Request, folder: str) -> tuple[Path, str]:
    """Write the request's audio to a file in ``folder``: ``(path, name shown in answers)``."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(400, "the multipart form has no file field named 'file'")
        name = os.path.basename(upload.filename or "upload")
        path = _upload_path(folder, name)
        with open(path, "wb") as f:
            while chunk := await upload.read(1 << 16):
                f.write(chunk)
        await upload.close()
        return path, name
    name = os.path.basename(request.headers.get("x-filename", "") or "upload")
    path = _upload_path(folder, name)
    with open(path, "wb") as f:
        async for chunk in request.stream():
            f.write(chunk)
    return path, name


def _upload_path(folder: str, name: str) -> Path:
    """``upload`` in ``folder``, with the suffix of the client's file ``name`` when it is a
    plain one (the reader picks the format by it)."""
    suffix = Path(name).suffix
    return Path(folder) / ("upload" + (suffix if _SAFE_SUFFIX.match(suffix) else ""))


def _status(exc: TympanError) -> int:
    text = str(exc)
    return 415 if isinstance(exc, AudioIOError) and "unsupported" in text else 422


def _check_duration(path: Path, limit: float) -> None:
    duration = io.info(path).duration
    if duration > limit:
        raise ParameterError(f"the audio lasts {duration:.1f} s, longer than the server's limit of "
                             f"{limit:g} s (tympan serve --max-duration)")


async def _predict(served: Served, request: Request, config: ServeConfig):
    if served.batcher is None:
        command = "separate" if served.task == "separation" else "autoencoder reconstruct"
        raise HTTPException(501, f"model '{served.name}' is an audio-out model (task {served.task}): "
                                 f"tympan serve answers classifiers only; use tympan {command}")
    with tempfile.TemporaryDirectory(prefix="tympan-serve-") as folder:
        path, name = await _upload(request, folder)
        if path.stat().st_size == 0:
            raise HTTPException(400, "the request holds no audio (empty body or file)")
        try:
            await asyncio.to_thread(_check_duration, path, config.max_duration)
        except TympanError as exc:
            raise HTTPException(_status(exc), str(exc).replace(str(path), name)) from None
        try:
            future = served.batcher.submit(str(path))
        except QueueFull as exc:
            raise HTTPException(503, f"the server is busy: {exc}; retry later",
                                headers={"Retry-After": str(config.retry_after)}) from None
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), config.timeout)
        except asyncio.TimeoutError:
            future.cancel()
            raise HTTPException(504, f"no prediction within {config.timeout:g} s "
                                     "(tympan serve --timeout)") from None
        except TympanError as exc:
            raise HTTPException(_status(exc), str(exc).replace(str(path), name)) from None
    if not result.ok:
        error = str(result.error).replace(str(path), name)
        status = 415 if "unsupported" in error else 422
        raise HTTPException(status, error)
    answer = result.to_dict()
    answer["source"] = name
    return answer
