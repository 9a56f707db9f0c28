"""A small artifact trained with ``tympan train`` once per session, for the CLI tests."""

from __future__ import annotations

import shutil

import pytest

from tympan import data
from tympan.cli.main import main


@pytest.fixture(scope="session")
def small_digits(tmp_path_factory):
    """80 bundled FSDD clips: digits 0-9, speakers jackson and nicolas, takes 0-3."""
    folder = tmp_path_factory.mktemp("cli-digits")
    for digit in range(10):
        for speaker in ("jackson", "nicolas"):
            for take in range(4):
                name = f"{digit}_{speaker}_{take}.wav"
                shutil.copy(data.demo_dir() / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def cli_run(small_digits, tmp_path_factory):
    """The artifact folder: conv1d on 32 log-mels, 3 epochs, speaker nicolas held out."""
    out = tmp_path_factory.mktemp("cli-runs") / "digits"
    rc = main(["train", str(small_digits), "--labels-from", "regex", "--pattern", "fsdd",
               "--split", "group", "--test-groups", "nicolas", "--model", "conv1d",
               "--features", "mel", "--feature-param", "n_mels=32", "--epochs", "3", "--quiet",
               "--out", str(out)])
    assert rc == 0
    return out
