"""Classifier families: ``conv1d`` (on frame-wise features), ``mlp`` (on pooled MFCCs) and
``waveform`` (an M5-like network on raw samples).

All take waveforms ``(batch, input_samples)`` and return class probabilities ``(batch,
n_classes)``; see :mod:`tympan.models.blocks` for the shared layout (augmentation, front end,
per-example and dataset normalisation).  The ``conv1d`` defaults were chosen by measurement on
leave-one-speaker-out FSDD (``benchmarks/model_search.py``, ``docs/models.md``).
"""

from __future__ import annotations

import keras

from tympan import _validate as v
from tympan.errors import ParameterError
from tympan.layers import FrameStatistics
from tympan.models import augmentation as aug
from tympan.models import blocks
from tympan.models.compatibility import model_features
from tympan.models.frontend import FRAMEWISE_KINDS
from tympan.models.registry import register_model


@register_model("conv1d", features={"kind": "mel"}, kinds=(*FRAMEWISE_KINDS, "fft"), stacks=True,
                framewise=True)
def conv1d(*, input_samples, sr, n_classes, features, filters=(64, 128, 128), kernel_size=3,
           batch_norm=True, dropout=0.3, pooling="global_avg", dense_units=128,
           per_example_norm=True, augmentation=aug.CONV1D, seed=None) -> keras.Model:
    """Conv1D over frames: ``[Conv1D(f, kernel_size) -> [BN] -> ReLU -> MaxPool(2)]`` per entry of
    ``filters``, then ``pooling`` (``"flatten"``, ``"global_avg"`` or ``"global_max"``),
    ``[Dropout]``, ``Dense(dense_units, relu)`` (none when 0), ``[Dropout]``, softmax.

    The seed's "Example 1" is ``filters=(32, 64), batch_norm=False, dropout=0.0,
    pooling="flatten", per_example_norm=False, augmentation={"enabled": False}``.  It takes
    every frame-wise feature kind and stack, and ``fft`` as frames (``framed`` defaults to True
    here; see :func:`tympan.models.feature_table`).  ``augmentation`` (an
    :class:`~tympan.models.AugmentationConfig`, or a dict of the fields to change in this
    model's own, :data:`tympan.models.augmentation.CONV1D`) sets what is applied in training
    only: a random gain, a time shift, noise, a stretch of the frames and of the mel bands,
    SpecAugment masks.

    Defaults, measured on FSDD (``docs/models.md``, ``docs/results.md``): per-example
    normalisation (CMVN), BatchNorm, dropout 0.3, three blocks (64, 128, 128) and global average
    pooling (shift-invariant: a word anywhere in the window), gain ±6 dB, shift ±15 %, time
    stretch and mel warp ±10 %.  Against the flatten head: standard split 98.3 % vs 96.3 %,
    leave-one-speaker-out mean 73.6 % vs 74.2 %.
    """
    features = model_features("conv1d", features, sr=sr)
    filters = blocks.positive_ints("filters", filters)
    kernel_size = v.positive_int("kernel_size", kernel_size)
    dropout = blocks.rate("dropout", dropout)
    pooling = v.choice("pooling", pooling, ("flatten", "global_avg", "global_max"))
    dense_units = 0 if not dense_units else v.positive_int("dense_units", dense_units)
    batch_norm = blocks.flag("batch_norm", batch_norm)
    augmentation = aug.augmentation_config(augmentation, default=aug.CONV1D, model="conv1d")
    seed = blocks.optional_seed(seed)

    inputs = blocks.waveform_input(input_samples)
    x = blocks.framewise_input_stage(inputs, features=features, sr=sr,
                                     per_example_norm=per_example_norm,
                                     augmentation=augmentation, seed=seed)
    for i, f in enumerate(filters):
        x = blocks.conv_block(x, f, kernel_size, batch_norm=batch_norm, name=f"block{i + 1}")
    x = {"flatten": keras.layers.Flatten, "global_avg": keras.layers.GlobalAveragePooling1D,
         "global_max": keras.layers.GlobalMaxPooling1D}[pooling](name=pooling)(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout_pooled")(x)
    if dense_units:
        x = keras.layers.Dense(dense_units, activation="relu", name="dense")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seed, name="dropout_dense")(x)
    return keras.Model(inputs, blocks.classifier_head(x, n_classes), name="conv1d")


