"""The io fuzzer (``fuzz_io.py``) in the suite: a fixed budget of mutations (``TYMPAN_FUZZ_SECONDS``,
60 s by default) must find nothing, the inputs it found before (``regressions/``) must pass, and
the harness must catch a planted exception, allocation, NaN, segfault and hang (so it can fail)."""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("tympan_fuzz_io", HERE / "fuzz_io.py")
fuzz_io = importlib.util.module_from_spec(_spec)
sys.modules["tympan_fuzz_io"] = fuzz_io
_spec.loader.exec_module(fuzz_io)
mutators = fuzz_io.mutators

REGRESSIONS = sorted(p for p in fuzz_io.REGRESSIONS.glob("*") if p.suffix != ".md")


def _report(found: list[dict], folder: Path) -> str:
    lines = [f"{folder / f['file']}: {f['stage']} {f['kind']} (x{f.get('count', 1)}): {f['message']}"
             for f in found]
    return ("the io fuzzer found:\n  " + "\n  ".join(lines) + "\nreplay one with `python "
            "tests/reliability/fuzz/fuzz_io.py --replay FILE`; once fixed, shrink it with --minimize "
            "into tests/reliability/fuzz/regressions/")


def test_fuzz_io_finds_nothing(tmp_path):
    seconds = float(os.environ.get("TYMPAN_FUZZ_SECONDS", "60"))
    folder = Path(os.environ.get("TYMPAN_FUZZ_FINDINGS", tmp_path / "findings"))
    found = fuzz_io.run(seconds, folder, seed=int(os.environ.get("TYMPAN_FUZZ_SEED", "0")))
    assert not found, _report(found, folder)


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_regression_input(path):
    assert fuzz_io.check(path) is None


@pytest.mark.parametrize("engine", ["atheris", "random"])
def test_harness_finds_planted_bugs(tmp_path, engine):
    if engine == "atheris" and importlib.util.find_spec("atheris") is None:
        engine = "random"  # (atheris has wheels for Linux x86-64 only; the loop stands in)
    seeds = [p.read_bytes() for p in fuzz_io.write_seeds(tmp_path / "seeds")]
    for name, pattern in fuzz_io.PLANTS.items():
        assert not any(pattern in s for s in seeds), name  # only a mutation can trigger a plant
    # (it stops once all five are found, in 15-25 s on an idle 2-core machine; the budget is for a
    # busy one; findings of io itself may come along and are not judged here)
    found = fuzz_io.run(240, tmp_path / "findings", engine=engine, timeout=1, plants=tuple(fuzz_io.PLANTS))
    planted = {f["kind"]: f for f in found if f["stage"] == "plant"}
    assert set(planted) == {"ValueError", "MemoryError", "property", "crash (SIGSEGV)", "hang"}
    assert "1.00 TiB" in planted["MemoryError"]["message"]
    assert "4 non-finite samples" in planted["property"]["message"]
    for f in planted.values():  # each kept its input, and the input holds a planted pattern
        data = (tmp_path / "findings" / f["file"]).read_bytes()
        assert any(p in data for p in fuzz_io.PLANTS.values()), f


# --------------------------------------------------------------------------- the mutator
def _encoded(fmt: str, subtype: str, channels: int = 1) -> bytes:
    import io

    buf = io.BytesIO()
    y = np.zeros((800, channels)) + 0.25
    sf.write(buf, y, 8000, format=fmt, subtype=subtype)
    return buf.getvalue()


def test_fields_find_the_header_integers():
    wav = _encoded("WAV", "PCM_16", 2)
    assert {(4, 4, "<"), (22, 2, "<"), (24, 4, "<"), (34, 2, "<"), (40, 4, "<")} <= set(mutators.fields(wav))
    flac = _encoded("FLAC", "PCM_16")
    assert (18, 4, ">") in mutators.fields(flac)  # rate | channels | bits | top of the total
    mp3 = _encoded("MP3", "MPEG_LAYER_III")
    xing = mp3.find(b"Xing") if b"Xing" in mp3 else mp3.find(b"Info")
    assert (xing + 8, 4, ">") in mutators.fields(mp3)  # the frame count the issue forged
    aiff = _encoded("AIFF", "PCM_16")
    comm = aiff.find(b"COMM")
    assert (comm + 10, 4, ">") in mutators.fields(aiff)  # numSampleFrames


def test_mutate_is_deterministic_and_changes_the_input():
    wav = _encoded("WAV", "PCM_16")
    a = [mutators.mutate(wav, random.Random(s)) for s in range(20)]
    assert a == [mutators.mutate(wav, random.Random(s)) for s in range(20)]
    assert sum(x != wav for x in a) >= 18


def test_fix_ogg_crc_restores_the_encoder_checksums():
    ogg = _encoded("OGG", "VORBIS")
    pages = [i for i in range(len(ogg)) if ogg.startswith(b"OggS", i)]
    broken = bytearray(ogg)
    for i in pages:
        broken[i + 22:i + 26] = b"\0\0\0\0"
    assert len(pages) >= 3
    assert mutators.fix_ogg_crc(bytes(broken)) == ogg
