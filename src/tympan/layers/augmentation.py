"""Random data augmentation layers, active only in training.

Each layer draws its random numbers from a ``keras.random.SeedGenerator`` built from ``seed``,
so two layers made with the same seed transform the same batch the same way; with
``seed=None`` the draws differ from run to run.  At inference (``training`` false or left out)
every layer returns its input unchanged, so the layers can stay inside a saved model.

Waveform layers take ``(batch, samples)`` (any trailing axes are carried along):
:class:`RandomGain`, :class:`RandomTimeShift`, :class:`RandomNoise`.  :class:`SpecAugment`
takes features ``(batch, frames, feature)`` and is meant to follow normalisation, so that its
``mask_value=0`` is the feature mean; :class:`RandomStretch` resamples features along time
(tempo) or frequency (vocal tract length).  Every draw is per example.
"""

from __future__ import annotations

import keras
from keras import ops

from tympan import _validate as v
from tympan.errors import ParameterError

_register = keras.saving.register_keras_serializable(package="tympan")


class _RandomLayer(keras.layers.Layer):
    """Shared plumbing: a seed generator, identity unless ``training``, shape-preserving."""

    def __init__(self, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ParameterError(f"seed must be an int or None, got {seed!r}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        return self.augment(ops.cast(inputs, "float32"))

    def augment(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _per_example(self, x, low, high):
        """Uniform draws in ``[low, high)`` of shape ``(batch, 1, ...)`` broadcasting over ``x``."""
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        return keras.random.uniform(shape, low, high, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _check_range(lo_name, lo, hi_name, hi):
    for name, value in ((lo_name, lo), (hi_name, hi)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{name} must be a number, got {value!r}")
    if lo > hi:
        raise ParameterError(f"{lo_name} must be <= {hi_name}={hi}, got {lo}")
    return float(lo), float(hi)


@_register
class RandomGain(_RandomLayer):
    """Multiply each example by a gain drawn uniformly in ``[min_db, max_db]`` decibels."""

    def __init__(self, min_db=-6.0, max_db=6.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.min_db, self.max_db = _check_range("min_db", min_db, "max_db", max_db)

    def augment(self, x):
        gain_db = self._per_example(x, self.min_db, self.max_db)
        return x * ops.power(10.0, gain_db / 20.0)

    def get_config(self):
        return {**super().get_config(), "min_db": self.min_db, "max_db": self.max_db}


@_register
class RandomTimeShift(_RandomLayer):
    """Shift each example along axis 1 by a whole number of samples in ``±max_fraction`` of its length.

    ``mode="zeros"`` (default) fills the vacated samples with zeros, so nothing leaves one end
    to come back at the other (a word at the end of a clip is cut, not wrapped round);
    ``mode="wrap"`` rotates the signal circularly.
    """

    def __init__(self, max_fraction=0.1, mode="zeros", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.max_fraction = v.non_negative_number("max_fraction", max_fraction)
        if self.max_fraction >= 1:
            raise ParameterError(f"max_fraction must be < 1, got {max_fraction!r}")
        self.mode = v.choice("mode", mode, ("zeros", "wrap"))

    def augment(self, x):
        length = x.shape[1]
        max_shift = int(self.max_fraction * length)
        if max_shift == 0:
            return x
        batch = ops.shape(x)[0]
        shift = keras.random.randint((batch, 1), -max_shift, max_shift + 1, seed=self.seed_generator)
        source = ops.arange(length, dtype="int32")[None, :] - shift  # out[t] = x[t - shift]
        if self.mode == "wrap":
            source = ops.mod(source, length)
            keep = None
        else:
            keep = ops.cast((source >= 0) & (source < length), x.dtype)
            source = ops.clip(source, 0, length - 1)
        extra = (1,) * (len(x.shape) - 2)
        source = ops.reshape(source, (batch, length, *extra))
        out = ops.take_along_axis(x, ops.broadcast_to(source, ops.shape(x)), axis=1)
        return out if keep is None else out * ops.reshape(keep, (batch, length, *extra))

    def get_config(self):
        return {**super().get_config(), "max_fraction": self.max_fraction, "mode": self.mode}


@_register
class RandomNoise(_RandomLayer):
    """Add white Gaussian noise at a signal-to-noise ratio drawn in ``[snr_db_min, snr_db_max]``.

    The signal power is each example's mean square, so silence stays silent.
    """

    def __init__(self, snr_db_min=10.0, snr_db_max=40.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.snr_db_min, self.snr_db_max = _check_range("snr_db_min", snr_db_min,
                                                        "snr_db_max", snr_db_max)

    def augment(self, x):
        axes = tuple(range(1, len(x.shape)))
        power = ops.mean(ops.square(x), axis=axes, keepdims=True)
        snr_db = self._per_example(x, self.snr_db_min, self.snr_db_max)
        scale = ops.sqrt(power / ops.power(10.0, snr_db / 10.0))
        return x + scale * keras.random.normal(ops.shape(x), seed=self.seed_generator)

    def get_config(self):
        return {**super().get_config(), "snr_db_min": self.snr_db_min, "snr_db_max": self.snr_db_max}


@_register
class SpecAugment(_RandomLayer):
    """Frequency and time masking (Park et al., 2019) on ``(batch, frames, feature)``.

    ``freq_masks`` bands of ``0..freq_width`` adjacent features and ``time_masks`` spans of
    ``0..time_width`` frames, each width and position drawn per example, are set to
    ``mask_value``.  Put it after normalisation so that ``0.0`` is the mean.
    """

    def __init__(self, freq_masks=2, freq_width=8, time_masks=2, time_width=10, mask_value=0.0,
                 seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        counts = {"freq_masks": freq_masks, "freq_width": freq_width, "time_masks": time_masks,
                  "time_width": time_width}
        for name, value in counts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ParameterError(f"{name} must be a non-negative integer, got {value!r}")
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width
        self.mask_value = float(mask_value)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ParameterError(
                f"SpecAugment takes (batch, frames, feature), got input shape {tuple(input_shape)}"
            )

    def _mask(self, batch, size, count, width):
        """Boolean ``(batch, size)``: ``count`` random spans of ``0..width`` positions."""
        width = min(width, size)
        index = ops.arange(size, dtype="float32")[None, :]
        masked = ops.zeros((batch, size), dtype="bool")
        for _ in range(count):
            w = ops.floor(keras.random.uniform((batch, 1), seed=self.seed_generator) * (width + 1))
            start = ops.floor(keras.random.uniform((batch, 1), seed=self.seed_generator)
                              * (size - w + 1))
            masked = masked | ((index >= start) & (index < start + w))
        return masked

    def augment(self, x):
        batch, frames, feats = ops.shape(x)[0], x.shape[1], x.shape[2]
        masked = self._mask(batch, feats, self.freq_masks, self.freq_width)[:, None, :]
        masked = masked | self._mask(batch, frames, self.time_masks, self.time_width)[:, :, None]
        return ops.where(masked, ops.cast(self.mask_value, x.dtype), x)

    def get_config(self):
        return {**super().get_config(), "freq_masks": self.freq_masks, "freq_width": self.freq_width,
                "time_masks": self.time_masks, "time_width": self.time_width,
                "mask_value": self.mask_value}


@_register
class RandomStretch(_RandomLayer):
    """Resample each example along ``axis`` by a factor drawn in ``[1 - max_fraction, 1 + max_fraction]``.

    On ``(batch, frames, feature)`` features, ``axis=1`` stretches time (a tempo change) and
    ``axis=2`` warps the frequency axis of a mel spectrogram (vocal tract length perturbation,
    Jaitly & Hinton 2013): output position ``i`` reads input position ``i * factor`` by linear
    interpolation, anchored at index 0 (the first frame, the lowest band); reads beyond the end
    repeat the last value.  The length is kept.
    """

    def __init__(self, max_fraction=0.1, axis=1, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.max_fraction = v.non_negative_number("max_fraction", max_fraction)
        if self.max_fraction >= 1:
            raise ParameterError(f"max_fraction must be < 1, got {max_fraction!r}")
        if isinstance(axis, bool) or axis not in (1, 2):
            raise ParameterError(f"axis must be 1 (frames) or 2 (features), got {axis!r}")
        self.axis = axis

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ParameterError(
                f"RandomStretch takes (batch, frames, feature), got input shape {tuple(input_shape)}"
            )

    def augment(self, x):
        if self.max_fraction == 0:
            return x
        size = x.shape[self.axis]
        factor = self._per_example(x, 1.0 - self.max_fraction, 1.0 + self.max_fraction)
        factor = ops.reshape(factor, (-1, 1))
        pos = ops.clip(ops.arange(size, dtype="float32")[None, :] * factor, 0.0, size - 1.0)
        low = ops.floor(pos)
        frac = pos - low
        low = ops.cast(low, "int32")
        high = ops.minimum(low + 1, size - 1)
        shape = (-1, size, 1) if self.axis == 1 else (-1, 1, size)
        full = ops.shape(x)

        def gather(index):
            return ops.take_along_axis(x, ops.broadcast_to(ops.reshape(index, shape), full),
                                       axis=self.axis)

        frac = ops.reshape(frac, shape)
        return gather(low) * (1.0 - frac) + gather(high) * frac

    def get_config(self):
        return {**super().get_config(), "max_fraction": self.max_fraction, "axis": self.axis}


#: every training-only random layer above
AUGMENTATION_LAYERS = (RandomGain, RandomNoise, RandomStretch, RandomTimeShift, SpecAugment)

__all__ = ["AUGMENTATION_LAYERS", "RandomGain", "RandomNoise", "RandomStretch", "RandomTimeShift",
           "SpecAugment"]
