"""The files of an artifact folder, by name: the layout :mod:`tympan.pipeline.artifact` writes
and :mod:`tympan.plot` reads (a run folder's history and test metrics).  Names only, so that
both can import them without importing each other.
"""

#: the Keras model, waveforms in (feature layers and fitted normalisation inside)
MODEL_FILE = "model.keras"
#: the recipe, labels, split and metrics (:mod:`tympan.pipeline.schema`)
PIPELINE_FILE = "pipeline.json"
#: the training history, one list per metric
HISTORY_FILE = "history.json"
#: the figures :func:`tympan.plot.save_run_figures` draws into the folder: training curves, and
#: the test confusion matrix of a classifier
CURVES_FILE, CONFUSION_FILE = "curves.png", "confusion.png"
FIGURE_FILES = (CURVES_FILE, CONFUSION_FILE)
#: the model exported by ``tympan export`` (:mod:`tympan.export`); a save does not write it, so a
#: new save over the folder drops the old one, which no longer matches ``model.keras``
ONNX_FILE = "model.onnx"
#: every file tympan writes in an artifact folder: the only ones a save replaces (or, when the
#: new artifact has no such file, removes)
ARTIFACT_FILES = (MODEL_FILE, PIPELINE_FILE, HISTORY_FILE, *FIGURE_FILES, ONNX_FILE)

__all__ = ["ARTIFACT_FILES", "CONFUSION_FILE", "CURVES_FILE", "FIGURE_FILES", "HISTORY_FILE", "MODEL_FILE",
           "ONNX_FILE", "PIPELINE_FILE"]
