"""predict over many files and long ones: streamed windows equal the whole-array windows, batches
shared across files equal single predictions, unreadable files are named and the others kept,
memory does not grow with the length; evaluate() names the files it skipped."""

from __future__ import annotations

import dataclasses
import shutil
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from tympan import data, io, pipeline
from tympan.errors import AudioIOError, ParameterError
from tympan.pipeline.windowing import sliding_windows


def _speech(digits_dir, seconds: float, sr: int = 8000) -> np.ndarray:
    """Real speech: bundled digits end to end, cut to ``seconds`` (at 8 kHz, resampled to sr)."""
    y = np.concatenate([io.load(p)[0] for p in sorted(digits_dir.glob("*_jackson_*.wav"))])
    y = np.tile(y, int(np.ceil(seconds * 8000 / len(y))))[: round(seconds * 8000)]
    return y if sr == 8000 else io.resample(y, orig_sr=8000, target_sr=sr)


def _reference(artifact, y: np.ndarray, win: int, hop: int) -> tuple[list[int], np.ndarray]:
    """The windows cut from the whole array as predict always cut them (starts every hop, a
    tail window ending at the last sample), through the model in one call."""
    starts = list(range(0, len(y) - win + 1, hop))
    if starts[-1] + win < len(y):
        starts.append(len(y) - win)
    frames = np.stack([data.fit_length(y[s : s + win], artifact.config.audio.samples)
                       for s in starts])
    return starts, np.asarray(artifact.model.predict(frames, verbose=0))


# --------------------------------------------------------------------------- sliding_windows
@pytest.mark.parametrize(("n", "length", "hop"), [(100, 30, 10), (100, 30, 7), (100, 30, 45),
                                                  (30, 30, 10), (29, 30, 10), (0, 30, 10),
                                                  (61, 30, 30)])
def test_sliding_windows_from_chunks_equal_slices_of_the_array(rng, n, length, hop):
    y = rng.standard_normal(n).astype(np.float32)
    if n <= length:
        expected = [(0, y)]
    else:
        starts = list(range(0, n - length + 1, hop))
        if starts[-1] + length < n:
            starts.append(n - length)
        expected = [(s, y[s : s + length]) for s in starts]
    for sizes in ([n], [1] * n, [7, 13, 1, 50, 29], [64, 64]):
        cuts = np.cumsum(sizes)[:-1]
        chunks = [c for c in np.split(y, cuts[cuts < n])]
        got = [(s, w.copy()) for s, w in sliding_windows(chunks, length=length, hop=hop)]
        assert [s for s, _ in got] == [s for s, _ in expected]
        for (_, a), (_, b) in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)
    assert got[-1][0] + len(got[-1][1]) == n  # the last window ends at the signal's end


def test_sliding_windows_checks_its_arguments():
    with pytest.raises(ParameterError, match="hop"):
        list(sliding_windows([np.zeros(10)], length=4, hop=0))
    with pytest.raises(ParameterError, match="length"):
        list(sliding_windows([np.zeros(10)], length=-1, hop=1))


# --------------------------------------------------------------------------- streaming
def test_streamed_file_equals_the_whole_array_windows_and_tail(trained, digits_dir, tmp_path):
    artifact, _ = trained
    y16 = _speech(digits_dir, 9.3, sr=16000)  # 16 kHz: resampled to 8 kHz while streaming
    io.save(tmp_path / "long.wav", y16, 16000, subtype="FLOAT")  # read in 3 pieces
    y8 = io.resample(y16, orig_sr=16000, target_sr=8000)
    win, hop = 8000, 2400  # 1.0 s every 0.3 s: the windows miss the end, so a tail window
    starts, probs = _reference(artifact, y8, win, hop)
    assert starts[-1] - starts[-2] < hop

    (p,) = pipeline.predict(artifact, tmp_path / "long.wav", window_sec=1.0, hop_sec=0.3,
                            batch_size=7)
    assert p.ok and p.error is None and p.duration == pytest.approx(len(y8) / 8000)
    assert [s.start for s in p.segments] == pytest.approx([s / 8000 for s in starts])
    assert [s.end for s in p.segments] == pytest.approx([(s + win) / 8000 for s in starts])
    np.testing.assert_allclose([s.probabilities for s in p.segments], probs, atol=1e-5)
    np.testing.assert_allclose(list(p.probabilities.values()), probs.mean(axis=0), atol=1e-5)
    assert p.label == artifact.labels[int(probs.mean(axis=0).argmax())]
    # arrays go through the same windows: at the model's rate, and resampled whole
    for array in (pipeline.predict(artifact, y8, sr=8000, window_sec=1.0, hop_sec=0.3)[0],
                  pipeline.predict(artifact, (y16, 16000), window_sec=1.0, hop_sec=0.3)[0]):
        assert array.source == "<array>" and array.duration == p.duration
        np.testing.assert_allclose([s.probabilities for s in array.segments],
                                   [s.probabilities for s in p.segments], atol=1e-5)


