"""Default backend selection: jax unless the user chose an installed backend."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tympan import _backend


def _select(monkeypatch, tmp_path, *, env=None, config=None, keras_loaded=False):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    if env:
        monkeypatch.setenv("KERAS_BACKEND", env)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    if config is not None:
        (tmp_path / "keras.json").write_text(json.dumps({"backend": config}))
    modules = dict(sys.modules)
    if not keras_loaded:
        modules.pop("keras", None)
    monkeypatch.setattr(sys, "modules", modules)
    return _backend.select_default_backend()


def test_picks_jax_when_nothing_is_chosen(monkeypatch, tmp_path):
    pytest.importorskip("jax")
    assert _select(monkeypatch, tmp_path) == "jax"
    import os

    assert os.environ["KERAS_BACKEND"] == "jax"


def test_environment_variable_wins(monkeypatch, tmp_path):
    assert _select(monkeypatch, tmp_path, env="torch") is None


def test_config_naming_an_installed_backend_wins(monkeypatch, tmp_path):
    pytest.importorskip("jax")
    assert _select(monkeypatch, tmp_path, config="jax") is None


def test_config_naming_a_missing_backend_is_ignored(monkeypatch, tmp_path):
    pytest.importorskip("jax")
    # Keras writes {"backend": "tensorflow"} itself on first import; tensorflow is not installed.
    assert _select(monkeypatch, tmp_path, config="no_such_backend_xyz") == "jax"


def test_nothing_changes_once_keras_is_imported(monkeypatch, tmp_path):
    import keras  # noqa: F401

    assert _select(monkeypatch, tmp_path, keras_loaded=True) is None


def test_fresh_process_imports_keras_after_tympan(tmp_path):
    pytest.importorskip("jax")
    env = {"PATH": "/usr/bin:/bin", "KERAS_HOME": str(tmp_path), "HOME": str(tmp_path)}
    code = "import tympan, keras; print(keras.backend.backend())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "jax"


def test_compilation_cache_folder_and_opt_out(monkeypatch, tmp_path):
    pytest.importorskip("jax")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("TYMPAN_JAX_CACHE", "off")
    assert _backend.enable_compilation_cache(tmp_path / "c") is None
    monkeypatch.delenv("TYMPAN_JAX_CACHE")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert _backend.enable_compilation_cache(tmp_path / "c") is None
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("TYMPAN_CACHE_DIR", str(tmp_path / "base"))
    import jax

    before = jax.config.jax_compilation_cache_dir
    try:
        assert _backend.enable_compilation_cache() == tmp_path / "base" / "jax"
        assert (tmp_path / "base" / "jax").is_dir()
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "base" / "jax")
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


def test_lean_keras_import_skips_optional_packages_only_while_importing(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    env = {"PATH": "/usr/bin:/bin", "KERAS_HOME": str(tmp_path), "HOME": str(tmp_path)}
    code = (
        "import sys, tympan\n"
        "from tympan._backend import import_keras_lean\n"
        "keras = import_keras_lean()\n"
        "print('sklearn' in sys.modules, 'matplotlib.pyplot' in sys.modules)\n"
        "import sklearn, matplotlib\n"  # still importable afterwards
        "print(keras.ops.sum(keras.ops.ones(3)).item(), import_keras_lean() is keras)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "3.0", "True"]
