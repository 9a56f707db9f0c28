"""Pick tympan's default Keras backend before Keras is first imported.

Measured in ``benchmarks/backends.py`` (see ``docs/results.md``), JAX trains the reference
Conv1D model fastest on CPU, so it is the default when the user has not chosen one.  The user's
choice always wins: ``KERAS_BACKEND`` in the environment, or a ``backend`` entry in
``~/.keras/keras.json`` (``$KERAS_HOME/keras.json``) naming an installed backend.  Keras writes
that file itself, with ``"tensorflow"``, the first time it is imported; a file naming a backend
that is not installed would only make ``import keras`` fail, so it does not count as a choice.
If Keras is already imported, nothing is changed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

PREFERRED = ("jax", "torch", "tensorflow")


def _config_backend() -> str | None:
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    path = Path(home) / "keras.json"
    try:
        return json.loads(path.read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        return None


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def select_default_backend() -> str | None:
    """Set ``KERAS_BACKEND`` to the fastest installed backend unless the user chose one.

    Returns the backend that was set, or ``None`` when nothing was changed.
    """
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return None
    configured = _config_backend()
    if configured and _installed(configured):
        return None
    for name in PREFERRED:
        if _installed(name):
            os.environ["KERAS_BACKEND"] = name
            return name
    return None


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Keep JAX's compiled programs on disk so a new process does not compile them again.

    Loading a model on the jax backend compiles its weight initialisers and the first
    ``predict`` compiles the model; with the cache, a second ``tympan predict`` in a fresh
    process skips both (measured in ``benchmarks/predict_latency.py``).  The folder is
    ``path``, else ``$TYMPAN_CACHE_DIR/jax``, else ``$XDG_CACHE_HOME/tympan/jax`` (default
    ``~/.cache/tympan/jax``).  ``TYMPAN_JAX_CACHE=off`` disables it.  Returns the folder used,
    or ``None`` when not on the jax backend or disabled.  The ``tympan`` command calls this.
    """
    if os.environ.get("TYMPAN_JAX_CACHE", "").lower() in ("0", "off", "false", "no"):
        return None
    backend = os.environ.get("KERAS_BACKEND") or _config_backend()
    if backend != "jax" or not _installed("jax"):
        return None
    if path is None:
        base = os.environ.get("TYMPAN_CACHE_DIR")
        if base:
            path = Path(base) / "jax"
        else:
            xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            path = Path(xdg) / "tympan" / "jax"
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: run without the cache
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder


# Optional packages that ``import keras`` loads only for features tympan's command never uses:
# its scikit-learn wrappers (about 1 s to import scikit-learn and scipy.stats) and its image
# gallery plots (about 0.7 s for matplotlib.pyplot).  Keras guards both imports with
# ``try: ... except ImportError``, so hiding them costs the command nothing.
_CLI_SKIPPED = ("sklearn", "matplotlib")


def import_keras_lean():
    """Import Keras without the optional packages listed in ``_CLI_SKIPPED``.

    Only the ``tympan`` command calls this, before anything else imports Keras: it takes a cold
    ``tympan predict`` from about 4.9 s to about 3 s (``benchmarks/predict_latency.py``).  The
    hiding lasts for the import alone, so the packages import normally afterwards (``tympan
    plot`` still gets matplotlib); only ``keras.wrappers.SKLearn*`` and
    ``keras.visualization`` stay unusable in that process, and the command uses neither.
    Returns the keras module; if Keras is already imported, returns it unchanged.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"]
    hidden = [name for name in _CLI_SKIPPED if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # makes `import name` raise ImportError
    try:
        import keras
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return keras
