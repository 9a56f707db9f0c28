"""The audio autoencoder: waveform in, waveform out, through a bottleneck ``compression`` times
smaller than the waveform.

One registered model, ``autoencoder``, over a chosen ``representation``:

``"stft"``     complex STFT, real and imaginary parts as channels; the decoder's STFT goes back
               through :class:`~tympan.layers.InverseSTFT` (an exact inverse, so only the
               bottleneck loses anything).
``"logmag"``   log-magnitude STFT; the decoded magnitude takes the input's phase (``phase``
               information is not in the bottleneck) or, at reconstruction, Griffin-Lim's.
``"waveform"`` the samples in blocks of ``stride``, a learned block transform with context.

``compression`` counts numbers: the waveform's samples over the bottleneck's values (one
per-clip level, the RMS the input is normalised by, is not counted).  The model is trained
with :func:`snr_loss`, the negative signal-to-noise ratio of the output in dB, so every clip
counts the same whatever its level.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from tympan import _validate as v
from tympan.dsp.frames import n_frames
from tympan.errors import ParameterError
from tympan.layers import InverseSTFT, Spectrogram
from tympan.models.names import BOTTLENECK, DECODED_MAGNITUDE, RMS_NORMALIZE, STFT
from tympan.models.registry import register_model

REPRESENTATIONS = ("stft", "logmag", "waveform")
_register = keras.saving.register_keras_serializable(package="tympan")


@_register
def snr_loss(y_true, y_pred):
    """``-SNR`` in dB per example, ``10 log10(sum(e^2) / sum(y^2))``, averaged over the batch."""
    y_true = ops.reshape(ops.cast(y_true, "float32"), (ops.shape(y_true)[0], -1))
    y_pred = ops.reshape(ops.cast(y_pred, "float32"), (ops.shape(y_pred)[0], -1))
    noise = ops.sum(ops.square(y_true - y_pred), axis=-1)
    signal = ops.sum(ops.square(y_true), axis=-1)
    return 10.0 * ops.log10((noise + 1e-9) / (signal + 1e-9))


@_register
class RMSNormalize(keras.layers.Layer):
    """``(x / rms, rms)`` per example over the last axis (``rms`` floored at ``epsilon``)."""

    def __init__(self, epsilon=1e-4, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.epsilon = v.positive_number("epsilon", epsilon)

    def call(self, x):
        rms = ops.sqrt(ops.mean(ops.square(x), axis=-1, keepdims=True))
        rms = ops.maximum(rms, self.epsilon)
        return x / rms, rms

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), (*tuple(input_shape)[:-1], 1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@_register
class ApplyPhase(keras.layers.Layer):
    """``[magnitude (b, frames, bins), complex STFT (b, frames, bins, 2)]`` -> the complex STFT
    with the magnitude replaced (the input's phase kept; silent bins get phase 0)."""

    def call(self, inputs):
        mag, spec = inputs
        norm = ops.sqrt(ops.sum(ops.square(spec), axis=-1, keepdims=True))
        unit = ops.where(norm > 1e-12, spec / ops.maximum(norm, 1e-12),
                         ops.stack([ops.ones_like(mag), ops.zeros_like(mag)], axis=-1))
        return unit * ops.expand_dims(mag, -1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1])


def _conv_stack(x, widths, kernel_size, name):
    for i, width in enumerate(widths):
        x = keras.layers.Conv1D(width, kernel_size, padding="same", activation="gelu",
                                name=f"{name}{i + 1}")(x)
    return x


def _encode(h, latent: int, width: int, depth: int, kernel_size: int):
    """The bottleneck: a linear projection of ``h`` plus the nonlinear stack's projection.

    The linear shortcut (on the encoder's side of the bottleneck, so nothing bypasses it) lets
    training find a good linear code (PCA-like) at once and spend the epochs on the rest.
    Without it (and with a constant learning rate) the 2x model reached only about 10 dB SNR,
    no better than a linear 4x code (``docs/autoencoder.md``).
    """
    deep = _conv_stack(h, [width] * depth, kernel_size, "encoder")
    deep = keras.layers.Conv1D(latent, 1, name="encoder_out")(deep)
    linear = keras.layers.Conv1D(latent, kernel_size, padding="same", name="encoder_linear")(h)
    return keras.layers.Add(name=BOTTLENECK)([linear, deep])


def _decode(z, channels: int, width: int, depth: int, kernel_size: int, name: str):
    """The decoder's output ``channels``: a linear map of the code plus the nonlinear stack's."""
    deep = _conv_stack(z, [width] * depth, kernel_size, "decoder")
    deep = keras.layers.Conv1D(channels, 1, name=f"{name}_deep")(deep)
    linear = keras.layers.Conv1D(channels, kernel_size, padding="same", name=f"{name}_linear")(z)
    return keras.layers.Add(name=name)([linear, deep])


def _latent_channels(values_per_step: float, compression: float, what: str) -> int:
    """Bottleneck channels per step for ``compression``; refuses a ratio more than 25 % off."""
    channels = round(values_per_step / compression)
    if channels < 1 or abs(values_per_step / channels / compression - 1) > 0.25:
        raise ParameterError(f"compression={compression:g} cannot be met with {what}: the "
                             f"bottleneck holds whole channels of {values_per_step:g} samples' "
                             f"worth; use a compression of at most {values_per_step / 1.25:g}")
    return channels


