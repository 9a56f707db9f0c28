"""The FFT magnitude feature as a Keras layer: :func:`tympan.dsp.fft_features` inside a model."""

from __future__ import annotations

import keras
from keras import ops

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp.fft_features import AMIN, EPSILON, check_recipe, fft_bin_count
from tympan.errors import ParameterError
from tympan.layers import _ops
from tympan.layers._base import constant_weight
from tympan.layers.spectral import Spectrogram


@keras.saving.register_keras_serializable(package="tympan")
class FFTMagnitude(keras.layers.Layer):
    """FFT magnitude of waveforms ``(batch, samples)``, equal to :func:`tympan.dsp.fft_features`.

    Whole clip (default): ``(batch, k)``, the first ``min(samples, n_fft)`` samples tapered by
    ``window`` and transformed with an ``rfft`` of length ``n_fft`` (None: the input length).
    ``framed=True``: ``(batch, frames, k)``, the STFT magnitude (``n_fft`` default 2048).
    ``k`` bins are kept (``n_bins``, or up to ``fmax``, or all); then ``scale`` ("db" or
    "linear", ``top_db`` below each example's peak) and ``normalize`` ("max", "standard" or
    None), all per example.
    """

    def __init__(self, sr=22050, n_fft=None, framed=False, hop_length=None, win_length=None,
                 window="hann", center=True, pad_mode="constant", n_bins=None, fmax=None,
                 scale="db", top_db=80.0, normalize="max", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.sr = v.positive_number("sr", sr)
        self.framed = bool(framed)
        self.n_fft = None if n_fft is None else v.positive_int("n_fft", n_fft)
        self.window = window
        self.n_bins, self.fmax = n_bins, fmax
        check_recipe(scale, normalize, top_db)
        self.scale, self.top_db, self.normalize = scale, top_db, normalize
        self.stft_args = {"hop_length": hop_length, "win_length": win_length, "center": center,
                          "pad_mode": pad_mode}
        self.spectrogram = None
        if self.framed:
            if window is None:
                raise ParameterError("framed FFT features need a window (e.g. 'hann'), got None")
            self.spectrogram = Spectrogram(n_fft=2048 if self.n_fft is None else self.n_fft,
                                           window=window, mode="magnitude", name="stft_magnitude",
                                           **self.stft_args)
            self.stft_args = {k: getattr(self.spectrogram, k) for k in self.stft_args}
            self.k = fft_bin_count(sr=self.sr, n_fft=self.spectrogram.n_fft, n_bins=n_bins,
                                   fmax=fmax)
        elif self.n_fft is not None:
            self.k = fft_bin_count(sr=self.sr, n_fft=self.n_fft, n_bins=n_bins, fmax=fmax)
        else:
            self.k = None  # known once the input length is; check n_bins and fmax now
            fft_bin_count(sr=self.sr, n_fft=2 * n_bins if isinstance(n_bins, int) and n_bins > 0
                          else 2, n_bins=n_bins, fmax=fmax)

    def _length(self, samples) -> int:
        if self.n_fft is not None:
            return self.n_fft
        if samples is None:
            raise ParameterError("FFTMagnitude with n_fft=None (the clip length) needs a fixed "
                                 "input length, got (batch, None)")
        return int(samples)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ParameterError(f"FFTMagnitude takes waveforms of shape (batch, samples), got "
                                 f"input shape {tuple(input_shape)}")
        if self.framed:
            self.spectrogram.build(input_shape)
            return
        if input_shape[1] is None and self.window is not None:
            raise ParameterError("FFTMagnitude over the whole clip with a window needs a fixed input "
                                 "length (the window spans the clip), got (batch, None)")
        n = self._n = self._length(input_shape[1])
        self.k = fft_bin_count(sr=self.sr, n_fft=n, n_bins=self.n_bins, fmax=self.fmax)
        self.segment = n if input_shape[1] is None else min(int(input_shape[1]), n)
        if self.window is not None:
            self.window_weights = constant_weight(self, "window",
                                                  filters.get_window(self.window, self.segment))

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        if self.framed:
            mag = self.spectrogram(x)[..., : self.k]
        else:
            x = x[:, : self.segment]
            if self.window is not None:
                x = x * self.window_weights
            re, im = ops.rfft(x, fft_length=self._n)
            mag = ops.sqrt(re * re + im * im)[:, : self.k]
        return self._scaled(mag)

    def _scaled(self, x):
        axes = tuple(range(1, len(x.shape)))
        if self.scale == "db":
            x = _ops.power_to_db(x * x, ref_max=False, ref=1.0, amin=AMIN * AMIN, top_db=self.top_db)
            if self.normalize == "max":
                x = x - ops.max(x, axis=axes, keepdims=True)
        elif self.normalize == "max":
            x = x / ops.maximum(ops.max(x, axis=axes, keepdims=True), 1e-38)
        if self.normalize == "standard":
            mean = ops.mean(x, axis=axes, keepdims=True)
            var = ops.mean(ops.square(x - mean), axis=axes, keepdims=True)
            x = (x - mean) / ops.sqrt(var + EPSILON)
        return x

    def compute_output_shape(self, input_shape):
        if self.framed:
            frames = self.spectrogram.compute_output_shape(input_shape)[1]
            return (input_shape[0], frames, self.k)
        k = self.k
        if k is None:
            k = fft_bin_count(sr=self.sr, n_fft=self._length(input_shape[1]), n_bins=self.n_bins,
                              fmax=self.fmax)
        return (input_shape[0], k)

    def get_config(self):
        return {**super().get_config(), "sr": self.sr, "n_fft": self.n_fft, "framed": self.framed,
                **self.stft_args, "window": self.window, "n_bins": self.n_bins, "fmax": self.fmax,
                "scale": self.scale, "top_db": self.top_db, "normalize": self.normalize}
