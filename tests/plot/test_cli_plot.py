"""``tympan plot``: every kind writes a non-empty file; clean errors; help with examples."""

from __future__ import annotations

import json

import pytest

from tympan.cli.main import main
from tympan.pipeline.metrics import Report

AUDIO_KINDS = ["waveform", "spectrum", "spectrogram", "mel", "mfcc", "chroma", "cqt", "scalogram"]


@pytest.fixture(scope="module")
def wav(shared_data):
    return str(shared_data / "fsdd" / "recordings" / "3_jackson_5.wav")


@pytest.mark.parametrize("kind", AUDIO_KINDS)
def test_every_audio_kind_writes_a_png(kind, wav, tmp_path, capsys):
    out = tmp_path / f"{kind}.png"
    assert main(["plot", kind, wav, "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    assert capsys.readouterr().out.strip() == str(out)


def test_options_formats_and_resampling(wav, tmp_path):
    svg, pdf = tmp_path / "spectrum.svg", tmp_path / "mel.pdf"
    assert main(["plot", "spectrum", wav, "--scale", "log", "-p", "fmax=3000", "--title", "three",
                 "-o", str(svg)]) == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "three" in text
    assert main(["plot", "mel", wav, "--sr", "16000", "-p", "n_mels=40", "-o", str(pdf)]) == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_existing_output_needs_overwrite(wav, tmp_path, capsys):
    out = tmp_path / "w.png"
    out.write_bytes(b"keep me")
    assert main(["plot", "waveform", wav, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"keep me"
    assert main(["plot", "waveform", wav, "-o", str(out), "--overwrite"]) == 0
    assert out.stat().st_size > 5000


def test_clean_errors(wav, tmp_path, capsys):
    assert main(["plot", "mel", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "m.png")]) == 2
    assert "missing.wav" in capsys.readouterr().err
    assert main(["plot", "mel", wav, "-o", str(tmp_path / "m.jpg")]) == 1
    assert "out must end in one of .png, .pdf, .svg" in capsys.readouterr().err
    assert main(["plot", "mel", wav, "-p", "n_melz=40", "-o", str(tmp_path / "m.png")]) == 1
    err = capsys.readouterr().err
    assert "--param n_melz is not an option of plot_mel" in err and "n_mels" in err
    assert main(["plot", "spectrum", wav, "--scale", "mel", "-o", str(tmp_path / "s.png")]) == 2
    (tmp_path / "bad.wav").write_bytes(b"RIFF....garbage")
    assert main(["plot", "waveform", str(tmp_path / "bad.wav"), "-o", str(tmp_path / "b.png")]) == 1
    assert "bad.wav" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png"))


@pytest.fixture
def run_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    report = Report.from_predictions([0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"])
    (run / "pipeline.json").write_text(json.dumps({"schema_version": 1,
                                                   "metrics": {"test": report.to_dict()}}))
    (run / "history.json").write_text(json.dumps({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}))
    return run


def test_history_and_confusion_of_a_run(run_folder, tmp_path):
    for kind, extra in (("history", []), ("confusion", ["--normalize"])):
        out = tmp_path / f"{kind}.png"
        assert main(["plot", kind, str(run_folder), *extra, "-o", str(out)]) == 0
        assert out.stat().st_size > 5000


def test_confusion_of_a_run_without_a_test_set(run_folder, tmp_path, capsys):
    (run_folder / "pipeline.json").write_text(json.dumps({"schema_version": 1, "metrics": {}}))
    assert main(["plot", "confusion", str(run_folder), "-o", str(tmp_path / "c.png")]) == 1
    assert "no test confusion matrix" in capsys.readouterr().err


def test_timeline_of_a_long_recording(make_tiny_artifact, shared_data, tmp_path, capsys):
    from tympan import pipeline

    run = pipeline.save_artifact(make_tiny_artifact(metrics={}, history={}), tmp_path / "run")
    sentence = str(shared_data / "noizeus" / "clean" / "sp01.wav")  # 2.8 s: five 1 s windows
    out = tmp_path / "timeline.png"
    assert main(["plot", "timeline", str(run), sentence, "--hop", "0.5", "-o", str(out)]) == 0
    assert out.stat().st_size > 5000 and capsys.readouterr().out.strip() == str(out)


def test_segments_command(wav, tmp_path, capsys):
    out = tmp_path / "segments.png"
    rc = main(["plot", "segments", wav, "--method", "hmm", "--on", "spectrogram", "-o", str(out)])
    try:
        from tympan.segment import segments  # noqa: F401
    except ImportError:
        assert rc == 1
        assert "segmentation is not available" in capsys.readouterr().err
    else:
        assert rc == 0 and out.stat().st_size > 5000


@pytest.mark.parametrize("kind", [*AUDIO_KINDS, "history", "confusion", "timeline", "segments"])
def test_every_plot_command_has_help_with_an_example(kind, capsys):
    assert main(["plot", kind, "--help"]) == 0
    text = capsys.readouterr().out
    assert "Example" in text and f"tympan plot {kind}" in text and "-o" in text
