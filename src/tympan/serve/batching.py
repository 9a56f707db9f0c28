"""The micro-batcher: one worker thread owns a model; requests wait on futures.

Concurrent requests are gathered into one call of :func:`tympan.pipeline.predict` (which
batches the windows of all its inputs into shared model calls): the worker takes the first
waiting request, waits at most ``max_wait_ms`` for more, up to ``max_batch``, and predicts them
together.  The queue is bounded: :meth:`MicroBatcher.submit` raises :class:`QueueFull` when
``queue_size`` requests wait already, so the server answers 503 instead of growing memory.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
import warnings
from concurrent.futures import Future

import numpy as np

from tympan import pipeline
from tympan.pipeline.windowing import padded_size

#: Held around every ``warnings.catch_warnings`` of the server's worker threads: it swaps the
#: process's warning filters and ``showwarning`` and puts back what it found on leaving, so two
#: workers (two models) inside it at once could leave one's filters (ignore everything) or its
#: recording list in place for good, and lose or misplace the flags of a request.
WARNINGS_LOCK = threading.RLock()


class PaddedModel:
    """The model seen through batches padded to a power of two rows (at most ``largest``), so
    that a jit-compiling backend (jax) compiles a handful of shapes once, at warm-up, instead of
    one per batch size the requests happen to form (about a second each).  With ``pad=False``
    (onnxruntime, which compiles nothing per shape but spends its time per row: padding 5 rows
    to 8 would cost 60 % more) batches pass as they are."""

    def __init__(self, model, largest: int, *, pad: bool = True):
        self.model = model
        self.pad = pad
        self.sizes = [1 << k for k in range(max(1, largest - 1).bit_length() + 1)] if pad else [1]

    def predict_on_batch(self, x):
        x = np.asarray(x)
        n = len(x)
        if not self.pad:
            return np.asarray(self.model.predict_on_batch(x))
        size = padded_size(n, self.sizes[-1])
        if size > n:
            x = np.concatenate([x, np.zeros((size - n, *x.shape[1:]), x.dtype)])
        return np.asarray(self.model.predict_on_batch(x))[:n]

    def __getattr__(self, name):
        return getattr(self.model, name)


class QueueFull(Exception):
    """The batcher's queue holds ``queue_size`` requests already."""


class MicroBatcher:
    """Predicts the inputs submitted from any thread in batches, on one worker thread.

    An input is a file path or a ``(samples, sr)`` pair (mono float array); its future gives
    the :class:`tympan.pipeline.Prediction`, or the error ``predict`` raised for it alone.
    ``gate`` is held by the worker around each model call (tests hold it to keep requests
    waiting); ``batches`` counts the model calls and ``largest`` their largest batch.

    With ``adaptive_wait`` (the server's choice) the first request of a batch waits for others
    only while some are on their way (:meth:`expect` was called for them, and
    :meth:`arrived` not yet: the server calls them around a request's upload): a lone client
    does not wait ``max_wait_ms`` for nobody (9.5 ms instead of about 4 ms per request at one
    client, measured).
    """

    #: Windows per model call: pipeline.predict's batch_size, and the largest padded batch.
    windows_per_call = 64

    def __init__(self, artifact, *, max_batch: int, max_wait_ms: float, queue_size: int,
                 adaptive_wait: bool = False):
        from tympan.runtime import OnnxModel

        pad = not isinstance(artifact.model, OnnxModel)
        self.artifact = dataclasses.replace(artifact, model=PaddedModel(artifact.model,
                                                                        self.windows_per_call, pad=pad))
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.adaptive_wait = adaptive_wait
        self._expected = 0  # requests on their way (changed on the event loop, read by the worker)
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.gate = threading.Lock()
        self.batches = 0
        self.largest = 0
        self.ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = object()

    # ------------------------------------------------------------------ lifecycle
    def start(self, *, warm_up: bool = True) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(warm_up,), daemon=True,
                                            name=f"tympan-serve-{id(self):x}")
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(self._stop)  # blocks only while the queue is full
            self._thread.join(timeout)
            self._thread = None

    # ------------------------------------------------------------------ requests
    def submit(self, item) -> Future:
        """Queue ``item`` (a path or ``(samples, sr)``); raises QueueFull when the queue is full."""
        future: Future = Future()
        try:
            self._queue.put_nowait((item, future))
        except queue.Full:
            raise QueueFull(f"{self._queue.maxsize} requests are waiting already") from None
        return future

    def expect(self) -> None:
        """A request for this model has begun (its upload is on its way)."""
        self._expected += 1

    def arrived(self) -> None:
        """That request was submitted, or failed before."""
        self._expected -= 1

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    # ------------------------------------------------------------------ worker
    def _warm_up(self) -> None:
        """One predict on silence, then the model on every padded batch size."""
        audio = self.artifact.config.audio
        with WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a silent input warns, on purpose here
            pipeline.predict(self.artifact, (np.zeros(audio.samples, np.float32), audio.sr))
        model = self.artifact.model
        for size in model.sizes:
            model.predict_on_batch(np.zeros((size, audio.samples), np.float32))

    def _gather(self, first) -> list:
        jobs = [first]
        deadline = time.monotonic() + self.max_wait
        while len(jobs) < self.max_batch:
            if self.adaptive_wait and self._expected <= 0 and self._queue.empty():
                break  # nobody else is coming: do not wait for them
            left = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is self._stop:
                self._queue.put_nowait(self._stop)  # seen again after this batch
                break
            jobs.append(job)
        return jobs

    def _run(self, warm_up: bool) -> None:
        if warm_up:
            try:
                self._warm_up()
            except Exception:  # readiness stays false; requests still get their own errors
                pass
            else:
                self.ready.set()
        else:
            self.ready.set()
        while True:
            first = self._queue.get()
            if first is self._stop:
                return
            jobs = [(item, f) for item, f in self._gather(first) if f.set_running_or_notify_cancel()]
            if jobs:
                with self.gate:
                    self._predict(jobs)

    def _predict(self, jobs: list) -> None:
        items = [item for item, _ in jobs]
        self.batches += 1
        self.largest = max(self.largest, len(items))
        try:
            with WARNINGS_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # flags carry what the warnings say
                results = pipeline.predict(self.artifact, items, on_error="skip",
                                           batch_size=self.windows_per_call)
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0][1].set_exception(exc)
                return
            for job in jobs:  # find the input at fault: each alone
                self._predict([job])
            return
        for (_, future), result in zip(jobs, results, strict=True):
            future.set_result(result)

