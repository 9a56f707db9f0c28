"""CLI: train -> predict -> evaluate on real recordings; help texts; clean error messages."""

from __future__ import annotations

import json

import pytest

from tympan.cli.main import cli, main


def test_train_writes_artifact_and_prints_report(cli_run, capsys):
    meta = json.loads((cli_run / "pipeline.json").read_text())
    assert meta["features"]["n_mels"] == 32
    assert meta["split"]["params"]["test_groups"] == ["nicolas"]


def test_predict_formats(cli_run, small_digits, capsys):
    files = [str(small_digits / "3_nicolas_0.wav"), str(small_digits / "8_nicolas_1.wav")]
    capsys.readouterr()
    assert main(["predict", str(cli_run), *files, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["source"] for p in out] == files
    assert all(p["label"] in [str(d) for d in range(10)] for p in out)
    assert main(["predict", str(cli_run), *files, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "file,start,end,label,probability,error,flags" and len(lines) == 3
    assert main(["predict", str(cli_run), files[0]]) == 0
    table = capsys.readouterr().out
    assert "3_nicolas_0.wav" in table and "label" in table


def test_evaluate(cli_run, small_digits, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(cli_run), str(small_digits), "--pattern", "fsdd",
                 "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 80 and len(report["confusion_matrix"]) == 10


def test_errors_are_one_clean_line(tmp_path, capsys, cli_run):
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "missing-run"), "a.wav"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing-run" in err and "Traceback" not in err
    (tmp_path / "x.wav").write_bytes(b"RIFF....garbage")
    assert main(["predict", str(cli_run), str(tmp_path / "x.wav")]) == 1
    assert "x.wav" in capsys.readouterr().err
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "r")]) == 1
    assert "no audio" in capsys.readouterr().err
    assert main(["train", str(tmp_path), "--model-param", "oops", "--out", "r"]) == 1
    assert "key=value" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "demo", "info"])
def test_every_command_has_help_with_an_example(command):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"tympan {command}" in result.output


def test_train_with_a_feature_stack_and_predict_after_reload(small_digits, tmp_path, capsys):
    out = tmp_path / "stack"
    rc = main(["train", str(small_digits), "--labels-from", "regex", "--pattern", "fsdd",
               "--split", "group", "--test-groups", "nicolas", "--features", "mfcc+delta+chroma",
               "--feature-param", "n_mfcc=13", "--feature-param", 'chroma={"n_chroma": 12}',
               "--model-param", "filters=[8]", "--epochs", "1", "--quiet", "--out", str(out)])
    assert rc == 0
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["features"]["kind"] == "mfcc+delta+chroma"
    assert meta["features"]["chroma"]["hop_length"] == meta["features"]["hop_length"] == 80
    capsys.readouterr()
    assert main(["predict", str(out), str(small_digits / "3_nicolas_0.wav"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["label"] in [str(d) for d in range(10)]
