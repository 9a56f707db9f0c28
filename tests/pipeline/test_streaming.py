"""Training on more than memory: clips streamed from their files (pipeline.streaming.ClipStream)
equal the clips loaded in memory, a file that fails to decode is skipped as in memory, and
``tympan train --stream`` trains an artifact that predicts."""

from __future__ import annotations

import gc
import shutil
import threading
import warnings
from collections import Counter

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tympan import data, pipeline
from tympan.cli.main import cli
from tympan.data.loading import load_clips
from tympan.errors import AudioIOError, DatasetError, ParameterError
from tympan.pipeline.config import AudioConfig, TrainConfig
from tympan.pipeline.train import in_memory_mb, streaming_wanted

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """32 bundled FSDD clips: digits 0-3, speakers jackson and theo, takes 0-3."""
    folder = tmp_path_factory.mktemp("tiny")
    for path in sorted(data.demo_dir().glob("*.wav")):
        digit, speaker, take = path.stem.split("_")
        if speaker in ("jackson", "theo") and int(take) < 4 and int(digit) < 4:
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def with_nan(tiny, tmp_path_factory):
    """``tiny`` plus ``3_bad_9.wav``: a float WAV whose header reads and whose samples hold a
    NaN, so it fails only when decoded."""
    folder = tmp_path_factory.mktemp("with_nan")
    for path in tiny.glob("*.wav"):
        shutil.copy(path, folder / path.name)
    y = np.full(4000, 0.1, np.float32)
    y[100] = np.nan
    sf.write(folder / "3_bad_9.wav", y, 8000, subtype="FLOAT")
    return folder


def _stream(items, targets, audio, **options):
    from tympan.pipeline.streaming import ClipStream

    return ClipStream(items, targets, audio, **options)


def test_streamed_epochs_hold_the_in_memory_clips_in_a_new_order_each(tiny):
    ds = data.discover(tiny, labels_from="regex", pattern="fsdd")
    audio = AudioConfig(sr=8000, duration=0.3, crop="random")  # a random crop, drawn per clip
    X, kept = load_clips(ds, sr=8000, duration=0.3, crop="random", progress=False)
    assert len(kept) == len(ds) == 32
    expected = Counter((row.tobytes(), int(t)) for row, t in zip(X, ds.targets(), strict=True))
    stream = _stream(ds.items, ds.targets(), audio, batch_size=5, seed=3, workers=2)
    orders = []
    for _ in range(2):
        got, labels = Counter(), []
        assert len(stream) == 7
        for k in range(len(stream)):
            x, y = stream[k]
            assert x.dtype == np.float32 and x.shape == (len(y), 2400)
            got.update((row.tobytes(), int(t)) for row, t in zip(x, y, strict=True))
            labels.extend(y)
        assert got == expected  # the same clips with the same labels, each once
        orders.append(stream.order.copy())
        stream.on_epoch_end()
    assert not np.array_equal(orders[0], orders[1])  # shuffled anew each epoch
    assert not np.array_equal(orders[0], np.arange(32))
    again = _stream(ds.items, ds.targets(), audio, batch_size=5, seed=3)
    assert np.array_equal(again.order, orders[0])  # seeded
    # in order without shuffle; batches split evenly over 3 devices: 30 of 32 clips per epoch
    plain = _stream(ds.items, ds.targets(), audio, batch_size=6, shuffle=False, multiple=3)
    sizes = [len(plain[k][1]) for k in range(len(plain))]
    assert sizes == [6, 6, 6, 6, 6] and np.array_equal(plain[0][0], X[:6])


