"""Autoencoder pipeline: windowed overlap-add, train -> save -> load -> reconstruct, errors."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest

from tympan import data, io, pipeline
from tympan.errors import ArtifactError, DatasetError, ParameterError
from tympan.pipeline.reconstruct import clips, reconstruct_array

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _identity_artifact(samples=2000, sr=8000, task="reconstruction"):
    x = keras.Input((samples,))
    model = keras.Model(x, keras.layers.Identity()(x))
    cfg = pipeline.PipelineConfig(audio=pipeline.AudioConfig(sr=sr, duration=samples / sr),
                                  model={"name": "autoencoder"})
    return pipeline.Artifact(model=model, config=cfg, labels=(), task=task)


def test_clips_known_answers():
    y = np.arange(11, dtype="float32")
    c = clips(y, 4)  # hop 2: starts 0, 2, 4, 6, and 8 for the tail
    assert c.shape == (5, 4)
    np.testing.assert_array_equal(c[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(c[-1], [8, 9, 10, 0])
    assert clips(y[:10], 4).shape == (4, 4)  # 6 + 4 reaches the end: no extra clip
    np.testing.assert_array_equal(clips(y[:3], 4), [[0, 1, 2, 0]])


@pytest.mark.parametrize("length", [1, 700, 2000, 2001, 9999])
def test_overlap_add_of_an_identity_model_returns_the_input(rng, length):
    """Windows of one clip every half clip, Hann-weighted: any length comes back unchanged."""
    art = _identity_artifact()
    y = rng.standard_normal(length).astype("float32")
    out = reconstruct_array(art, y)
    assert out.shape == y.shape
    np.testing.assert_allclose(out, y, atol=1e-5)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ae-speech")
    for name in sorted(p.name for p in data.demo_dir().glob("*_theo_*.wav"))[:12]:
        shutil.copy(data.demo_dir() / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def ae_run(speech, tmp_path_factory):
    out = tmp_path_factory.mktemp("ae-runs") / "ae"
    cfg = pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=8000, duration=0.5),
        model={"name": "autoencoder", "representation": "logmag", "compression": 4, "width": 16,
               "depth": 1},
        training=pipeline.TrainConfig(epochs=2, batch_size=8))
    art = pipeline.train_autoencoder(speech, cfg, test_size=0.25, out=out, verbose=0, progress=False)
    return art, out


def test_train_save_load_reconstruct(ae_run, speech):
    art, out = ae_run
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["task"] == "reconstruction" and meta["labels"] == []
    assert meta["model"]["representation"] == "logmag" and meta["model"]["n_fft"] == 128
    assert meta["model"]["hop_length"] == 64
    m = meta["metrics"]
    assert m["n_test_files"] == 3 and m["n_train_files"] == 9
    assert m["compression"] == pytest.approx(4, rel=0.1)
    assert {"mean_snr_db", "mean_si_sdr_db", "mean_lsd_db"} <= set(m["test"])
    assert len(m["test"]["files"]) == 3
    test_names = {p.rsplit("/", 1)[-1] for p in meta["split"]["test"]}
    assert {f["file"] for f in m["test"]["files"]} == test_names
    # validation is whole files (15 % of 9: one), never windows of a file trained on
    val_names = {p.rsplit("/", 1)[-1] for p in meta["split"]["validation"]}
    assert m["n_val_files"] == len(val_names) == 1 and not val_names & test_names
    assert m["n_val_clips"] >= 1 and m["n_train_clips"] >= 8
    loaded = pipeline.load_artifact(out)
    assert loaded.task == "reconstruction"
    file = sorted(speech.glob("*.wav"))[0]
    (_, a, sr), = pipeline.reconstruct(art, file)
    (_, b, _), = pipeline.reconstruct(loaded, file)
    assert sr == 8000 and len(a) == len(io.load(file)[0])
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_reconstruct_file_any_format_and_griffinlim(ae_run, speech, tmp_path):
    _, out = ae_run
    src = tmp_path / "in.flac"
    y, sr = io.load(sorted(speech.glob("*.wav"))[1])
    io.save(src, np.tile(y, 3), sr)  # a file longer than the training window
    r = pipeline.reconstruct_file(out, src, tmp_path / "out.wav")
    back, rate = io.load(tmp_path / "out.wav")
    assert rate == 8000 and len(back) == 3 * len(y)
    assert r["seconds"] == pytest.approx(3 * len(y) / sr)
    g = pipeline.reconstruct_file(out, src, tmp_path / "gl.wav", phase="griffinlim")
    assert np.isfinite(g["lsd_db"]) and len(io.load(tmp_path / "gl.wav")[0]) == 3 * len(y)


def test_reconstruct_never_overwrites(ae_run, speech, tmp_path):
    _, out = ae_run
    src = tmp_path / "a.wav"
    shutil.copy(sorted(speech.glob("*.wav"))[0], src)
    before = src.read_bytes()
    with pytest.raises(ParameterError, match="is the input file"):
        pipeline.reconstruct_file(out, src, src, overwrite=True)
    dst = tmp_path / "taken.wav"
    dst.write_bytes(b"mine")
    with pytest.raises(ParameterError, match=r"taken\.wav exists"):
        pipeline.reconstruct_file(out, src, dst)
    assert src.read_bytes() == before and dst.read_bytes() == b"mine"


def test_task_mismatches_are_clear_errors(ae_run, speech):
    art, _ = ae_run
    with pytest.raises(ParameterError, match="is an autoencoder"):
        pipeline.predict(art, sorted(speech.glob("*.wav"))[0])
    with pytest.raises(ArtifactError, match="is a classification model"):
        reconstruct_array(_identity_artifact(task="classification"), np.zeros(100, "float32"))
    stft = _identity_artifact()
    with pytest.raises(ParameterError, match="needs a representation='logmag'"):
        reconstruct_array(stft, np.zeros(100, "float32"), phase="griffinlim")
    with pytest.raises(ParameterError, match="is not an autoencoder"):
        pipeline.train_autoencoder(speech, pipeline.PipelineConfig(model={"name": "conv1d"}), verbose=0)


def test_empty_folder_and_bad_test_size(tmp_path, speech):
    with pytest.raises(ParameterError, match="no audio files"):
        pipeline.train_autoencoder(tmp_path, verbose=0)
    with pytest.raises(ParameterError, match="test_size must be in"):
        pipeline.train_autoencoder(speech, test_size=1.0, verbose=0)
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(sorted(speech.glob("*.wav"))[0], one / "x.wav")
    with pytest.raises(DatasetError, match="no files left to train on"):
        pipeline.train_autoencoder(one, test_size=0.9, verbose=0)


def test_continue_from_an_autoencoder_artifact(ae_run, speech):
    """init= continues the artifact: its recipe and weights, the epochs and history carried on."""
    art, out = ae_run
    more = pipeline.train_autoencoder(speech, pipeline.PipelineConfig(
        training=pipeline.TrainConfig(epochs=1, batch_size=8)), test_size=0.25, init=out,
        verbose=0, progress=False)
    assert more.config.model == art.config.model and more.config.audio == art.config.audio
    assert more.metrics["epochs_total"] == art.metrics["epochs_run"] + 1
    assert more.metrics["init"]["path"] == str(out)
    assert len(more.history["loss"]) == len(art.history["loss"]) + 1
    with pytest.raises(ArtifactError, match="is a reconstruction model; separating needs a separator"):
        pipeline.train_separator(pairs=speech, init=out)


def test_the_last_partial_batch_is_padded_to_a_power_of_two():
    import importlib

    reconstruct = importlib.import_module("tympan.pipeline.reconstruct")  # the module, not the function

    class Model:
        seen: list[int] = []  # noqa: RUF012 (one list shared by the instances: the calls)

        def predict(self, x, batch_size, verbose):
            self.seen.append(len(x))
            return [x * 2, x[:, :1]]  # two outputs, as the logmag autoencoder gives

    x = np.arange(37 * 4, dtype=np.float32).reshape(37, 4)
    mag, rms = reconstruct._predict_padded(Model(), x, 32)
    assert Model.seen == [40]  # 32 + 5 -> 32 + 8: batch shapes 32 and 8 only
    np.testing.assert_array_equal(mag, x * 2)
    np.testing.assert_array_equal(rms, x[:, :1])
    assert len(reconstruct._predict_padded(Model(), x[:32], 32)[0]) == 32 and Model.seen[-1] == 32
