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
