"""The micro-batcher: concurrent inputs in one model call, each with its own answer."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tympan import data, pipeline
from tympan.errors import ParameterError
from tympan.serve.batching import MicroBatcher, QueueFull


@pytest.fixture(scope="module")
def artifact(run):
    return pipeline.load_artifact(run)


def test_concurrent_inputs_share_one_call_and_equal_single_predictions(artifact, tmp_path):
    files = [str(data.demo_dir() / f"{d}_theo_1.wav") for d in (1, 4, 8)]
    array = (np.sin(np.arange(6000) * 0.3) * 0.3).astype(np.float32)
    batcher = MicroBatcher(artifact, max_batch=8, max_wait_ms=2000, queue_size=8)
    batcher.start(warm_up=False)
    try:
        with batcher.gate:  # the worker gathers, then waits here until all are queued
            futures = [batcher.submit(f) for f in files] + [batcher.submit((array, 8000))]
        results = [f.result(60) for f in futures]
    finally:
        batcher.stop()
    assert batcher.batches == 1 and batcher.largest == 4
    single = [*pipeline.predict(artifact, files), *pipeline.predict(artifact, array, sr=8000)]
    for got, want in zip(results, single, strict=True):
        assert got.label == want.label
        assert list(got.probabilities.values()) == pytest.approx(list(want.probabilities.values()), abs=1e-5)


def test_a_bad_input_fails_alone(artifact, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk" + bytes(100))
    good = str(data.demo_dir() / "3_theo_1.wav")
    nan = np.full(8000, np.nan, np.float32)
    batcher = MicroBatcher(artifact, max_batch=8, max_wait_ms=500, queue_size=8)
    batcher.start(warm_up=False)
    try:
        with batcher.gate:
            futures = [batcher.submit(str(bad)), batcher.submit((nan, 8000)), batcher.submit(good)]
        assert not futures[0].result(60).ok and "bad.wav" in futures[0].result().error
        with pytest.raises(ParameterError, match=r"NaN|finite"):
            futures[1].result(60)
        assert futures[2].result(60).ok
    finally:
        batcher.stop()


def test_a_full_queue_raises(artifact):
    batcher = MicroBatcher(artifact, max_batch=1, max_wait_ms=0, queue_size=2)  # not started
    batcher.submit("a.wav")
    batcher.submit("b.wav")
    with pytest.raises(QueueFull, match="2 requests are waiting"):
        batcher.submit("c.wav")


def test_padded_model_equals_the_model_and_uses_few_shapes(artifact):
    from tympan.serve.batching import PaddedModel

    padded = PaddedModel(artifact.model, 64)
    assert padded.sizes == [1, 2, 4, 8, 16, 32, 64]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, artifact.config.audio.samples)) * 0.1).astype(np.float32)
    got = padded.predict_on_batch(x)
    assert got.shape == (5, len(artifact.labels))
    np.testing.assert_allclose(got, np.asarray(artifact.model.predict_on_batch(x)), atol=1e-5)


def test_adaptive_wait_waits_only_for_requests_on_their_way(artifact):
    """A lone request is predicted at once, not after max_wait_ms; one announced with expect()
    is waited for and joins the batch."""
    f = str(data.demo_dir() / "1_theo_1.wav")
    batcher = MicroBatcher(artifact, max_batch=8, max_wait_ms=20000, queue_size=8, adaptive_wait=True)
    batcher.start()
    try:
        assert batcher.ready.wait(60)
        start = time.monotonic()
        batcher.submit(f).result(60)
        assert time.monotonic() - start < 10.0 and batcher.batches == 1  # not the 20 s wait
        batcher.expect()  # a second request is uploading
        first = batcher.submit(f)
        time.sleep(0.3)
        batcher.arrived()
        second = batcher.submit(f)
        assert first.result(60).label == second.result(60).label
        assert batcher.batches == 2 and batcher.largest == 2
    finally:
        batcher.stop()


def test_two_workers_capturing_warnings_at_once_keep_flags_and_filters(artifact, tmp_path, monkeypatch):
    """A classifier's batch inside ``warnings.catch_warnings`` while an audio-out render enters
    it and leaves after: the render's flag is still reported, and the process's warning filters
    are the ones it had (without one lock around both, the render's warning went unrecorded and
    the batcher's 'ignore everything' stayed in place for good)."""
    import threading
    import types
    import warnings

    import soundfile as sf

    from tympan.errors import InputWarning
    from tympan.serve.audio_out import render

    inside, go, go2 = threading.Event(), threading.Event(), threading.Event()

    def slow_predict(artifact, items, **kw):
        inside.set()
        go.wait(30)
        return ["done"] * len(items)

    def warning_reconstruct(artifact, path, out, **kw):
        go2.wait(30)  # after the batch has left its catch_warnings
        warnings.warn(f"{path} is silent (peak 0)", InputWarning, stacklevel=2)
        sf.write(out, np.zeros(100, np.float32), 8000, subtype="FLOAT")

    monkeypatch.setattr(pipeline, "predict", slow_predict)
    monkeypatch.setattr(pipeline, "reconstruct_file", warning_reconstruct)
    filters, show = list(warnings.filters), warnings.showwarning
    ae = types.SimpleNamespace(task="reconstruction", config=types.SimpleNamespace(
        audio=types.SimpleNamespace(sr=8000)))
    batcher = MicroBatcher(artifact, max_batch=1, max_wait_ms=0, queue_size=4)
    batcher.start(warm_up=False)
    try:
        future = batcher.submit("a.wav")
        assert inside.wait(30)
        out = {}
        thread = threading.Thread(target=lambda: out.update(r=render(ae, tmp_path / "in.wav", tmp_path)))
        thread.start()
        time.sleep(0.2)  # the render enters while the batch is inside
        go.set()
        assert future.result(30) == "done"
        go2.set()
        thread.join(30)
        assert out["r"].flags == ("silent",)
        assert warnings.filters == filters and warnings.showwarning is show
    finally:
        go.set(), go2.set()
        batcher.stop()
