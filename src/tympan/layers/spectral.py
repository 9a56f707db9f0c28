"""Keras layers for spectral features: Spectrogram, MelSpectrogram, MFCC, PowerToDb, Delta.

Inputs are waveforms ``(batch, samples)``; outputs are channels-last ``(batch, frames,
feature)``.  Constant matrices (window, mel filterbank, DCT, delta operator) come from
``tympan.dsp.filters`` in ``build()`` and are stored as non-trainable weights; ``get_config``
keeps the recipe, so a saved model reloads with nothing but tympan and Keras.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tympan import _validate as v
from tympan.dsp import filters
from tympan.errors import ParameterError
from tympan.layers import _ops
from tympan.layers._base import STFTLayer, constant_weight

_register = keras.saving.register_keras_serializable(package="tympan")


@_register
class Spectrogram(STFTLayer):
    """STFT of waveforms ``(batch, samples)`` -> ``(batch, frames, 1 + n_fft // 2)``.

    ``mode="magnitude"`` (|X|), ``"power"`` (|X|^2), or ``"complex"`` (real and imaginary parts
    stacked on a last axis: ``(batch, frames, bins, 2)``, the input of :class:`InverseSTFT`).
    Equals ``tympan.dsp.stft`` / ``spectrogram`` transposed to channels-last.
    """

    def __init__(self, n_fft=2048, hop_length=None, win_length=None, window="hann", center=True,
                 pad_mode="constant", mode="magnitude", **kwargs):
        super().__init__(n_fft, hop_length, win_length, window, center, pad_mode, **kwargs)
        self.mode = v.choice("mode", mode, ("magnitude", "power", "complex"))

    def call(self, inputs):
        if self.mode == "complex":
            re, im = self._stft(inputs)
            return ops.stack([re, im], axis=-1)
        return self._power(inputs, 1.0 if self.mode == "magnitude" else 2.0)

    def compute_output_shape(self, input_shape):
        shape = (input_shape[0], self._n_out_frames(self._check_input(input_shape)),
                 self.n_fft // 2 + 1)
        return (*shape, 2) if self.mode == "complex" else shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@_register
class MelSpectrogram(STFTLayer):
    """Mel spectrogram ``(batch, frames, n_mels)``, equal to ``tympan.dsp.melspectrogram``.

    Power (``power=2``) by default; follow with :class:`PowerToDb` for log-mel.  Slaney mel
    scale and norm by default, as librosa (Keras's own ``MelSpectrogram`` uses HTK).
    """

    def __init__(self, sr=22050, n_fft=2048, hop_length=512, win_length=None, window="hann",
                 center=True, pad_mode="constant", power=2.0, n_mels=128, fmin=0.0, fmax=None,
                 htk=False, norm="slaney", **kwargs):
        super().__init__(n_fft, hop_length, win_length, window, center, pad_mode, **kwargs)
        self.sr = v.positive_number("sr", sr)
        self.power = v.positive_number("power", power)
        self.n_mels = v.positive_int("n_mels", n_mels)
        self.fmin, self.fmax, self.htk, self.norm = float(fmin), fmax, bool(htk), norm
        self._mel_basis()  # validate the filterbank recipe now, not at build time

    def _mel_basis(self) -> np.ndarray:
        return filters.mel(sr=self.sr, n_fft=self.n_fft, n_mels=self.n_mels, fmin=self.fmin,
                           fmax=self.fmax, htk=self.htk, norm=self.norm)

    def build(self, input_shape):
        super().build(input_shape)
        self.mel_weights = constant_weight(self, "mel_filterbank", self._mel_basis().T)

    def call(self, inputs):
        return ops.matmul(self._power(inputs, self.power), self.mel_weights)

    def compute_output_shape(self, input_shape):
        frames = self._n_out_frames(self._check_input(input_shape))
        return (input_shape[0], frames, self.n_mels)

    def get_config(self):
        return {**super().get_config(), "sr": self.sr, "power": self.power, "n_mels": self.n_mels,
                "fmin": self.fmin, "fmax": self.fmax, "htk": self.htk, "norm": self.norm}


def _db_params(ref, amin, top_db):
    ref_max = ref == "max"
    if not ref_max:
        ref = v.positive_number("ref", ref)
    amin = v.positive_number("amin", amin)
    top_db = None if top_db is None else v.non_negative_number("top_db", top_db)
    return ref, ref_max, amin, top_db


@_register
class PowerToDb(keras.layers.Layer):
    """``10 log10(max(amin, x) / ref)`` with ``top_db`` clipping, **per example**.

    ``ref`` is a number or ``"max"`` (each example's own peak).  The peak used for ``top_db``
    is each example's, over all its non-batch axes, never the batch's (unlike Keras's
    ``MelSpectrogram``).  Equals ``tympan.dsp.power_to_db``.
    """

    def __init__(self, ref=1.0, amin=1e-10, top_db=80.0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.ref, self._ref_max, self.amin, self.top_db = _db_params(ref, amin, top_db)

    def call(self, inputs):
        return _ops.power_to_db(ops.cast(inputs, "float32"), ref_max=self._ref_max,
                                ref=0.0 if self._ref_max else self.ref, amin=self.amin,
                                top_db=self.top_db)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "ref": self.ref, "amin": self.amin, "top_db": self.top_db}


@_register
class MFCC(MelSpectrogram):
    """MFCCs of waveforms ``(batch, samples)`` -> ``(batch, frames, n_mfcc)``.

    log-power mel (per-example ``top_db``) then an orthonormal DCT-II, equal to
    ``tympan.dsp.mfcc`` and ``librosa.feature.mfcc`` with the same arguments.
    """

    def __init__(self, sr=22050, n_mfcc=20, norm="ortho", lifter=0.0, top_db=80.0,
                 n_fft=2048, hop_length=512, win_length=None, window="hann", center=True,
                 pad_mode="constant", power=2.0, n_mels=128, fmin=0.0, fmax=None, htk=False,
                 mel_norm="slaney", **kwargs):
        # librosa's names: `norm` is the DCT's, `mel_norm` the filterbank's (kept as self.norm
        # by MelSpectrogram; this layer's config writes both under their librosa names).
        super().__init__(sr, n_fft, hop_length, win_length, window, center, pad_mode, power,
                         n_mels, fmin, fmax, htk, mel_norm, **kwargs)
        self.n_mfcc = v.positive_int("n_mfcc", n_mfcc)
        self.dct_norm = v.choice("norm", norm, ("ortho", None))
        self.lifter = v.non_negative_number("lifter", lifter)
        self.top_db = None if top_db is None else v.non_negative_number("top_db", top_db)
        self._dct_basis()

    def _dct_basis(self) -> np.ndarray:
        basis = filters.dct(self.n_mfcc, self.n_mels, norm=self.dct_norm)
        if self.lifter:
            basis = basis * filters.lifter_weights(self.n_mfcc, self.lifter)[:, None]
        return basis

    def build(self, input_shape):
        super().build(input_shape)
        self.dct_weights = constant_weight(self, "dct", self._dct_basis().T)

    def call(self, inputs):
        mel = super().call(inputs)
        log_mel = _ops.power_to_db(mel, ref_max=False, ref=1.0, amin=1e-10, top_db=self.top_db)
        return ops.matmul(log_mel, self.dct_weights)

    def compute_output_shape(self, input_shape):
        frames = self._n_out_frames(self._check_input(input_shape))
        return (input_shape[0], frames, self.n_mfcc)

    def get_config(self):
        return {**super().get_config(), "n_mfcc": self.n_mfcc, "norm": self.dct_norm,
                "mel_norm": self.norm,
                "lifter": self.lifter, "top_db": self.top_db}


@_register
class Delta(keras.layers.Layer):
    """Savitzky-Golay delta along the frame axis of ``(batch, frames, feature)``.

    Equal to ``tympan.dsp.delta`` (librosa's ``delta``, ``mode="interp"``): edges by polynomial
    fits, so at least ``width`` frames are needed.
    """

    def __init__(self, width=9, order=1, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        filters.delta_operator(width, order)  # validates
        self.width, self.order = int(width), int(order)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ParameterError(
                f"Delta takes (batch, frames, feature), got input shape {tuple(input_shape)}"
            )
        if input_shape[1] is not None and input_shape[1] < self.width:
            raise ParameterError(
                f"Delta needs at least width={self.width} frames, got {input_shape[1]}"
            )
        kernel, head, tail = filters.delta_operator(self.width, self.order)
        self.kernel = constant_weight(self, "kernel", kernel)
        self.head = constant_weight(self, "head", head)
        self.tail = constant_weight(self, "tail", tail)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        frames = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
        inner = frames - 2 * (self.width // 2)
        interior = None
        for j in range(self.width):
            term = self.kernel[j] * x[:, j : j + inner, :]
            interior = term if interior is None else interior + term
        first = ops.einsum("hw,bwc->bhc", self.head, x[:, : self.width, :])
        last = ops.einsum("hw,bwc->bhc", self.tail, x[:, frames - self.width :, :])
        return ops.concatenate([first, interior, last], axis=1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "order": self.order}
