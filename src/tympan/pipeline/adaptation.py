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

Training precomputes the features when the layers before ``feature_norm`` are deterministic,
and otherwise (waveform augmentation, time stretch, mel warp) computes them batch by batch in
training mode, so augmentation is kept.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

import numpy as np

from tympan import data as tdata
from tympan.errors import ParameterError
from tympan.pipeline.artifact import Artifact, check_destination, load_artifact, save_artifact
from tympan.pipeline.config import FEATURE_NORMS


def _standardize(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """What ``keras.layers.Normalization`` computes: ``(x - mean) / max(std, epsilon)``."""
    import keras

    return ((features - mean) / np.maximum(std, keras.config.epsilon())).astype("float32")


def _statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and (population) standard deviation over examples and frames, in
    float64, of features already computed (:func:`tympan.models.feature_statistics` computes
    the same batch by batch from waveforms)."""
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    return flat.mean(axis=0), flat.std(axis=0)


def _group_statistics(features: np.ndarray, groups: np.ndarray) -> dict:
    """Each group's :func:`_statistics` over its own rows of ``features``."""
    return {g: _statistics(features[groups == g]) for g in np.unique(groups)}


def _normalize_per_group(features: np.ndarray, groups: np.ndarray, stats: dict | None = None
                         ) -> np.ndarray:
    """``features`` with each group's rows standardised by that group's own statistics
    (``stats`` from :func:`_group_statistics`, computed here when not given)."""
    stats = _group_statistics(features, groups) if stats is None else stats
    normalized = np.empty(features.shape, dtype="float32")
    for g, (mean, std) in stats.items():
        normalized[groups == g] = _standardize(features[groups == g], mean, std)
    return normalized


def _split(model):
    """``(features, body)``: the sub-models before and after ``model``'s ``feature_norm``
    (sharing its layers), so features can be normalised outside the model."""
    import keras

    from tympan import models

    layer = models.blocks.normalization_layer(model)
    return (models.feature_model(model),
            keras.Model(layer.output, model.output, name=f"{model.name}_after_norm"))


def _has_augmentation(features) -> bool:
    from tympan.layers.augmentation import AUGMENTATION_LAYERS

    return any(isinstance(layer, AUGMENTATION_LAYERS) for layer in features.layers)


def _training_mode(features):
    """A model that runs ``features`` in training mode (augmentation on) through the compiled
    ``predict_on_batch`` path: calling the layers eagerly, op by op, is about 100 times slower
    on jax.  The random layers' seed state advances from call to call."""
    import keras

    class TrainingMode(keras.layers.Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, inputs):
            return self.inner(inputs, training=True)

    inputs = keras.Input(features.input.shape[1:], name="waveform")
    return keras.Model(inputs, TrainingMode(features)(inputs), name="features_training_mode")


def _batches(features, X, y, groups, stats, *, batch_size: int, seed: int, class_weight):
    """A ``keras.utils.PyDataset`` of group-normalised features computed in training mode
    (augmentation on), reshuffled every epoch."""
    import keras

    augmenting = _training_mode(features)
    mean = np.stack([stats[g][0] for g in groups])
    std = np.stack([stats[g][1] for g in groups])

    class GroupNormalizedBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(X))

        def __len__(self):
            return math.ceil(len(X) / batch_size)

        def __getitem__(self, i):
            sel = self.order[i * batch_size : (i + 1) * batch_size]
            f = np.asarray(augmenting.predict_on_batch(X[sel]))
            shape = (len(sel),) + (1,) * (f.ndim - 2) + (f.shape[-1],)
            out = (_standardize(f, mean[sel].reshape(shape), std[sel].reshape(shape)), y[sel])
            if class_weight:
                out = (*out, np.array([class_weight[int(c)] for c in y[sel]], dtype="float32"))
            return out

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(X))

    return GroupNormalizedBatches()


def fit_group_normalized(model, compile_args: dict, X_train, y_train, g_train, X_val=None,
                         y_val=None, g_val=None, *, epochs: int, batch_size: int, seed: int,
                         callbacks=(), class_weight=None, verbose=1) -> dict:
    """Fit ``model`` with every group's features standardised by that group's statistics.

    The layers after ``feature_norm`` are trained as a sub-model on normalised features (they
    share their weights with ``model``).  A group's statistics come from all its clips in the
    training and validation parts (labels are not used).  Afterwards ``model``'s
    ``feature_norm`` holds the statistics of all those clips together, the starting point
    that :func:`adapt` replaces with a speaker's own.  Returns the Keras history dict.
    """

    from tympan import models

    features, body = _split(model)
    has_val = X_val is not None and len(X_val) > 0
    X_all = np.concatenate([X_train, X_val]) if has_val else X_train
    g_all = np.concatenate([g_train, g_val]) if has_val else np.asarray(g_train)
    # the features of every clip, computed once: the statistics and the inputs come from them
    F = np.asarray(features.predict(X_all, batch_size=256, verbose=0))
    stats = _group_statistics(F, g_all)
    normalized = _normalize_per_group(F, g_all, stats)
    n = len(X_train)

    body.compile(**compile_args)
    validation = (normalized[n:], y_val) if has_val else None
    if _has_augmentation(features):
        train_data = _batches(features, X_train, y_train, np.asarray(g_train), stats,
                              batch_size=batch_size, seed=seed, class_weight=class_weight)
        hist = body.fit(train_data, validation_data=validation, epochs=epochs,
                        callbacks=list(callbacks), verbose=verbose)
    else:
        hist = body.fit(normalized[:n], y_train, validation_data=validation,
                        epochs=epochs, batch_size=batch_size, shuffle=True,
                        callbacks=list(callbacks), class_weight=class_weight, verbose=verbose)
    models.set_normalization(model, *_statistics(F))
    return {k: [float(x) for x in vals] for k, vals in hist.history.items()}


