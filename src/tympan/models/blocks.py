"""Building blocks shared by the model builders, and the dataset normalisation helper.

Every tympan model is a functional ``keras.Model`` on raw waveforms::

    waveform (batch, samples)
      -> [waveform augmentation: RandomGain, RandomTimeShift, RandomNoise]   training only
      -> feature front end (tympan.models.frontend)
      -> [RandomStretch of time and of frequency]                           training only
      -> [PerExampleStandardize]                                            per example (CMVN)
      -> Normalization(axis=-1, name="feature_norm")                        adapted on training data
      -> [SpecAugment]                                                      training only
      -> body -> Dense(n_classes, softmax, name="probabilities")

``feature_norm`` is left un-adapted (mean 0, variance 1) by the builders; call
:func:`adapt_normalization` with the training waveforms before training.  Its statistics are
ordinary non-trainable weights, so they are saved in ``.keras`` files and reload with
``safe_mode=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from tympan import _validate as v
from tympan.errors import ParameterError
from tympan.layers import (
    PerExampleStandardize,
    RandomGain,
    RandomNoise,
    RandomStretch,
    RandomTimeShift,
    SpecAugment,
)
from tympan.models.frontend import build_frontend
from tympan.models.names import FEATURE_NORM


# ------------------------------------------------------------------------------ checks
def positive_ints(name: str, value: Any) -> tuple[int, ...]:
    """A non-empty sequence of positive ints (lists from JSON are accepted) as a tuple."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ParameterError(f"{name} must be a non-empty sequence of positive integers, got {value!r}")
    return tuple(v.positive_int(name, x) for x in value)


def optional_positive_ints(name: str, value: Any) -> tuple[int, ...]:
    """``()`` for none (``0``, ``None``, ``[]`` or ``()``), else :func:`positive_ints`: the
    per-layer sizes of an optional stack of layers."""
    return () if value in ((), [], 0, None) else positive_ints(name, value)