def test_a_file_that_fails_to_decode_is_skipped_as_in_memory(with_nan):
    ds = data.discover(with_nan, labels_from="regex", pattern="fsdd")
    bad = next(i for i, it in enumerate(ds.items) if it.path.name == "3_bad_9.wav")
    with pytest.warns(data.DatasetWarning) as in_memory:
        X, kept = load_clips(ds, sr=8000, duration=1.0, on_error="skip", progress=False)
    audio = AudioConfig(sr=8000, duration=1.0)
    stream = _stream(ds.items, ds.targets(), audio, batch_size=8, shuffle=False)
    with pytest.warns(data.DatasetWarning) as streamed:
        batches = [stream[k] for k in range(len(stream))]
    assert [str(w.message) for w in streamed] == [str(w.message) for w in in_memory]
    assert f"skipped clip {bad} '3_bad_9.wav'" in str(streamed[0].message)
    assert np.array_equal(np.concatenate([x for x, _ in batches]), X)
    assert np.array_equal(np.concatenate([y for _, y in batches]), ds.targets()[kept])
    with warnings.catch_warnings():  # a skipped file is named once, not every epoch
        warnings.simplefilter("error")
        stream.on_epoch_end()
        assert len(stream[bad // 8][1]) == 7
    raising = _stream(ds.items, ds.targets(), audio, batch_size=8, shuffle=False, on_error="raise")
    with pytest.raises(AudioIOError, match=r"3_bad_9\.wav': 1 non-finite sample\(s\) \(NaN\)"):
        raising[bad // 8]


def test_the_stream_threshold_and_its_settings():
    assert in_memory_mb(1000, 8000) == pytest.approx(32.0)
    assert not streaming_wanted(TrainConfig(), 1000, 8000)  # 32 MB < 2048 MB
    assert streaming_wanted(TrainConfig(stream_above_mb=30), 1000, 8000)
    assert streaming_wanted(TrainConfig(stream_above_mb=0), 1, 1)
    assert not streaming_wanted(TrainConfig(stream_above_mb=None), 10**9, 8000)
    with pytest.raises(ParameterError, match="stream_above_mb must be a non-negative number, got -1"):
        TrainConfig(stream_above_mb=-1)
    with pytest.raises(ParameterError, match="stream_workers must be a positive integer"):
        TrainConfig(stream_workers=0)
    assert TrainConfig(devices=0).devices == TrainConfig(devices="all").devices == "all"
    assert TrainConfig(devices="2").devices == 2
    with pytest.raises(ParameterError, match="devices must be a number of devices or 'all', got 'two'"):
        TrainConfig(devices="two")
    with pytest.raises(DatasetError, match="cannot fill a batch split over 4 devices"):
        _stream([data.Item("a.wav", "x")], [0], AudioConfig(sr=8000, duration=1.0), batch_size=4,
                multiple=4)


def test_train_stream_trains_an_artifact_that_predicts(with_nan, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "train", str(with_nan), "--labels-from", "regex", "--pattern", "fsdd", "--split", "stratified",
        "--model", "mlp", "--features", "mean_mfcc", "--model-param", "hidden_units=[8]",
        "--epochs", "2", "--batch-size", "8", "--stream", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "streaming the clips from their files" in result.output
    assert "left out 1 file(s) that failed to decode:" in result.output
    assert "skipped clip" in result.output and "3_bad_9.wav" in result.output
    art = pipeline.load_artifact(out)
    assert art.metrics["streamed"] is True and art.config.training.stream_above_mb == 0
    assert art.metrics["n_train"] + art.metrics["n_val"] + art.metrics["n_test"] == 32
    assert any("3_bad_9.wav" in line for line in art.chosen["unreadable"])
    assert len(art.history["loss"]) == 2
    [pred] = pipeline.predict(out, with_nan / "2_theo_0.wav")
    assert pred.label in art.labels and 0 < pred.probability <= 1


def test_the_streams_threads_end_when_train_returns(tiny):
    config = pipeline.PipelineConfig(
        audio=AudioConfig(sr=8000, duration=0.3), features={"kind": "mean_mfcc"},
        model={"name": "mlp", "hidden_units": [8]},
        training=TrainConfig(epochs=1, batch_size=8, stream_above_mb=0))
    before = set(threading.enumerate())
    gc.disable()  # the returned model holds the validation stream: only close() ends its threads
    try:
        art = pipeline.train(tiny, config, discovery={"labels_from": "regex", "pattern": "fsdd"},
                             split="stratified", verbose=0, progress=False)
        left = [t.name for t in set(threading.enumerate()) - before if t.name.startswith("tympan-stream")]
    finally:
        gc.enable()
    assert art.metrics["streamed"] is True
    assert left == []


def test_feature_statistics_of_a_stream_equal_those_of_the_array(tiny):
    from tympan import models
    from tympan.models.blocks import feature_model, feature_statistics

    ds = data.discover(tiny, labels_from="regex", pattern="fsdd")
    X, _ = load_clips(ds, sr=8000, duration=0.5, progress=False)
    model = models.build_model("mlp", input_samples=4000, sr=8000, n_classes=4,
                               features={"kind": "mean_mfcc"}, hidden_units=[8])
    features = feature_model(model, models.FEATURE_NORM)
    mean, std = feature_statistics(features, X, batch_size=256)
    stream = _stream(ds.items, ds.targets(), AudioConfig(sr=8000, duration=0.5), batch_size=5, seed=1)
    s_mean, s_std = feature_statistics(features, stream.waveforms())  # 7 batches, shuffled
    np.testing.assert_allclose(s_mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s_std, std, rtol=1e-5)
    import keras  # a backend's tensor of clips is one array, not an iterable of batches

    t_mean, t_std = feature_statistics(features, keras.ops.convert_to_tensor(X), batch_size=256)
    np.testing.assert_allclose(t_mean, mean, rtol=1e-6)
    np.testing.assert_allclose(t_std, std, rtol=1e-6)
    with pytest.raises(ParameterError, match="at least one waveform, got none"):
        feature_statistics(features, iter([]))


def test_the_hosts_of_a_multi_host_run_read_disjoint_equal_shares_of_each_epoch(tiny):
    ds = data.discover(tiny, labels_from="regex", pattern="fsdd")
    audio = AudioConfig(sr=8000, duration=0.2)
    whole = _stream(ds.items, ds.targets(), audio, batch_size=4, seed=5, multiple=2)
    hosts = [_stream(ds.items, ds.targets(), audio, batch_size=2, seed=5, multiple=2, shard=(k, 3))
             for k in range(3)]
    for _ in range(2):
        shares = [h.order for h in hosts]
        assert [len(s) for s in shares] == [10, 10, 10]  # 30 of 32 clips: 3 hosts x 2 devices
        joined = np.concatenate(shares)
        assert len(set(joined)) == 30 and set(joined) <= set(whole.order)
        assert [len(h) for h in hosts] == [5, 5, 5]  # the same number of steps on every host
        for h in (whole, *hosts):
            h.on_epoch_end()
    with pytest.raises(DatasetError, match=r"shard must be \(index, count\)"):
        _stream(ds.items, ds.targets(), audio, batch_size=2, shard=(3, 3))


def test_a_tagger_is_not_streamed(tiny):
    config = pipeline.PipelineConfig(training=TrainConfig(stream_above_mb=0))
    with pytest.raises(ParameterError, match=r"streamed training \(--stream, stream_above_mb=0\) "
                       "trains classifiers; a tagger"):
        pipeline.train_any(tiny, config, task="tagging",
                           discovery={"labels_from": "regex", "pattern": "fsdd"})
