"""One small trained classifier (a conv1d on log-mels, one epoch on real FSDD clips) exported
to ONNX once per session, for the lean runtime's tests."""

from __future__ import annotations

import shutil

import pytest

from tympan import pipeline

DISCOVERY = {"labels_from": "regex", "pattern": "fsdd"}


@pytest.fixture(scope="session")
def fsdd_recordings(shared_data):
    return shared_data / "fsdd" / "recordings"


@pytest.fixture(scope="session")
def onnx_run(fsdd_recordings, tmp_path_factory):
    """``runs/mel`` with its ``model.onnx``: 40 clips (digits 0-9, jackson and nicolas, takes
    0-1), conv1d on 32 log-mels, one epoch, exported by :func:`tympan.export.export_onnx`."""
    from tympan.export import export_onnx

    clips = tmp_path_factory.mktemp("runtime-digits")
    for digit in range(10):
        for speaker in ("jackson", "nicolas"):
            for take in range(2):
                name = f"{digit}_{speaker}_{take}.wav"
                shutil.copy(fsdd_recordings / name, clips / name)
    out = tmp_path_factory.mktemp("runtime-runs") / "mel"
    config = pipeline.PipelineConfig(model={"name": "conv1d", "filters": [8, 16]},
                                     features={"kind": "mel", "n_mels": 32},
                                     training=pipeline.TrainConfig(epochs=1))
    pipeline.train(clips, config, discovery=DISCOVERY, split="group",
                   split_options={"test_groups": ["nicolas"]}, out=out, verbose=0, progress=False)
    export_onnx(out)
    return out


@pytest.fixture(scope="session")
def onnx_tagger(fsdd_recordings, tmp_path_factory):
    """A tagger (``"<digit>;odd|even"`` on 20 of jackson's clips, conv1d, one epoch) with its
    ``model.onnx``."""
    from tympan.export import export_onnx
    from tympan.pipeline import tagging

    folder = tmp_path_factory.mktemp("runtime-tags")
    rows = ["path,label"]
    for digit in range(10):
        for take in range(2):
            name = f"{digit}_jackson_{take}.wav"
            shutil.copy(fsdd_recordings / name, folder / name)
            rows.append(f"{name},{digit};{'odd' if digit % 2 else 'even'}")
    (folder / "tags.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path_factory.mktemp("runtime-runs") / "tagger"
    config = pipeline.PipelineConfig(model={"name": "conv1d", "filters": [8, 16]},
                                     training=pipeline.TrainConfig(epochs=1))
    tagging.train_any(folder / "tags.csv", config, split_options={"test_size": 0.25}, out=out,
                      verbose=0, progress=False)
    export_onnx(out)
    return out
