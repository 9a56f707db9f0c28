"""``WS /stream``: labels of a live signal, one per sliding window.

Protocol: the client first sends a JSON text message ``{"sample_rate": 48000}`` (optionally
``"model": NAME``; with an API key, ``?token=KEY`` in the URL, since browsers cannot set
headers on a WebSocket); the server answers ``{"model", "sample_rate", "window", "hop"}``
(seconds).  Then every binary message is mono float32 little-endian PCM at that rate; the
server resamples it as a stream (soxr) to the artifact's rate and, each time a window of the
artifact's length is complete (windows ``hop`` apart, as ``pipeline.json`` "windows" says),
answers ``{"start", "end", "label", "probability", "probabilities", "flags"}`` (times in
seconds of the stream; ``flags``: the window's signal flags, :mod:`tympan.signal_checks`).  The
text message ``{"end": true}`` flushes the resampler, answers the last windows and
``{"done": true, "windows": N}``, and closes the socket.  A bad message is answered
``{"error": ...}`` and the socket closed (code 1003 or 1008): so are samples the signal policy
refuses (:class:`~tympan.signal_checks.SignalMonitor`: NaN, infinite, or beyond ``MAX_PEAK``,
with their count and first position in the stream).
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import soxr
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from tympan.errors import TympanError
from tympan.serve.batching import QueueFull
from tympan.serve.config import ServeConfig
from tympan.serve.limits import token_ok
from tympan.signal_checks import SignalMonitor

_MAX_RATE = 384_000


def add_stream(app: FastAPI, models: dict, default: str, config: ServeConfig) -> None:
    @app.websocket("/stream")
    async def stream(ws: WebSocket):
        await ws.accept()
        if not token_ok(config.api_key, ws.headers.get("authorization"), ws.query_params.get("token")):
            return await _refuse(ws, "missing or wrong token (?token=<key>)", 1008)
        try:
            first = json.loads(await ws.receive_text())
            rate = int(first["sample_rate"])
            name = first.get("model") or default
            if not isinstance(name, str):
                raise TypeError(name)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):  # 1e400: inf
            return await _refuse(ws, 'the first message must be JSON {"sample_rate": <Hz>}', 1003)
        except WebSocketDisconnect:
            return
        if not 1000 <= rate <= _MAX_RATE:
            return await _refuse(ws, f"sample_rate must be 1000 to {_MAX_RATE} Hz, got {rate}", 1003)
        served = models.get(name)
        if served is None or served.batcher is None:
            return await _refuse(ws, f"no classifier or tagger named '{name}'; loaded: "
                                     f"{sorted(models)}", 1003)
        sr = served.artifact.config.audio.sr
        await ws.send_json({"model": name, "sample_rate": rate, "window": served.window / sr,
                            "hop": served.hop / sr})
        resampler = None if rate == sr else soxr.ResampleStream(rate, sr, 1, dtype="float32")
        buffer = np.zeros(0, np.float32)
        windows = 0
        monitor = SignalMonitor(sr=rate, source="the stream")  # what io.load checks in a file
        offset = 0  # samples of the stream before buffer[0], at the artifact's rate
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                last = data is None and _is_end(message.get("text"))
                if data is None and not last:
                    continue  # other text after the first message: ignored
                if last:
                    data = b""
                elif len(data) % 4:
                    return await _refuse(ws, "binary messages must hold float32 samples "
                                             f"(a multiple of 4 bytes), got {len(data)} bytes", 1003)
                chunk = np.frombuffer(data, "<f4").astype(np.float32)
                try:
                    monitor.check(chunk)
                except TympanError as exc:
                    return await _refuse(ws, str(exc), 1003)
                if resampler is not None:
                    chunk = resampler.resample_chunk(chunk, last=last)
                buffer = np.concatenate([buffer, chunk])
                while len(buffer) >= served.window:
                    window = buffer[: served.window].copy()
                    try:
                        future = served.batcher.submit((window, sr))
                    except QueueFull:
                        await ws.send_json({"error": "the server is busy: a window was skipped",
                                            "start": offset / sr})
                    else:
                        result = await asyncio.wait_for(asyncio.wrap_future(future), config.timeout)
                        await ws.send_json({"start": offset / sr, "end": (offset + served.window) / sr,
                                            **window_answer(result)})
                    buffer = buffer[served.hop:]
                    offset += served.hop
                    windows += 1
                if last:
                    await ws.send_json({"done": True, "windows": windows})
                    return await ws.close()
        except WebSocketDisconnect:
            return
        except asyncio.TimeoutError:
            return await _refuse(ws, f"no prediction within {config.timeout:g} s", 1011)
        except TympanError as exc:  # the library refused a window: its message, not a crash
            return await _refuse(ws, str(exc), 1003)


def _is_end(text: str | None) -> bool:
    try:
        return bool(json.loads(text or "null").get("end"))
    except (ValueError, AttributeError):
        return False


async def _refuse(ws: WebSocket, message: str, code: int) -> None:
    try:
        await ws.send_json({"error": message})
        await ws.close(code)
    except (WebSocketDisconnect, RuntimeError):
        pass


def window_answer(result) -> dict:
    """What a window's message says of its prediction: ``label``, ``probability``,
    ``probabilities``; for a tagger ``labels`` (the tags at or above their thresholds) too, its
    ``label`` those tags joined by ``;`` and ``probability`` the highest tag's; ``flags`` the
    window's signal flags (``"silent"``, ...)."""
    flags = list(getattr(result, "flags", ()))
    if hasattr(result, "labels"):  # a tagger's TagPrediction
        return {"label": ";".join(result.labels), "labels": list(result.labels),
                "probability": max(result.probabilities.values(), default=0.0),
                "probabilities": result.probabilities, "flags": flags}
    return {"label": result.label, "probability": result.probability,
            "probabilities": result.probabilities, "flags": flags}
