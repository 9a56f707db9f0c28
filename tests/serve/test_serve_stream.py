"""WS /stream: one label per sliding window of a live signal, as the library predicts them."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tympan import data, io, pipeline
from tympan.serve import create_app


def _speech():
    return np.concatenate([sf.read(data.demo_dir() / f"{d}_theo_2.wav", dtype="float32")[0]
                           for d in (2, 5, 9, 0, 6, 3)])


def _collect(ws, samples, chunk):
    """Send ``samples`` in chunks, then the end: the window messages until "done"."""
    for i in range(0, len(samples), chunk):
        ws.send_bytes(samples[i:i + chunk].astype("<f4").tobytes())
    ws.send_json({"end": True})
    got = []
    while "done" not in (message := ws.receive_json()):
        got.append(message)
    assert message["windows"] == len(got)
    return got


def test_stream_at_the_model_rate_gives_the_library_windows(client, run):
    y = _speech()
    model = client.app.state.models["digits"]
    n = 1 + (len(y) - model.window) // model.hop  # full windows
    with client.websocket_connect("/stream") as ws:
        ws.send_json({"sample_rate": 8000})
        hello = ws.receive_json()
        assert hello["window"] == pytest.approx(model.window / 8000)
        got = _collect(ws, y, 1000)
    assert len(got) == n
    window, hop = model.window / 8000, model.hop / 8000
    (want,) = pipeline.predict(run, y, sr=8000, window_sec=window, hop_sec=hop)
    for g, w in zip(got, want.segments, strict=False):
        assert g["start"] == pytest.approx(w.start) and g["end"] == pytest.approx(w.end)
        assert g["label"] == w.label
        assert list(g["probabilities"].values()) == pytest.approx(list(w.probabilities), abs=1e-5)


def test_stream_is_resampled_from_the_browser_rate(client, run):
    y = io.resample(_speech(), orig_sr=8000, target_sr=48000)
    model = client.app.state.models["digits"]
    with client.websocket_connect("/stream") as ws:
        ws.send_json({"sample_rate": 48000, "model": "digits"})
        ws.receive_json()
        got = _collect(ws, y, 4096)
    n = 1 + (len(y) // 6 - model.window) // model.hop
    assert len(got) == n >= 2
    assert [g["start"] for g in got] == pytest.approx([k * model.hop / 8000 for k in range(n)])
    labels = pipeline.predict(run, _speech(), sr=8000, window_sec=model.window / 8000,
                              hop_sec=model.hop / 8000)[0].segments
    assert sum(g["label"] == w.label for g, w in zip(got, labels, strict=False)) >= n - 1


@pytest.mark.parametrize(("first", "error"), [
    ("not json", "first message must be JSON"),
    ('{"rate": 8000}', "first message must be JSON"),
    ('{"sample_rate": 10}', "sample_rate must be 1000 to"),
    ('{"sample_rate": 8000, "model": "nope"}', "no classifier or tagger named 'nope'"),
    ('{"sample_rate": 1e400}', "first message must be JSON"),  # was an OverflowError, no answer
    ('{"sample_rate": 8000, "model": ["digits"]}', "first message must be JSON"),  # was a TypeError
    ('"sample_rate"', "first message must be JSON"),
])
def test_bad_first_message_is_answered_and_closed(client, first, error):
    with client.websocket_connect("/stream") as ws:
        ws.send_text(first)
        assert error in ws.receive_json()["error"]
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


def test_nan_samples_close_the_stream(client):
    with client.websocket_connect("/stream") as ws:
        ws.send_json({"sample_rate": 8000})
        ws.receive_json()
        ws.send_bytes(np.full(100, np.nan, "<f4").tobytes())
        assert "NaN" in ws.receive_json()["error"]


@pytest.mark.parametrize(("samples", "error"), [
    (np.where(np.arange(8000) == 1200, np.inf, 0.1),
     r"^the stream: 1 non-finite sample\(s\) \(inf\), the first at sample 9200 \(1\.1500 s\)$"),
    (np.full(8000, 1e30), r"^the stream: samples reach 1e\+30, not audio in \[-1, 1\]"),
])
def test_samples_the_signal_policy_refuses_close_the_stream(client, samples, error):
    """The policy of a file (signal_checks) over the whole stream: its message, positions counted
    from the stream's start.  Before: 1e30 reached the model and the library's error escaped
    the handler (no answer, a traceback in the server's log)."""
    with client.websocket_connect("/stream") as ws:
        ws.send_json({"sample_rate": 8000})
        ws.receive_json()
        ws.send_bytes(np.full(8000, 0.1, "<f4").tobytes())
        ws.send_bytes(samples.astype("<f4").tobytes())
        while "error" not in (message := ws.receive_json()):
            assert "label" in message  # the windows of the first second
        assert re.search(error, message["error"]), message
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


def test_silent_windows_are_flagged(client):
    """A window of digital silence is answered with the flag the file's prediction carries."""
    y = np.concatenate([np.zeros(8000, np.float32), _speech()[:8000]])
    with client.websocket_connect("/stream") as ws:
        ws.send_json({"sample_rate": 8000})
        ws.receive_json()
        got = _collect(ws, y, 4000)
    assert got[0]["flags"] == ["silent"] and got[-1]["flags"] == []


def test_stream_needs_the_token(run):
    with TestClient(create_app([run], api_key="k3y", warm_up=False)) as c:
        with c.websocket_connect("/stream") as ws:
            assert "token" in ws.receive_json()["error"]
        with c.websocket_connect("/stream?token=k3y") as ws:
            ws.send_json({"sample_rate": 8000})
            assert ws.receive_json()["model"] == "digits"
