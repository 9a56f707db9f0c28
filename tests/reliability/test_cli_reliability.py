"""The command line on bad input: one ``error:`` line naming the file and exit 1, one
``warning:`` line for doubtful input, tracebacks only with --debug / TYMPAN_DEBUG, 130 on
Ctrl-C, control characters escaped in tables, and no Keras for commands without a model."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf

from tympan import io
from tympan.cli.main import main

SR = 8000


def _run(capsys, *argv) -> tuple[int, str, list[str]]:
    """``(status, stdout, stderr lines)`` of the command, warnings shown as the CLI shows them."""
    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, [line for line in err.splitlines() if line.strip()]


@pytest.fixture
def stand_in_models(monkeypatch, classifier, separator, tmp_path):
    """``tympan predict`` and ``tympan separate`` load the stand-in models of conftest.py; the
    run folder to name is returned."""
    # `tympan predict` loads the run (tympan.pipeline.load_artifact) to find its task, and the
    # classification task's module loads what it is given as a path; separate loads through
    # the driver
    for name in ("tympan.pipeline", "tympan.pipeline.predict", "tympan.pipeline.classify",
                 "tympan.pipeline.evaluate"):
        monkeypatch.setattr(importlib.import_module(name), "load_artifact", lambda path: classifier)
    driver_module = importlib.import_module("tympan.pipeline.driver")
    monkeypatch.setattr(driver_module, "load_artifact", lambda path: separator())
    run = tmp_path / "run"
    run.mkdir()
    return run


@pytest.fixture
def bad_files(signals, tmp_path):
    """The 0-byte, NaN and missing files, and a folder without audio, with the signals."""
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "no_audio").mkdir()
    (tmp_path / "no_audio" / "notes.txt").write_text("x")
    sf.write(tmp_path / "slow.wav", np.zeros(20_000), 1, subtype="PCM_16")  # a forged 1 Hz rate
    return {**signals, "empty.wav": tmp_path / "empty.wav", "missing.wav": tmp_path / "missing.wav",
            "no_audio": tmp_path / "no_audio", "slow.wav": tmp_path / "slow.wav"}


# info reads headers only: the samples of zero/nan/inf/huge are io's (test_bad_audio.py)
@pytest.mark.parametrize("command, name", [
    *(("predict", n) for n in ("empty.wav", "zero.wav", "nan.wav", "inf.wav", "huge.wav",
                               "missing.wav", "no_audio", "slow.wav")),
    *(("info", n) for n in ("empty.wav", "missing.wav", "no_audio"))])
def test_bad_input_is_one_error_line_naming_the_file(capsys, stand_in_models, bad_files,
                                                     command, name):
    argv = ["predict", stand_in_models] if command == "predict" else ["info"]
    rc, _, err = _run(capsys, *argv, bad_files[name])
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("error: ") and name in err[0], err


@pytest.mark.parametrize("name", ["empty.wav", "zero.wav", "nan.wav", "inf.wav", "slow.wav"])
@pytest.mark.parametrize("command", ["segment", "plot", "separate"])
def test_commands_on_one_file_name_it_in_one_line(capsys, stand_in_models, bad_files, tmp_path,
                                                  command, name):
    argv = {"segment": ["segment", bad_files[name], "--method", "energy",
                        "--out", tmp_path / "kept.wav"],
            "plot": ["plot", "waveform", bad_files[name], "--sr", SR, "-o", tmp_path / "w.png"],
            "separate": ["separate", stand_in_models, bad_files[name], "--out", tmp_path / "sep"]}
    rc, _, err = _run(capsys, *argv[command])
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("error: ") and name in err[0], err
    assert not (tmp_path / "kept.wav").exists() and not (tmp_path / "w.png").exists()
    assert not (tmp_path / "sep").exists() or not list((tmp_path / "sep").iterdir())


@pytest.mark.parametrize("name, flags", [("dc.wav", ["silent"]), ("silence.wav", ["silent"]),
                                         ("ten.wav", ["too_short"]), ("one.wav", ["silent", "too_short"]),
                                         ("loud.wav", ["beyond_full_scale"])])
def test_doubtful_input_is_predicted_flagged_and_named_in_warnings(capsys, stand_in_models,
                                                                   signals, name, flags):
    rc, out, err = _run(capsys, "predict", stand_in_models, signals[name], "--format", "json")
    assert rc == 0
    assert json.loads(out)[0]["flags"] == flags
    assert len(err) == len(flags) and all(e.startswith("warning: ") and name in e for e in err)
    rc, out, _ = _run(capsys, "predict", stand_in_models, signals[name])
    assert f"({', '.join(flags)})" in out.splitlines()[1]
    rc, out, _ = _run(capsys, "predict", stand_in_models, signals[name], "--format", "csv")
    assert out.splitlines()[1].endswith("," + " ".join(flags))


def test_separate_and_segment_of_silence_write_no_nan(capsys, stand_in_models, signals, tmp_path):
    rc, _, err = _run(capsys, "separate", stand_in_models, signals["silence.wav"], "--out",
                      tmp_path / "sep")
    assert rc == 0 and len(err) == 1 and "silence.wav' is silent" in err[0]
    for path in (tmp_path / "sep").iterdir():
        assert np.isfinite(sf.read(path)[0]).all()
    rc, out, err = _run(capsys, "segment", signals["dc.wav"], "--method", "hmm", "--format", "json")
    assert rc == 0 and [s["label"] for s in json.loads(out)] == ["pause"]
    assert len(err) == 1 and "dc.wav' is silent" in err[0]


def test_a_warning_about_a_file_is_shown_once(capsys, signals):
    # segment reads the file three times (flags, features, the kept audio): one warning line
    rc, _, err = _run(capsys, "segment", signals["loud.wav"], "--method", "energy")
    assert rc == 0 and err == [e for e in err if not e.startswith("warning: ")] + [
        "warning: '" + str(signals["loud.wav"]) + "' peaks at 2, beyond [-1, 1]: the file is not "
        "normalised audio, the result may be unreliable"]


def test_segment_of_an_mp3_named_wav_writes_a_wav(capsys, tmp_path):
    t = np.arange(SR) / SR
    sf.write(tmp_path / "a.mp3", 0.4 * np.sin(2 * np.pi * 300 * t), SR)
    (tmp_path / "a.mp3").rename(tmp_path / "a.wav")
    rc, _, err = _run(capsys, "segment", tmp_path / "a.wav", "--method", "energy", "--out",
                      tmp_path / "kept.wav")
    assert rc == 0, err
    assert sf.info(tmp_path / "kept.wav").format == "WAV"  # was: MPEG in a WAV, a write error
    assert abs(len(sf.read(tmp_path / "kept.wav")[0]) - SR) < 0.05 * SR


def test_segment_of_a_24_bit_extensible_wav_keeps_24_bits(capsys, tmp_path):
    # WAVE_FORMAT_EXTENSIBLE (libsndfile's WAVEX) is a .wav as well: its encoding is kept
    t = np.arange(SR) / SR
    sf.write(tmp_path / "a.wav", 0.4 * np.sin(2 * np.pi * 300 * t), SR, subtype="PCM_24", format="WAVEX")
    rc, _, err = _run(capsys, "segment", tmp_path / "a.wav", "--method", "energy", "--out",
                      tmp_path / "kept.wav")
    assert rc == 0, err
    assert sf.info(tmp_path / "kept.wav").subtype == "PCM_24"


def test_segment_of_an_adpcm_wav_to_rf64_writes_the_default_encoding(capsys, tmp_path):
    # the WAV family shares PCM and float, not ADPCM or G.721: those get the format's default
    t = np.arange(SR) / SR
    sf.write(tmp_path / "a.wav", 0.4 * np.sin(2 * np.pi * 300 * t), SR, subtype="IMA_ADPCM")
    for name in ("kept.rf64", "kept.w64", "kept.wav"):
        rc, _, err = _run(capsys, "segment", tmp_path / "a.wav", "--method", "energy", "--out",
                          tmp_path / name)
        assert rc == 0, err
    assert sf.info(tmp_path / "kept.rf64").subtype == "PCM_16"
    assert sf.info(tmp_path / "kept.w64").subtype == sf.info(tmp_path / "kept.wav").subtype == "IMA_ADPCM"


def test_a_newline_in_a_file_name_does_not_break_tables(capsys, stand_in_models, signals, tmp_path):
    odd = tmp_path / "two\nlines\t.wav"
    sf.write(odd, np.asarray(sf.read(signals["tone.wav"])[0]), SR)
    rc, out, _ = _run(capsys, "predict", stand_in_models, odd)
    assert rc == 0 and len(out.splitlines()) == 2 and "two\\nlines\\t.wav" in out
    rc, out, _ = _run(capsys, "predict", stand_in_models, odd, "--format", "json")
    assert json.loads(out)[0]["source"] == str(odd)  # json keeps the name exact
    rc, out, _ = _run(capsys, "info", odd)
    assert out.splitlines()[0].endswith("two\\nlines\\t.wav") and len(out.splitlines()) == 6


@pytest.fixture
def bug(monkeypatch):
    """``io.info`` (what ``tympan info`` calls) raising what the test sets."""
    raised = {}

    def info(path):
        raise raised["exc"]

    monkeypatch.setattr(io, "info", info)
    return raised


def test_an_unexpected_error_is_one_line_and_the_traceback_needs_debug(capsys, bug, monkeypatch,
                                                                       signals):
    bug["exc"] = RuntimeError("boom")
    monkeypatch.delenv("TYMPAN_DEBUG", raising=False)
    rc, _, err = _run(capsys, "info", signals["tone.wav"])
    assert rc == 1
    assert err == ["error: RuntimeError: boom (run with --debug for the traceback)"]
    rc, _, err = _run(capsys, "--debug", "info", signals["tone.wav"])
    assert rc == 1 and err[0].startswith("Traceback") and err[-1] == "error: RuntimeError: boom"
    monkeypatch.setenv("TYMPAN_DEBUG", "1")
    rc, _, err = _run(capsys, "info", signals["tone.wav"])
    assert rc == 1 and err[0].startswith("Traceback")


def test_memory_error_and_interrupt(capsys, bug, monkeypatch, signals):
    monkeypatch.delenv("TYMPAN_DEBUG", raising=False)
    bug["exc"] = MemoryError()
    rc, _, err = _run(capsys, "info", signals["tone.wav"])
    assert rc == 1 and err == ["error: MemoryError: out of memory (run with --debug for the traceback)"]
    bug["exc"] = KeyboardInterrupt()
    rc, _, err = _run(capsys, "info", signals["tone.wav"])
    assert rc == 130 and err == ["error: interrupted"]


def _python(code: str, *args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def test_sigint_exits_130(signals):
    code = ("import os, signal, tympan.io as io; "
            "io.info = lambda path: os.kill(os.getpid(), signal.SIGINT); "
            "from tympan.cli.main import run; run()")
    done = _python(code, "info", signals["tone.wav"])
    assert done.returncode == 130 and done.stderr.strip() == "error: interrupted"


@pytest.mark.parametrize("argv", [["info", "{wav}"], ["--help"], ["--version"], ["predict", "--help"],
                                  ["plot", "waveform", "{wav}", "-o", "{png}"]])
def test_commands_without_a_model_do_not_import_keras(signals, tmp_path, argv):
    code = ("import sys; from tympan.cli.main import main; rc = main(sys.argv[1:]); "
            "print(sorted(m for m in ('keras', 'jax', 'tensorflow', 'torch') if m in sys.modules)); "
            "sys.exit(rc)")
    args = [a.format(wav=signals["tone.wav"], png=tmp_path / "w.png") for a in argv]
    done = _python(code, *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_evaluate_names_each_flagged_file_in_a_warning_line(capsys, stand_in_models, tmp_path):
    for label in ("quiet", "loud"):
        (tmp_path / "ds" / label).mkdir(parents=True)
    sf.write(tmp_path / "ds" / "loud" / "tone.wav", 0.5 * np.sin(np.arange(SR) / 3), SR)
    sf.write(tmp_path / "ds" / "quiet" / "silence.wav", np.zeros(SR), SR)
    rc, out, err = _run(capsys, "evaluate", stand_in_models, tmp_path / "ds")
    assert rc == 0 and "accuracy" in out, err
    assert [line for line in err if line.startswith("warning")] == \
        [f"warning: '{tmp_path / 'ds' / 'quiet' / 'silence.wav'}' is scored, but flagged silent"]
    rc, out, err = _run(capsys, "evaluate", stand_in_models, tmp_path / "ds", "--format", "json")
    assert json.loads(out)["flagged"][0]["flags"] == ["silent"]
    assert "warning: 1 file is flagged (see 'flagged')" in err
    for k in range(12):  # more than ten: ten named, the rest counted
        sf.write(tmp_path / "ds" / "quiet" / f"z{k:02d}.wav", np.zeros(SR), SR)
    rc, out, err = _run(capsys, "evaluate", stand_in_models, tmp_path / "ds")
    warned = [line for line in err if line.startswith("warning")]
    assert len(warned) == 11
    assert warned[-1] == "warning: 3 more files are flagged (see 'flagged' in --format json)"
