"""Small artifacts trained once per session (a classifier, an autoencoder, a separator), and
the applications serving them."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from tympan import data, pipeline
from tympan.cli.main import main
from tympan.serve import create_app


@pytest.fixture(scope="session")
def digits_folder(tmp_path_factory):
    """40 bundled FSDD clips: digits 0-9, speakers jackson and nicolas, takes 0-1."""
    folder = tmp_path_factory.mktemp("serve-digits")
    for digit in range(10):
        for speaker in ("jackson", "nicolas"):
            for take in range(2):
                name = f"{digit}_{speaker}_{take}.wav"
                shutil.copy(data.demo_dir() / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def run(digits_folder, tmp_path_factory):
    """The artifact folder ``digits``: conv1d on 32 log-mels, 2 epochs."""
    out = tmp_path_factory.mktemp("serve-runs") / "digits"
    rc = main(["train", str(digits_folder), "--labels-from", "regex", "--pattern", "fsdd",
               "--split", "group", "--test-groups", "nicolas", "--model", "conv1d",
               "--features", "mel", "--feature-param", "n_mels=32", "--epochs", "2", "--quiet",
               "--out", str(out)])
    assert rc == 0
    return out


@pytest.fixture(scope="session")
def client(run):
    """A client of the default application (warmed up)."""
    with TestClient(create_app([run])) as c:
        for m in c.app.state.models.values():
            assert m.batcher.ready.wait(60)
        yield c


@pytest.fixture
def clip():
    """A real FSDD recording that was not in the training folder."""
    return data.demo_dir() / "7_theo_3.wav"


@pytest.fixture(scope="session")
def ae_run(tmp_path_factory):
    """The artifact folder ``ae``: a small STFT autoencoder, 0.5-s clips at 8 kHz, one epoch on
    eight of theo's FSDD clips."""
    speech = tmp_path_factory.mktemp("serve-speech")
    for name in sorted(p.name for p in data.demo_dir().glob("*_theo_*.wav"))[:8]:
        shutil.copy(data.demo_dir() / name, speech / name)
    out = tmp_path_factory.mktemp("serve-runs") / "ae"
    config = pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=8000, duration=0.5),
        model={"name": "autoencoder", "representation": "stft", "compression": 4, "width": 8, "depth": 1},
        training=pipeline.TrainConfig(epochs=1, batch_size=8))
    pipeline.train_autoencoder(speech, config, test_size=0.25, out=out, verbose=0, progress=False)
    return out


@pytest.fixture(scope="session")
def sep_run(shared_data, tmp_path_factory):
    """The artifact folder ``sep``: a tiny speech/noise separator, one short epoch on NOIZEUS."""
    out = tmp_path_factory.mktemp("serve-runs") / "sep"
    config = pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=8000, duration=0.5),
        model={"name": "separator", "filters": 8, "depth": 1, "kernel_sizes": [3, 9]},
        training=pipeline.TrainConfig(epochs=1, batch_size=8, validation_size=0.1))
    pipeline.train_separator(pairs=shared_data / "noizeus", config=config, held_out=["sp30"],
                             examples_per_epoch=16, out=out, verbose=0, progress=False)
    return out


@pytest.fixture(scope="session")
def audio_client(ae_run, sep_run):
    """A client of the application serving the autoencoder (default) and the separator (a
    request may take its time on a loaded machine: these tests are not about the timeout)."""
    with TestClient(create_app([ae_run, sep_run], timeout=120)) as c:
        for m in c.app.state.models.values():
            assert m.worker.ready.wait(120)
        yield c
