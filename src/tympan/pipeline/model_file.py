"""``model.keras`` of an artifact: refuse what must not be loaded, then load it in safe mode, fast.

:func:`check_classes` refuses, before Keras reads the file, a Lambda layer or a class from
outside Keras and tympan; :func:`load_model` loads in Keras safe mode with every failure an
:class:`~tympan.errors.ArtifactError` naming the file.

Loading skips the weights' initialisers (:func:`initializers_skipped`): the file's values
replace them anyway, and on jax each initialiser (glorot, orthogonal, ...) is a jit-compiled
random op whose lowering cost about 0.4 s of a cold ``tympan predict``
(``benchmarks/predict_latency.py``).  Keras has no option for that, so the context wraps the
backend's ``Variable._initialize_with_initializer`` (a Keras internal; ``tests/pipeline/
test_model_file.py`` fails if Keras changes it) while a load runs, and puts the original back
when the last load in the process ends.  The wrapper acts only in the threads inside the
context and only on floating-point variables, all of which a ``.keras`` file stores (Keras
refuses a file whose weights do not match the rebuilt model); the seed generators' integer
state, which the file does not store, is initialised as usual.  Where Keras has no such method,
nothing is wrapped and the initialisers run as before.
"""

from __future__ import annotations

import contextlib
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

from tympan.errors import ArtifactError

#: the Keras internal that :func:`initializers_skipped` wraps, on ``keras.src.backend.Variable``
PATCHED_METHOD = "_initialize_with_initializer"

_LOADING = threading.local()  # .depth > 0 while this thread is inside initializers_skipped
_LOCK = threading.Lock()
_users = 0  # threads inside initializers_skipped, all together
_saved: tuple[type, object] | None = None  # (Variable, its own attribute before wrapping, or None)


def _wrap(original):
    import numpy as np

    def initialize(self, initializer):
        if getattr(_LOADING, "depth", 0) > 0:
            try:
                dtype = np.dtype(self._dtype)
            except TypeError:  # e.g. bfloat16: no numpy dtype
                dtype = None
            if dtype is not None and dtype.kind == "f":
                return self._initialize(self._convert_to_tensor(np.zeros(self._shape, dtype)))
        return original(self, initializer)

    initialize.tympan_wraps = original
    return initialize


def _install() -> bool:
    """Wrap the method if no thread has (one more user); False where Keras has no such method."""
    global _users, _saved
    with _LOCK:
        if _users == 0:
            try:
                from keras.src.backend import Variable

                original = getattr(Variable, PATCHED_METHOD)
            except (ImportError, AttributeError):  # another Keras layout: nothing to skip
                return False
            _saved = (Variable, Variable.__dict__.get(PATCHED_METHOD))
            setattr(Variable, PATCHED_METHOD, _wrap(original))
        _users += 1
        return True


def _uninstall() -> None:
    """One user fewer; the last one puts Keras' own method back."""
    global _users, _saved
    with _LOCK:
        _users -= 1
        if _users == 0 and _saved is not None:
            variable, own = _saved
            if own is None:  # the method was inherited: remove the wrapper, inherit again
                delattr(variable, PATCHED_METHOD)
            else:
                setattr(variable, PATCHED_METHOD, own)
            _saved = None


@contextlib.contextmanager
def initializers_skipped() -> Iterator[bool]:
    """While ``keras.models.load_model`` rebuilds a saved model in this thread, create its
    floating-point variables as zeros instead of running their initialisers (see the module
    docs).  Yields whether the wrapper is in place (False: this Keras has no such method, the
    initialisers run).  Nested and concurrent uses are fine."""
    if not _install():
        yield False
        return
    _LOADING.depth = getattr(_LOADING, "depth", 0) + 1
    try:
        yield True
    finally:
        _LOADING.depth -= 1
        _uninstall()


def check_classes(file: Path) -> None:
    """Refuse, before Keras reads it, a ``model.keras`` whose ``config.json`` names a Lambda
    layer or a class from outside Keras and tympan (``"module": "os"``); safe mode refuses
    them too, with messages that name neither the file nor the reason."""
    try:
        with zipfile.ZipFile(file) as archive:
            config = json.loads(archive.read("config.json"))
    except RecursionError:
        raise ArtifactError(f"{file}: model.keras is corrupt (its config.json is nested too "
                            "deeply)") from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise ArtifactError(f"{file}: model.keras is corrupt (not a Keras archive: {exc})") from None
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        stack.extend(item.values())
        if "class_name" not in item:
            continue
        name, module = item["class_name"], item.get("module")
        registered = item.get("registered_name")
        if name == "Lambda":
            raise ArtifactError(f"{file}: refused to load a model with a Lambda layer (it would "
                                "run code stored in the file; tympan loads in Keras safe mode)")
        # "builtins" + "function": how Keras names its own functions (a loss, an activation),
        # looked up by name among Keras' modules and registered objects only
        trusted = module is None or (isinstance(module, str) and (
            module == "keras" or module.startswith(("keras.", "tympan."))
            or (module == "builtins" and name == "function")))
        if registered is not None and (not isinstance(registered, str)
                                       or (">" in registered and not registered.startswith("tympan>"))):
            trusted = False
        if not trusted:
            raise ArtifactError(f"{file}: refused to load class {name!r} from module {module!r} "
                                f"(registered as {registered!r}): only Keras and tympan classes "
                                "are loaded")


def load_model(file: Path):
    """``keras.models.load_model`` in safe mode, without running the initialisers
    (:func:`initializers_skipped`), every failure an ArtifactError naming ``file``: a damaged
    archive, a Lambda layer, a class outside Keras and tympan."""
    import keras

    import tympan.layers
    import tympan.models  # noqa: F401  (registers the tympan classes)

    try:
        # compile=False: predicting needs no optimizer, and the saved compile settings of one
        # backend (jit_compile under jax) would make another backend compile (torch.compile).
        with initializers_skipped():
            return keras.models.load_model(file, safe_mode=True, compile=False)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ArtifactError(f"{file}: model.keras is corrupt (not a Keras archive: {exc})") from None
    except Exception as exc:  # keras raises many types for a bad file
        message = " ".join(str(exc).split())
        if len(message) > 300:
            message = message[:297] + "..."
        raise ArtifactError(f"cannot load {file}: {type(exc).__name__}: {message}") from None


__all__ = ["PATCHED_METHOD", "check_classes", "initializers_skipped", "load_model"]
