"""``tympan data inspect``: the text report and ``--format json``; exit status 0 with problems in
the data, 2 on usage, 1 (one clean line) on a dataset error; the dataset options of train."""

from __future__ import annotations

import json
import shutil

import pytest

from tympan import data
from tympan.cli.main import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory, shared_data):
    """Class folders 3 and 5 of FSDD recordings, a copy of a class-3 train clip over a class-3
    test clip (a leak), the same clip in folder 5 (labels differ) and a file that is not audio."""
    fsdd = shared_data / "fsdd" / "recordings"
    root = tmp_path_factory.mktemp("cli-data") / "clips"
    for digit in "35":
        (root / digit).mkdir(parents=True)
        for t in range(10):
            shutil.copyfile(fsdd / f"{digit}_lucas_{t}.wav", root / digit / f"{digit}_lucas_{t}.wav")
    (root / "5" / "zz_broken.wav").write_bytes(b"RIFF....not audio at all")
    shutil.copyfile(root / "3" / "3_lucas_9.wav", root / "5" / "zz_copy.wav")
    ds = data.from_folders(root)
    s = data.split(ds, method="auto", seed=0)
    train = [ds[i].path for i in s.train if ds[i].label == "3" and ds[i].path.name != "3_lucas_9.wav"]
    test = [ds[i].path for i in s.test if ds[i].label == "3" and ds[i].path.name != "3_lucas_9.wav"]
    shutil.copyfile(train[0], test[0])
    return root, {train[0].name, test[0].name}


def test_text_report(folder, capsys):
    root, leak = folder
    rc = main(["data", "inspect", str(root)])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith(f"22 items in '{root}'")
    assert "  3          10       8       2" in out and "  5          12" in out
    assert "files: 21 readable, 1 unreadable" in out and "sample rates  8000 Hz: 21" in out
    assert "split: stratified: the items have no groups or folds" in out
    assert "[identical bytes, LEAK]" in out and "LABELS DIFFER" in out
    for name in leak:
        assert f"3/{name}  label '3', " in out
    assert "5/zz_copy.wav  label '5'" in out
    assert "unreadable: 1" in out and "zz_broken.wav': corrupt file: no valid WAV header found" in out
    assert "audio settings:\n  sr        8000 Hz" in out


def test_json(folder, capsys):
    root, leak = folder
    rc = main(["data", "inspect", str(root), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert report["items"] == 22 and report["classes"] == {"3": 10, "5": 12}
    assert report["files"]["unreadable"] == 1 and report["unreadable"][0]["path"].endswith("zz_broken.wav")
    assert report["split"]["method"] == "stratified" and report["split"]["sizes"]["test"] == 4
    assert report["label_conflicts"] == 1 and report["leaks"] >= 1
    names = [{x["path"].rsplit("/", 1)[1] for x in d["items"]} for d in report["duplicates"] if d["leak"]]
    assert leak in names
    assert report["audio"]["sr"] == 8000 and report["audio_error"] is None


def test_dataset_options_are_those_of_train(tmp_path, shared_data, capsys):
    fsdd = shared_data / "fsdd" / "recordings"
    for name in [f"{d}_{s}_0.wav" for d in "012" for s in ("george", "jackson", "theo", "lucas")]:
        shutil.copyfile(fsdd / name, tmp_path / name)
    rc = main(["data", "inspect", str(tmp_path), "--pattern", "fsdd", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and report["groups"]["count"] == 4 and report["split"]["method"] == "group"
    rc = main(["data", "inspect", str(tmp_path), "--label-pattern", "fsdd-speaker"])
    out = capsys.readouterr().out
    assert rc == 0 and "classes: 4" in out and "  theo" in out


def test_a_dataset_error_is_one_clean_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc = main(["data", "inspect", str(tmp_path)])
    captured = capsys.readouterr()
    assert rc == 1 and captured.out == ""
    assert captured.err.startswith("error: no audio files (") and str(tmp_path) in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["data", "inspect"]) == 2
    assert "Missing argument 'DATA'" in capsys.readouterr().err
    assert main(["data", "inspect", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["data", "inspect", str(tmp_path), "--format", "yaml"]) == 2
    assert "'yaml' is not one of 'text', 'json'" in capsys.readouterr().err


def test_help_has_examples(capsys):
    assert main(["data", "inspect", "--help"]) == 0
    out = capsys.readouterr().out
    assert "tympan data inspect fsdd/recordings --pattern fsdd" in out and "--labels-from" in out
    assert main(["data", "--help"]) == 0
    assert "inspect" in capsys.readouterr().out
