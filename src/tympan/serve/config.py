"""Every default of ``tympan serve`` in one place."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from tympan import _validate as v
from tympan.errors import ParameterError

#: What can run the served models (``tympan serve --runtime``).
RUNTIMES = ("keras", "onnx")


@dataclass(frozen=True)
class ServeConfig:
    """Limits and batching of the server.

    ``max_upload_bytes``: a larger request body is answered 413 (checked on Content-Length,
    then counted while the body streams in).  ``max_duration``: seconds of audio a file may
    hold (422 beyond).  ``queue_size``: requests waiting for a model at once, per model (503
    with ``Retry-After`` beyond).  ``timeout``: seconds a request may wait for its result (504).
    ``api_key``: when set, requests need ``Authorization: Bearer <key>`` (401).  ``max_batch``
    and ``max_wait_ms``: the micro-batcher's largest batch and how long the first request of a
    batch waits for others.  ``retry_after``: the seconds a 503 asks clients to wait.
    """

    max_upload_bytes: int = 20_000_000
    max_duration: float = 600.0
    queue_size: int = 256
    timeout: float = 30.0
    api_key: str | None = None
    max_batch: int = 32
    max_wait_ms: float = 5.0
    retry_after: int = 1
    runtime: str = "keras"

    def __post_init__(self):
        v.positive_int("max_upload_bytes", self.max_upload_bytes)
        v.positive_int("queue_size", self.queue_size)
        v.positive_int("max_batch", self.max_batch)
        v.positive_int("retry_after", self.retry_after)
        v.choice("runtime", self.runtime, RUNTIMES)
        for name in ("max_duration", "timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ParameterError(f"{name} must be a positive number of seconds, got {value!r}")
        if not isinstance(self.max_wait_ms, (int, float)) or not self.max_wait_ms >= 0:
            raise ParameterError(f"max_wait_ms must be >= 0, got {self.max_wait_ms!r}")
        if self.api_key is not None and not (isinstance(self.api_key, str) and self.api_key):
            raise ParameterError("api_key must be a non-empty string or None")

    def updated(self, **options) -> ServeConfig:
        """A copy with the options that are not None replaced."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise ParameterError(f"unknown serve option(s) {unknown}; known: {sorted(names)}")
        return replace(self, **{k: val for k, val in options.items() if val is not None})
