"""Predict from audio, never from features: a file, a folder, a list of files or an array.

Every input is brought to the training pipeline (sample rate, mono, clip length); inputs longer
than the training clip are cut into windows whose predictions form a timeline and are combined
into one file-level decision.

Files are read in blocks (:func:`tympan.io.stream`, resampled as a stream) and their windows go
through the model ``batch_size`` at a time, batches shared across files, so memory does not grow
with a file's length or the number of files.  With ``on_error="skip"`` an unreadable file gives
a :class:`Prediction` that carries its ``error`` and the others are still predicted.

Every input is checked by the policy of :mod:`tympan.signal_checks` as it is read
(:mod:`tympan.pipeline.inputs`): no audio and non-finite samples are errors naming the file;
a silent input (digital silence, DC), one shorter than the model's analysis window and one
beyond full scale are predicted, with an :class:`~tympan.errors.InputWarning`, and their
:attr:`Prediction.flags` say so.

The work is the classification task's (:data:`tympan.pipeline.classify.CLASSIFICATION`,
:meth:`~tympan.pipeline.classify.ClassificationTask.run`); this is its public face.
"""

from __future__ import annotations

import os

from tympan.pipeline.artifact import Artifact, load_artifact
from tympan.pipeline.classify import CLASSIFICATION, ON_ERROR, Prediction, Segment
from tympan.pipeline.task import labels_task


def predict(
    artifact: Artifact | str | os.PathLike,
    source,
    *,
    sr: int | None = None,
    window_sec: float | None = None,
    hop_sec: float | None = None,
    combine: str | None = None,
    batch_size: int = 64,
    on_error: str = "raise",
) -> list[Prediction]:
    """Predict labels for ``source``: a path, a folder (recursively, with
    :func:`tympan.data.audio_files`), a list of those, or an array (``sr=`` required;
    ``(samples,)`` or ``(channels, samples)``).  One :class:`Prediction` per input file or
    array, in order.

    Any sample rate, channel count and length is accepted.  Windowing defaults come from the
    artifact (``window_sec`` = clip duration, ``hop_sec`` = half of it) and may be overridden.
    Files are streamed: at most ``batch_size`` windows and a block of samples are held at a
    time, so an hour-long file needs about the memory of a short one.

    on_error ``"raise"``: the first file that cannot be read (missing, empty, corrupt,
    truncated, a format libsndfile does not decode) raises its AudioIOError, which names the
    file and the cause.  ``"skip"``: every readable file is predicted and each unreadable one
    gives a Prediction with ``error`` set (``ok`` False).  Bad arguments (an array with NaN, a
    folder without audio files) raise ParameterError whatever ``on_error`` says.

    A tagger (task ``"tagging"``, :mod:`tympan.pipeline.tagging`) gives a
    :class:`~tympan.pipeline.tagging.TagPrediction` per input instead: the ``labels`` at or
    above their thresholds and every tag's probability (windows averaged).
    """
    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    task = labels_task(artifact, CLASSIFICATION)  # a tagger's own task (registered by the package)
    return task.run(artifact, source, sr=sr, window_sec=window_sec, hop_sec=hop_sec,
                    combine=combine, batch_size=batch_size, on_error=on_error)


__all__ = ["ON_ERROR", "Prediction", "Segment", "predict"]
