"""Time-frequency masking: one mixture's complex STFT under several masks, back to waveforms.

:class:`MaskedInverseSTFT` is the output stage of a mask-based source separator: each source is
the inverse STFT of ``mask_i * X`` with ``X`` the mixture's complex STFT (the mixture's phase is
kept).  The inverse is :class:`~tympan.layers.InverseSTFT`'s exact overlap-add, so masks that
sum to one in every bin (a softmax over the sources) give sources that add back to the mixture.
"""

from __future__ import annotations

import keras
from keras import ops

from tympan.errors import ParameterError
from tympan.layers.inverse import InverseSTFT


@keras.saving.register_keras_serializable(package="tympan")
class MaskedInverseSTFT(InverseSTFT):
    """``[masks (batch, frames, bins, n_sources), stft (batch, frames, bins, 2)]`` ->
    ``(batch, samples, n_sources)``: the inverse STFT of the complex STFT times each mask.

    ``stft`` is the layout of ``Spectrogram(mode="complex")`` (real, imaginary on the last
    axis); ``masks`` are real gains, one per bin and source.  The parameters are
    :class:`~tympan.layers.InverseSTFT`'s (``n_fft``, ``hop_length``, ``win_length``,
    ``window``, ``center``, ``length``) and must match the STFT's.  The sources go through the
    inverse together, folded into the batch axis; the output is channels-last.
    """

    def _shapes(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or not all(
                isinstance(s, (list, tuple)) for s in input_shape):
            raise ParameterError(f"MaskedInverseSTFT takes [masks, stft], got input shape {input_shape}")
        masks, spec = (tuple(s) for s in input_shape)
        bins = self.n_fft // 2 + 1
        if len(masks) != 4 or masks[2] != bins or masks[3] is None:
            raise ParameterError(
                f"MaskedInverseSTFT masks must be (batch, frames, {bins}, n_sources) for "
                f"n_fft={self.n_fft}, got {masks}")
        if masks[1] is not None and spec[1] is not None and masks[1] != spec[1]:
            raise ParameterError(f"masks have {masks[1]} frames but the STFT has {spec[1]}")
        return masks, spec

    def build(self, input_shape):
        _, spec = self._shapes(input_shape)
        super().build(spec)

    def call(self, inputs):
        masks, spec = (ops.cast(x, "float32") for x in inputs)
        n_sources = masks.shape[-1]
        frames = spec.shape[1] if spec.shape[1] is not None else ops.shape(spec)[1]
        bins = self.n_fft // 2 + 1
        masks = ops.moveaxis(masks, -1, 1)  # (batch, sources, frames, bins)
        re = ops.reshape(masks * spec[:, None, :, :, 0], (-1, frames, bins))
        im = ops.reshape(masks * spec[:, None, :, :, 1], (-1, frames, bins))
        y = self._inverse(re, im)  # (batch * sources, samples)
        samples = y.shape[1] if y.shape[1] is not None else ops.shape(y)[1]
        return ops.moveaxis(ops.reshape(y, (-1, n_sources, samples)), 1, 2)

    def compute_output_shape(self, input_shape):
        masks, spec = self._shapes(input_shape)
        batch, samples = self._samples_out(spec[0], spec[1])
        return (batch, samples, masks[3])


__all__ = ["MaskedInverseSTFT"]
