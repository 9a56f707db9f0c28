"""Separation pipeline: held-out sentences, train -> save -> load -> separate, sources adding
back to the input, streamed files equal to the in-memory path, evaluation, errors."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

from tympan import io, pipeline
from tympan.data.mixing import noizeus_pairs
from tympan.errors import ArtifactError, ParameterError
from tympan.pipeline.windowing import overlap_add

separate_module = importlib.import_module("tympan.pipeline.separate")  # the module, not the function

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

HELD_OUT = ["sp29", "sp30"]


@pytest.fixture(scope="module")
def sep_run(noizeus, tmp_path_factory):
    """A tiny separator, one short epoch on NOIZEUS pairs + on-the-fly mixtures."""
    out = tmp_path_factory.mktemp("sep-runs") / "sep"
    cfg = pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=8000, duration=0.5),
        model={"name": "separator", "filters": 8, "depth": 1, "kernel_sizes": [3, 9]},
        training=pipeline.TrainConfig(epochs=1, batch_size=8, validation_size=0.1))
    art = pipeline.train_separator(pairs=noizeus, config=cfg, held_out=["sp30"],
                                   examples_per_epoch=32, out=out, verbose=0, progress=False)
    return art, out


@pytest.fixture(scope="module")
def noisy(noizeus):
    """A held-out noisy sentence and its clean version."""
    pair = noizeus_pairs(noizeus, only=["sp30"])[0]
    return io.load(pair.noisy)[0], io.load(pair.clean)[0]


@pytest.mark.parametrize(("n", "hop"), [(1000, None), (1001, None), (8, 3)])
@pytest.mark.parametrize("length", [1, 999, 1000, 4321])
def test_overlap_add_is_exact_and_independent_of_the_chunking(rng, n, hop, length):
    """An identity 'model' with two outputs per window: the signal comes back whole, and the
    pieces do not depend on how the input was cut into chunks (what makes streaming exact)."""
    y = rng.standard_normal(length).astype("float32")

    def process(windows):
        return np.stack([windows, -2 * windows], -1)

    whole = np.concatenate(list(overlap_add(process, [y], n=n, hop=hop, batch_size=4)))
    chunks = [y[i : i + 77] for i in range(0, length, 77)]
    streamed = np.concatenate(list(overlap_add(process, chunks, n=n, hop=hop, batch_size=4)))
    assert whole.shape == (length, 2)
    np.testing.assert_array_equal(streamed, whole)
    np.testing.assert_allclose(whole[:, 0], y, atol=1e-5)
    np.testing.assert_allclose(whole[:, 1], -2 * y, atol=1e-5)
    assert list(overlap_add(process, [], n=n)) == []


def test_held_out_sentences_are_never_loaded_for_training(noizeus, monkeypatch):
    loaded = []
    real_load = io.load
    monkeypatch.setattr(io, "load", lambda path, **kw: (loaded.append(str(path)), real_load(path, **kw))[1])
    parts, train_ids, val_ids = separate_module._material(
        noizeus, None, None, HELD_OUT, 8000, 0.1, 0, False)
    assert loaded and not [p for p in loaded if "sp29" in p or "sp30" in p]
    assert len(train_ids) + len(val_ids) == 28 and not set(HELD_OUT) & set(train_ids + val_ids)
    assert len(val_ids) == 3 and not set(val_ids) & set(train_ids)
    assert len(parts["train"]["pairs"]) == 25 * 32 and len(parts["val"]["pairs"]) == 3 * 32
    assert len(parts["train"]["speech"]) == 25  # the clean training sentences, mixed on the fly
    assert len(parts["train"]["noise"]) == 25 * 32  # noisy - clean of the training sentences


def test_train_records_the_split_sources_and_held_out_metrics(sep_run):
    _, out = sep_run
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["task"] == "separation" and meta["labels"] == ["speech", "noise"]
    assert meta["model"]["sources"] == ["speech", "noise"]
    assert meta["model"]["n_fft"] == 256 and meta["model"]["hop_length"] == 64
    split = meta["split"]
    assert split["held_out"] == ["sp30"] and "sp30" not in split["train_sentences"]
    assert len(split["train_sentences"]) + len(split["validation_sentences"]) == 29
    assert split["mixing"]["snr_db"] == [-5.0, 10.0]
    assert split["mixing"]["speed"] == [0.85, 1.15] and split["mixing"]["by_length"] is True
    test = meta["metrics"]["test"]
    assert set(test["by_snr"]) == {"0.0", "5.0", "10.0", "15.0"} and test["mean"]["n"] == 32
    assert np.isfinite(test["mean"]["si_sdri_db"])


def test_save_load_separate_gives_the_same_sources_that_add_to_the_input(sep_run, noisy):
    art, out = sep_run
    y, _ = noisy
    mem = pipeline.separate(art, y, 8000)
    loaded = pipeline.separate(out, y, 8000)
    assert list(mem) == ["speech", "noise"] and mem["speech"].shape == y.shape
    for name in mem:
        np.testing.assert_allclose(loaded[name], mem[name], atol=1e-6)
    np.testing.assert_allclose(mem["speech"] + mem["noise"], y, atol=1e-5)
    # any rate and channel count in: resampled and mixed to mono first
    stereo = io.resample(np.stack([y, y]), orig_sr=8000, target_sr=16000)
    out16 = pipeline.separate(art, stereo, 16000)
    assert abs(len(out16["speech"]) - len(y)) <= 1


def test_a_streamed_long_file_equals_the_in_memory_path(sep_run, noisy, tmp_path, monkeypatch):
    art, _ = sep_run
    y = np.concatenate([noisy[0]] * 4)  # about 11 s
    src = tmp_path / "long.wav"
    io.save(src, y, 8000, subtype="FLOAT")
    monkeypatch.setattr(separate_module, "_BLOCK", 1000)  # many blocks, none aligned to windows
    paths = pipeline.separate_file(art, src, tmp_path / "out")
    assert paths == {"speech": tmp_path / "out" / "speech.wav", "noise": tmp_path / "out" / "noise.wav"}
    mem = pipeline.separate(art, y, 8000)
    for name, path in paths.items():
        back, rate = io.load(path)
        assert rate == 8000 and io.info(path).subtype == "FLOAT"
        np.testing.assert_allclose(back, mem[name], atol=1e-6)


def test_separate_file_keeps_the_format_and_refuses_to_overwrite(sep_run, noisy, tmp_path):
    _, out = sep_run
    src = tmp_path / "mix.flac"
    io.save(src, io.resample(noisy[0], orig_sr=8000, target_sr=16000), 16000)
    paths = pipeline.separate_file(out, src, tmp_path / "sep")
    for path in paths.values():
        meta = io.info(path)
        assert path.suffix == ".flac" and meta.format == "FLAC" and meta.subtype == "PCM_16"
        assert meta.sr == 8000 and abs(meta.duration - len(noisy[0]) / 8000) < 1e-3
    before = paths["speech"].read_bytes()
    with pytest.raises(ParameterError, match=r"speech\.flac exists; pass overwrite=True"):
        pipeline.separate_file(out, src, tmp_path / "sep")
    assert paths["speech"].read_bytes() == before
    pipeline.separate_file(out, src, tmp_path / "sep", overwrite=True)
    assert not [p for p in (tmp_path / "sep").iterdir() if p.name.startswith(".")]  # no temp files
    with pytest.raises(ParameterError, match="is the input file"):
        pipeline.separate_file(out, paths["speech"], tmp_path / "sep", overwrite=True)


def test_evaluate_on_pairs_and_on_folders(sep_run, noizeus, tmp_path):
    art, out = sep_run
    r = pipeline.evaluate_separation(out, noizeus, sentences=["sp30"])
    assert len(r["rows"]) == 32 and set(r["by_noise"]) == {"airport", "babble", "car", "exhibition",
                                                           "restaurant", "station", "street", "train"}
    row = r["rows"][0]
    assert row["si_sdri_db"] == pytest.approx(row["si_sdr_db"] - row["input_si_sdr_db"])
    speech, noise = tmp_path / "speech", tmp_path / "noise"
    speech.mkdir(), noise.mkdir()
    io.save(speech / "a.wav", io.load(noizeus / "clean" / "sp30.wav")[0], 8000)
    clean = io.load(noizeus / "clean" / "sp01.wav")[0]
    n = io.load(noizeus / "noisy" / "car_0dB" / "sp01_car_sn0.wav")[0]
    io.save(noise / "car.wav", n - clean, 8000, subtype="FLOAT")
    r = pipeline.evaluate_separation(art, speech=speech, noise=noise, snr_db=(0, 10))
    assert list(r["by_snr"]) == ["0.0", "10.0"] and r["by_noise"]["car"]["n"] == 2
    assert r["by_snr"]["0.0"]["input_si_sdr_db"] == pytest.approx(0.0, abs=0.1)


def test_errors(sep_run, tmp_path, noizeus):
    _, out = sep_run
    with pytest.raises(ParameterError, match="needs pairs="):
        pipeline.train_separator(speech=noizeus / "clean")
    with pytest.raises(ParameterError, match=r"speed must be .* got \(0.2, 1.0\)"):
        pipeline.train_separator(pairs=noizeus, speed=(0.2, 1.0), out=tmp_path / "never")
    assert not (tmp_path / "never").exists()
    with pytest.raises(ParameterError, match="not a separator"):
        pipeline.train_separator(pairs=noizeus, config=pipeline.PipelineConfig(
            model={"name": "autoencoder"}))
    with pytest.raises(ParameterError, match=r"is a source separator.*tympan separate"):
        pipeline.predict(out, np.zeros(100, "float32"), sr=8000)
    meta = json.loads((out / "pipeline.json").read_text())
    meta["task"] = "reconstruction"
    other = tmp_path / "ae"
    other.mkdir()
    (other / "pipeline.json").write_text(json.dumps(meta))
    (other / "model.keras").write_bytes((out / "model.keras").read_bytes())
    # the schema refuses the tampered pipeline.json before the task is looked at
    with pytest.raises(ArtifactError, match=r"ae/pipeline\.json: labels must be empty for a reconstruction"):
        pipeline.separate(other, np.zeros(100, "float32"), 8000)


def test_overlap_add_refuses_a_hop_longer_than_the_window():
    from tympan.errors import ParameterError

    with pytest.raises(ParameterError, match="hop=9 is longer than the window n=8"):
        list(overlap_add(lambda w: w, [np.zeros(32, np.float32)], n=8, hop=9))


def test_cli_sentence_lists_ignore_spaces():
    from tympan.cli.separate import _names

    assert _names("sp25, sp26 ,sp27") == ["sp25", "sp26", "sp27"] and _names(None) == []
