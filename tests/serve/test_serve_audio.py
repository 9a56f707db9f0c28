"""Audio-out models over HTTP: the served WAV (or base64 JSON) holds the samples the command
line's own library call writes, with the rate, duration and flags in headers; limits apply."""

from __future__ import annotations

import base64
import dataclasses
import io as pyio
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tympan import data, pipeline
from tympan.cli.main import cli
from tympan.serve import create_app
from tympan.serve.models import Served

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning",
                                        "ignore:__array__ implementation:DeprecationWarning")
PCM16 = 1 / 32768  # one step of 16-bit quantisation


def _wav(content: bytes) -> tuple[np.ndarray, int]:
    return sf.read(pyio.BytesIO(content), dtype="float32", always_2d=True)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """Five of theo's recordings end to end (about 2 s at 8 kHz, 16-bit): several windows."""
    y = np.concatenate([sf.read(data.demo_dir() / f"{d}_theo_3.wav", dtype="float32")[0] for d in range(5)])
    path = tmp_path_factory.mktemp("serve-audio") / "five.wav"
    sf.write(path, y, 8000, subtype="PCM_16")
    return path


def test_reconstruction_is_the_library_call_as_wav(audio_client, ae_run, long_clip, tmp_path):
    r = audio_client.post("/predict", files={"file": (long_clip.name, long_clip.read_bytes())})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    y, sr = _wav(r.content)
    info = sf.info(pyio.BytesIO(r.content))
    assert sr == 8000 and info.subtype == "FLOAT" and y.shape == (sf.info(long_clip).frames, 1)
    assert r.headers["x-tympan-sample-rate"] == "8000" and r.headers["x-tympan-channels"] == "reconstruction"
    assert float(r.headers["x-tympan-duration"]) == pytest.approx(sf.info(long_clip).duration)
    assert r.headers["x-tympan-flags"] == ""
    assert 'filename="five-reconstruction.wav"' in r.headers["content-disposition"]
    # the library call (float32 output) and the command's file (16-bit WAV by default)
    pipeline.reconstruct_file(ae_run, long_clip, tmp_path / "lib.wav", subtype="FLOAT")
    np.testing.assert_allclose(y[:, 0], sf.read(tmp_path / "lib.wav", dtype="float32")[0], atol=1e-6, rtol=0)
    result = CliRunner().invoke(cli, ["autoencoder", "reconstruct", str(ae_run), str(long_clip),
                                      str(tmp_path / "cli.wav")])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(y[:, 0], sf.read(tmp_path / "cli.wav", dtype="float32")[0],
                               atol=PCM16 + 1e-6, rtol=0)
    assert np.abs(y).max() > 1e-3  # not silence


