"""Speaker (group) normalisation: train with every speaker's features normalised by that
speaker's own statistics, and adapt a trained model to a new speaker from their clips.

Every tympan model normalises its features with one ``feature_norm`` layer (a per-feature
mean and standard deviation).  By default (``TrainConfig.feature_norm="dataset"``) it holds the
statistics of all training clips together.  With ``feature_norm="group"``:

* in training, each group's (speaker's) features are standardised with that group's own mean
  and standard deviation, so the network learns what varies *within* a speaker (emotion, the
  word) rather than what tells speakers apart (vocal tract, microphone, habitual loudness);
* to predict for a new speaker, the ``feature_norm`` is first set to that speaker's statistics,
  taken from a few of their recordings, labels not needed: :func:`adapt` writes a copy of the
  artifact adapted to them (``tympan adapt RUN CLIPS... --out RUN_SPEAKER``).  Evaluation and
  cross-validation adapt to each test speaker the same way, from the test speaker's own clips.

This is the per-speaker feature normalisation of the speech emotion literature.  It needs
unlabelled audio of the speaker before predicting (an enrolment), which is a different, easier
protocol than a model that has never heard the speaker: results say which one they used.

The mechanism (statistics, training and predicting per group) is in
:mod:`tympan.pipeline.group_norm`; this module holds the step the driver offers to a task that
supports it (``"adapt"`` in :attr:`tympan.pipeline.task.Task.supports`: classification).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from tympan import data as tdata
from tympan.errors import ParameterError
from tympan.pipeline import driver
from tympan.pipeline.artifact import Artifact, check_destination, load_artifact
from tympan.pipeline.config import FEATURE_NORMS
from tympan.pipeline.group_norm import (
    MIN_CLIPS_PER_VECTOR,
    adaptable_models,
    fit_group_normalized,
    predict_per_group,
)
from tympan.pipeline.self_training import check_self_training, self_train_on_dataset
from tympan.pipeline.sources import sources
from tympan.pipeline.task import get_task

#: the driver's step this module gives a task that lists it in ``Task.supports``
STEP = "adapt"


def adapt(artifact, source, *, out=None, overwrite: bool = False, on_error: str = "raise",
          progress: bool = False, self_training: int = 0, training_data=None,
          discovery: dict | None = None) -> Artifact:
    """A copy of ``artifact`` adapted to one speaker: its ``feature_norm`` set to the feature
    statistics of ``source`` (a file, a folder, a list of paths), that speaker's recordings,
    no labels needed.

    The clips are read and fitted to the training duration as in training.  Meant for models
    trained with ``feature_norm="group"``; on others it is test-time feature normalisation,
    which may or may not help (evaluate it).  A dozen clips or more give stable statistics.
    The original artifact is never changed; with ``out`` the adapted one is saved there
    (atomically; an existing artifact is replaced only with ``overwrite``).  Adapting an
    adapted artifact starts again from the new clips (the statistics are replaced, not mixed).

    With ``self_training=N`` (models trained with ``feature_norm="group"``) the layers after
    ``feature_norm`` are also fine-tuned, N rounds, on the labelled ``training_data`` (a
    dataset, or a folder found with ``discovery`` as in :func:`tympan.pipeline.train`; its
    clips need groups; files identical to the speaker's clips are left out of it) plus the
    speaker's clips the model labels with a probability of at least the artifact's
    ``pseudo_label_threshold``
    (:func:`tympan.pipeline.self_training.self_train_on_dataset`).  Those weights do not go
    back: a self-trained artifact is not self-trained again (adapt the original instead).
    """
    import keras

    from tympan import models

    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    if STEP not in get_task(artifact.task).supports:
        raise ParameterError(f"adapt works on classifiers; this artifact is a {artifact.task} model")
    targets = adaptable_models(artifact.model)
    if self_training:
        check_self_training(artifact, self_training, training_data)
    elif training_data is not None:
        raise ParameterError("training_data (--training-data) is only used for self-training: "
                             "give self_training=N (--self-training N) as well, or leave it out")
    if out is not None:
        if artifact.path is not None and Path(out).resolve() == Path(artifact.path).resolve():
            raise ParameterError(f"--out {out} is the artifact being adapted: write the adapted "
                                 "copy to another folder (the original keeps the training "
                                 "speakers' statistics)")
        check_destination(out, overwrite=overwrite)
    items = source if isinstance(source, (list, tuple)) else [source]
    if any(isinstance(x, np.ndarray) for x in items):
        raise ParameterError("adapt reads the speaker's recordings from files: pass a file, a "
                             "folder or a list of paths")
    files = [path for _, path, _ in sources(source, None)]
    audio = artifact.config.audio
    X, kept = tdata.load_clips(files, sr=audio.sr, duration=audio.duration, pad=audio.pad,
                               crop=audio.crop, on_error=on_error, progress=progress)
    if (len(kept) < MIN_CLIPS_PER_VECTOR
            and len(models.feature_model(targets[0]).output.shape) == 2):
        raise ParameterError(f"adapting this model needs at least {MIN_CLIPS_PER_VECTOR} clips "
                             f"(its features are one vector per clip), got {len(kept)}")
    model = keras.models.clone_model(artifact.model)
    model.set_weights(artifact.model.get_weights())
    adaptation = {"clips": len(kept), "files": [Path(files[i]).name for i in kept[:50]],
                  "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    if self_training:
        adaptation["self_training"] = self_train_on_dataset(
            adaptable_models(model), artifact, X, [files[i] for i in kept], rounds=self_training,
            training_data=training_data, discovery=discovery, on_error=on_error,
            progress=progress)
    for target in adaptable_models(model):  # each member of an ensemble
        models.adapt_normalization(target, X)
    adapted = Artifact(model=model, config=artifact.config, labels=artifact.labels,
                       metrics=artifact.metrics, split=artifact.split, history=artifact.history,
                       info=artifact.info, task=artifact.task, adaptation=adaptation)
    return driver.save(adapted, out, overwrite=overwrite)


__all__ = ["FEATURE_NORMS", "MIN_CLIPS_PER_VECTOR", "adapt", "adaptable_models",
           "fit_group_normalized", "predict_per_group"]
