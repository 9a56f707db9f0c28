"""The saved artifact: a folder with ``model.keras`` and ``pipeline.json`` (and history, and
``curves.png`` / ``confusion.png`` when matplotlib is installed).

``model.keras`` takes raw waveforms (feature layers and fitted normalisation inside);
``pipeline.json`` holds the schema version, library versions, the whole recipe, the labels, the
split and the metrics.  Writing is atomic (a temporary folder renamed into place); loading
refuses unknown schema versions and uses Keras safe mode.  No pickle anywhere.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tympan.errors import ArtifactError, MissingDependencyError
from tympan.pipeline.config import PipelineConfig

SCHEMA_VERSION = 1
MODEL_FILE, PIPELINE_FILE, HISTORY_FILE = "model.keras", "pipeline.json", "history.json"


@dataclass
class Artifact:
    """A trained pipeline: the Keras model plus everything needed to feed it."""

    model: Any  # keras.Model
    config: PipelineConfig
    labels: tuple[str, ...]
    metrics: dict = field(default_factory=dict)
    split: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # versions, backend, creation time
    path: Path | None = None
    task: str = "classification"  # "reconstruction" (autoencoder), "separation" (labels: sources)
    adaptation: dict = field(default_factory=dict)  # set by pipeline.adapt: the speaker's clips
    chosen: dict = field(default_factory=dict)  # defaults chosen from the data, and why

    def predict(self, source, **kwargs):
        """Shortcut for :func:`tympan.pipeline.predict`."""
        from tympan.pipeline.predict import predict

        return predict(self, source, **kwargs)

    def pipeline_json(self) -> dict[str, Any]:
        cfg = self.config.to_dict()
        return {
            "schema_version": SCHEMA_VERSION,
            **self.info,
            "task": self.task,
            "input": {"shape": [self.config.audio.samples], "dtype": "float32",
                      "layout": "(batch, samples) mono waveform in [-1, 1]"},
            "audio": cfg["audio"],
            "windows": self.config.windows.resolved(self.config.audio.duration).__dict__,
            "features": cfg["features"],
            "model": cfg["model"],
            "training": cfg["training"],
            "labels": list(self.labels),
            "split": self.split,
            "metrics": self.metrics,
            **({"chosen": self.chosen} if self.chosen else {}),
            **({"adaptation": self.adaptation} if self.adaptation else {}),
        }


def runtime_info() -> dict[str, str]:
    import keras

    from tympan import __version__

    return {"tympan_version": __version__, "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def check_destination(path, *, overwrite: bool = False) -> Path:
    """Refuse to write over anything that is not a tympan artifact, or over one unless asked."""
    dest = Path(path)
    if dest.exists():
        if not dest.is_dir() or not (dest / PIPELINE_FILE).is_file():
            if dest.is_dir() and not any(dest.iterdir()):
                return dest
            raise ArtifactError(f"{dest} exists and is not a tympan artifact; choose another --out")
        if not overwrite:
            raise ArtifactError(f"{dest} already holds an artifact; pass overwrite=True "
                                "(--overwrite) to replace it")
    return dest


def save_artifact(artifact: Artifact, path, *, overwrite: bool = False) -> Path:
    """Write ``artifact`` to the folder ``path`` atomically and return the path.

    With matplotlib installed the folder also gets ``curves.png`` (training curves) and, for a
    classifier with a test set, ``confusion.png``.
    """
    dest = check_destination(path, overwrite=overwrite)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        artifact.model.save(tmp / MODEL_FILE)
        (tmp / PIPELINE_FILE).write_text(json.dumps(artifact.pipeline_json(), indent=2) + "\n")
        (tmp / HISTORY_FILE).write_text(json.dumps(artifact.history, indent=2) + "\n")
        _write_figures(tmp, artifact)
        old = None
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{os.getpid()}"
            os.rename(dest, old)
        os.rename(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    artifact.path = dest
    return dest


def _write_figures(folder: Path, artifact: Artifact) -> None:
    """``curves.png`` and ``confusion.png`` (:func:`tympan.plot.save_run_figures`) when
    matplotlib is installed.  Drawing never fails a save: an error only warns."""
    try:
        from tympan.plot import save_run_figures

        save_run_figures(folder, history=artifact.history, metrics=artifact.metrics)
    except MissingDependencyError:
        return
    except Exception as exc:  # a figure is a convenience: never lose a trained model over it
        warnings.warn(f"the training figures were not drawn ({type(exc).__name__}: {exc}); the "
                      "artifact is saved without them", RuntimeWarning, stacklevel=3)


def read_pipeline_json(path) -> dict[str, Any]:
    folder = Path(path)
    if not folder.exists():
        raise ArtifactError(f"no artifact at {folder}: the folder does not exist")
    file = folder / PIPELINE_FILE
    if not folder.is_dir() or not file.is_file():
        raise ArtifactError(f"{folder} is not a tympan artifact: {PIPELINE_FILE} is missing")
    try:
        meta = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {file}: {exc}") from exc
    version = meta.get("schema_version") if isinstance(meta, dict) else None
    if not isinstance(version, int):
        raise ArtifactError(f"{file} has no integer schema_version; not a tympan artifact")
    if version > SCHEMA_VERSION:
        raise ArtifactError(
            f"{file} has schema_version {version}, newer than this tympan understands "
            f"({SCHEMA_VERSION}); upgrade tympan to load it")
    if version < 1:
        raise ArtifactError(f"{file} has an unknown schema_version {version}")
    return meta


_LOADING = threading.local()  # .depth > 0 while this thread runs load_model
_PATCH_LOCK = threading.Lock()
_PATCHED = False


def _install_zero_initialization() -> bool:
    """Wrap the Keras backend's ``Variable._initialize_with_initializer`` once: while the
    calling thread is inside :func:`_zeros_instead_of_initializers`, floating-point variables
    are created as zeros; otherwise, and for every other dtype (the seed generators' integer
    state, which a ``.keras`` file does not store), the initialiser runs as before.  Returns
    False when this Keras has no such method (then nothing is changed)."""
    global _PATCHED
    with _PATCH_LOCK:
        if _PATCHED:
            return True
        try:
            from keras.src.backend import Variable
            original = Variable._initialize_with_initializer
        except (ImportError, AttributeError):  # pragma: no cover - another Keras layout
            return False
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

        Variable._initialize_with_initializer = initialize
        _PATCHED = True
        return True


@contextlib.contextmanager
def _zeros_instead_of_initializers():
    """While ``load_model`` rebuilds a saved model in this thread, create its floating-point
    variables as zeros instead of running their initialisers: the file's values replace them.

    On jax each initialiser (glorot, orthogonal, ...) is a jit-compiled random op, and lowering
    them cost about 0.4 s of a cold ``tympan predict`` (``benchmarks/predict_latency.py``).
    This reaches into Keras internals (:func:`_install_zero_initialization`); if they change,
    the initialisers run as before.  Only this thread is affected, and only floating-point
    weights, all of which a ``.keras`` file stores (Keras refuses a file whose weights do not
    match the rebuilt model); the seed generators' state is initialised as usual.
    """
    if not _install_zero_initialization():  # pragma: no cover - another Keras layout
        yield
        return
    _LOADING.depth = getattr(_LOADING, "depth", 0) + 1
    try:
        yield
    finally:
        _LOADING.depth -= 1


def load_artifact(path) -> Artifact:
    """Load an artifact folder written by :func:`save_artifact` (Keras safe mode)."""
    meta = read_pipeline_json(path)
    folder = Path(path)
    if not (folder / MODEL_FILE).is_file():
        raise ArtifactError(f"{folder} is not a complete artifact: {MODEL_FILE} is missing")
    import keras

    import tympan.layers
    import tympan.models  # noqa: F401

    try:
        # compile=False: predicting needs no optimizer, and the saved compile settings of one
        # backend (jit_compile under jax) would make another backend compile (torch.compile).
        with _zeros_instead_of_initializers():
            model = keras.models.load_model(folder / MODEL_FILE, safe_mode=True, compile=False)
    except Exception as exc:  # keras raises many types for a bad file
        raise ArtifactError(f"cannot load {folder / MODEL_FILE}: {exc}") from exc
    config = PipelineConfig.from_dict({k: meta[k] for k in
                                       ("audio", "features", "model", "training", "windows")
                                       if k in meta})
    history = {}
    if (folder / HISTORY_FILE).is_file():
        history = json.loads((folder / HISTORY_FILE).read_text())
    info = {k: meta[k] for k in ("tympan_version", "keras_version", "backend", "created") if k in meta}
    task = meta.get("task", "classification")
    if task not in ("classification", "reconstruction", "separation"):
        raise ArtifactError(f"{folder / PIPELINE_FILE} has an unknown task {task!r}")
    return Artifact(model=model, config=config, labels=tuple(meta["labels"]),
                    metrics=meta.get("metrics", {}), split=meta.get("split", {}),
                    history=history, info=info, path=folder, task=task,
                    adaptation=meta.get("adaptation", {}), chosen=meta.get("chosen", {}))