@register_model("autoencoder", features={"kind": "waveform"}, task="reconstruction")
def autoencoder(*, input_samples, sr, features, representation="stft", compression=8.0,
                n_fft=None, hop_length=None, width=128, depth=3, kernel_size=5,
                stride=64) -> keras.Model:
    """A convolutional autoencoder over ``representation`` (``"stft"``, ``"logmag"`` or
    ``"waveform"``), ``compression`` times fewer numbers in the bottleneck than samples.

    STFT representations use ``n_fft`` (default: the power of two nearest 16 ms, 128 at
    8 kHz, measured better than 256 in ``benchmarks/autoencoder.py``) and ``hop_length``
    (default ``n_fft // 2``), a
    ``depth``-layer ``width``-channel Conv1D encoder over frames into the bottleneck
    (``samples / (frames * compression)`` channels per frame) and a mirror decoder.  The
    waveform representation reads the samples in blocks of ``stride`` (one step each) and
    encodes the steps the same way into ``stride / compression`` channels per step.
    """
    representation = v.choice("representation", representation, REPRESENTATIONS)
    compression = v.positive_number("compression", compression)
    width, depth = v.positive_int("width", width), v.positive_int("depth", depth)
    kernel_size = v.positive_int("kernel_size", kernel_size)
    inputs = keras.Input((input_samples,), name="waveform")
    x, rms = RMSNormalize(name=RMS_NORMALIZE)(inputs)
    if representation == "waveform":
        out = _waveform_codec(x, input_samples, compression, width, depth, kernel_size,
                              v.positive_int("stride", stride))
    else:
        n_fft = (2 ** round(math.log2(0.016 * sr))) if n_fft is None else v.positive_int("n_fft", n_fft)
        hop = n_fft // 2 if hop_length is None else v.positive_int("hop_length", hop_length)
        out = _stft_codec(x, input_samples, representation, compression, n_fft, hop, width,
                          depth, kernel_size)
    out = keras.layers.Multiply(name="restore_level")([out, rms])
    return keras.Model(inputs, out, name=f"autoencoder_{representation}")


def _stft_codec(x, samples, representation, compression, n_fft, hop, width, depth, kernel_size):
    bins, frames = n_fft // 2 + 1, n_frames(samples, n_fft=n_fft, hop_length=hop)
    spec = Spectrogram(n_fft=n_fft, hop_length=hop, mode="complex", name=STFT)(x)
    if representation == "stft":
        h = keras.layers.Reshape((frames, bins * 2), name="real_imag_channels")(spec)
    else:
        h = LogMagnitude(name="log_magnitude")(spec)
    latent = _latent_channels(samples / frames, compression, f"{frames} frames of {samples} samples")
    z = _encode(h, latent, width, depth, kernel_size)
    if representation == "stft":
        h = _decode(z, bins * 2, width, depth, kernel_size, "decoded_real_imag")
        h = keras.layers.Reshape((frames, bins, 2), name="decoded_stft")(h)
    else:
        h = _decode(z, bins, width, depth, kernel_size, "decoded_log_magnitude")
        mag = ExpMagnitude(name=DECODED_MAGNITUDE)(h)
        h = ApplyPhase(name="input_phase")([mag, spec])
    return InverseSTFT(n_fft=n_fft, hop_length=hop, length=samples, name="istft")(h)


def _waveform_codec(x, samples, compression, width, depth, kernel_size, stride):
    """Samples in blocks of ``stride`` (the last one zero-padded) as the channels of a sequence
    of steps; Conv1D over steps into the bottleneck and back; blocks back to samples.

    A learned block transform with ``kernel_size`` steps of context on each side of the
    bottleneck.  (Strided and transposed convolutions do the same job but ran about 10x slower
    on CPU with jax.)
    """
    steps = math.ceil(samples / stride)
    padded = steps * stride
    h = keras.layers.Reshape((samples, 1), name="add_channel")(x)
    if padded != samples:
        h = keras.layers.ZeroPadding1D((0, padded - samples), name="pad_to_stride")(h)
    h = keras.layers.Reshape((steps, stride), name="blocks")(h)
    z = _encode(h, _latent_channels(stride, compression, f"stride {stride}"), width, depth,
                kernel_size)
    h = _decode(z, stride, width, depth, kernel_size, "decoded_blocks")
    h = keras.layers.Reshape((padded, 1), name="samples")(h)
    if padded != samples:
        h = keras.layers.Cropping1D((0, padded - samples), name="crop_padding")(h)
    return keras.layers.Reshape((samples,), name="drop_channel")(h)


_FLOOR = 1e-5  # magnitude floor of the log: silent bins stay finite


# Registered under their first names, which saved models carry.
@keras.saving.register_keras_serializable(package="tympan", name="_LogMagnitude")
class LogMagnitude(keras.layers.Layer):
    """Complex STFT ``(b, frames, bins, 2)`` -> ``log(|S| + floor)`` ``(b, frames, bins)``: the
    input of the ``logmag`` autoencoder and of the separator."""

    def call(self, spec):
        return ops.log(ops.sqrt(ops.sum(ops.square(spec), axis=-1)) + _FLOOR)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])


@keras.saving.register_keras_serializable(package="tympan", name="_ExpMagnitude")
class ExpMagnitude(keras.layers.Layer):
    """The inverse of :class:`LogMagnitude`, clipped to non-negative magnitudes."""

    def call(self, h):
        return ops.maximum(ops.exp(ops.minimum(h, 20.0)) - _FLOOR, 0.0)


__all__ = ["DECODED_MAGNITUDE", "REPRESENTATIONS", "ApplyPhase", "ExpMagnitude", "LogMagnitude",
           "RMSNormalize", "autoencoder", "snr_loss"]
