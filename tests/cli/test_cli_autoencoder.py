"""CLI: tympan autoencoder train -> reconstruct (mp3 in, mp3 out) -> evaluate, on real speech."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tympan import data, io
from tympan.cli.main import main


@pytest.fixture(scope="module")
def ae_cli_run(tmp_path_factory):
    speech = tmp_path_factory.mktemp("ae-cli-speech")
    for name in sorted(p.name for p in data.demo_dir().glob("*_jackson_*.wav"))[:10]:
        shutil.copy(data.demo_dir() / name, speech / name)
    out = tmp_path_factory.mktemp("ae-cli-runs") / "ae"
    rc = main(["autoencoder", "train", str(speech), "--representation", "stft", "--compression",
               "8", "--model-param", "width=16", "--model-param", "depth=1", "--duration", "0.5",
               "--epochs", "1", "--quiet", "--out", str(out)])
    assert rc == 0
    return speech, out


def test_train_prints_the_bottleneck_and_held_out_quality(ae_cli_run, capsys):
    _speech, out = ae_cli_run
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["task"] == "reconstruction" and meta["model"]["compression"] == 8.0
    assert meta["metrics"]["n_test_files"] == 1


def test_reconstruct_mp3_to_mp3_and_evaluate(ae_cli_run, tmp_path, capsys):
    speech, out = ae_cli_run
    y, sr = io.load(sorted(speech.glob("*.wav"))[0])
    stereo_44k = io.resample(np.stack([y, y]), orig_sr=sr, target_sr=44100)
    src = tmp_path / "in.mp3"
    io.save(src, stereo_44k, 44100)
    capsys.readouterr()
    assert main(["autoencoder", "reconstruct", str(out), str(src), str(tmp_path / "out.mp3")]) == 0
    said = capsys.readouterr().out
    assert "wrote" in said and "SNR" in said and "8000 Hz" in said
    back, rate = io.load(tmp_path / "out.mp3")
    assert rate == 8000 and abs(len(back) / rate - len(y) / sr) < 0.1  # mp3 adds a little padding
    assert main(["autoencoder", "evaluate", str(out), str(speech), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["files"]) == 10 and np.isfinite(result["mean_snr_db"])


def test_clean_errors(ae_cli_run, tmp_path, capsys):
    speech, out = ae_cli_run
    src = sorted(speech.glob("*.wav"))[0]
    dst = tmp_path / "exists.wav"
    dst.write_bytes(b"keep")
    capsys.readouterr()
    assert main(["autoencoder", "reconstruct", str(out), str(src), str(dst)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "exists.wav exists" in err and "Traceback" not in err
    assert dst.read_bytes() == b"keep"
    assert main(["autoencoder", "train", str(speech), "--compression", "1000", "--epochs", "1",
                 "--out", str(tmp_path / "x")]) == 1
    assert "compression=1000" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("command", ["train", "reconstruct", "evaluate"])
def test_help_has_an_example(command, capsys):
    assert main(["autoencoder", command, "--help"]) == 0
    assert "Example" in capsys.readouterr().out
