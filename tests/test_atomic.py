"""tympan.atomic.replacing: a file appears whole or not at all, and it is the one way tympan writes
a file over another."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tympan.atomic import replacing

SRC = Path(__file__).resolve().parents[1] / "src" / "tympan"


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_the_target_gets_the_new_content_and_no_temporary_file_is_left(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with replacing(out) as (tmp,):
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.txt.") and tmp.exists()
        tmp.write_text("new")
        assert out.read_text() == "old"  # nothing changes before the block completes
    assert out.read_text() == "new"
    assert _hidden(tmp_path) == []


def test_a_failure_in_the_block_leaves_the_old_file_and_removes_the_temporary(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(KeyboardInterrupt), replacing(out) as (tmp,):
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert out.read_text() == "old"
    assert _hidden(tmp_path) == []


def test_several_targets_are_replaced_all_or_none(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    with pytest.raises(RuntimeError, match="second"), replacing(a, b) as (ta, tb):
        ta.write_text("A")
        raise RuntimeError("second writer failed")
    assert not a.exists() and not b.exists() and _hidden(tmp_path) == []
    with replacing(a, b) as (ta, tb):
        ta.write_text("A")
        tb.write_text("B")
    assert (a.read_text(), b.read_text()) == ("A", "B")


def test_a_missing_folder_fails_before_the_block(tmp_path):
    ran = []
    with pytest.raises(FileNotFoundError), replacing(tmp_path / "no" / "out.txt"):
        ran.append(1)
    assert ran == []


def test_the_file_gets_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with replacing(tmp_path / "out.txt") as (tmp,):
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644


def test_no_module_replaces_a_file_its_own_way():
    """Files are renamed into place only here; folders only by pipeline/folder_swap.py."""
    allowed = {SRC / "atomic.py", SRC / "pipeline" / "folder_swap.py"}
    offenders = [f"{p.relative_to(SRC)}:{n}" for p in SRC.rglob("*.py") if p not in allowed
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"\bos\.(replace|rename|renames)\(|\.rename\(", line)]
    assert offenders == []


def test_shard_temporaries_written_through_replacing_are_cleared_as_tympans(tmp_path):
    """A job killed in a shard's write leaves replacing()'s temporary: discard (and resume or
    overwrite) removes it as tympan's own, and leaves a user's file."""
    from tympan.atomic import temporary_name
    from tympan.engines.shards import Output, shard_name

    out = tmp_path / "preds.parquet"
    out.mkdir()
    output = Output(out, {"kind": "predict", "engine": "local", "inputs": 2,
                          "inputs_sha256": "0" * 64, "shard_size": 1})
    output.open()
    temporary_name(out / shard_name(1)).write_bytes(b"PAR1 half a shard")
    temporary_name(out / "_manifest.json").write_text("{")
    (out / "notes.txt").write_text("mine")
    output.discard(created=False)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
