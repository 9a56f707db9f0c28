"""Per-group (speaker) feature normalisation: the statistics, the split of a model at its
``feature_norm`` layer, training with every group normalised by its own statistics, and
predicting with each group adapted on its own clips.

The mechanism under ``TrainConfig.feature_norm="group"``, speaker adaptation
(:func:`tympan.pipeline.adaptation.adapt`) and self-training
(:mod:`tympan.pipeline.self_training`); see :mod:`tympan.pipeline.adaptation` for the why.
Training precomputes the features when the layers before ``feature_norm`` are deterministic,
and otherwise (waveform augmentation, time stretch, mel warp) computes them batch by batch in
training mode (:mod:`tympan.pipeline.group_batches`), so augmentation is kept.
"""

from __future__ import annotations

import numpy as np

from tympan.errors import ParameterError
from tympan.pipeline import driver

#: fewest clips to adapt a model whose normalised features are one vector per clip (with one
#: clip every standard deviation is 0 and every other clip would be divided by epsilon)
MIN_CLIPS_PER_VECTOR = 2


def standardize(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """What ``keras.layers.Normalization`` computes: ``(x - mean) / max(std, epsilon)``."""
    import keras

    return ((features - mean) / np.maximum(std, keras.config.epsilon())).astype("float32")


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and (population) standard deviation over examples and frames, in
    float64, of features already computed (:func:`tympan.models.feature_statistics` computes
    the same batch by batch from waveforms)."""
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    return flat.mean(axis=0), flat.std(axis=0)


def group_statistics(features: np.ndarray, groups: np.ndarray) -> dict:
    """Each group's :func:`statistics` over its own rows of ``features``."""
    return {g: statistics(features[groups == g]) for g in np.unique(groups)}


def normalize_per_group(features: np.ndarray, groups: np.ndarray, stats: dict | None = None
                        ) -> np.ndarray:
    """``features`` with each group's rows standardised by that group's own statistics
    (``stats`` from :func:`group_statistics`, computed here when not given)."""
    stats = group_statistics(features, groups) if stats is None else stats
    normalized = np.empty(features.shape, dtype="float32")
    for g, (mean, std) in stats.items():
        normalized[groups == g] = standardize(features[groups == g], mean, std)
    return normalized


def split_at_norm(model):
    """``(features, body)``: the sub-models before and after ``model``'s ``feature_norm``
    (sharing its layers), so features can be normalised outside the model."""
    import keras

    from tympan import models

    layer = models.blocks.normalization_layer(model)
    return (models.feature_model(model),
            keras.Model(layer.output, model.output, name=f"{model.name}_after_norm"))


def has_augmentation(features) -> bool:
    """Whether the feature model holds a random (augmentation) layer."""
    from tympan.layers.augmentation import AUGMENTATION_LAYERS

    return any(isinstance(layer, AUGMENTATION_LAYERS) for layer in features.layers)


def fit_group_normalized(model, X_train, y_train, g_train, X_val=None, y_val=None, g_val=None, *,
                         training, loss, metrics=None, class_weight=None, verbose=1) -> dict:
    """Fit ``model`` with every group's features standardised by that group's statistics
    (through :func:`tympan.pipeline.driver.fit_model`, with ``training``'s optimizer, epochs, batch
    size, early stopping and seed).

    The layers after ``feature_norm`` are trained as a sub-model on normalised features (they
    share their weights with ``model``).  A group's statistics come from all its clips in the
    training and validation parts (labels are not used).  Afterwards ``model``'s
    ``feature_norm`` holds the statistics of all those clips together, the starting point
    that :func:`tympan.pipeline.adapt` replaces with a speaker's own.  Returns the history.
    """
    from tympan import models

    features, body = split_at_norm(model)
    has_val = X_val is not None and len(X_val) > 0
    X_all = np.concatenate([X_train, X_val]) if has_val else X_train
    g_all = np.concatenate([g_train, g_val]) if has_val else np.asarray(g_train)
    # the features of every clip, computed once: the statistics and the inputs come from them
    F = np.asarray(features.predict(X_all, batch_size=256, verbose=0))
    stats = group_statistics(F, g_all)
    normalized = normalize_per_group(F, g_all, stats)
    n = len(X_train)

    driver.compile_model(body, training, loss=loss, metrics=metrics)
    validation = (normalized[n:], y_val) if has_val else None
    t = training
    if has_augmentation(features):
        from tympan.pipeline.group_batches import GroupNormalizedBatches  # Keras: only here

        batches = GroupNormalizedBatches(features, X_train, y_train, np.asarray(g_train), stats,
                                         batch_size=t.batch_size, seed=t.seed,
                                         class_weight=class_weight, standardize=standardize)
        history = driver.fit_model(body, batches, validation=validation, epochs=t.epochs,
                             patience=t.early_stopping, verbose=verbose)
    else:
        history = driver.fit_model(body, normalized[:n], y_train, validation=validation, epochs=t.epochs,
                             batch_size=t.batch_size, patience=t.early_stopping,
                             class_weight=class_weight, verbose=verbose)
    models.set_normalization(model, *statistics(F))
    return history


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


def check_groups(groups, n: int) -> np.ndarray:
    """``groups`` as one string per clip of ``n``; ParameterError when missing or misshapen."""
    groups = np.asarray(groups, dtype=object)
    if groups.ndim != 1 or len(groups) != n:
        raise ParameterError(f"groups must give one group per clip: {n} clips, got groups of "
                             f"shape {groups.shape}")
    if any(g is None for g in groups):
        raise ParameterError("every clip needs a group (speaker) to be adapted per group; "
                             "some have None")
    return groups.astype(str)


def check_group_sizes(features, groups: np.ndarray) -> None:
    """Refuse groups too small to normalise when the features are one vector per clip."""
    if len(features.output.shape) == 2:  # one vector per clip: a spread needs several clips
        sizes = {g: int(np.sum(groups == g)) for g in np.unique(groups)}
        small = sorted(g for g, n in sizes.items() if n < MIN_CLIPS_PER_VECTOR)
        if small:
            raise ParameterError(f"group(s) {', '.join(map(repr, small))} have fewer than "
                                 f"{MIN_CLIPS_PER_VECTOR} clips: this model's features are one "
                                 "vector per clip, whose spread needs several clips")


def predict_per_group(model, X, groups, *, batch_size: int = 128) -> np.ndarray:
    """``model``'s outputs for ``X`` with the features of each group's clips normalised by the
    statistics of that group's clips in ``X`` (each test speaker adapted on their own clips).
    The features are computed once per model; the model itself is not changed.  For an
    ensemble, each member is adapted this way and their probabilities averaged (as the
    ensemble's own ``Average`` does)."""
    members = adaptable_models(model)
    groups = check_groups(groups, len(X))
    if len(members) > 1:
        return np.mean([_predict_per_group(m, X, groups, batch_size) for m in members], axis=0)
    return _predict_per_group(model, X, groups, batch_size)


def _predict_per_group(model, X, groups: np.ndarray, batch_size: int) -> np.ndarray:
    features, body = split_at_norm(model)
    check_group_sizes(features, groups)
    F = np.asarray(features.predict(X, batch_size=batch_size, verbose=0))
    normalized = normalize_per_group(F, groups)
    return np.asarray(body.predict(normalized, batch_size=batch_size, verbose=0))


__all__ = ["MIN_CLIPS_PER_VECTOR", "adaptable_models", "check_group_sizes", "check_groups",
           "fit_group_normalized", "group_statistics", "has_augmentation", "normalize_per_group",
           "predict_per_group", "split_at_norm", "standardize", "statistics"]
