"""Keras layer for the inverse STFT, exact at the edges."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp.spectrum import resolve_stft_params
from tympan.errors import ParameterError
from tympan.layers import _ops
from tympan.layers.spectral import _constant


@keras.saving.register_keras_serializable(package="tympan")
class InverseSTFT(keras.layers.Layer):
    """Inverse STFT: ``(batch, frames, 1 + n_fft // 2, 2)`` (real, imag) -> ``(batch, samples)``.

    Weighted overlap-add divided by the window's squared overlap-add envelope, then the
    ``center`` padding trimmed: with a Hann window and ``hop_length <= n_fft // 2`` this
    reconstructs the whole signal, first and last samples included.  ``length`` fixes the
    output length (pad or crop).
    Equal to ``tympan.dsp.istft``; the input layout is what ``Spectrogram(mode="complex")``
    gives.
    """

    def __init__(self, n_fft=2048, hop_length=None, win_length=None, window="hann", center=True,
                 length=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.n_fft, self.hop_length, self.win_length = resolve_stft_params(n_fft, hop_length,
                                                                           win_length)
        if not isinstance(window, str):
            raise ParameterError(f"window must be a scipy window name for a layer, got {window!r}")
        self.window, self.center = window, bool(center)
        self.length = None if length is None else v.positive_int("length", length)

    def build(self, input_shape):
        bins = self.n_fft // 2 + 1
        if len(input_shape) != 4 or input_shape[2] != bins or input_shape[3] != 2:
            raise ParameterError(
                f"InverseSTFT takes (batch, frames, {bins}, 2) for n_fft={self.n_fft}, "
                f"got input shape {tuple(input_shape)}"
            )
        win = filters.get_window(self.window, self.win_length, n_fft=self.n_fft)
        self.window_weights = _constant(self, "window", win)
        self.window_sq = _constant(self, "window_sq", np.square(win))

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        frames = ops.irfft((x[..., 0], x[..., 1]), fft_length=self.n_fft)
        y = _ops.overlap_add(frames * self.window_weights, hop_length=self.hop_length)
        # The squared-window envelope depends only on the number of frames: one row, no batch.
        envelope = _ops.overlap_add(ops.ones_like(frames[:1]) * self.window_sq,
                                    hop_length=self.hop_length)
        tiny = float(np.finfo(np.float32).tiny)
        y = ops.where(envelope > tiny, y / ops.maximum(envelope, tiny), y)
        start = self.n_fft // 2 if self.center else 0
        if self.length is not None:
            y = y[:, start : start + self.length]
            short = self.length - (y.shape[1] if y.shape[1] is not None else ops.shape(y)[1])
            return ops.pad(y, [[0, 0], [0, short]]) if short else y
        stop = (y.shape[1] if y.shape[1] is not None else ops.shape(y)[1]) - start
        return y[:, start:stop]

    def compute_output_shape(self, input_shape):
        if self.length is not None:
            return (input_shape[0], self.length)
        frames = input_shape[1]
        if frames is None:
            return (input_shape[0], None)
        total = self.n_fft + self.hop_length * (frames - 1)
        return (input_shape[0], total - (2 * (self.n_fft // 2) if self.center else 0))

    def get_config(self):
        return {**super().get_config(), "n_fft": self.n_fft, "hop_length": self.hop_length,
                "win_length": self.win_length, "window": self.window, "center": self.center,
                "length": self.length}
