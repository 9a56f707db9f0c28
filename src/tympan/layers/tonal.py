"""Keras layers for tonal features: ``Chroma`` (STFT chromagram) and ``CQT`` (constant-Q).

Waveforms ``(batch, samples)`` in, channels-last ``(batch, frames, feature)`` out.  The chroma
filterbank (``tympan.dsp.filters.chroma``) and the CQT kernels and half-band low-pass
(``tympan.dsp.constantq.cqt_kernels``) are built once in ``build()`` and kept as non-trainable
weights; ``get_config`` keeps the recipe.  Each layer equals its numpy function
(``tympan.dsp.chroma_stft``, ``tympan.dsp.cqt``) transposed to channels-last.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tympan import _validate as v
from tympan.dsp import constantq as _cqt
from tympan.dsp import filters
from tympan.errors import ParameterError
from tympan.layers import _ops
from tympan.layers._base import STFTLayer, constant_weight, frames_dim

_register = keras.saving.register_keras_serializable(package="tympan")
_TINY32 = float(np.finfo(np.float32).tiny)


def _normalize_last(x, norm: float | None):
    """``librosa.util.normalize`` over the last axis; a frame whose norm is below float32's
    smallest normal number is left as it is (as ``tympan.dsp``)."""
    if norm is None:
        return x
    mag = ops.abs(x)
    if np.isinf(norm):
        length = ops.max(mag, axis=-1, keepdims=True)
    else:
        length = ops.power(ops.sum(ops.power(mag, norm), axis=-1, keepdims=True), 1.0 / norm)
    return x / ops.where(length < _TINY32, ops.ones_like(length), length)


@_register
class Chroma(STFTLayer):
    """Chromagram ``(batch, frames, n_chroma)`` from the power STFT, equal to ``tympan.dsp.chroma_stft``.

    The STFT power is projected by the chroma filterbank (``tuning``, ``n_chroma``,
    ``ctroct``, ``octwidth``, ``base_c`` as in ``librosa.filters.chroma``) and each frame is
    normalised by ``norm`` (``inf``: its maximum is 1; ``None``: raw energies).  ``tuning=0``:
    no tuning estimation.
    """

    def __init__(self, sr=22050, n_fft=2048, hop_length=512, win_length=None, window="hann",
                 center=True, pad_mode="constant", norm=float("inf"), tuning=0.0, n_chroma=12,
                 ctroct=5.0, octwidth=2.0, base_c=True, **kwargs):
        super().__init__(n_fft, hop_length, win_length, window, center, pad_mode, **kwargs)
        self.sr = v.positive_number("sr", sr)
        self.norm = filters.check_norm("norm", norm)
        self.tuning, self.n_chroma = tuning, n_chroma
        self.ctroct, self.octwidth, self.base_c = ctroct, octwidth, bool(base_c)
        basis = self._chroma_basis()  # validates the filterbank recipe now, not at build time
        self.tuning, self.n_chroma, self.ctroct = float(tuning), basis.shape[0], float(ctroct)
        self.octwidth = None if octwidth is None else float(octwidth)

    def _chroma_basis(self) -> np.ndarray:
        return filters.chroma(sr=self.sr, n_fft=self.n_fft, n_chroma=self.n_chroma,
                              tuning=self.tuning, ctroct=self.ctroct, octwidth=self.octwidth,
                              base_c=self.base_c)

    def build(self, input_shape):
        super().build(input_shape)
        self.chroma_weights = constant_weight(self, "chroma_filterbank", self._chroma_basis().T)

    def call(self, inputs):
        return _normalize_last(ops.matmul(self._power(inputs, 2.0), self.chroma_weights), self.norm)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self._n_out_frames(self._check_input(input_shape)), self.n_chroma)

    def get_config(self):
        return {**super().get_config(), "sr": self.sr, "norm": self.norm, "tuning": self.tuning,
                "n_chroma": self.n_chroma, "ctroct": self.ctroct, "octwidth": self.octwidth,
                "base_c": self.base_c}


@_register
class CQT(keras.layers.Layer):
    """Constant-Q magnitude ``(batch, frames, n_bins)`` (``** power``), equal to ``|tympan.dsp.cqt|``.

    The multi-rate algorithm of ``librosa.cqt`` (see ``tympan.dsp.constantq``): the top octave at the
    input rate, then a half-band low-pass and decimation by 2 (polyphase) before
    each lower octave while the hop stays even; each octave's responses are one matrix product
    of its centred frames with a constant kernel.  ``power=1`` gives the magnitude, ``2`` the
    power (follow with :class:`~tympan.layers.PowerToDb` for dB).  Frames:
    ``1 + samples // hop_length``.  The top bin's filter must stay below ``sr / 2``.
    """

    def __init__(self, sr=22050, hop_length=512, fmin=None, n_bins=84, bins_per_octave=12,
                 tuning=0.0, filter_scale=1.0, norm=1.0, sparsity=0.01, window="hann",
                 scale=True, pad_mode="constant", power=1.0, **kwargs):
        kwargs.setdefault("dtype", "float32")  # spectra in float32 even under mixed precision
        super().__init__(**kwargs)
        if not isinstance(window, str):
            raise ParameterError(f"window must be a scipy window name for a layer, got {window!r}")
        self.sr, self.hop_length, self.fmin, self.n_bins = sr, hop_length, fmin, n_bins
        self.bins_per_octave, self.tuning, self.filter_scale = bins_per_octave, tuning, filter_scale
        self.norm, self.sparsity, self.window, self.scale = norm, sparsity, window, bool(scale)
        self._plan()  # validates every argument (and the Nyquist limit) now, not at build time
        self.sr, self.hop_length, self.n_bins = float(sr), int(hop_length), int(n_bins)
        self.fmin = None if fmin is None else float(fmin)
        self.bins_per_octave, self.tuning = int(bins_per_octave), float(tuning)
        self.filter_scale, self.sparsity = float(filter_scale), float(sparsity)
        self.norm = filters.check_norm("norm", norm)
        self.pad_mode = v.choice("pad_mode", pad_mode, ("constant", "reflect"))
        self.power = v.positive_number("power", power)

    def _plan(self) -> _cqt.CQTKernels:
        return _cqt.cqt_kernels(sr=self.sr, hop_length=self.hop_length, fmin=self.fmin,
                                n_bins=self.n_bins, bins_per_octave=self.bins_per_octave,
                                tuning=self.tuning, filter_scale=self.filter_scale, norm=self.norm,
                                sparsity=self.sparsity, window=self.window, scale=self.scale)

    def _check_input(self, input_shape):
        if len(input_shape) != 2:
            raise ParameterError(
                f"CQT takes waveforms of shape (batch, samples), got input shape {tuple(input_shape)}")
        return input_shape[1]

    def _n_out_frames(self, samples):
        return frames_dim(samples, n_fft=2, hop_length=self.hop_length, center=True)

    def build(self, input_shape):
        self._check_input(input_shape)
        plan = self._plan()
        self._octaves = plan.octaves
        self._early_halvings = plan.early_halvings
        self._centre_tap, self._front, toeplitz = _cqt.halving_operator(plan.lowpass)
        self.halving = constant_weight(self, "halving_lowpass", toeplitz)
        self.kernels = [constant_weight(self, f"kernel_{i}", o.kernel) for i, o in enumerate(plan.octaves)]

    def _halve(self, x):
        """Half-band low-pass and every other sample: ``ceil(n / 2)`` samples, zero-phase.

        Polyphase, as ``tympan.dsp.tonal._halve``: the centre tap times the even samples plus
        a correlation of the odd samples with the filter's odd-offset taps, done as one
        block-Toeplitz matrix product (``constantq.halving_operator``).  On jax's CPU backend
        a strided ``ops.conv`` took about 15x longer.
        """
        block, front = self.halving.shape[1], self._front
        samples = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
        out_n = (samples + 1) // 2
        n_blocks = (out_n + block - 1) // block
        x = ops.pad(x, [[0, 0], [0, 1]])  # both phases then hold at least out_n samples
        even, odd = x[:, 0::2][:, :out_n], x[:, 1::2][:, :out_n]
        odd = ops.pad(odd, [[0, 0], [front, (n_blocks + 1) * block - out_n - front]])
        blocks = ops.reshape(odd, (-1, n_blocks + 1, block))
        pairs = ops.concatenate([blocks[:, :-1], blocks[:, 1:]], axis=-1)  # (b, n_blocks, 2 block)
        corr = ops.reshape(ops.matmul(pairs, self.halving), (-1, n_blocks * block))[:, :out_n]
        return self._centre_tap * even + corr

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        samples = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
        count = 1 + samples // self.hop_length
        for _ in range(self._early_halvings):
            x = self._halve(x)
        parts = []
        for octave, kernel in zip(self._octaves, self.kernels, strict=True):
            if octave.halve:
                x = self._halve(x)
            half = octave.n_fft // 2
            padded = ops.pad(x, [[0, 0], [half, half]], mode=self.pad_mode)
            frames = _ops.frame_signal(padded, n_fft=octave.n_fft, hop_length=octave.hop_length,
                                       count=count)
            resp = ops.matmul(frames, kernel)  # (batch, count, 2 * n_filters): [real | imag]
            re, im = resp[..., : octave.n_filters], resp[..., octave.n_filters :]
            parts.append(re * re + im * im)
        p = ops.concatenate(parts[::-1], axis=-1)  # octaves run top-down; bins ascend
        if self.power == 2.0:
            return p
        if self.power == 1.0:
            return ops.sqrt(p)
        return ops.power(p, self.power / 2.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self._n_out_frames(self._check_input(input_shape)), self.n_bins)

    def get_config(self):
        config = super().get_config()
        config.update(sr=self.sr, hop_length=self.hop_length, fmin=self.fmin, n_bins=self.n_bins,
                      bins_per_octave=self.bins_per_octave, tuning=self.tuning,
                      filter_scale=self.filter_scale, norm=self.norm, sparsity=self.sparsity,
                      window=self.window, scale=self.scale, pad_mode=self.pad_mode,
                      power=self.power)
        return config
