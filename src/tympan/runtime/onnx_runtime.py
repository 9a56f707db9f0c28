"""The ONNX runtime: an artifact's ``model.onnx`` in onnxruntime, behind the pipeline's own
prediction code.

:func:`load_onnx_artifact` reads ``pipeline.json`` (checked against the schema, no Keras) and
opens ``model.onnx`` in an onnxruntime session wrapped as :class:`OnnxModel`, which answers
``predict_on_batch`` as a Keras model does.  The :class:`~tympan.pipeline.artifact.Artifact`
it returns goes through the task's own ``run`` (:func:`tympan.pipeline.predict`), so windows,
the combination, the signal checks, ``on_error`` and the results are those of the Keras
runtime; only the model call differs.  Nothing here imports Keras, jax or torch.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np

from tympan.artifact_files import MODEL_FILE, ONNX_FILE, PIPELINE_FILE
from tympan.errors import ArtifactError, MissingDependencyError, ParameterError
from tympan.export.onnx_export import file_sha256
from tympan.pipeline.artifact import Artifact, read_pipeline_json
from tympan.pipeline.config import PipelineConfig
from tympan.pipeline.predict import predict

#: the tasks whose predictions the ONNX runtime gives (``tympan.pipeline.predict``'s)
TASKS = ("classification", "tagging")
INSTALL = 'pip install "tympan[onnx]"'


class OnnxModel:
    """An onnxruntime session on ``model.onnx`` with the Keras model's ``predict_on_batch``
    (and ``predict``): a float32 ``(batch, samples)`` waveform in, the output array out."""

    #: onnxruntime runs any batch size without compiling, and pays per row: predict does not
    #: pad partial batches for it (tympan.pipeline.classify).
    compiles_per_shape = False

    def __init__(self, path: str | os.PathLike):
        if importlib.util.find_spec("onnxruntime") is None:
            raise MissingDependencyError(f"the onnx runtime needs onnxruntime, not installed: {INSTALL}")
        import onnxruntime as ort

        self.path = Path(path)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: no warnings on stderr
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph / ... types
            text = " ".join(str(exc).split())[:300]
            raise ArtifactError(f"cannot load {self.path} in onnxruntime: {text}") from None
        self.input_name = self.session.get_inputs()[0].name
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def predict_on_batch(self, x) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.asarray(x, dtype=np.float32)})[0]

    def predict(self, x, *, batch_size: int = 64, verbose: int = 0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return np.concatenate([self.predict_on_batch(x[i : i + batch_size])
                               for i in range(0, max(len(x), 1), batch_size)])


def _check_matches(model: OnnxModel, meta: dict, folder: Path) -> None:
    """``model.onnx`` must be the export of this artifact: same task, rate, clip length, labels
    (and as many outputs as labels), and
    (when ``model.keras`` is there) exported from that very file."""
    onnx_file = folder / ONNX_FILE
    m = model.metadata
    if not str(m.get("exported_by", "")).startswith("tympan"):
        raise ArtifactError(f"{onnx_file} was not written by tympan export (no tympan metadata in "
                            f"it): run `tympan export {folder} --overwrite`")
    samples = int(meta["input"]["shape"][0]) if "input" in meta else None
    labels = list(meta["labels"])
    if samples is not None and m.get("samples") != str(samples):
        raise ArtifactError(f"{onnx_file} takes {m.get('samples')} samples but {PIPELINE_FILE} says "
                            f"{samples}: it is not this artifact's export; run `tympan export {folder}`")
    if "labels" in m and json.loads(m["labels"]) != labels:
        raise ArtifactError(f"{onnx_file} has the labels {m['labels']} but {PIPELINE_FILE} has "
                            f"{labels}: it is not this artifact's export; run `tympan export {folder}`")
    audio = meta.get("audio", {})
    for key, value in (("task", meta["task"]), ("sr", audio.get("sr")), ("duration", audio.get("duration"))):
        if key in m and not _same(m[key], value):
            field = key if key == "task" else f"audio.{key}"
            raise ArtifactError(f"{onnx_file} was exported with {key} {m[key]} but {PIPELINE_FILE} has "
                                f"{field} {value}: it is not this artifact's export (was "
                                f"{PIPELINE_FILE} edited?); run `tympan export {folder} --overwrite`")
    width = model.session.get_outputs()[0].shape[-1]
    if isinstance(width, int) and width != len(labels):
        raise ArtifactError(f"{onnx_file} gives {width} outputs but {PIPELINE_FILE} lists {len(labels)} "
                            f"labels: labels do not match the model")
    keras_file = folder / MODEL_FILE
    wanted = m.get("source_model_sha256")
    if wanted and keras_file.is_file() and file_sha256(keras_file) != wanted:
        raise ArtifactError(f"{onnx_file} was exported from another {MODEL_FILE} than the one in "
                            f"{folder}: export it again (`tympan export {folder} --overwrite`)")


def _same(recorded: str, value) -> bool:
    """Whether the metadata text ``recorded`` says ``value`` (a number compared as one)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(recorded) == float(value)
        except ValueError:
            return False
    return recorded == str(value)