def test_separation_sources_are_the_cli_files(audio_client, sep_run, long_clip, tmp_path):
    r = audio_client.post("/models/sep/predict", content=long_clip.read_bytes(),
                          headers={"x-filename": long_clip.name})
    assert r.status_code == 200, r.text
    y, sr = _wav(r.content)
    assert sr == 8000 and y.shape == (sf.info(long_clip).frames, 2)
    assert r.headers["x-tympan-channels"] == "speech,noise"
    result = CliRunner().invoke(cli, ["separate", str(sep_run), str(long_clip), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for i, source in enumerate(("speech", "noise")):
        want = sf.read(tmp_path / f"{source}.wav", dtype="float32")[0]
        np.testing.assert_allclose(y[:, i], want, atol=1e-6, rtol=0)
    # the array call, unquantised: within 16-bit steps (the CLI writes the input's PCM_16)
    arrays = pipeline.separate(sep_run, sf.read(long_clip, dtype="float32")[0], 8000)
    np.testing.assert_allclose(y[:, 0], np.clip(arrays["speech"], -1, 1), atol=PCM16 + 1e-6, rtol=0)
    # one source, 16-bit
    one = audio_client.post("/models/sep/predict?source=noise&subtype=PCM_16", content=long_clip.read_bytes())
    assert one.status_code == 200 and one.headers["x-tympan-channels"] == "noise"
    assert sf.info(pyio.BytesIO(one.content)).subtype == "PCM_16"
    np.testing.assert_allclose(_wav(one.content)[0][:, 0], y[:, 1], atol=PCM16, rtol=0)


def test_json_answer_holds_base64_wav_files(audio_client, long_clip):
    body = {"file": (long_clip.name, long_clip.read_bytes())}
    wav = _wav(audio_client.post("/models/sep/predict", files=body).content)[0]
    r = audio_client.post("/models/sep/predict", files=body, headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    answer = r.json()
    assert (answer["source"], answer["task"], answer["sample_rate"], answer["flags"]) == \
           ("five.wav", "separation", 8000, [])
    assert answer["duration"] == pytest.approx(sf.info(long_clip).duration)
    assert list(answer["audio"]) == ["speech", "noise"]
    for i, source in enumerate(answer["audio"]):
        y, sr = _wav(base64.b64decode(answer["audio"][source]))
        assert sr == 8000
        np.testing.assert_array_equal(y[:, 0], wav[:, i])


def test_flags_errors_and_limits(audio_client, ae_run, tmp_path):
    silent = pyio.BytesIO()
    sf.write(silent, np.zeros(8000, np.float32), 8000, format="WAV")
    r = audio_client.post("/predict", content=silent.getvalue())
    assert r.status_code == 200 and r.headers["x-tympan-flags"] == "silent"
    assert np.abs(_wav(r.content)[0]).max() < 1e-3
    r = audio_client.post("/predict", files={"file": ("notes.txt", b"not audio at all " * 50)})
    assert r.status_code == 415 and "notes.txt" in r.json()["detail"]
    r = audio_client.post("/models/sep/predict?source=music", content=silent.getvalue())
    assert r.status_code == 422 and "['speech', 'noise']" in r.json()["detail"]
    r = audio_client.post("/predict?subtype=MP3", content=silent.getvalue())
    assert r.status_code == 422 and "subtype" in r.json()["detail"]
    clip = data.demo_dir() / "7_theo_3.wav"
    with TestClient(create_app([ae_run], max_duration=0.2, max_upload_bytes=4000, warm_up=False)) as c:
        r = c.post("/predict", files={"file": (clip.name, clip.read_bytes())})
        assert r.status_code == 413 and "4000 bytes" in r.json()["detail"]
        short = pyio.BytesIO()
        sf.write(short, np.full(1800, 0.1, np.float32), 8000, format="WAV", subtype="PCM_16")
        r = c.post("/predict", content=short.getvalue())
        assert r.status_code == 422 and "longer than the server's limit of 0.2 s" in r.json()["detail"]


def test_models_lists_audio_out_and_other_tasks_are_501(audio_client, run, clip):
    models = {m["name"]: m for m in audio_client.get("/models").json()["models"]}
    assert models["ae"]["output"] == models["sep"]["output"] == "audio" and models["sep"]["ready"]
    assert models["sep"]["labels"] == ["speech", "noise"]
    assert audio_client.get("/readyz").json() == {"status": "ready", "models": ["ae", "sep"]}
    spec = audio_client.get("/openapi.json").json()["paths"]["/models/{name}/predict"]["post"]
    ok = spec["responses"]["200"]
    assert ok["content"]["audio/wav"]["schema"] == {"type": "string", "format": "binary"}
    assert {"X-Tympan-Sample-Rate", "X-Tympan-Channels"} <= set(ok["headers"])
    assert {p["name"] for p in spec["parameters"]} >= {"name", "source", "subtype"}
    app = create_app([run], warm_up=False)
    digits = app.state.models["digits"]
    frames = dataclasses.replace(digits.artifact, task="frame_labelling")
    app.state.models["frames"] = Served("frames", frames, None, window=digits.window, hop=digits.hop)
    with TestClient(app) as c:
        r = c.post("/models/frames/predict", content=clip.read_bytes())
    assert r.status_code == 501 and "frame_labelling model" in r.json()["detail"]


def test_a_timed_out_request_leaves_no_files(sep_run, long_clip, monkeypatch):
    """The worker still writes the sources after the request gave up (504) and removed what it
    made: the folder they go to is the worker's own, removed once they are read back, and the
    shared upload folder ends empty."""
    real, go, folders = pipeline.separate_file, threading.Event(), []
    copy = long_clip.read_bytes()

    def slow_separate(artifact, src, out_dir, **kw):
        folders.append(out_dir)
        go.wait(30)  # until the request has timed out and cleaned up
        src = out_dir.parent / "input.wav"  # the upload is gone by now
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(copy)
        return real(artifact, src, out_dir, **kw)

    with TestClient(create_app([sep_run], timeout=2)) as c:
        assert c.app.state.models["sep"].worker.ready.wait(120)
        monkeypatch.setattr(pipeline, "separate_file", slow_separate)
        r = c.post("/predict", content=copy)
        assert r.status_code == 504 and "--timeout" in r.json()["detail"]
        go.set()
        r = c.post("/predict", content=copy)  # answered after the first job is done
        assert r.status_code == 200, r.text
        assert len(folders) == 2 and not any(Path(f).exists() for f in folders)
        assert os.listdir(c.app.state.uploads) == []
