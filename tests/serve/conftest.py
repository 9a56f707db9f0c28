"""A small classifier trained once per session, and the application serving it."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from tympan import data
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