def test_batches_across_files_equal_single_predictions(trained, digits_dir, tmp_path):
    artifact, _ = trained
    io.save(tmp_path / "long.wav", _speech(digits_dir, 3.7), 8000)
    short = digits_dir / "4_theo_2.wav"
    shorter = np.zeros(100, np.float32)  # no longer than a window: padded as in training
    together = pipeline.predict(artifact, [tmp_path / "long.wav", short, tmp_path / "long.wav"],
                                batch_size=5)
    alone = [pipeline.predict(artifact, src, batch_size=1)[0]
             for src in (tmp_path / "long.wav", short, tmp_path / "long.wav")]
    assert [p.source for p in together] == [str(tmp_path / "long.wav"), str(short),
                                            str(tmp_path / "long.wav")]
    for a, b in zip(together, alone, strict=True):
        assert (a.label, len(a.segments), a.duration) == (b.label, len(b.segments), b.duration)
        np.testing.assert_allclose([s.probabilities for s in a.segments],
                                   [s.probabilities for s in b.segments], atol=1e-5)
    (tiny,) = pipeline.predict(artifact, shorter, sr=8000)
    (seg,) = tiny.segments
    assert (seg.start, seg.end, tiny.duration) == (0.0, pytest.approx(100 / 8000), pytest.approx(100 / 8000))
    expected = artifact.model.predict(data.fit_length(shorter, 8000)[None], verbose=0)[0]
    np.testing.assert_allclose(seg.probabilities, expected, atol=1e-5)


