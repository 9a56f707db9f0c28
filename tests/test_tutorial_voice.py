"""docs/voice_recognition.md: every ``tympan`` command of the tutorial runs, on a small subset of
FSDD (two digits, takes 0-7 of the six speakers) with two epochs; and the spectrum drawn with
``--run`` is exactly the model's input (its ``fft_magnitude`` layer output)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from tympan.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "voice_recognition.md"
FSDD = "../shared/data/fsdd/recordings"


def commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", PAGE.read_text(), re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip().startswith("tympan ")]


def test_the_page_has_the_steps():
    names = [shlex.split(c)[1] for c in commands()]
    assert names.count("train") == 2 and "predict" in names
    assert any("--run" in c for c in commands() if c.startswith("tympan plot spectrum"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, shared_data):
    base = tmp_path_factory.mktemp("tutorial")
    subset = base / "subset"
    subset.mkdir()
    for path in sorted((shared_data / "fsdd" / "recordings").glob("[01]_*_[0-7].wav")):
        shutil.copy(path, subset / path.name)
    shutil.copy(shared_data / "fsdd" / "recordings" / "3_theo_0.wav", subset / "3_theo_0.wav")
    work = base / "repo"
    work.mkdir()
    return work, subset


def test_every_command_runs(workdir, monkeypatch, capsys):
    work, subset = workdir
    monkeypatch.chdir(work)
    for command in commands():
        argv = shlex.split(command.replace(FSDD, str(subset)))[1:]
        if argv[0] == "train":
            argv += ["--epochs", "2", "--quiet"]
        assert main(argv) == 0, command
    out = capsys.readouterr().out
    assert "saved runs/voices" in out and "theo" in out
    for png in ("theo_fft.png", "theo_fft_log.png", "theo_input.png"):
        assert (work / png).stat().st_size > 1000
    assert (work / "runs" / "voices" / "curves.png").is_file()

    # the picture drawn with --run is what the model's FFT layer computes
    import keras

    from tympan.pipeline import load_artifact, network_input
    from tympan.plot import plot_network_spectrum

    run, file = work / "runs" / "voices", subset / "3_theo_0.wav"
    clip, sr, recipe = network_input(run, file)
    fig = plot_network_spectrum(clip, sr, features=recipe)
    drawn = fig.axes[0].lines[0].get_ydata()
    model = load_artifact(run).model
    layer = keras.Model(model.inputs, model.get_layer("fft_magnitude").output)
    given = np.asarray(layer.predict(clip[None], verbose=0))[0]
    assert drawn.shape == given.shape == (2001,)
    np.testing.assert_allclose(drawn, given, atol=5e-3)
