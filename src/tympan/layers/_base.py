"""What the tympan layers share: constant (non-trainable float32) weights and the STFT front end.

Private to ``tympan.layers``: :class:`STFTLayer` is the base of ``Spectrogram``,
``MelSpectrogram``, ``Chroma`` and ``GriffinLim`` (never used directly, never registered).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp.frames import n_frames
from tympan.dsp.spectrum import resolve_stft_params
from tympan.errors import ParameterError
from tympan.layers import _ops


def constant_weight(layer: keras.layers.Layer, name: str, value: np.ndarray):
    w = layer.add_weight(name=name, shape=value.shape, initializer="zeros", trainable=False,
                         dtype="float32")
    w.assign(np.asarray(value, dtype="float32"))
    return w


def frames_dim(samples, *, n_fft, hop_length, center):
    return None if samples is None else n_frames(samples, n_fft=n_fft, hop_length=hop_length,
                                                 center=center)


class STFTLayer(keras.layers.Layer):
    """Shared STFT front end: padding, framing, window, rFFT.  Not used directly."""

    def __init__(self, n_fft=2048, hop_length=None, win_length=None, window="hann", center=True,
                 pad_mode="constant", **kwargs):
        kwargs.setdefault("dtype", "float32")  # spectra in float32 even under mixed precision
        super().__init__(**kwargs)
        self.n_fft, self.hop_length, self.win_length = resolve_stft_params(n_fft, hop_length,
                                                                           win_length)
        if not isinstance(window, str):
            raise ParameterError(f"window must be a scipy window name for a layer, got {window!r}")
        self.window = window
        self.center = bool(center)
        self.pad_mode = v.choice("pad_mode", pad_mode, ("constant", "reflect"))

    def _check_input(self, input_shape):
        if len(input_shape) != 2:
            raise ParameterError(
                f"{type(self).__name__} takes waveforms of shape (batch, samples), "
                f"got input shape {tuple(input_shape)}"
            )
        return input_shape[1]

    def build(self, input_shape):
        samples = self._check_input(input_shape)
        if samples is not None:
            frames_dim(samples, n_fft=self.n_fft, hop_length=self.hop_length, center=self.center)
        self.window_weights = constant_weight(
            self, "window", filters.get_window(self.window, self.win_length, n_fft=self.n_fft)
        )

    def _n_out_frames(self, samples) -> int | None:
        return frames_dim(samples, n_fft=self.n_fft, hop_length=self.hop_length,
                           center=self.center)

    def _stft(self, x):
        """Real and imaginary parts, each ``(batch, frames, 1 + n_fft // 2)``."""
        x = ops.cast(x, "float32")
        if self.center:
            half = self.n_fft // 2
            x = ops.pad(x, [[0, 0], [half, half]], mode=self.pad_mode)
        samples = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
        count = 1 + (samples - self.n_fft) // self.hop_length
        frames = _ops.frame_signal(x, n_fft=self.n_fft, hop_length=self.hop_length, count=count)
        return ops.rfft(frames * self.window_weights, fft_length=self.n_fft)

    def _power(self, x, power: float):
        re, im = self._stft(x)
        p = re * re + im * im
        if power == 2.0:
            return p
        if power == 1.0:
            return ops.sqrt(p)
        return ops.power(p, power / 2.0)

    def get_config(self):
        config = super().get_config()
        config.update(n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                      window=self.window, center=self.center, pad_mode=self.pad_mode)
        return config
