"""A tagger (several labels per clip) served: its answer over HTTP and WS /stream equals the
library's (``pipeline.predict`` gives a TagPrediction for it)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

import userdata
from tympan import pipeline
from tympan.pipeline import tagging
from tympan.serve import create_app


@pytest.fixture(scope="module")
def tagger_run(shared_data, tmp_path_factory):
    """The artifact folder ``tags``: 40 FSDD clips labelled '<digit>;odd|even', 2 epochs."""
    folder = tmp_path_factory.mktemp("serve-tags")
    userdata.build_tags_csv(folder, takes=2, shared=shared_data)
    out = tmp_path_factory.mktemp("serve-runs") / "tags"
    config = pipeline.PipelineConfig(
        model={"name": "conv1d", "filters": [8, 16], "batch_norm": False, "dropout": 0.0,
               "pooling": "flatten", "augmentation": {"gain_db": 0.0, "time_shift": 0.0}},
        training=pipeline.TrainConfig(epochs=2, seed=1))
    tagging.train_any(folder / "tags.csv", config, split_options={"test_size": 0.25}, out=out,
                      verbose=0, progress=False)
    return out


def test_a_tagger_answers_its_tags_as_the_library_does(tagger_run, shared_data):
    clip = shared_data / "fsdd" / "recordings" / "7_nicolas_5.wav"
    (expected,) = pipeline.predict(tagger_run, clip)
    with TestClient(create_app([tagger_run])) as c:
        assert c.app.state.models["tags"].runner.ready.wait(120)
        listed = c.get("/models").json()["models"][0]
        assert listed["task"] == "tagging" and listed["output"] == "labels"
        r = c.post("/predict", files={"file": (clip.name, clip.read_bytes())})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["labels"] == list(expected.labels) and answer["source"] == clip.name
        assert answer["probabilities"].keys() == expected.probabilities.keys()
        np.testing.assert_allclose(list(answer["probabilities"].values()),
                                   list(expected.probabilities.values()), atol=1e-5)
        y, sr = sf.read(clip, dtype="float32")
        window = c.app.state.models["tags"].window
        with c.websocket_connect("/stream") as ws:
            ws.send_json({"sample_rate": sr})
            ws.send_bytes(np.resize(y, window).astype("<f4").tobytes())
            ws.send_json({"end": True})
            first = ws.receive_json()
            while "start" not in first:  # the greeting: the model and its windows
                first = ws.receive_json()
        (alone,) = pipeline.predict(tagger_run, (np.resize(y, window), sr))
        assert first["labels"] == list(alone.labels) and first["label"] == ";".join(alone.labels)
        assert first["probability"] == pytest.approx(max(alone.probabilities.values()), abs=1e-5)
