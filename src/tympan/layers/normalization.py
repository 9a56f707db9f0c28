"""Per-example normalisation layers.

:class:`PerExampleStandardize` is cepstral mean-variance normalisation (CMVN) done inside the
model: each example's features are centred (and scaled) over its own frames, which removes the
channel, microphone, speaker and loudness offsets a dataset-wide normalisation cannot.
(Dataset-wide normalisation is Keras's own ``keras.layers.Normalization``, adapted on the
training features; see ``tympan.models.adapt_normalization``.)
"""

from __future__ import annotations

import keras
from keras import ops

from tympan import _validate as v
from tympan.errors import ParameterError


@keras.saving.register_keras_serializable(package="tympan")
class PerExampleStandardize(keras.layers.Layer):
    """``(x - mean) / sqrt(var + epsilon)`` with mean and variance taken per example over ``axis``.

    With the default ``axis=1`` on ``(batch, frames, feature)`` every feature of every example
    gets zero mean and unit variance over that example's frames (CMVN); the batch is never
    mixed, so a batch gives the same result as its examples one by one.  ``scale=False`` only
    subtracts the mean (CMN).  ``axis`` may be an int or a tuple of ints other than 0.

    ``active_db`` (dB features such as a log-mel spectrogram, ``axis=1`` only): the statistics
    are taken over the active frames alone, those whose loudest feature is within ``active_db``
    of the example's loudest frame, and then applied to every frame.  Silence and padding then
    no longer pull the mean, so the result does not depend on how much of the clip is quiet.
    """

    def __init__(self, axis=1, scale=True, epsilon=1e-5, active_db=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        if not axes or any(isinstance(a, bool) or not isinstance(a, int) or a == 0 for a in axes):
            raise ParameterError(f"axis must be a non-zero int or a tuple of them (0 is the batch), "
                                 f"got {axis!r}")
        self.axis = axes[0] if isinstance(axis, int) else axes
        self._axes = axes
        self.scale = bool(scale)
        self.epsilon = v.positive_number("epsilon", epsilon)
        self.active_db = None if active_db is None else v.positive_number("active_db", active_db)
        if self.active_db is not None and axes != (1,):
            raise ParameterError(f"active_db needs axis=1 (the frames), got axis={axis!r}")

    def build(self, input_shape):
        ndim = len(input_shape)
        for a in self._axes:
            if not -ndim < a < ndim or a % ndim == 0:
                raise ParameterError(f"axis {a} is out of range for inputs of shape "
                                     f"{tuple(input_shape)} (axis 0 is the batch)")

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        if self.active_db is None:
            mean = ops.mean(x, axis=self._axes, keepdims=True)
            x = x - mean
            if self.scale:
                var = ops.mean(ops.square(x), axis=self._axes, keepdims=True)
                x = x * ops.rsqrt(var + self.epsilon)
            return x
        # weights (batch, frames, 1): 1 for active frames (the loudest always is one), else 0
        level = ops.max(ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], -1)), axis=-1)
        w = ops.cast(level >= ops.max(level, axis=1, keepdims=True) - self.active_db, "float32")
        w = ops.reshape(w, (ops.shape(x)[0], ops.shape(x)[1]) + (1,) * (len(x.shape) - 2))
        count = ops.sum(w, axis=1, keepdims=True)
        mean = ops.sum(w * x, axis=1, keepdims=True) / count
        x = x - mean
        if self.scale:
            var = ops.sum(w * ops.square(x), axis=1, keepdims=True) / count
            x = x * ops.rsqrt(var + self.epsilon)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return {**super().get_config(), "axis": axis, "scale": self.scale, "epsilon": self.epsilon,
                "active_db": self.active_db}


__all__ = ["PerExampleStandardize"]
