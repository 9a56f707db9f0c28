"""Keras layer for the wavelet scalogram: a strided convolution with a fixed wavelet bank.

The bank comes from :func:`tympan.dsp.wavelets.wavelet_bank` in ``build()`` (the same
PyWavelets discretisation as :func:`tympan.dsp.scalogram`) and is kept as a non-trainable
weight: its real and imaginary parts are separate output channels of one convolution, strided
by ``hop_length``, and the magnitude is taken per bin.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tympan import _validate as v
from tympan.dsp import wavelets
from tympan.dsp.frames import n_frames
from tympan.errors import ParameterError
from tympan.layers._base import constant_weight

_register = keras.saving.register_keras_serializable(package="tympan")


@_register
class Scalogram(keras.layers.Layer):
    """Continuous-wavelet scalogram of waveforms ``(batch, samples)`` -> ``(batch, frames, n_bins)``.

    Equals ``tympan.dsp.scalogram`` with the same arguments, transposed to channels-last:
    frames at samples ``k * hop_length``, ``k = 0 .. samples // hop_length`` (``n_frames`` with
    ``center=True``), ``n_bins`` log-spaced centre frequencies from ``fmin`` to ``fmax`` (default
    ``sr / 2``), complex Morlet ``"cmor1.5-1.0"`` by default (``"cmorB-C"``, ``"shanB-C"`` and
    ``"fbspM-B-C"`` are accepted).

    Cost: the bank is ``n_taps x 2 n_bins`` float32 weights with ``n_taps`` about
    ``16 * sr / fmin`` for ``cmor``, saved with the model (``sr=8000, fmin=40``: 3,200 taps,
    64 bins: 1.6 MB), and each frame costs ``n_taps * 2 * n_bins`` multiply-adds.  A kernel
    over 4 s (``fmin`` below 4 Hz for ``cmor``) is refused with a ParameterError.

    ``power``: the output is the magnitude raised to it (1: magnitude, 2: power, to follow
    with :class:`~tympan.layers.PowerToDb`).
    """

    def __init__(self, sr=22050, hop_length=512, fmin=32.70, fmax=None, n_bins=84,
                 wavelet="cmor1.5-1.0", precision=None, power=1.0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.sr = v.positive_number("sr", sr)
        self.hop_length = v.positive_int("hop_length", hop_length)
        self.fmin = v.positive_number("fmin", fmin)
        self.fmax = None if fmax is None else v.positive_number("fmax", fmax)
        self.n_bins = v.positive_int("n_bins", n_bins)
        self.wavelet = wavelet
        self.precision = None if precision is None else v.positive_int("precision", precision)
        self.power = v.positive_number("power", power)
        self.n_taps = self._bank().shape[0]  # validates the recipe (and the 4 s limit) now

    def _bank(self) -> np.ndarray:
        return wavelets.wavelet_bank(sr=self.sr, fmin=self.fmin, fmax=self.fmax, n_bins=self.n_bins,
                                     wavelet=self.wavelet, precision=self.precision)

    def _check_input(self, input_shape):
        if len(input_shape) != 2:
            raise ParameterError(
                f"Scalogram takes waveforms of shape (batch, samples), got input shape {tuple(input_shape)}")
        return input_shape[1]

    def build(self, input_shape):
        self._check_input(input_shape)
        bank = self._bank()
        kernel = np.concatenate([bank.real, bank.imag], axis=1)[:, None, :]  # (taps, 1, 2 n_bins)
        self.bank_weights = constant_weight(self, "wavelet_bank", kernel)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")[:, :, None]
        half = self.n_taps // 2
        x = ops.pad(x, [[0, 0], [half, half], [0, 0]])
        out = ops.conv(x, self.bank_weights, strides=self.hop_length, padding="valid",
                       data_format="channels_last")
        re, im = out[..., : self.n_bins], out[..., self.n_bins :]
        energy = re * re + im * im
        if self.power == 2.0:
            return energy
        return ops.sqrt(energy) if self.power == 1.0 else ops.power(energy, self.power / 2.0)

    def compute_output_shape(self, input_shape):
        samples = self._check_input(input_shape)
        frames = None if samples is None else n_frames(samples, n_fft=self.n_taps,
                                                       hop_length=self.hop_length, center=True)
        return (input_shape[0], frames, self.n_bins)

    def get_config(self):
        return {**super().get_config(), "sr": self.sr, "hop_length": self.hop_length,
                "fmin": self.fmin, "fmax": self.fmax, "n_bins": self.n_bins,
                "wavelet": self.wavelet, "precision": self.precision, "power": self.power}