def _peak_traced(artifact, path) -> int:
    tracemalloc.start()
    try:
        pipeline.predict(artifact, path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_length(trained, digits_dir, tmp_path):
    artifact, _ = trained
    io.save(tmp_path / "short.wav", _speech(digits_dir, 1.0, sr=16000), 16000)
    io.save(tmp_path / "long.wav", _speech(digits_dir, 180.0, sr=16000), 16000)
    pipeline.predict(artifact, [tmp_path / "short.wav", tmp_path / "long.wav"])  # compile
    short = _peak_traced(artifact, tmp_path / "short.wav")
    long = _peak_traced(artifact, tmp_path / "long.wav")
    # Held whole, the 3-minute file would take 11.5 MB at 16 kHz, 5.8 MB at 8 kHz and its 359
    # windows 11.5 MB more; streamed, it holds a block of samples and a batch of windows.
    assert long - short < 3 * 2**20, (short, long)


# --------------------------------------------------------------------------- unreadable files
@pytest.fixture
def mixed_folder(digits_dir, tmp_path):
    """Two good recordings and three broken files, in natural order: good, bad, bad, good, bad."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(digits_dir / "3_theo_0.wav", folder / "1_good.wav")
    (folder / "2_empty.wav").write_bytes(b"")
    (folder / "3_noise.mp3").write_bytes(np.random.default_rng(0).bytes(4000))
    shutil.copy(digits_dir / "8_theo_1.wav", folder / "10_good.wav")
    (folder / "4_cut.wav").write_bytes((digits_dir / "5_theo_0.wav").read_bytes()[:1500])
    (folder / ".hidden.wav").write_bytes(b"")  # hidden: never scanned
    return folder


def test_skip_predicts_every_readable_file_and_names_the_others(trained, mixed_folder):
    artifact, _ = trained
    preds = pipeline.predict(artifact, mixed_folder, on_error="skip")
    names = ["1_good.wav", "2_empty.wav", "3_noise.mp3", "4_cut.wav", "10_good.wav"]
    assert [p.source for p in preds] == [str(mixed_folder / n) for n in names]  # natural order
    assert [p.ok for p in preds] == [True, False, False, False, True]
    causes = {"2_empty.wav": "empty", "3_noise.mp3": "corrupt", "4_cut.wav": "truncated"}
    for p in preds:
        if not p.ok:
            assert p.source in p.error and causes[p.source.split("/")[-1]] in p.error
            assert (p.label, p.probability, p.duration, p.segments) == (None, None, None, ())
            assert p.to_dict()["error"] == p.error
    good = pipeline.predict(artifact, [mixed_folder / "1_good.wav", mixed_folder / "10_good.wav"])
    assert [p.label for p in preds if p.ok] == [p.label for p in good]
    assert all(p.to_dict()["error"] is None for p in good)
    with pytest.raises(AudioIOError, match=r"2_empty\.wav.*empty"):
        pipeline.predict(artifact, mixed_folder)  # on_error="raise": the first bad one
    with pytest.raises(ParameterError, match="on_error"):
        pipeline.predict(artifact, mixed_folder, on_error="ignore")


def test_a_float_file_with_nan_is_an_unreadable_file(trained, digits_dir, tmp_path):
    artifact, _ = trained
    y = _speech(digits_dir, 2.5)
    y[12000] = np.nan
    sf.write(tmp_path / "nan.wav", y, 8000, subtype="FLOAT")  # io.save refuses NaN
    good = digits_dir / "6_theo_3.wav"
    bad, ok = pipeline.predict(artifact, [tmp_path / "nan.wav", good], on_error="skip")
    assert ok.ok and not bad.ok
    assert "nan.wav" in bad.error and "NaN" in bad.error
    with pytest.raises(AudioIOError, match=r"nan\.wav.*NaN"):
        pipeline.predict(artifact, tmp_path / "nan.wav")
    with pytest.raises(ParameterError, match="finite"):  # an array is the caller's argument
        pipeline.predict(artifact, y, sr=8000, on_error="skip")
    with pytest.raises(ParameterError, match="window_sec"):
        pipeline.predict(artifact, good, window_sec=1e-6)


def test_a_file_failing_mid_stream_drops_only_its_own_windows(trained, digits_dir, tmp_path):
    artifact, _ = trained
    io.save(tmp_path / "long.flac", _speech(digits_dir, 25.0), 8000)
    whole = (tmp_path / "long.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(whole[: len(whole) // 2])  # fails after a block or so
    good = digits_dir / "6_theo_3.wav"
    preds = pipeline.predict(artifact, [good, tmp_path / "cut.flac", good], on_error="skip",
                             batch_size=64)
    assert [p.ok for p in preds] == [True, False, True]
    assert "cut.flac" in preds[1].error and "decoding failed" in preds[1].error
    (alone,) = pipeline.predict(artifact, good)
    for p in (preds[0], preds[2]):
        np.testing.assert_allclose(list(p.probabilities.values()),
                                   list(alone.probabilities.values()), atol=1e-5)


def test_evaluate_skip_names_each_unreadable_file(trained, digits_dir, tmp_path):
    _, out = trained
    folder = tmp_path / "eval"
    folder.mkdir()
    for name in ("3_theo_0.wav", "7_theo_1.wav", "8_george_2.wav"):
        shutil.copy(digits_dir / name, folder / name)
    (folder / "1_theo_9.wav").write_bytes(b"")
    (folder / "5_theo_9.wav").write_bytes((digits_dir / "5_theo_0.wav").read_bytes()[:1500])
    regex = {"labels_from": "regex", "pattern": "fsdd"}
    report = pipeline.evaluate(out, folder, discovery=regex, on_error="skip", progress=False)
    assert report.confusion.sum() == 3
    assert [f for f, _ in report.failures] == [str(folder / "1_theo_9.wav"),
                                               str(folder / "5_theo_9.wav")]
    assert "1_theo_9.wav" in report.failures[0][1] and "empty" in report.failures[0][1]
    assert "truncated" in report.failures[1][1] and not report.failures[1][1].startswith("skipped")
    d = report.to_dict()
    assert d["n"] == 3 and [f["file"] for f in d["failures"]] == [f for f, _ in report.failures]
    with pytest.raises(AudioIOError, match=r"1_theo_9\.wav"):
        pipeline.evaluate(out, folder, discovery=regex, progress=False)
    for bad in ("1_theo_9.wav", "5_theo_9.wav"):
        (folder / bad).unlink()
    clean = pipeline.evaluate(out, folder, discovery=regex, progress=False)
    assert clean.failures == () and clean.to_dict()["failures"] == []
    np.testing.assert_array_equal(clean.confusion, report.confusion)


class _Recorder:
    """The model, recording the batch sizes it is called with."""

    def __init__(self, model, compiles_per_shape=True):
        self.model, self.sizes, self.compiles_per_shape = model, [], compiles_per_shape

    def predict_on_batch(self, x):
        self.sizes.append(len(x))
        return self.model.predict_on_batch(x)


@pytest.mark.parametrize("compiles", [True, False])
def test_partial_batches_are_padded_to_a_power_of_two_for_a_compiling_model(trained, digits_dir, compiles):
    artifact, _ = trained
    files = sorted(digits_dir.glob("*.wav"))[:11]  # one window each: batches of 8 and 3
    recorder = _Recorder(artifact.model, compiles)
    padded = pipeline.predict(dataclasses.replace(artifact, model=recorder), files, batch_size=8)
    assert recorder.sizes == ([8, 4] if compiles else [8, 3])
    plain = pipeline.predict(artifact, files, batch_size=1)
    for a, b in zip(padded, plain, strict=True):
        assert a.label == b.label and a.probabilities.keys() == b.probabilities.keys()
        np.testing.assert_allclose(list(a.probabilities.values()), list(b.probabilities.values()),
                                   atol=1e-5)
