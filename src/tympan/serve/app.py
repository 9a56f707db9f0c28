"""The endpoints of ``tympan serve``.

``POST /predict`` and ``POST /models/{name}/predict`` take the audio as a multipart field
``file`` or as the raw request body, write it to a temporary file and hand it to the model's
worker.  A classifier's answer is the object that ``tympan predict --format json`` prints for
that file (``source`` is the upload's file name), predicted by :func:`tympan.pipeline.predict`
through the micro-batcher; an audio-out model's answer is audio (:mod:`tympan.serve.audio_out`).
Library errors keep the CLI's message: 415 for a format tympan does not read, 422 for a file
that is corrupt, holds no audio or non-finite samples, or is longer than ``max_duration``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import tempfile
import weakref
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tympan import __version__, io
from tympan.errors import AudioIOError, ParameterError, TympanError
from tympan.serve.audio_out import (
    SUBTYPES,
    AudioOut,
    audio_headers,
    audio_json,
    check_source,
    selected,
    wav_bytes,
)
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
        "200": {"description": "a classifier: the prediction (JSON). An audio-out model (autoencoder, "
                               "separator): a WAV file (float32 at the model's rate; a separator's "
                               "sources are its channels, named by X-Tympan-Channels), or with "
                               "`Accept: application/json` the outputs as base64 WAV files",
                "content": {"application/json": {}, "audio/wav": {"schema": {"type": "string",
                                                                             "format": "binary"}}},
                "headers": {  # audio/wav answers only
                    "X-Tympan-Sample-Rate": {"description": "audio out: the rate, Hz",
                                             "schema": {"type": "integer"}},
                    "X-Tympan-Duration": {"description": "audio out: the duration, s",
                                          "schema": {"type": "number"}},
                    "X-Tympan-Channels": {"description": "audio out: the channels' names, comma-separated",
                                          "schema": {"type": "string"}},
                    "X-Tympan-Flags": {"description": "audio out: the input's signal flags, comma-separated",
                                       "schema": {"type": "string"}}}},
        "401": {"description": "missing or wrong bearer token"},
        "413": {"description": "the upload passes the size limit"},
        "415": {"description": "a format tympan does not read"},
        "422": {"description": "corrupt audio, non-finite samples, or longer than the limit"},
        "501": {"description": "a model of a task the server does not run"},
        "503": {"description": "the queue is full (see Retry-After)"},
        "504": {"description": "the prediction took longer than the timeout"},
    },
}
_AUDIO_PARAMETERS = [
    {"name": "source", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "a separator: answer this source alone (e.g. speech)"},
    {"name": "subtype", "in": "query", "required": False,
     "schema": {"type": "string", "enum": list(SUBTYPES), "default": SUBTYPES[0]},
     "description": "audio-out models: the WAV sample format"},
]
_AUDIO_API = {**_AUDIO_BODY, "parameters": _AUDIO_PARAMETERS}
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def create_app(runs, *, config: ServeConfig | None = None, max_upload_bytes: int | None = None,
               max_duration: float | None = None, queue_size: int | None = None,
               timeout: float | None = None, api_key: str | None = None, max_batch: int | None = None,
               max_wait_ms: float | None = None, runtime: str | None = None,
               warm_up: bool = True) -> FastAPI:
    """The FastAPI application serving the artifacts ``runs`` (folders; the first is the
    default of ``POST /predict``).  Options left None take :class:`ServeConfig`'s defaults;
    ``runtime="onnx"`` runs each ``RUN/model.onnx`` in onnxruntime instead of Keras.
    The models are loaded here (a bad folder, or a missing or stale ``model.onnx``, raises
    its ArtifactError now); their worker threads start, and warm up with one predict on
    silence, when the application starts."""
    config = (config or ServeConfig()).updated(
        max_upload_bytes=max_upload_bytes, max_duration=max_duration, queue_size=queue_size,
        timeout=timeout, api_key=api_key, max_batch=max_batch, max_wait_ms=max_wait_ms,
        runtime=runtime)
    models = load_models(runs, config)
    default = next(iter(models))
    page_html = resources.files("tympan.serve").joinpath("page/index.html").read_text("utf-8")
    # one folder for the uploads of every request (a folder made and removed per request cost
    # about 3 ms of the event loop's time on a loaded server); removed when the application
    # shuts down (``tympan serve`` leaves with os._exit: no atexit or finaliser runs there), or
    # with the application when it never started
    uploads = tempfile.mkdtemp(prefix="tympan-serve-")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        os.makedirs(uploads, exist_ok=True)  # started again after a shutdown
        for m in models.values():
            if m.runner is not None:
                m.runner.start(warm_up=warm_up)
        try:
            yield
        finally:
            for m in models.values():
                if m.runner is not None:
                    await asyncio.to_thread(m.runner.stop)
            shutil.rmtree(uploads, ignore_errors=True)

    app = FastAPI(title="tympan serve", version=__version__, lifespan=lifespan,
                  description="Predictions from tympan artifacts. See docs/serving.md.")
    app.state.config = config
    app.state.models = models
    app.state.uploads = uploads
    weakref.finalize(app, shutil.rmtree, uploads, ignore_errors=True)
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
        waiting = [m.name for m in models.values() if m.runner is not None and not m.ready]
        if waiting:
            return JSONResponse({"status": "warming up", "models": waiting}, status_code=503)
        return {"status": "ready", "models": list(models)}

    @app.get("/models", summary="The loaded models")
    async def list_models(request: Request) -> dict:
        authorize(request)
        return {"default": default, "models": [m.describe() for m in models.values()]}

    @app.post("/predict", summary="Predict an audio file with the default model", openapi_extra=_AUDIO_API)
    async def predict_default(request: Request):
        authorize(request)
        return await _predict(model(default), request, config, uploads)

    @app.post("/models/{name}/predict", summary="Predict an audio file with the model `name`",
              openapi_extra=_AUDIO_API)
    async def predict_named(name: str, request: Request):
        authorize(request)
        return await _predict(model(name), request, config, uploads)

    from tympan.serve.stream import add_stream

    add_stream(app, models, default, config)
    return app


async def _upload(request: Request, folder: str) -> tuple[Path, str]:
    """Write the request's audio to a new file in ``folder``: ``(path, name shown in answers)``;
    nothing is left there when the request fails on its way in."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(400, "the multipart form has no file field named 'file'")
        name = os.path.basename(upload.filename or "upload")
        chunks = _read_all(upload)
    else:
        name = os.path.basename(request.headers.get("x-filename", "") or "upload")
        chunks = request.stream()
    path = _upload_path(folder, name)
    try:
        with open(path, "wb") as f:
            async for chunk in chunks:
                f.write(chunk)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return path, name


