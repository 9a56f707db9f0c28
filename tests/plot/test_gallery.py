"""docs/gallery/: every picture is committed, small, and shown by a page of docs/ (most by
gallery.md)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_gallery_pictures_exist_are_small_and_all_shown():
    pages = [p.read_text() for p in DOCS.glob("*.md")]
    shown = {m for text in pages for m in re.findall(r"\]\((gallery/[\w.-]+\.png)\)", text)}
    files = {f"gallery/{p.name}" for p in (DOCS / "gallery").glob("*.png")}
    assert shown and shown == files
    for name in files:
        size = (DOCS / name).stat().st_size
        assert 5_000 < size < 150 * 1024, (name, size)