@register_model("mlp", features={"kind": "mean_mfcc"}, kinds=("mean_mfcc", "fft", *FRAMEWISE_KINDS),
                stacks=True)
def mlp(*, input_samples, sr, n_classes, features, hidden_units=(256, 256), dropout=0.5,
        pooling="mean", stats=("mean", "std", "p10", "p90"), l2=0.0, augmentation=aug.WAVEFORM,
        seed=None) -> keras.Model:
    """The UrbanSound8K tutorial's network: mean of 40 MFCCs over frames -> ``[Dense(u, relu) ->
    Dropout]`` per entry of ``hidden_units`` -> softmax.

    Frame-wise feature kinds are pooled over frames: their mean after the dataset normalisation
    (``pooling="mean"``) or, with ``pooling="stats"``, the per-feature statistics ``stats``
    (:class:`~tympan.layers.FrameStatistics`: mean, standard deviation, 10th and 90th
    percentile by default), the utterance statistics of speech emotion work, which
    ``feature_norm`` then normalises (per speaker with ``feature_norm="group"`` training).  An empty
    ``hidden_units`` gives a linear classifier (softmax regression) on the pooled vector.
    ``l2`` adds the weight decay ``l2 * sum(w**2)`` of every Dense kernel to the loss (for a
    linear model, scikit-learn's ``C`` is ``1 / (2 * l2 * n_train)``).
    ``{"kind": "fft"}`` (the magnitude of the whole clip's FFT: ``framed`` defaults to False
    here) is the seed's "give every neuron a y value".  ``augmentation={"enabled": True}``
    adds the waveform augmentations (gain, shift, noise) of :func:`conv1d` (off by default:
    :data:`tympan.models.augmentation.WAVEFORM`).
    """
    features = model_features("mlp", features, sr=sr)
    empty = isinstance(hidden_units, (list, tuple)) and len(hidden_units) == 0
    hidden_units = () if empty else blocks.positive_ints("hidden_units", hidden_units)
    dropout = blocks.rate("dropout", dropout)
    v.choice("pooling", pooling, ("mean", "stats"))
    augmentation = aug.augmentation_config(augmentation, default=aug.WAVEFORM, model="mlp",
                                           waveform_only=True)
    seed = blocks.optional_seed(seed)

    inputs = blocks.waveform_input(input_samples)
    x = inputs
    if augmentation.enabled:
        x = blocks.waveform_augmentation(x, gain_db=augmentation.gain_db,
                                         time_shift=augmentation.time_shift,
                                         noise_snr_db=augmentation.noise_snr_db, seed=seed)
    if pooling == "stats":
        if features["kind"] == "mean_mfcc" or (features["kind"] == "fft" and not features["framed"]):
            raise ParameterError("pooling='stats' needs frame-wise features (such as 'mfcc', or "
                                 f"'fft' with framed=True); kind {features['kind']!r} "
                                 + ("with framed=False " if features["kind"] == "fft" else "")
                                 + "gives one vector per clip")
        # statistics of the raw frames, then feature_norm on the statistics themselves
        x = blocks.feature_stage(x, features=features, sr=sr,
                                 pool=FrameStatistics(stats, name="frame_statistics"))
    else:
        x = blocks.feature_stage(x, features=features, sr=sr)
        if len(x.shape) == 3:
            x = keras.layers.GlobalAveragePooling1D(name="mean_over_frames")(x)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=blocks.l2_regularizer(l2),
                               name=f"dense{i + 1}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seed, name=f"dropout{i + 1}")(x)
    return keras.Model(inputs, blocks.classifier_head(x, n_classes, l2=l2), name="mlp")


