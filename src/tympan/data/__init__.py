"""Datasets.  For now: the small FSDD subset bundled with the package for the demo and examples."""

from __future__ import annotations

from pathlib import Path

from tympan.errors import DatasetError

_DEMO = Path(__file__).resolve().parent / "fsdd_demo"


def demo_dir() -> Path:
    """Folder of the bundled spoken-digit recordings (600 WAV files, CC BY-SA 4.0, see NOTICE.md)."""
    return _DEMO


def example_file(name: str = "7_jackson_0.wav") -> Path:
    """Path of one bundled recording, ``{digit}_{speaker}_{take}.wav`` with take 0-9."""
    path = _DEMO / name
    if not path.is_file():
        raise DatasetError(f"no bundled recording named {name!r} in {_DEMO}")
    return path
