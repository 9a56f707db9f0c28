"""Shared fixtures: the real recordings in ``../shared/data`` and a seeded generator."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import tympan  # noqa: F401  (picks the Keras backend before any test module imports keras)

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


@pytest.fixture(scope="session")
def recording(shared_data):
    """``recording("fsdd", "3_jackson_5")`` -> ``(y, sr)``, float32 mono, read once per session.

    ``"fsdd"`` names a file of ``fsdd/recordings`` (8 kHz), ``"emodb"`` one of ``emodb/wav``
    (22.05 kHz, 2.0 s).  The returned array is read-only so no test can change it for another.
    """
    folders = {"fsdd": shared_data / "fsdd" / "recordings", "emodb": shared_data / "emodb" / "wav"}

    @functools.cache
    def read(corpus: str, name: str) -> tuple[np.ndarray, int]:
        y, sr = sf.read(folders[corpus] / f"{name}.wav", dtype="float32")
        assert y.ndim == 1, f"{corpus}/{name} is not mono"
        y.setflags(write=False)
        return y, sr

    return read
