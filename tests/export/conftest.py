"""Three small trained artifacts (one epoch each, real recordings) for the ONNX export tests,
built once per session: a conv1d on log-mels, the recipe chosen from the data (an mlp on MFCC
statistics) and a separator."""

from __future__ import annotations

import shutil

import pytest

from tympan import pipeline

DISCOVERY = {"labels_from": "regex", "pattern": "fsdd"}


@pytest.fixture(scope="session")
def fsdd_recordings(shared_data):
    return shared_data / "fsdd" / "recordings"


@pytest.fixture(scope="session")
def export_digits(fsdd_recordings, tmp_path_factory):
    """40 FSDD clips: digits 0-9, speakers jackson and nicolas, takes 0-1."""
    folder = tmp_path_factory.mktemp("export-digits")
    for digit in range(10):
        for speaker in ("jackson", "nicolas"):
            for take in range(2):
                name = f"{digit}_{speaker}_{take}.wav"
                shutil.copy(fsdd_recordings / name, folder / name)
    return folder


def _train(folder, config, out):
    return pipeline.train(folder, config, discovery=DISCOVERY, split="group",
                          split_options={"test_groups": ["nicolas"]}, out=out, verbose=0, progress=False)


@pytest.fixture(scope="session")
def mel_run(export_digits, tmp_path_factory):
    """conv1d on 32 log-mels (n_fft 256, hop 80: the hop does not divide n_fft), one epoch."""
    out = tmp_path_factory.mktemp("export-runs") / "mel"
    config = pipeline.PipelineConfig(model={"name": "conv1d", "filters": [8, 16]},
                                     features={"kind": "mel", "n_mels": 32},
                                     training=pipeline.TrainConfig(epochs=1))
    return _train(export_digits, config, out), out


@pytest.fixture(scope="session")
def default_run(export_digits, tmp_path_factory):
    """The recipe chosen from the data: 4 clips per class give the mlp on MFCC statistics."""
    out = tmp_path_factory.mktemp("export-runs") / "default"
    return _train(export_digits, None, out), out


@pytest.fixture(scope="session")
def separator_run(shared_data, tmp_path_factory):
    """A tiny separator (STFT, masks, inverse STFT), one short epoch on NOIZEUS."""
    out = tmp_path_factory.mktemp("export-runs") / "sep"
    config = pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=8000, duration=0.5),
        model={"name": "separator", "filters": 8, "depth": 1, "kernel_sizes": [3, 9]},
        training=pipeline.TrainConfig(epochs=1, batch_size=8, validation_size=0.1))
    art = pipeline.train_separator(pairs=shared_data / "noizeus", config=config, held_out=["sp30"],
                                   examples_per_epoch=16, out=out, verbose=0, progress=False)
    return art, out
