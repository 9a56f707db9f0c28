"""``tympan segment``: the kept audio, Audacity labels, one file per segment, formats, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tympan import io, segment
from tympan.cli.main import main
from tympan.errors import DatasetError

from .conftest import SR, tone_and_silence


@pytest.fixture(scope="module")
def speech(shared_data, tmp_path_factory):
    """Two EMO-DB sentences of held-out speaker 16 with a second of silence between them."""
    a, sr = io.load(shared_data / "emodb/wav/16b10Tb.wav")
    b, _ = io.load(shared_data / "emodb/wav/16a01Ec.wav")
    path = tmp_path_factory.mktemp("seg-cli") / "speech.wav"
    io.save(path, np.concatenate([a, np.zeros(sr, np.float32), b]), sr)
    return path


def test_keep_vowels_writes_a_shorter_file(speech, tmp_path, capsys):
    out = tmp_path / "vowels.wav"
    assert main(["segment", str(speech), "--method", "learned", "--keep", "vowels", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "vowel" in printed.out and "kept" in printed.err
    total, kept = io.info(speech), io.info(out)
    assert kept.sr == total.sr and 0.15 * total.duration < kept.duration < 0.5 * total.duration


def test_export_labels_and_segment_files(speech, tmp_path, capsys):
    labels, folder = tmp_path / "labels.txt", tmp_path / "segments"
    assert main(["segment", str(speech), "--method", "hmm", "--keep", "vowels", "--export", str(labels),
                 "--export-dir", str(folder), "--format", "json", "--block-sec", "0.7"]) == 0
    printed = json.loads(capsys.readouterr().out)
    track = segment.read_audacity_labels(labels)
    assert [(round(a, 6), round(b, 6), c) for a, b, c in track] == \
        [(r["start"], r["end"], r["label"]) for r in printed]
    assert track[0][0] == 0.0 and track[-1][1] == pytest.approx(io.info(speech).duration)
    assert {c for *_, c in track} == {"pause", "consonant", "vowel"}
    files = sorted(folder.iterdir())
    vowels = [(a, b) for a, b, c in track if c == "vowel"]
    assert len(files) == len(vowels) and files[0].name.startswith("0001_vowel_")
    for f, (a, b) in zip(files, vowels, strict=True):
        assert io.info(f).duration == pytest.approx(b - a, abs=1.5 / io.info(f).sr)


def test_energy_drops_the_pauses_and_csv(tmp_path, capsys):
    src = tmp_path / "tones.wav"
    io.save(src, tone_and_silence([("silence", 0.4), ("tone", 0.5), ("silence", 0.6), ("tone", 0.3)]), SR)
    out = tmp_path / "speech.flac"
    assert main(["segment", str(src), "--method", "energy", "--out", str(out), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "start,end,label" and [ln.split(",")[2] for ln in lines[1:]] == \
        ["pause", "speech", "pause", "speech"]
    assert io.info(out).duration == pytest.approx(0.8, abs=0.06)


def test_refuses_to_overwrite(speech, tmp_path, capsys):
    out = tmp_path / "x.wav"
    out.write_bytes(b"keep me")
    assert main(["segment", str(speech), "--method", "fcm", "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert main(["segment", str(speech), "--method", "fcm", "--out", str(speech)]) == 1
    assert "is the input" in capsys.readouterr().err
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / "other.txt").write_text("x")
    assert main(["segment", str(speech), "--method", "fcm", "--export-dir", str(folder)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["segment", str(speech), "--method", "fcm", "--out", str(out), "--overwrite", "--quiet"]) == 0
    assert io.info(out).duration > 0


def test_bad_options(speech, capsys):
    assert main(["segment", str(speech), "--method", "energy", "--keep", "vowels", "--quiet"]) == 1
    assert "keep='vowels'" in capsys.readouterr().err
    assert main(["segment", str(speech), "--method", "hmm", "--param", "stay=2"]) == 1
    assert "stay" in capsys.readouterr().err
    assert main(["segment", str(speech), "--method", "hmm", "--param", "nonsense"]) == 1
    assert "key=value" in capsys.readouterr().err


def test_the_input_is_never_written_even_with_overwrite(speech, tmp_path, capsys):
    before = speech.read_bytes()
    for option in ("--out", "--export"):
        assert main(["segment", str(speech), "--method", "fcm", option, str(speech), "--overwrite",
                     "--quiet"]) == 1
        assert "is the input file" in capsys.readouterr().err
    same = tmp_path / "same.txt"
    assert main(["segment", str(speech), "--method", "fcm", "--out", str(same), "--export", str(same),
                 "--quiet"]) == 1
    assert "same file" in capsys.readouterr().err
    assert speech.read_bytes() == before and not same.exists()


def test_segment_files_keep_their_labels_when_a_span_is_too_short(speech, tmp_path):
    from tympan.segment.export import read_audacity_labels, write_segment_files

    segs = [(0.5, 0.5 + 1e-6, "vowel"), (1.0, 1.2, "consonant"), (1.5, 1.6, "vowel")]
    paths = write_segment_files(speech, tmp_path / "segs", segs)
    assert [p.name.split("_")[1] for p in paths] == ["consonant", "vowel"]
    assert paths[0].name.startswith("0002_") and io.info(paths[0]).frames == round(0.2 * 22050)
    bad = tmp_path / "bad.txt"
    bad.write_text("0.1\tx\tvowel\n")
    with pytest.raises(DatasetError, match="cannot read the label line"):
        read_audacity_labels(bad)
