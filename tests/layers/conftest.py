"""Fixtures for the Keras layer tests: real recordings from ``../shared/data``."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import soundfile as sf

# Imported here, before any test module imports keras: with KERAS_BACKEND unset, tympan picks
# jax (conftest files load first, and import sorting cannot move this below `import keras`).
import tympan  # noqa: F401


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
