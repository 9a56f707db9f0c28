"""Shared fixtures: the real recordings in ``../shared/data``, a seeded generator, and folders
laid out like users' data (built by ``tests/userdata.py``, whose docstring says what each holds)."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import tympan  # noqa: F401  (picks the Keras backend before any test module imports keras)

# The CLI caches JAX compilations under ~/.cache; tests leave the user's home alone.
os.environ.setdefault("TYMPAN_JAX_CACHE", "off")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _load_userdata():
    """tests/userdata.py as the module ``userdata`` (pytest's importlib mode puts no test folder
    on sys.path), so test modules can ``import userdata`` too."""
    spec = importlib.util.spec_from_file_location("userdata", Path(__file__).with_name("userdata.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["userdata"] = module
    spec.loader.exec_module(module)
    return module


userdata = _load_userdata()


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


# --------------------------------------------------------------------------- users' data
# Session-scoped and shared by every test that asks: do not change these folders (copy first).
@pytest.fixture(scope="session")
def class_folders_8k(shared_data, tmp_path_factory) -> Path:
    """Class folders ``zero/ one/ two/`` of 12 FSDD clips each named ``clip_NNN.wav`` (no speaker)."""
    return userdata.build_class_folders_8k(tmp_path_factory.mktemp("class_folders_8k"), shared_data)


@pytest.fixture(scope="session")
def class_folders_44k_stereo(shared_data, tmp_path_factory) -> Path:
    """Class folders ``airport/ car/ street/`` of 8 stereo 5-s 44.1 kHz clips, FLAC and MP3 mixed."""
    return userdata.build_class_folders_44k_stereo(tmp_path_factory.mktemp("class_folders_44k"),
                                                   shared_data)


@pytest.fixture(scope="session")
def esc50_layout(shared_data, tmp_path_factory):
    """``CsvLayout(root, csv)``: ``root/meta/esc50.csv`` as published and ``root/audio/*.wav``."""
    return userdata.build_esc50_layout(tmp_path_factory.mktemp("ESC-50"), shared_data)


@pytest.fixture(scope="session")
def urbansound8k_layout(shared_data, tmp_path_factory):
    """``CsvLayout(root, csv)``: ``root/metadata/UrbanSound8K.csv`` and ``root/audio/foldN/*.wav``."""
    return userdata.build_urbansound8k_layout(tmp_path_factory.mktemp("UrbanSound8K"), shared_data)


@pytest.fixture(scope="session")
def bad_files_folder(shared_data, tmp_path_factory) -> Path:
    """Class folders ``one/ two/`` with 5 good clips each and the broken ``userdata.BAD_FILES``."""
    return userdata.build_bad_files_folder(tmp_path_factory.mktemp("bad_files"), shared_data)