@register_model("waveform", features={"kind": "waveform"}, kinds=("waveform",))
def waveform(*, input_samples, sr, n_classes, features, filters=(32, 32, 64, 64),
             first_kernel=80, first_stride=4, kernel_size=3, pool_size=4, dropout=0.0,
             per_example_norm=True, augmentation=aug.WAVEFORM, seed=None) -> keras.Model:
    """M5-like (Dai et al., 2017) Conv1D on raw samples: a first ``Conv1D(filters[0],
    first_kernel, strides=first_stride)`` then ``Conv1D(f, kernel_size)`` per further entry of
    ``filters``, each with BatchNorm, ReLU and ``MaxPool(pool_size)``, then global average
    pooling, ``[Dropout]`` and softmax.

    ``per_example_norm`` scales each waveform to zero mean and unit variance (a loudness
    normalisation) before the dataset normalisation.  ``augmentation`` as for :func:`mlp`.
    """
    features = model_features("waveform", features, sr=sr)
    filters = blocks.positive_ints("filters", filters)
    first_kernel = v.positive_int("first_kernel", first_kernel)
    first_stride = v.positive_int("first_stride", first_stride)
    kernel_size = v.positive_int("kernel_size", kernel_size)
    pool_size = v.positive_int("pool_size", pool_size)
    dropout = blocks.rate("dropout", dropout)
    augmentation = aug.augmentation_config(augmentation, default=aug.WAVEFORM, model="waveform",
                                           waveform_only=True)
    seed = blocks.optional_seed(seed)

    inputs = blocks.waveform_input(input_samples)
    x = inputs
    if augmentation.enabled:
        x = blocks.waveform_augmentation(x, gain_db=augmentation.gain_db,
                                         time_shift=augmentation.time_shift,
                                         noise_snr_db=augmentation.noise_snr_db, seed=seed)
    x = blocks.feature_stage(x, features=features, sr=sr, per_example_norm=per_example_norm)
    for i, f in enumerate(filters):
        first = i == 0
        x = blocks.conv_block(x, f, first_kernel if first else kernel_size,
                              strides=first_stride if first else 1, batch_norm=True,
                              pool_size=pool_size, name=f"block{i + 1}")
    x = keras.layers.GlobalAveragePooling1D(name="global_avg")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    return keras.Model(inputs, blocks.classifier_head(x, n_classes), name="waveform")


__all__ = ["conv1d", "mlp", "waveform"]


@register_model("conv2d", features={"kind": "mel"},
                kinds=("mel", "spectrogram", "cqt", "scalogram", "fft"), framewise=True)
def conv2d(*, input_samples, sr, n_classes, features, filters=(16, 32, 64, 128), kernel_size=3,
           dropout=0.3, per_example_norm=True, augmentation=aug.CONV2D, seed=None) -> keras.Model:
    """A small VGG-style 2-D CNN over the (frames x bands) image of a spectrogram:
    ``[Conv2D(f, k, same) -> BatchNorm -> ReLU -> MaxPool(2)]`` per entry of ``filters``, then
    global average pooling over time and frequency, ``[Dropout]`` and softmax.

    Convolving along frequency as well as time makes the network tolerant of formant and pitch
    shifts between voices, and global pooling of where in the clip the sound sits: both matter
    for recordings by speakers never heard in training.  Augmentations (training only) as in
    :func:`conv1d`, with SpecAugment on by default (:data:`tympan.models.augmentation.CONV2D`).
    """
    features = model_features("conv2d", features, sr=sr)
    filters = blocks.positive_ints("filters", filters)
    kernel_size = v.positive_int("kernel_size", kernel_size)
    dropout = blocks.rate("dropout", dropout)
    augmentation = aug.augmentation_config(augmentation, default=aug.CONV2D, model="conv2d")
    seed = blocks.optional_seed(seed)

    inputs = blocks.waveform_input(input_samples)
    x = blocks.framewise_input_stage(inputs, features=features, sr=sr,
                                     per_example_norm=per_example_norm,
                                     augmentation=augmentation, seed=seed)
    x = keras.layers.Reshape((x.shape[1], x.shape[2], 1), name="add_channel")(x)
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, kernel_size, padding="same", use_bias=False,
                                name=f"block{i + 1}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"block{i + 1}_bn")(x)
        x = keras.layers.Activation("relu", name=f"block{i + 1}_relu")(x)
        if x.shape[1] >= 2 and x.shape[2] >= 2:
            x = keras.layers.MaxPooling2D(2, name=f"block{i + 1}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="global_avg")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    return keras.Model(inputs, blocks.classifier_head(x, n_classes), name="conv2d")
