"""The saved artifact: a folder with ``model.keras`` and ``pipeline.json`` (and history, and
``curves.png`` / ``confusion.png`` when matplotlib is installed).

``model.keras`` takes raw waveforms (feature layers and fitted normalisation inside);
``pipeline.json`` holds the schema version, library versions, the whole recipe, the labels, the
split and the metrics.  No pickle anywhere.

Writing (:func:`save_artifact`) replaces a folder only when it is a tympan artifact (its
``pipeline.json`` passes the schema), and then only the files tympan writes
(:data:`ARTIFACT_FILES`): a user's notes or results in the folder are kept.  The new folder is
written beside the old one and swapped in one step (:mod:`tympan.pipeline.folder_swap`), so
the path always holds a complete artifact (the figures, drawn by :mod:`tympan.plot`, come in
the same step); a copy hidden by an interrupted save is recovered by the next load or save,
and the hidden folders a killed save left are cleared by it.

Loading (:func:`load_artifact`) checks ``pipeline.json`` against the schema
(:mod:`tympan.pipeline.schema`) before anything else, loads ``model.keras`` in Keras safe mode
(no Lambda layers, only Keras and tympan classes: :mod:`tympan.pipeline.model_file`), then
checks that the model's input and outputs match the audio settings and labels.  A
``history.json`` that cannot be read only warns: the history is a convenience, the model does
not depend on it.
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tympan.artifact_files import ARTIFACT_FILES, FIGURE_FILES, HISTORY_FILE, MODEL_FILE, PIPELINE_FILE
from tympan.errors import ArtifactError, InputWarning, MissingDependencyError
from tympan.pipeline import folder_swap, schema
from tympan.pipeline.config import PipelineConfig
from tympan.pipeline.model_file import check_classes, load_model
from tympan.pipeline.schema import SCHEMA_VERSION
from tympan.pipeline.task import get_task
from tympan.plot.training import save_run_figures


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
        """Apply the model to ``source``: ``run`` of the artifact's registered task
        (:func:`tympan.pipeline.task.get_task`; for a classifier, :func:`tympan.pipeline.predict`).
        The task modules register themselves, so this module, which every task builds on,
        imports none of them."""
        return get_task(self.task).run(self, source, **kwargs)

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
    """Refuse to write over anything that is not a tympan artifact (a folder whose
    ``pipeline.json`` passes the schema), or over one unless asked.  An empty folder is fine."""
    dest = Path(path)
    folder_swap.recover(dest, accept=_is_artifact)
    folder_swap.remove_stale(dest, owned=ARTIFACT_FILES)
    if not dest.exists():
        return dest
    if dest.is_dir() and not any(dest.iterdir()):
        return dest
    if not dest.is_dir():
        raise ArtifactError(f"{dest} exists and is not a tympan artifact (not a folder); choose "
                            "another --out")
    if not (dest / PIPELINE_FILE).is_file():
        raise ArtifactError(f"{dest} exists and is not a tympan artifact (no {PIPELINE_FILE}); "
                            "choose another --out")
    try:
        read_pipeline_json(dest)
    except ArtifactError as exc:
        raise ArtifactError(f"{dest} is not a tympan artifact ({exc}); nothing there is replaced: "
                            "choose another --out") from None
    if not overwrite:
        raise ArtifactError(f"{dest} already holds an artifact; pass overwrite=True "
                            "(--overwrite) to replace it")
    return dest


def save_artifact(artifact: Artifact, path, *, overwrite: bool = False) -> Path:
    """Write ``artifact`` to the folder ``path`` atomically and return the path.

    An existing artifact there is replaced only with ``overwrite=True``, and then only the
    files tympan writes (:data:`ARTIFACT_FILES`); any other file or folder in it is kept.  With
    matplotlib installed the folder also gets ``curves.png`` (training curves) and, for a
    classifier with a test set, ``confusion.png``.
    """
    dest = check_destination(path, overwrite=overwrite)

    def fill(folder: Path) -> None:
        artifact.model.save(folder / MODEL_FILE)
        (folder / PIPELINE_FILE).write_text(json.dumps(artifact.pipeline_json(), indent=2) + "\n")
        (folder / HISTORY_FILE).write_text(json.dumps(artifact.history, indent=2) + "\n")
        _write_figures(folder, artifact)

    try:
        folder_swap.replace_folder(dest, fill, owned=ARTIFACT_FILES)
    except OSError as exc:  # disk full, no permission, ...
        raise ArtifactError(f"cannot write the artifact {dest}: {exc}") from exc
    artifact.path = dest
    return dest


def _is_artifact(folder: Path) -> bool:
    try:
        read_pipeline_json(folder, recover=False)
    except ArtifactError:
        return False
    return True


def _write_figures(folder: Path, artifact: Artifact) -> None:
    """``curves.png`` and ``confusion.png`` (:func:`tympan.plot.save_run_figures`) when
    matplotlib is installed.  Drawing never fails a save: an error only warns."""
    try:
        save_run_figures(folder, history=artifact.history, metrics=artifact.metrics)
    except MissingDependencyError:
        return
    except Exception as exc:  # a figure is a convenience: never lose a trained model over it
        warnings.warn(f"the training figures were not drawn ({type(exc).__name__}: {exc}); the "
                      "artifact is saved without them", RuntimeWarning, stacklevel=3)


def read_pipeline_json(path, *, recover: bool = True) -> dict[str, Any]:
    """The ``pipeline.json`` of the artifact folder ``path``, checked against the schema
    (:func:`tympan.pipeline.schema.validate_pipeline`; no Keras is imported).  A folder
    missing after an interrupted save is first recovered from its hidden copy (a warning)."""
    folder = Path(path)
    if recover:
        folder_swap.recover(folder, accept=_is_artifact)
        folder_swap.remove_stale(folder, owned=ARTIFACT_FILES)
    if not folder.exists():
        raise ArtifactError(f"no artifact at {folder}: the folder does not exist")
    file = folder / PIPELINE_FILE
    if not folder.is_dir() or not file.is_file():
        raise ArtifactError(f"{folder} is not a tympan artifact: {PIPELINE_FILE} is missing")
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except RecursionError:
        raise ArtifactError(f"cannot read {file}: its JSON is nested too deeply") from None
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ArtifactError(f"cannot read {file}: {exc}") from None
    return schema.validate_pipeline(meta, file)


def read_history(folder) -> dict:
    """``history.json`` of the artifact ``folder`` (``{}`` when absent).  One that cannot be
    read or does not hold a dict of lists only warns (:class:`~tympan.errors.InputWarning`)
    and gives ``{}``: the history is a convenience, not needed to predict."""
    file = Path(folder) / HISTORY_FILE
    if not file.is_file():
        return {}
    try:
        history = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        problem = "its JSON is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
    else:
        if isinstance(history, dict) and all(isinstance(k, str) and isinstance(x, list)
                                             for k, x in history.items()):
            return history
        problem = f"it holds {type(history).__name__}, not a dict of lists"
    warnings.warn(f"ignored {file}: {problem}; the artifact loads without its training history",
                  InputWarning, stacklevel=3)
    return {}


def load_artifact(path) -> Artifact:
    """Load an artifact folder written by :func:`save_artifact`: ``pipeline.json`` checked
    against the schema first, then ``model.keras`` in Keras safe mode, then the model checked
    against the audio settings and labels.  Every failure is an
    :class:`~tympan.errors.ArtifactError` naming the file."""
    meta = read_pipeline_json(path)
    folder = Path(path)
    schema.validate_recipe(meta, folder / PIPELINE_FILE)
    model_file = folder / MODEL_FILE
    if not model_file.is_file():
        raise ArtifactError(f"{folder} is not a complete artifact: {MODEL_FILE} is missing")
    check_classes(model_file)  # also refuses a file that is not a zip archive
    model = load_model(model_file)
    schema.validate_model(model, meta, folder / PIPELINE_FILE)
    config = PipelineConfig.from_dict({k: meta[k] for k in
                                       ("audio", "features", "model", "training", "windows")})
    info = {k: meta[k] for k in ("tympan_version", "keras_version", "backend", "created") if k in meta}
    return Artifact(model=model, config=config, labels=tuple(meta["labels"]),
                    metrics=meta.get("metrics", {}), split=meta.get("split", {}),
                    history=read_history(folder), info=info, path=folder, task=meta["task"],
                    adaptation=meta.get("adaptation", {}), chosen=meta.get("chosen", {}))


__all__ = ["ARTIFACT_FILES", "FIGURE_FILES", "HISTORY_FILE", "MODEL_FILE", "PIPELINE_FILE", "SCHEMA_VERSION",
           "Artifact", "check_destination", "load_artifact", "read_history", "read_pipeline_json",
           "runtime_info", "save_artifact"]
