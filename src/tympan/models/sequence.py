"""Recurrent classifiers over frame-wise features: ``conv1d_lstm``.

The model takes waveforms ``(batch, input_samples)`` and returns class probabilities
``(batch, n_classes)``, with the shared layout of :mod:`tympan.models.blocks` (waveform
augmentation in training, feature front end, per-example and dataset normalisation).  Only
``keras.layers`` are used, so it runs on every Keras backend (jax, torch, tensorflow).
"""

from __future__ import annotations

import keras

from tympan import _validate as v
from tympan.models import augmentation as aug
from tympan.models import blocks
from tympan.models.compatibility import model_features
from tympan.models.frontend import FRAMEWISE_KINDS
from tympan.models.registry import register_model


@register_model("conv1d_lstm", features={"kind": "mfcc"}, kinds=(*FRAMEWISE_KINDS, "fft"), stacks=True,
                framewise=True)
def conv1d_lstm(*, input_samples, sr, n_classes, features, filters=(64, 128), kernel_size=5,
                pool_size=1, bn_momentum=0.9, dropout=0.2, lstm_units=128, bidirectional=False,
                summary="last", per_example_norm=True, augmentation=aug.CONV1D_LSTM,
                seed=None) -> keras.Model:
    """Conv1D blocks then an LSTM over the frames: the seed's "Example 2" for speech emotion.

    ``[Conv1D(f, kernel_size, valid) -> BatchNorm -> ReLU -> [MaxPool(pool_size)]]`` per entry
    of ``filters``, ``[Dropout(dropout)]``, ``LSTM(lstm_units)``, softmax.  ``summary`` is what
    the classifier reads of the LSTM: ``"last"`` its last output (the seed's), ``"mean"`` or
    ``"max"`` its outputs pooled over every frame; ``bidirectional`` runs a second LSTM
    backwards and concatenates the two.
    With the defaults: Conv1D 64 k5 -> BatchNorm -> Conv1D 128 k5 -> BatchNorm -> Dropout 0.2
    -> LSTM 128 -> softmax, on 20 MFCCs per 10 ms frame (``features={"kind": "mfcc"}``; any
    frame-wise kind or stack works, e.g. ``"mfcc+delta"``).  ``pool_size`` > 1 shortens the
    sequence the LSTM reads (faster, coarser).  ``bn_momentum``: the BatchNorm moving-average
    momentum (Keras's 0.99 settles only after a few hundred steps: on a few hundred clips
    that is many epochs, during which validation losses are unreliable).

    ``per_example_norm`` standardises each feature over the frames of each clip (True: CMVN;
    ``"mean"``: the mean only; removes the channel and part of the speaker) before the dataset
    normalisation.  ``augmentation`` (an :class:`~tympan.models.AugmentationConfig` or a dict
    of the fields to change) sets what is applied in training only; by default
    (:data:`tympan.models.augmentation.CONV1D_LSTM`) a random gain of ±6 dB and a zero-filled
    time shift of ±15 % of the clip, no noise, stretch or masks.
    """
    features = model_features("conv1d_lstm", features, sr=sr)
    filters = blocks.positive_ints("filters", filters)
    kernel_size = v.positive_int("kernel_size", kernel_size)
    pool_size = v.positive_int("pool_size", pool_size)
    bn_momentum = blocks.rate("bn_momentum", bn_momentum)
    dropout = blocks.rate("dropout", dropout)
    lstm_units = v.positive_int("lstm_units", lstm_units)
    bidirectional = blocks.flag("bidirectional", bidirectional)
    summary = v.choice("summary", summary, ("last", "mean", "max"))
    augmentation = aug.augmentation_config(augmentation, default=aug.CONV1D_LSTM,
                                           model="conv1d_lstm")
    seed = blocks.optional_seed(seed)

    inputs = blocks.waveform_input(input_samples)
    x = blocks.framewise_input_stage(inputs, features=features, sr=sr,
                                     per_example_norm=per_example_norm,
                                     augmentation=augmentation, seed=seed)
    for i, f in enumerate(filters):
        x = blocks.conv_block(x, f, kernel_size, batch_norm=True, pool_size=pool_size,
                              bn_momentum=bn_momentum, name=f"block{i + 1}")
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    lstm = keras.layers.LSTM(lstm_units, return_sequences=summary != "last", seed=seed, name="lstm")
    if bidirectional:
        lstm = keras.layers.Bidirectional(lstm, name="bilstm")
    x = lstm(x)
    if summary != "last":
        pool = keras.layers.GlobalAveragePooling1D if summary == "mean" else keras.layers.GlobalMaxPooling1D
        x = pool(name=f"{summary}_over_frames")(x)
    return keras.Model(inputs, blocks.classifier_head(x, n_classes), name="conv1d_lstm")


__all__ = ["conv1d_lstm"]