def load_onnx_artifact(run: str | os.PathLike) -> Artifact:
    """The artifact folder ``run`` with its ``model.onnx`` as the model (:class:`OnnxModel`).

    Errors (:class:`~tympan.errors.ArtifactError`, naming the folder): not an artifact, no
    ``model.onnx`` (run ``tympan export RUN`` first), a ``model.onnx`` that is not this
    artifact's export, a task the runtime does not predict (:data:`TASKS`).  No onnxruntime:
    :class:`~tympan.errors.MissingDependencyError`."""
    folder = Path(run)
    meta = read_pipeline_json(folder)
    if meta["task"] not in TASKS:
        raise ArtifactError(f"{folder} is a {meta['task']} model: the onnx runtime predicts "
                            f"{' and '.join(TASKS)} models only; use --runtime keras "
                            "(tympan.pipeline) for it")
    onnx_file = folder / ONNX_FILE
    if not onnx_file.is_file():
        raise ArtifactError(f"{folder} has no {ONNX_FILE}: run `tympan export {folder}` first "
                            "(the onnx runtime runs the exported model)")
    model = OnnxModel(onnx_file)
    _check_matches(model, meta, folder)
    config = PipelineConfig.from_dict({k: meta[k] for k in
                                       ("audio", "features", "model", "training", "windows")})
    info = {k: meta[k] for k in ("tympan_version", "keras_version", "backend", "created") if k in meta}
    return Artifact(model=model, config=config, labels=tuple(meta["labels"]),
                    metrics=meta.get("metrics", {}), split=meta.get("split", {}), info=info,
                    path=folder, task=meta["task"], adaptation=meta.get("adaptation", {}),
                    chosen=meta.get("chosen", {}))


def predict_onnx(run: Artifact | str | os.PathLike, source, **options) -> list:
    """:func:`tympan.pipeline.predict` through onnxruntime: ``run`` an artifact folder with a
    ``model.onnx`` (``tympan export RUN``) or an artifact from :func:`load_onnx_artifact`; the
    same arguments (``sr``, ``window_sec``, ``hop_sec``, ``combine``, ``batch_size``,
    ``on_error``), windows, checks, errors and results (a
    :class:`~tympan.pipeline.Prediction` per input; a tagger's
    :class:`~tympan.pipeline.TagPrediction`)."""
    artifact = run if isinstance(run, Artifact) else load_onnx_artifact(run)
    if not isinstance(artifact.model, OnnxModel):
        raise ParameterError("predict_onnx needs an artifact from load_onnx_artifact (its model is "
                             f"model.onnx), got one whose model is {type(artifact.model).__name__}")
    return predict(artifact, source, **options)


__all__ = ["INSTALL", "TASKS", "OnnxModel", "load_onnx_artifact", "predict_onnx"]
