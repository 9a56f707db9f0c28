"""tympan serve's HTTP endpoints against the library's own predict, and each limit."""

from __future__ import annotations

import io as pyio
import time

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from tympan import pipeline
from tympan.serve import ServeConfig, create_app


def _expected(run, path, name):
    want = pipeline.predict(run, path)[0].to_dict()
    want["source"] = name
    return want


def _same(got, want):
    assert got["label"] == want["label"]
    assert got["source"] == want["source"]
    assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)
    assert got["duration"] == pytest.approx(want["duration"])
    assert len(got["segments"]) == len(want["segments"])
    assert got["flags"] == want["flags"] and got["error"] is None


def test_predict_multipart_equals_library(client, run, clip):
    r = client.post("/predict", files={"file": (clip.name, clip.read_bytes(), "audio/wav")})
    assert r.status_code == 200, r.text
    _same(r.json(), _expected(run, clip, clip.name))


def test_predict_raw_body_and_named_model_equal_library(client, run, clip):
    r = client.post("/models/digits/predict", content=clip.read_bytes(),
                    headers={"content-type": "application/octet-stream", "x-filename": clip.name})
    assert r.status_code == 200, r.text
    _same(r.json(), _expected(run, clip, clip.name))


def test_long_input_has_the_library_windows(client, run, tmp_path):
    y = np.concatenate([sf.read(p)[0] for p in sorted(run.parent.parent.glob("serve-digits*/*_0.wav"))[:6]])
    path = tmp_path / "long.flac"
    sf.write(path, y, 8000)
    r = client.post("/predict", files={"file": ("long.flac", path.read_bytes())})
    assert r.status_code == 200, r.text
    want = _expected(run, path, "long.flac")
    assert len(want["segments"]) > 2
    _same(r.json(), want)
    assert [s["label"] for s in r.json()["segments"]] == [s["label"] for s in want["segments"]]


def test_probes_models_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "models": ["digits"]}
    models = client.get("/models").json()
    assert models["default"] == "digits"
    (m,) = models["models"]
    assert m["task"] == "classification" and m["ready"] and len(m["labels"]) == 10
    assert m["sample_rate"] == 8000 and m["window_seconds"] > 0 and m["hop_seconds"] > 0
    spec = client.get("/openapi.json").json()
    assert {"/predict", "/models/{name}/predict", "/models", "/healthz", "/readyz"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text and "http" not in page.text.split("<body")[0]


def test_unknown_model_is_404(client, clip):
    r = client.post("/models/nope/predict", content=clip.read_bytes())
    assert r.status_code == 404 and "digits" in r.json()["detail"]


# ----------------------------------------------------------------------------- bad audio
def _library_error(run, path):
    (p,) = pipeline.predict(run, path, on_error="skip")
    assert not p.ok
    return p.error


@pytest.mark.parametrize(("name", "content", "status"), [
    ("notes.txt", b"these are not audio samples " * 40, 415),   # no format libsndfile knows
    ("clip.m4a", b"\x00\x00\x00\x20ftypM4A " + bytes(600), 415),  # a format tympan does not read
    ("clip.wav", b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(600), 422),  # corrupt header
])
def test_bad_audio_codes_carry_the_cli_message(client, run, tmp_path, name, content, status):
    path = tmp_path / name
    path.write_bytes(content)
    r = client.post("/predict", files={"file": (name, content)})
    assert r.status_code == status, r.text
    want = _library_error(run, path).replace(str(path), name)
    assert r.json()["detail"] == want


def test_nan_samples_are_422_with_the_cli_message(client, run, tmp_path):
    y = np.zeros(8000, np.float32)
    y[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, y, 8000, subtype="FLOAT")
    r = client.post("/predict", files={"file": ("nan.wav", path.read_bytes())})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == _library_error(run, path).replace(str(path), "nan.wav")
    assert "nan.wav" in r.json()["detail"]


def test_empty_and_missing_field_are_400(client):
    assert client.post("/predict", content=b"").status_code == 400
    r = client.post("/predict", files={"other": ("a.wav", b"1234")})
    assert r.status_code == 400 and "'file'" in r.json()["detail"]


# ----------------------------------------------------------------------------- limits
def test_duration_limit_is_422(run, clip):
    with TestClient(create_app([run], max_duration=0.2, warm_up=False)) as c:
        r = c.post("/predict", files={"file": (clip.name, clip.read_bytes())})
    assert r.status_code == 422
    assert "longer than the server's limit of 0.2 s" in r.json()["detail"]


def test_upload_limit_on_content_length_is_413(run, clip):
    with TestClient(create_app([run], max_upload_bytes=2000, warm_up=False)) as c:
        r = c.post("/predict", files={"file": (clip.name, clip.read_bytes())})
        assert r.status_code == 413 and "2000 bytes" in r.json()["detail"]
        small = pyio.BytesIO()
        sf.write(small, np.zeros(400, np.float32), 8000, format="WAV")
        assert c.post("/predict", content=small.getvalue()).status_code == 200


def test_upload_limit_stops_reading_a_chunked_body(run):
    """Without Content-Length, the body is counted as it arrives: 413 after the chunk that passes
    the limit, the rest never read."""
    import asyncio

    app = create_app([run], max_upload_bytes=10_000, warm_up=False)
    chunks = [b"\0" * 4096] * 100
    read = 0
    sent = []

    async def receive():
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/predict", "raw_path": b"/predict",
             "query_string": b"", "headers": [(b"content-type", b"application/octet-stream")],
             "http_version": "1.1", "scheme": "http", "server": ("test", 80), "client": ("c", 1),
             "root_path": "", "app": app}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert read == 3  # 12288 bytes > 10000: the 97 other chunks were never read


