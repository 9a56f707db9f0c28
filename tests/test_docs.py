"""Every ```python block in README.md and docs/*.md runs (blocks of one page share a namespace).

A block whose first line is ``# not run`` is skipped (for snippets that need data you must
supply, such as your own folder of recordings).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks(page: Path) -> list[str]:
    return [b for b in BLOCK.findall(page.read_text()) if not b.startswith("# not run")]


@pytest.mark.parametrize("page", [p for p in PAGES if p.exists() and _blocks(p)],
                         ids=lambda p: p.name)
def test_examples_run(page, tmp_path, monkeypatch):
    shared = ROOT.parent / "shared"
    if not (shared / "data").is_dir():
        pytest.skip("../shared/data is not present")
    # Examples use paths relative to the repository root ("../shared/data/..."); run them in a
    # scratch folder laid out the same way, so the files they write land there.
    work = tmp_path / "repo"
    work.mkdir()
    (tmp_path / "shared").symlink_to(shared)
    monkeypatch.chdir(work)
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(_blocks(page)):
        try:
            exec(compile(block, f"{page.name}[block {i}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{page.name}, python block {i} failed: {exc!r}\n{block}") from exc
    assert os.getcwd() == str(work)
