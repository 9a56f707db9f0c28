"""``tympan info``: one block of readable lines per file; clean errors; the console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from tympan import __version__
from tympan.cli.main import main
from tympan.io import save

FSDD = "fsdd/recordings/3_jackson_0.wav"


def test_info_prints_each_field(shared_data, capsys):
    rc = main(["info", str(shared_data / FSDD)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "format:      WAV (PCM_16)" in out
    assert "sample rate: 8000 Hz" in out
    assert "channels:    1" in out
    assert "duration:    0.486 s (3886 frames)" in out
    assert "bit depth:   16 bit" in out


def test_info_several_files(tmp_path, shared_data, capsys):
    save(tmp_path / "st.flac", np.zeros((2, 4410)), 44100, subtype="PCM_24")
    rc = main(["info", str(shared_data / FSDD), str(tmp_path / "st.flac")])
    out = capsys.readouterr().out
    assert rc == 0
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 2
    assert "FLAC (PCM_24)" in blocks[1] and "44100 Hz" in blocks[1] and "24 bit" in blocks[1]
    assert "channels:    2" in blocks[1] and "0.100 s" in blocks[1]


def test_info_missing_file_is_a_clean_error(tmp_path, capsys):
    missing = tmp_path / "nothing-here.wav"
    rc = main(["info", str(missing)])
    captured = capsys.readouterr()
    assert rc != 0
    assert str(missing) in captured.err and "no such file" in captured.err
    assert captured.err.startswith("error:")
    assert "Traceback" not in captured.err + captured.out


def test_info_needs_a_file(capsys):
    assert main(["info"]) != 0
    assert "FILE" in capsys.readouterr().err


def test_info_help_has_an_example(capsys):
    assert main(["info", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out and "tympan info" in out


def test_console_script_version():
    script = shutil.which("tympan") or str(Path(sys.executable).parent / "tympan")
    cmd = [script] if Path(script).exists() else [sys.executable, "-m", "tympan.cli.main"]
    proc = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert __version__ in proc.stdout


def test_module_entry_point_reports_errors(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tympan.cli.main", "info", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert str(tmp_path) in proc.stderr and "directory" in proc.stderr
    assert "Traceback" not in proc.stderr