def test_full_queue_is_503_with_retry_after_and_slow_is_504(run, clip):
    app = create_app([run], queue_size=1, timeout=1.0, max_wait_ms=0)
    with TestClient(app) as c:
        batcher = app.state.models["digits"].batcher
        assert batcher.ready.wait(60)
        body = {"file": (clip.name, clip.read_bytes())}
        with batcher.gate:  # the worker cannot predict: requests wait
            codes = []
            for _ in range(4):
                r = c.post("/predict", files=body)
                codes.append(r.status_code)
                if r.status_code == 503:
                    assert r.headers["retry-after"] == "1" and "busy" in r.json()["detail"]
                    break
                assert "no prediction within 1 s" in r.json()["detail"]
        assert codes[0] == 504 and codes[-1] == 503
        # once the gate opens the worker drains the queue (the timed-out requests are skipped);
        # until it has, a new request may still meet a full queue
        deadline = time.monotonic() + 30
        while batcher.waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        assert batcher.waiting == 0
        assert c.post("/predict", files=body).status_code == 200


def test_bearer_token(run, clip):
    app = create_app([run], api_key="s3cret", warm_up=False)
    body = {"file": (clip.name, clip.read_bytes())}
    with TestClient(app) as c:
        r = c.post("/predict", files=body)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.post("/predict", files=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/models").status_code == 401
        assert c.post("/predict", files=body, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200  # probes stay open


def test_config_is_checked():
    from tympan.errors import ParameterError

    with pytest.raises(ParameterError, match="timeout must be a positive number"):
        ServeConfig(timeout=0)
    with pytest.raises(ParameterError, match="unknown serve option"):
        ServeConfig().updated(speed=3)


def test_the_upload_folder_goes_at_shutdown(run, clip):
    """``tympan serve`` exits without running finalisers: the shared upload folder is removed
    by the application's shutdown, and made again when it starts anew."""
    from pathlib import Path

    app = create_app([run], warm_up=False)
    uploads = Path(app.state.uploads)
    for _ in range(2):
        with TestClient(app) as c:
            r = c.post("/predict", content=clip.read_bytes())
            assert r.status_code == 200 and r.json()["label"]
            assert uploads.is_dir() and list(uploads.iterdir()) == []
        assert not uploads.exists()
