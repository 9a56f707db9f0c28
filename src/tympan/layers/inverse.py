"""Keras layers back to waveforms: the inverse STFT (exact at the edges) and Griffin-Lim."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp.spectrum import resolve_stft_params
from tympan.errors import ParameterError
from tympan.layers import _ops
from tympan.layers._base import STFTLayer, constant_weight, frames_dim


class _OverlapAddInverse:
    """The weighted overlap-add inverse shared by :class:`InverseSTFT` and :class:`GriffinLim`.

    Needs ``n_fft``, ``hop_length``, ``win_length``, ``window``, ``center`` and ``length`` on
    the layer; :meth:`_build_windows` keeps the window and its square as constants.
    """

    def _build_windows(self):
        win = filters.get_window(self.window, self.win_length, n_fft=self.n_fft)
        self.window_weights = constant_weight(self, "window", win)
        self.window_sq = constant_weight(self, "window_sq", np.square(win))

    def _envelope(self, frames):
        # The squared-window envelope depends only on the number of frames: one row, no batch.
        return _ops.overlap_add(ops.ones_like(frames[:1]) * self.window_sq, hop_length=self.hop_length)

    def _inverse(self, re, im, envelope=None):
        """``(batch, frames, bins)`` real and imaginary parts -> ``(batch, samples)``."""
        frames = ops.irfft((re, im), fft_length=self.n_fft)
        y = _ops.overlap_add(frames * self.window_weights, hop_length=self.hop_length)
        envelope = self._envelope(frames) if envelope is None else envelope
        tiny = float(np.finfo(np.float32).tiny)
        y = ops.where(envelope > tiny, y / ops.maximum(envelope, tiny), y)
        start = self.n_fft // 2 if self.center else 0
        if self.length is not None:
            y = y[:, start : start + self.length]
            short = self.length - (y.shape[1] if y.shape[1] is not None else ops.shape(y)[1])
            return ops.pad(y, [[0, 0], [0, short]]) if short else y
        stop = (y.shape[1] if y.shape[1] is not None else ops.shape(y)[1]) - start
        return y[:, start:stop]

    def _samples_out(self, batch, frames):
        if self.length is not None:
            return (batch, self.length)
        if frames is None:
            return (batch, None)
        total = self.n_fft + self.hop_length * (frames - 1)
        return (batch, total - (2 * (self.n_fft // 2) if self.center else 0))


@keras.saving.register_keras_serializable(package="tympan")
class InverseSTFT(_OverlapAddInverse, keras.layers.Layer):
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
        self._build_windows()

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        return self._inverse(x[..., 0], x[..., 1])

    def compute_output_shape(self, input_shape):
        return self._samples_out(input_shape[0], input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n_fft": self.n_fft, "hop_length": self.hop_length,
                "win_length": self.win_length, "window": self.window, "center": self.center,
                "length": self.length}


@keras.saving.register_keras_serializable(package="tympan")
class GriffinLim(_OverlapAddInverse, STFTLayer):
    """Fast Griffin-Lim: magnitude ``(batch, frames, 1 + n_fft // 2)`` -> ``(batch, samples)``.

    ``n_iter`` rounds of inverse STFT and STFT (the ``Spectrogram`` and ``InverseSTFT``
    machinery, in a ``keras.ops.fori_loop``) with Perraudin et al.'s ``momentum``.  The start
    is deterministic: zero phase, or the phase angles (radians) given as a second input,
    ``[magnitude, phase]`` of equal shapes.  Equal to ``tympan.dsp.griffinlim(S, init=None)``
    (or ``init=phase``) up to float32 FFT rounding.  ``length``, if given, is enforced in every
    iteration and must give the input's number of frames.
    """

    def __init__(self, n_fft=2048, hop_length=None, win_length=None, window="hann", center=True,
                 n_iter=32, momentum=0.99, length=None, pad_mode="constant", **kwargs):
        super().__init__(n_fft, hop_length, win_length, window, center, pad_mode, **kwargs)
        self.n_iter = v.positive_int("n_iter", n_iter)
        self.momentum = v.non_negative_number("momentum", momentum)
        self.length = None if length is None else v.positive_int("length", length)
        self._length_frames = None if length is None else frames_dim(
            self.length, n_fft=self.n_fft, hop_length=self.hop_length, center=self.center)

    def _magnitude_shape(self, input_shape):
        shapes = list(input_shape) if isinstance(input_shape[0], (list, tuple)) else [input_shape]
        bins = self.n_fft // 2 + 1
        if len(shapes) > 2 or any(len(s) != 3 or s[2] != bins for s in shapes):
            raise ParameterError(
                f"GriffinLim takes a magnitude (batch, frames, {bins}) for n_fft={self.n_fft}, or "
                f"[magnitude, phase] of that shape, got input shape {input_shape}"
            )
        frames = shapes[0][1]
        if frames is not None and self._length_frames not in (None, frames):
            raise ParameterError(
                f"length={self.length} gives {self._length_frames} frames, but the input has {frames}"
            )
        return shapes[0]

    def build(self, input_shape):
        self._magnitude_shape(input_shape)
        self._build_windows()

    def call(self, inputs):
        if isinstance(inputs, (list, tuple)):
            mag, phase = (ops.cast(x, "float32") for x in inputs)
            re, im = mag * ops.cos(phase), mag * ops.sin(phase)
        else:
            mag = ops.cast(inputs, "float32")
            re, im = mag, ops.zeros_like(mag)
        envelope = self._envelope(ops.irfft((re[:1], im[:1]), fft_length=self.n_fft))
        fade = self.momentum / (1.0 + self.momentum)
        eps = float(np.finfo(np.float32).tiny)

        def step(i, state):
            re, im, prev_re, prev_im = state
            new_re, new_im = self._stft(self._inverse(re, im, envelope))
            re, im = new_re - fade * prev_re, new_im - fade * prev_im
            scale = mag / (ops.sqrt(re * re + im * im) + eps)
            return re * scale, im * scale, new_re, new_im

        # no previous estimate in the first round: zeros leave it unchanged
        re, im, _, _ = ops.fori_loop(0, self.n_iter, step, (re, im, ops.zeros_like(re), ops.zeros_like(im)))
        return self._inverse(re, im, envelope)

    def compute_output_shape(self, input_shape):
        shape = self._magnitude_shape(input_shape)
        return self._samples_out(shape[0], shape[1])

    def get_config(self):
        return {**super().get_config(), "n_iter": self.n_iter, "momentum": self.momentum,
                "length": self.length}
