"""Lean runtimes: predict from an artifact without Keras, jax or torch in the process.

``predict_onnx(run, source)`` runs ``run/model.onnx`` (written by ``tympan export RUN``) in
onnxruntime, with soundfile and soxr reading the audio, and gives what
:func:`tympan.pipeline.predict` gives: the same windows, combination, signal checks, errors and
:class:`~tympan.pipeline.Prediction` objects.  ``tympan predict RUN FILES --runtime onnx``
is its command.
"""

from tympan.runtime.onnx_runtime import OnnxModel, load_onnx_artifact, predict_onnx

__all__ = ["OnnxModel", "load_onnx_artifact", "predict_onnx"]
