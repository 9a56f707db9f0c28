"""predict, info and evaluate over folders with broken files: every readable file gets its
result, every unreadable one is named with its cause, and the exit status says so (0 all good,
1 some failed, 2 usage); ``--on-error fail`` stops at the first one."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest

from tympan.cli.main import main

GOOD = ["3_jackson_0.wav", "8_nicolas_1.wav"]
CAUSES = {"2_empty.wav": "the file is empty", "5_noise.mp3": "no valid MP3 header",
          "6_cut.wav": "truncated file"}


@pytest.fixture
def mixed(small_digits, tmp_path):
    """Natural order: 2_empty.wav, 3_jackson_0.wav, 5_noise.mp3, 6_cut.wav, 8_nicolas_1.wav."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(small_digits / name, folder / name)
    (folder / "2_empty.wav").write_bytes(b"")
    (folder / "5_noise.mp3").write_bytes(np.random.default_rng(0).bytes(4000))
    (folder / "6_cut.wav").write_bytes((small_digits / "4_jackson_1.wav").read_bytes()[:1500])
    return folder


def _err_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def test_predict_table_keeps_going_and_names_each_bad_file(cli_run, mixed, capsys):
    capsys.readouterr()
    assert main(["predict", str(cli_run), str(mixed)]) == 1
    out, err = capsys.readouterr()
    assert all(name in out for name in GOOD) and not any(name in out for name in CAUSES)
    lines = _err_lines(err)
    assert len(lines) == len(CAUSES)
    for line, (name, cause) in zip(lines, CAUSES.items(), strict=True):
        assert line.startswith("error: ") and str(mixed / name) in line and cause in line
    assert "Traceback" not in out + err


def test_predict_json_and_csv_rows_carry_the_error(cli_run, mixed, capsys):
    capsys.readouterr()
    assert main(["predict", str(cli_run), str(mixed), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    rows = {r["source"].split("/")[-1]: r for r in json.loads(out)}
    assert list(rows) == ["2_empty.wav", "3_jackson_0.wav", "5_noise.mp3", "6_cut.wav",
                          "8_nicolas_1.wav"]
    for name in GOOD:
        assert rows[name]["error"] is None and rows[name]["label"] in [str(d) for d in range(10)]
    for name, cause in CAUSES.items():
        assert cause in rows[name]["error"] and rows[name]["label"] is None
    assert "3 of 5 files could not be read" in err
    assert main(["predict", str(cli_run), str(mixed), "--format", "csv"]) == 1
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["file"].split("/")[-1] for r in table] == list(rows)
    for r in table:
        name = r["file"].split("/")[-1]
        if name in CAUSES:
            assert CAUSES[name] in r["error"] and r["label"] == ""
        else:
            assert r["error"] == "" and r["label"] == rows[name]["label"]


def test_predict_on_error_fail_stops_at_the_first(cli_run, mixed, capsys):
    capsys.readouterr()
    assert main(["predict", str(cli_run), str(mixed), "--on-error", "fail"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = _err_lines(err)
    assert line.startswith("error: ") and "2_empty.wav" in line and "empty" in line


def test_predict_all_good_exits_0_and_usage_errors_exit_2(cli_run, mixed, capsys):
    files = [str(mixed / name) for name in GOOD]
    capsys.readouterr()
    assert main(["predict", str(cli_run), *files, "--on-error", "fail"]) == 0
    assert main(["predict", str(cli_run), *files]) == 0
    assert capsys.readouterr().err == ""
    assert main(["predict", str(cli_run), *files, "--on-error", "maybe"]) == 2
    assert main(["predict", str(cli_run)]) == 2
    assert "--on-error" in capsys.readouterr().err


def test_info_keeps_going_and_names_each_bad_file(mixed, capsys):
    assert main(["info", str(mixed)]) == 1
    out, err = capsys.readouterr()
    blocks = out.strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [f"file:        {mixed / n}" for n in GOOD]
    lines = _err_lines(err)
    assert len(lines) == len(CAUSES)
    for line, (name, cause) in zip(lines, CAUSES.items(), strict=True):
        assert line.startswith("error: ") and name in line and cause in line
    assert main(["info", str(mixed), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert [r["path"].split("/")[-1] for r in rows] == sorted([*GOOD, *CAUSES],
                                                              key=lambda n: int(n[0]))
    for r in rows:
        name = r["path"].split("/")[-1]
        if name in CAUSES:
            assert CAUSES[name] in r["error"] and r["sr"] is None
        else:
            assert r["error"] is None and r["sr"] == 8000 and r["channels"] == 1
    assert "3 of 5 files" in err


def test_info_on_error_fail_and_all_good(mixed, capsys):
    for value in ("fail", "raise"):  # raise: the older name, still taken
        assert main(["info", str(mixed), "--on-error", value]) == 1
        out, err = capsys.readouterr()
        (line,) = _err_lines(err)
        assert line.startswith("error: ") and "2_empty.wav" in line and out == ""
    assert main(["info", *(str(mixed / n) for n in GOOD)]) == 0
    assert capsys.readouterr().err == ""


@pytest.fixture
def labelled(small_digits, tmp_path):
    """Class folders (labels from folders) with two good clips and three broken files."""
    root = tmp_path / "labelled"
    for label in ("3", "8"):
        (root / label).mkdir(parents=True)
    shutil.copy(small_digits / "3_nicolas_2.wav", root / "3" / "a.wav")
    shutil.copy(small_digits / "8_nicolas_3.wav", root / "8" / "b.wav")
    (root / "3" / "empty.wav").write_bytes(b"")
    (root / "8" / "noise.mp3").write_bytes(np.random.default_rng(1).bytes(4000))
    (root / "8" / "cut.wav").write_bytes((small_digits / "8_jackson_0.wav").read_bytes()[:1500])
    return root


def test_evaluate_keeps_going_and_names_each_bad_file(cli_run, labelled, capsys):
    args = ["evaluate", str(cli_run), str(labelled), "--labels-from", "folders"]
    capsys.readouterr()
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert "n=2" in out
    lines = [line for line in _err_lines(err) if line.startswith("error: ")]
    assert len(lines) == 3
    for name, cause in (("empty.wav", "empty"), ("cut.wav", "truncated"),
                        ("noise.mp3", "no valid MP3 header")):
        assert sum(name in line and cause in line for line in lines) == 1
    assert main([*args, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 2
    assert sorted(f["file"].split("/")[-1] for f in report["failures"]) == ["cut.wav", "empty.wav",
                                                                           "noise.mp3"]
    assert all(f["error"] for f in report["failures"])
    for value in ("fail", "raise"):
        assert main([*args, "--on-error", value]) == 1
        (line,) = [x for x in _err_lines(capsys.readouterr().err) if x.startswith("error")]
        assert "empty.wav" in line or "cut.wav" in line or "noise.mp3" in line
    for name in ("3/empty.wav", "8/noise.mp3", "8/cut.wav"):
        (labelled / name).unlink()
    assert main([*args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["failures"] == []