def rate(name: str, value: Any) -> float:
    """A dropout-like rate in ``[0, 1)``."""
    value = v.non_negative_number(name, value)
    if value >= 1:
        raise ParameterError(f"{name} must be in [0, 1), got {value!r}")
    return value


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def optional_seed(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
        raise ParameterError(f"seed must be an int or None, got {value!r}")
    return None if value is None else int(value)


def _seed(seed: int | None, k: int) -> int | None:
    return None if seed is None else seed + k


# ------------------------------------------------------------------------------ stages
def waveform_input(input_samples: int) -> keras.KerasTensor:
    return keras.Input((v.positive_int("input_samples", input_samples),), name="waveform")


def waveform_augmentation(x, *, gain_db: float = 0.0, time_shift: float = 0.0,
                          noise_snr_db: Sequence[float] | None = None, seed: int | None = None):
    """Random gain of ``±gain_db`` dB, zero-filled shift of ``±time_shift`` of the length, and
    white noise at an SNR drawn in ``noise_snr_db = (low, high)``; each part is skipped when 0/None.
    """
    gain_db = v.non_negative_number("gain_db", gain_db)
    time_shift = v.non_negative_number("time_shift", time_shift)
    if gain_db:
        x = RandomGain(-gain_db, gain_db, seed=_seed(seed, 0), name="random_gain")(x)
    if time_shift:
        x = RandomTimeShift(time_shift, seed=_seed(seed, 1), name="random_time_shift")(x)
    if noise_snr_db is not None:
        if (not isinstance(noise_snr_db, Sequence) or isinstance(noise_snr_db, str)
                or len(noise_snr_db) != 2):
            raise ParameterError(f"noise_snr_db must be None or (low, high) in dB, got {noise_snr_db!r}")
        x = RandomNoise(*noise_snr_db, seed=_seed(seed, 2), name="random_noise")(x)
    return x


def feature_stage(x, *, features: dict, sr: float, per_example_norm: bool = False,
                  time_stretch: float = 0.0, freq_warp: float = 0.0, seed: int | None = None,
                  pool: keras.layers.Layer | None = None):
    """Front end, training-only stretches of the features, optional per-example
    standardisation, then the (un-adapted) ``feature_norm``.

    ``per_example_norm``: False, True (CMVN over every frame), ``"mean"`` (CMN: the mean only,
    so each feature keeps its spread over the clip) or a number of dB (CMVN over the frames
    within that many dB of the loudest, for ``mel`` and ``spectrogram`` features).

    ``time_stretch`` resamples the frames by a factor in ``1 ± time_stretch`` (tempo);
    ``freq_warp`` the bands of a mel or linear spectrogram by ``1 ± freq_warp`` (vocal tract
    length; ignored for MFCC kinds, which have no frequency axis); both only in training, and
    before the normalisations so that these see the result.

    ``pool`` (a layer such as :class:`~tympan.layers.FrameStatistics`) turns the frames into
    one vector per clip before ``feature_norm``, which then normalises that vector.
    """
    kind = features.get("kind", "mel")
    for layer in build_frontend(features, sr=sr):
        x = layer(x)
    time_stretch = v.non_negative_number("time_stretch", time_stretch)
    freq_warp = v.non_negative_number("freq_warp", freq_warp)
    if (time_stretch or freq_warp) and len(x.shape) != 3:
        raise ParameterError("time_stretch and freq_warp need frame-wise features, "
                             f"got kind {kind!r}")
    if kind not in ("mel", "spectrogram"):
        freq_warp = 0.0  # cepstra have no frequency axis to warp
    if time_stretch:
        x = RandomStretch(time_stretch, axis=1, seed=_seed(seed, 4), name="random_time_stretch")(x)
    if freq_warp:
        x = RandomStretch(freq_warp, axis=2, seed=_seed(seed, 5), name="random_freq_warp")(x)
    if len(x.shape) == 2 and kind == "waveform":
        x = keras.layers.Reshape((x.shape[1], 1), name="add_channel")(x)
    active_db, scale = None, True
    if isinstance(per_example_norm, str):
        if per_example_norm != "mean":
            raise ParameterError("per_example_norm must be True, False, 'mean' or a number of dB, "
                                 f"got {per_example_norm!r}")
        scale = False
    elif isinstance(per_example_norm, (int, float, np.number)) and not isinstance(
            per_example_norm, (bool, np.bool_)):
        if kind not in ("mel", "spectrogram"):
            raise ParameterError(f"per_example_norm={per_example_norm!r} (statistics over the active "
                                 f"frames) needs dB features, kind 'mel' or 'spectrogram', got {kind!r}")
        active_db = v.positive_number("per_example_norm", per_example_norm)
    elif not flag("per_example_norm", per_example_norm):
        per_example_norm = False
    if per_example_norm is not False:
        if len(x.shape) != 3:
            raise ParameterError("per_example_norm needs frame-wise features (batch, frames, "
                                 f"feature), got kind {kind!r} with shape {tuple(x.shape)}")
        x = PerExampleStandardize(axis=1, scale=scale, active_db=active_db,
                                  name="per_example_norm")(x)
    if pool is not None:
        if len(x.shape) != 3:
            raise ParameterError(f"{pool.name} pools frames and needs frame-wise features, got "
                                 f"kind {kind!r} with shape {tuple(x.shape)}")
        x = pool(x)
    return keras.layers.Normalization(axis=-1, name=FEATURE_NORM)(x)


def framewise_input_stage(x, *, features, sr, per_example_norm, augmentation, seed):
    """Waveform augmentation, features, normalisations and SpecAugment, shared by the models
    that work on frames (each augmentation only when ``augmentation.enabled``, and only in
    training; ``augmentation`` an :class:`~tympan.models.AugmentationConfig`)."""
    a = augmentation
    if a.enabled:
        x = waveform_augmentation(x, gain_db=a.gain_db, time_shift=a.time_shift,
                                  noise_snr_db=a.noise_snr_db, seed=seed)
    x = feature_stage(x, features=features, sr=sr, per_example_norm=per_example_norm,
                      time_stretch=a.time_stretch if a.enabled else 0.0,
                      freq_warp=a.freq_warp if a.enabled else 0.0, seed=seed)
    if a.enabled:
        x = spec_augment(x, freq_masks=a.freq_masks, freq_width=a.freq_width,
                         time_masks=a.time_masks, time_width=a.time_width, seed=seed)
    return x


def spec_augment(x, *, freq_masks: int, freq_width: int, time_masks: int, time_width: int,
                 seed: int | None = None):
    if not (freq_masks and freq_width) and not (time_masks and time_width):
        return x
    return SpecAugment(freq_masks, freq_width, time_masks, time_width, seed=_seed(seed, 3),
                       name="spec_augment")(x)


def conv_block(x, filters: int, kernel_size: int, *, strides: int = 1, batch_norm: bool = False,
               pool_size: int = 2, bn_momentum: float = 0.99, name: str):
    """``Conv1D (valid) -> [BatchNorm] -> ReLU -> MaxPool``; ParameterError if too few frames are left.

    ``bn_momentum`` is the BatchNorm moving-average momentum (Keras's default 0.99 needs a few
    hundred steps to settle; small datasets with few steps per epoch want less)."""
    frames = x.shape[1]
    if frames is not None and frames < kernel_size:
        raise ParameterError(f"{name}: {frames} frames left, fewer than kernel_size={kernel_size}; "
                             "use fewer conv blocks, a smaller kernel or longer inputs")
    x = keras.layers.Conv1D(filters, kernel_size, strides=strides, use_bias=not batch_norm,
                            activation=None if batch_norm else "relu", name=f"{name}_conv")(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
        x = keras.layers.Activation("relu", name=f"{name}_relu")(x)
    if pool_size > 1 and x.shape[1] is not None and x.shape[1] >= pool_size:
        x = keras.layers.MaxPooling1D(pool_size, name=f"{name}_pool")(x)
    return x


def l2_regularizer(l2: Any):
    """``keras.regularizers.L2(l2)`` for a weight decay ``l2 > 0``, else None."""
    l2 = v.non_negative_number("l2", l2)
    return keras.regularizers.L2(l2) if l2 else None


def classifier_head(x, n_classes: int, *, l2: float = 0.0):
    """``Dense(n_classes, softmax)`` named ``probabilities``, with an optional L2 penalty
    ``l2 * sum(w**2)`` on its kernel."""
    n_classes = v.positive_int("n_classes", n_classes)
    if n_classes < 2:
        raise ParameterError(f"n_classes must be at least 2, got {n_classes}")
    return keras.layers.Dense(n_classes, activation="softmax", dtype="float32",
                              kernel_regularizer=l2_regularizer(l2), name="probabilities")(x)


# ------------------------------------------------------------------------------ adapt
def normalization_layer(model: keras.Model, layer_name: str = FEATURE_NORM
                        ) -> keras.layers.Normalization:
    """``model``'s dataset normalisation layer, checked to be a ``Normalization(axis=-1)``."""
    try:
        layer = model.get_layer(layer_name)
    except ValueError as exc:
        raise ParameterError(f"model {model.name!r} has no layer named {layer_name!r}") from exc
    if not isinstance(layer, keras.layers.Normalization) or tuple(layer.axis) != (-1,):
        raise ParameterError(f"layer {layer_name!r} must be a Normalization(axis=-1), "
                             f"got {type(layer).__name__}")
    return layer


def feature_model(model: keras.Model, layer_name: str = FEATURE_NORM) -> keras.Model:
    """The sub-model from ``model``'s waveform input to the input of its ``feature_norm``: the
    features that layer normalises (sharing the layers, so no copy of any weight)."""
    layer = normalization_layer(model, layer_name)
    return keras.Model(model.input, layer.input, name=f"{model.name}_features")


def _is_array(waveforms) -> bool:
    """Whether ``waveforms`` is one array of clips (a NumPy or jax array, anything with
    ``__array__``, a list or tuple of clips) rather than an iterable of batches."""
    return isinstance(waveforms, (list, tuple)) or hasattr(waveforms, "__array__")


def feature_statistics(features: keras.Model, waveforms, *, batch_size: int = 256
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and (population) standard deviation, over examples and frames, of what
    the sub-model ``features`` (:func:`feature_model`) gives for ``waveforms`` at inference
    (augmentation off).

    ``waveforms`` is an array ``(clips, samples)`` (NumPy, jax, a list of clips), computed
    ``batch_size`` waveforms at a time, or any other iterable of such arrays (batches, such as
    a stream of clips read from their files: :mod:`tympan.pipeline.streaming`).  Accumulated in
    float64 (Chan's parallel update), so memory does not grow with the number of waveforms.
    """
    batch_size = v.positive_int("batch_size", batch_size)
    if _is_array(waveforms):
        waveforms = np.asarray(waveforms, dtype="float32")
        batches = (waveforms[start : start + batch_size]
                   for start in range(0, len(waveforms), batch_size))
    else:
        batches = (np.asarray(b, dtype="float32") for b in waveforms)
    count, mean, m2 = 0, 0.0, 0.0
    for waves in batches:
        if len(waves) == 0:
            continue
        batch = np.asarray(features.predict_on_batch(waves), dtype="float64")
        batch = batch.reshape(-1, batch.shape[-1])
        n, b_mean = len(batch), batch.mean(axis=0)
        b_m2 = ((batch - b_mean) ** 2).sum(axis=0)
        delta = b_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + b_m2 + delta**2 * (count * n / total)
        count = total
    if count == 0:
        raise ParameterError("feature statistics need at least one waveform, got none")
    return mean, np.sqrt(m2 / count)


def set_normalization(model: keras.Model, mean, std, *, layer_name: str = FEATURE_NORM
                      ) -> keras.layers.Normalization:
    """Give ``model``'s ``feature_norm`` this per-feature ``mean`` and ``std`` (through the
    layer's public ``adapt``) and drop the model's compiled functions so they pick them up."""
    layer = normalization_layer(model, layer_name)
    mean, std = np.asarray(mean, dtype="float64"), np.asarray(std, dtype="float64")
    # Two rows with exactly this mean and (population) variance per feature.
    layer.adapt(np.stack([mean - std, mean + std]).reshape((2,) + (1,) * (len(layer.input.shape) - 2)
                                                            + mean.shape))
    for attr in ("train_function", "test_function", "predict_function"):
        if hasattr(model, attr):
            setattr(model, attr, None)
    return layer


def adapt_normalization(model: keras.Model, waveforms, *, batch_size: int = 256,
                        layer_name: str = FEATURE_NORM) -> keras.layers.Normalization:
    """Fit ``model``'s ``feature_norm`` layer to the features of ``waveforms`` and return it.

    The features are what the model feeds that layer at inference (augmentation off); their
    per-feature mean and variance over examples and frames (:func:`feature_statistics`) go to
    the layer through :func:`set_normalization`.  ``waveforms`` may also be an iterable of
    batches (a stream; Keras's own streaming ``adapt`` of an iterable needs TensorFlow).
    Call it before training or predicting, or again on a
    new speaker's clips to adapt a trained model to that speaker (:func:`tympan.pipeline.adapt`).
    """
    normalization_layer(model, layer_name)
    if _is_array(waveforms) and len(waveforms) == 0:
        raise ParameterError("adapt_normalization needs at least one waveform, got none")
    mean, std = feature_statistics(feature_model(model, layer_name), waveforms,
                                   batch_size=batch_size)
    return set_normalization(model, mean, std, layer_name=layer_name)


__all__ = ["FEATURE_NORM", "adapt_normalization", "classifier_head", "conv_block",
           "feature_model", "feature_stage", "feature_statistics", "framewise_input_stage",
           "l2_regularizer", "normalization_layer", "set_normalization", "spec_augment",
           "waveform_augmentation", "waveform_input"]
