"""A small trained artifact shared by the pipeline and CLI tests (trained once per session)."""

from __future__ import annotations

import shutil

import pytest

from tympan import data


@pytest.fixture(scope="session")
def noizeus(shared_data):
    """The NOIZEUS folder (clean/ and noisy/<noise>_<snr>dB/) in ../shared/data."""
    return shared_data / "noizeus"


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory):
    """180 bundled FSDD clips (3 speakers x 10 digits x 6 takes) in a scratch folder."""
    folder = tmp_path_factory.mktemp("digits")
    for path in sorted(data.demo_dir().glob("*.wav")):
        _, speaker, take = path.stem.split("_")
        if speaker in ("jackson", "theo", "george") and int(take) < 6:
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def trained(digits_dir, tmp_path_factory):
    """(artifact in memory, its saved folder): conv1d on log-mel, speaker 'george' held out."""
    from tympan import pipeline

    out = tmp_path_factory.mktemp("runs") / "digits"
    # A small model that learns in a few epochs: these tests check the pipeline's mechanics;
    # the default recipe's accuracy is measured by benchmarks/fsdd_accuracy.py.
    small = {"name": "conv1d", "filters": [32, 64], "batch_norm": False, "dropout": 0.0,
             "pooling": "flatten", "augmentation": {"gain_db": 0.0, "time_shift": 0.0}}
    config = pipeline.PipelineConfig(model=small, training=pipeline.TrainConfig(epochs=12, seed=1))
    artifact = pipeline.train(digits_dir, config, discovery={"labels_from": "regex",
                                                              "pattern": "fsdd"},
                              split="group", split_options={"test_groups": ["george"]},
                              out=out, verbose=0, progress=False)
    return artifact, out
