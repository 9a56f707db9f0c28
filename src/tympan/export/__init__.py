"""Shipping a trained artifact outside tympan: :func:`export_onnx` writes its whole model,
feature layers included, as one ONNX file that onnxruntime runs on raw waveforms
(``tympan export RUN``; docs/serving.md).  Importing this package imports neither Keras nor
torch."""

from tympan.export.onnx_export import ONNX_FILE, TOLERANCE, OnnxExport, export_onnx

__all__ = ["ONNX_FILE", "TOLERANCE", "OnnxExport", "export_onnx"]