async def _read_all(upload):
    """The chunks of a form's file, then the file closed."""
    while chunk := await upload.read(1 << 16):
        yield chunk
    await upload.close()


def _upload_path(folder: str, name: str) -> Path:
    """A new file name in ``folder``, with the suffix of the client's file ``name`` when it is
    a plain one (the reader picks the format by it)."""
    suffix = Path(name).suffix
    return Path(folder) / (f"upload-{secrets.token_hex(8)}" + (suffix if _SAFE_SUFFIX.match(suffix) else ""))


def _status(exc: TympanError) -> int:
    text = str(exc)
    return 415 if isinstance(exc, AudioIOError) and "unsupported" in text else 422


def _check_duration(path: Path, limit: float) -> None:
    duration = io.info(path).duration
    if duration > limit:
        raise ParameterError(f"the audio lasts {duration:.1f} s, longer than the server's limit of "
                             f"{limit:g} s (tympan serve --max-duration)")


async def _predict(served: Served, request: Request, config: ServeConfig, uploads: str):
    runner = served.runner
    if runner is None:
        raise HTTPException(501, f"model '{served.name}' is a {served.task} model: tympan serve runs "
                                 "classifiers, taggers, autoencoders and separators")
    audio_out = served.worker is not None
    source, subtype = request.query_params.get("source"), request.query_params.get("subtype", "FLOAT")
    if audio_out:
        if subtype not in SUBTYPES:
            raise HTTPException(422, f"subtype must be one of {list(SUBTYPES)}, got {subtype!r}")
        try:
            check_source(served.artifact, source)
        except ParameterError as exc:
            raise HTTPException(422, str(exc)) from None
    path, name = None, "upload"
    runner.expect()  # the batcher waits for requests on their way, and only for them
    expected = True
    try:
        path, name = await _upload(request, uploads)
        if path.stat().st_size == 0:
            raise HTTPException(400, "the request holds no audio (empty body or file)")
        try:
            await asyncio.to_thread(_check_duration, path, config.max_duration)
        except TympanError as exc:
            raise HTTPException(_status(exc), str(exc).replace(str(path), name)) from None
        try:
            future = runner.submit(str(path))
        except QueueFull as exc:
            raise HTTPException(503, f"the server is busy: {exc}; retry later",
                                headers={"Retry-After": str(config.retry_after)}) from None
        # arrived once queued, not before: a worker that looked between the two would see
        # nobody on the way and an empty queue, and not wait for this request
        runner.arrived()
        expected = False
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), config.timeout)
        except asyncio.TimeoutError:
            future.cancel()
            raise HTTPException(504, f"no prediction within {config.timeout:g} s "
                                     "(tympan serve --timeout)") from None
        except TympanError as exc:
            raise HTTPException(_status(exc), str(exc).replace(str(path), name)) from None
    finally:
        if expected:
            runner.arrived()
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()
    if isinstance(result, AudioOut):
        return _audio_answer(served, result, name, request, source, subtype)
    if not result.ok:
        error = str(result.error).replace(str(path), name)
        status = 415 if "unsupported" in error else 422
        raise HTTPException(status, error)
    answer = result.to_dict()
    answer["source"] = name
    return JSONResponse(answer)  # plain JSON already: FastAPI's encoder walk is not needed


def _audio_answer(served: Served, result: AudioOut, name: str, request: Request, source: str | None,
                  subtype: str):
    """A WAV file (the outputs as its channels), or JSON with each output as a base64 WAV file
    when the client asks for ``application/json`` first."""
    outputs = selected(result, source)
    accept = request.headers.get("accept", "")
    if accept.split(",")[0].split(";")[0].strip().lower() == "application/json":
        return audio_json(result, outputs, name, served.task, subtype)
    return Response(wav_bytes(list(outputs.values()), result.sr, subtype), media_type="audio/wav",
                    headers=audio_headers(result, outputs, name))