#: fewest clips to adapt a model whose normalised features are one vector per clip (with one
#: clip every standard deviation is 0 and every other clip would be divided by epsilon)
MIN_CLIPS_PER_VECTOR = 2


def adaptable_models(model) -> list:
    """The models whose ``feature_norm`` is adapted: each member of an ensemble
    (``TrainConfig.ensemble``, members nested as ``member0``, ``member1``, ...), else ``model``
    itself; a clear error when one of them has no ``feature_norm`` layer (the autoencoder, the
    separator)."""
    import keras

    from tympan import models

    members = [layer for layer in model.layers
               if isinstance(layer, keras.Model) and models.is_member_name(layer.name)]
    targets = members or [model]
    for target in targets:
        try:
            models.blocks.normalization_layer(target)
        except ParameterError:
            raise ParameterError(f"model {target.name!r} has no feature_norm layer to adapt to "
                                 "a speaker") from None
    return targets


def _check_groups(groups, n: int) -> np.ndarray:
    groups = np.asarray(groups, dtype=object)
    if groups.ndim != 1 or len(groups) != n:
        raise ParameterError(f"groups must give one group per clip: {n} clips, got groups of "
                             f"shape {groups.shape}")
    if any(g is None for g in groups):
        raise ParameterError("every clip needs a group (speaker) to be adapted per group; "
                             "some have None")
    return groups.astype(str)


def predict_per_group(model, X, groups, *, batch_size: int = 128) -> np.ndarray:
    """``model``'s outputs for ``X`` with the features of each group's clips normalised by the
    statistics of that group's clips in ``X`` (each test speaker adapted on their own clips).
    The features are computed once per model; the model itself is not changed.  For an
    ensemble, each member is adapted this way and their probabilities averaged (as the
    ensemble's own ``Average`` does)."""
    members = adaptable_models(model)
    groups = _check_groups(groups, len(X))
    if len(members) > 1:
        return np.mean([_predict_per_group(m, X, groups, batch_size) for m in members], axis=0)
    return _predict_per_group(model, X, groups, batch_size)


def _check_group_sizes(features, groups: np.ndarray) -> None:
    """Refuse groups too small to normalise when the features are one vector per clip."""
    if len(features.output.shape) == 2:  # one vector per clip: a spread needs several clips
        sizes = {g: int(np.sum(groups == g)) for g in np.unique(groups)}
        small = sorted(g for g, n in sizes.items() if n < MIN_CLIPS_PER_VECTOR)
        if small:
            raise ParameterError(f"group(s) {', '.join(map(repr, small))} have fewer than "
                                 f"{MIN_CLIPS_PER_VECTOR} clips: this model's features are one "
                                 "vector per clip, whose spread needs several clips")


def _predict_per_group(model, X, groups: np.ndarray, batch_size: int) -> np.ndarray:
    features, body = _split(model)
    _check_group_sizes(features, groups)
    F = np.asarray(features.predict(X, batch_size=batch_size, verbose=0))
    normalized = _normalize_per_group(F, groups)
    return np.asarray(body.predict(normalized, batch_size=batch_size, verbose=0))


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
    from tympan.pipeline.predict import _sources

    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    if artifact.task != "classification":
        raise ParameterError(f"adapt works on classifiers; this artifact is a {artifact.task} model")
    targets = adaptable_models(artifact.model)
    if self_training:
        from tympan.pipeline.self_training import check_self_training

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
    files = [path for _, path, _ in _sources(source, None)]
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
        from tympan.pipeline.self_training import self_train_on_dataset

        adaptation["self_training"] = self_train_on_dataset(
            adaptable_models(model), artifact, X, [files[i] for i in kept], rounds=self_training,
            training_data=training_data, discovery=discovery, on_error=on_error,
            progress=progress)
    for target in adaptable_models(model):  # each member of an ensemble
        models.adapt_normalization(target, X)
    adapted = Artifact(model=model, config=artifact.config, labels=artifact.labels,
                       metrics=artifact.metrics, split=artifact.split, history=artifact.history,
                       info=artifact.info, task=artifact.task, adaptation=adaptation)
    if out is not None:
        save_artifact(adapted, out, overwrite=overwrite)
    return adapted


__all__ = ["FEATURE_NORMS", "MIN_CLIPS_PER_VECTOR", "adapt", "adaptable_models",
           "fit_group_normalized", "predict_per_group"]
