"""CLI: tympan separator train -> tympan separate (files in the input's format) -> evaluate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tympan import io
from tympan.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def sep_cli_run(shared_data, tmp_path_factory):
    noizeus = shared_data / "noizeus"
    out = tmp_path_factory.mktemp("sep-cli-runs") / "sep"
    rc = main(["separator", "train", "--pairs", str(noizeus), "--held-out", "sp30", "--epochs", "1",
               "--examples-per-epoch", "16", "--batch-size", "8", "--duration", "0.5",
               "--model-param", "filters=8", "--model-param", "depth=1",
               "--model-param", "kernel_sizes=[3]", "--speed", "0.9,1.1", "--by-file", "--quiet",
               "--out", str(out)])
    assert rc == 0
    return noizeus, out


def test_train_prints_the_held_out_table(sep_cli_run):
    _, out = sep_cli_run
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["task"] == "separation" and meta["split"]["held_out"] == ["sp30"]
    assert meta["model"]["kernel_sizes"] == [3] and meta["metrics"]["test"]["mean"]["n"] == 32
    assert meta["split"]["mixing"]["speed"] == [0.9, 1.1] and meta["split"]["mixing"]["by_length"] is False


def test_train_refuses_a_bad_speed_range_cleanly(shared_data, tmp_path, capsys):
    rc = main(["separator", "train", "--pairs", str(shared_data / "noizeus"), "--speed", "1.1",
               "--out", str(tmp_path / "sep")])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error:") and "speed must be (low, high)" in err
    assert "Traceback" not in err and not (tmp_path / "sep").exists()


@pytest.mark.parametrize("ext", [".wav", ".mp3"])
def test_separate_writes_playable_files_in_the_input_format(sep_cli_run, tmp_path, capsys, ext):
    noizeus, out = sep_cli_run
    y = io.load(noizeus / "noisy" / "babble_5dB" / "sp30_babble_sn5.wav")[0]
    src = tmp_path / f"mix{ext}"
    io.save(src, y, 8000)
    capsys.readouterr()
    assert main(["separate", str(out), str(src), "--out", str(tmp_path / "sep")]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said == [f"speech: {tmp_path / 'sep' / f'speech{ext}'}",
                    f"noise: {tmp_path / 'sep' / f'noise{ext}'}"]
    for name in ("speech", "noise"):
        path = tmp_path / "sep" / f"{name}{ext}"
        assert io.info(path).format == io.info(src).format
        back, rate = io.load(path)
        assert rate == 8000 and np.all(np.isfinite(back)) and np.abs(back).max() > 0
        # mp3 adds encoder padding of a few ms; wav is exact
        assert abs(len(back) - len(y)) <= (0 if ext == ".wav" else 0.1 * 8000)


def test_separate_refuses_to_overwrite_without_the_flag(sep_cli_run, tmp_path, capsys):
    noizeus, out = sep_cli_run
    src = noizeus / "clean" / "sp30.wav"
    dest = tmp_path / "sep"
    dest.mkdir()
    (dest / "speech.wav").write_bytes(b"keep")
    capsys.readouterr()
    assert main(["separate", str(out), str(src), "--out", str(dest)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "speech.wav exists" in err and "Traceback" not in err
    assert (dest / "speech.wav").read_bytes() == b"keep" and not (dest / "noise.wav").exists()
    assert main(["separate", str(out), str(src), "--out", str(dest), "--overwrite"]) == 0
    assert io.info(dest / "speech.wav").frames == io.info(src).frames


def test_evaluate_json_and_table(sep_cli_run, capsys):
    noizeus, out = sep_cli_run
    capsys.readouterr()
    assert main(["separator", "evaluate", str(out), "--pairs", str(noizeus), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sentences"] == ["sp30"] and len(result["rows"]) == 32
    assert main(["separator", "evaluate", str(out), "--pairs", str(noizeus), "--sentences", "sp30"]) == 0
    table = capsys.readouterr().out
    assert "SI-SDRi" in table and "0 dB" in table and "all" in table
    assert main(["separator", "evaluate", str(out)]) == 1
    assert "needs pairs=" in capsys.readouterr().err


def test_continue_and_combine(sep_cli_run, tmp_path, capsys):
    noizeus, out = sep_cli_run
    more = tmp_path / "more"
    rc = main(["separator", "train", "--pairs", str(noizeus), "--held-out", "sp30", "--epochs", "1",
               "--examples-per-epoch", "8", "--batch-size", "8", "--init", str(out), "--quiet",
               "--pair-speed",
               "--out", str(more)])
    assert rc == 0 and f"saved {more}" in capsys.readouterr().out
    meta = json.loads((more / "pipeline.json").read_text())
    assert meta["metrics"]["epochs_total"] == 2 and meta["metrics"]["init"]["path"] == str(out)
    assert meta["model"]["kernel_sizes"] == [3] and meta["audio"]["duration"] == 0.5
    assert meta["split"]["mixing"]["pair_speed"] is True
    avg = tmp_path / "avg"
    assert main(["separator", "combine", str(out), str(more), "--out", str(avg)]) == 0
    assert f"saved {avg}" in capsys.readouterr().out
    assert len(json.loads((avg / "pipeline.json").read_text())["model"]["members"]) == 2
    rc = main(["separator", "train", "--pairs", str(noizeus), "--init", str(out),
               "--model-param", "filters=4", "--out", str(tmp_path / "never")])
    err = capsys.readouterr().err
    assert rc == 1 and "--model-param cannot change the model of --init" in err
    assert main(["separator", "combine", str(out), "--out", str(tmp_path / "never")]) == 1
    err = capsys.readouterr().err
    assert "needs two or more separators" in err and "Traceback" not in err
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("command", [["separate"], ["separator", "train"], ["separator", "evaluate"],
                                     ["separator", "combine"]])
def test_help_has_an_example(command, capsys):
    assert main([*command, "--help"]) == 0
    assert "Example" in capsys.readouterr().out
