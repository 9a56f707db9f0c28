"""Shared fixtures: the real recordings in ``../shared/data`` and a seeded generator."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# The CLI caches JAX compilations under ~/.cache; tests leave the user's home alone.
os.environ.setdefault("TYMPAN_JAX_CACHE", "off")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the project (see its README); skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
