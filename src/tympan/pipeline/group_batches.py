"""The Keras side of per-group normalisation (:mod:`tympan.pipeline.group_norm`): a layer that
runs the feature layers in training mode, and a ``PyDataset`` of group-normalised features
(imported only when a model with augmentation is trained per group, so ``tympan.pipeline``
stays free of Keras)."""

from __future__ import annotations

import math

import keras
import numpy as np


class TrainingMode(keras.layers.Layer):
    """Calls ``inner`` with ``training=True`` (augmentation on) whatever the caller says."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, inputs):
        return self.inner(inputs, training=True)


def training_mode(features):
    """A model that runs ``features`` in training mode (augmentation on) through the compiled
    ``predict_on_batch`` path: calling the layers eagerly, op by op, is about 100 times slower
    on jax.  The random layers' seed state advances from call to call."""
    inputs = keras.Input(features.input.shape[1:], name="waveform")
    return keras.Model(inputs, TrainingMode(features)(inputs), name="features_training_mode")


class GroupNormalizedBatches(keras.utils.PyDataset):
    """Batches of features computed in training mode (augmentation on) from the waveforms
    ``X``, each clip standardised by its group's ``(mean, std)`` (``stats[group]``),
    reshuffled every epoch; with ``class_weight`` a third element weights each clip."""

    def __init__(self, features, X, y, groups, stats, *, batch_size: int, seed: int, class_weight,
                 standardize):
        super().__init__()
        self.augmenting = training_mode(features)
        self.X, self.y, self.batch_size = X, y, batch_size
        self.mean = np.stack([stats[g][0] for g in groups])
        self.std = np.stack([stats[g][1] for g in groups])
        self.class_weight, self.standardize = class_weight, standardize
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(X))

    def __len__(self):
        return math.ceil(len(self.X) / self.batch_size)

    def __getitem__(self, i):
        sel = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        f = np.asarray(self.augmenting.predict_on_batch(self.X[sel]))
        shape = (len(sel),) + (1,) * (f.ndim - 2) + (f.shape[-1],)
        out = (self.standardize(f, self.mean[sel].reshape(shape), self.std[sel].reshape(shape)),
               self.y[sel])
        if self.class_weight:
            out = (*out, np.array([self.class_weight[int(c)] for c in self.y[sel]], dtype="float32"))
        return out

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.X))


__all__ = ["GroupNormalizedBatches", "TrainingMode", "training_mode"]
