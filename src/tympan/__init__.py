"""tympan: deep learning on audio with Keras 3.

``tympan.io`` and ``tympan.dsp`` are numpy/scipy only; ``tympan.layers`` imports Keras.
Submodules load on first use (``tympan.dsp``, ``tympan.io``, ...), so ``import tympan`` is cheap.
Importing ``tympan`` picks JAX as the Keras backend when the user has not chosen one (see
``tympan._backend``).
"""

from __future__ import annotations

import importlib

from tympan._backend import select_default_backend

select_default_backend()

__version__ = "0.1.0"

_SUBMODULES = ("cli", "data", "dsp", "errors", "io", "layers", "models", "pipeline", "plot", "segment")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"tympan.{name}")
    raise AttributeError(f"module 'tympan' has no attribute {name!r}")


__all__ = ["__version__", *_SUBMODULES]
