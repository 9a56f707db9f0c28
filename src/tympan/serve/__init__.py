"""``tympan serve``: saved artifacts behind an HTTP API (FastAPI + uvicorn), with a page.

```
from tympan.serve import ServeConfig, create_app
app = create_app(["runs/digits"], max_upload_bytes=5_000_000, api_key="secret")
# uvicorn.run(app, host="127.0.0.1", port=8000)
```

Modules: ``config`` (:class:`ServeConfig`, every default), ``batching`` (the micro-batcher: one
worker thread per model), ``audio_out`` (autoencoders and separators: their worker and their
WAV or JSON answers), ``models`` (loading and naming the artifacts, on Keras or, with
``runtime="onnx"``, onnxruntime), ``limits`` (the upload limit as ASGI middleware, the bearer
token), ``app`` (the endpoints), ``stream`` (``WS /stream``).
Needs the extra ``tympan[serve]`` (fastapi, uvicorn, python-multipart).
"""

from tympan.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(runs, **options):
    """The FastAPI application serving ``runs`` (see :func:`tympan.serve.app.create_app`)."""
    from tympan.serve.app import create_app as _create

    return _create(runs, **options)
