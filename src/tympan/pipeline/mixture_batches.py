"""The Keras side of :class:`tympan.data.mixing.MixtureSampler`: a ``PyDataset`` of fresh
mixtures every epoch (imported only when a separator is trained, so ``tympan.pipeline`` stays
free of Keras)."""

from __future__ import annotations

import keras

from tympan import _validate as v
from tympan.data.mixing import MixtureSampler


class MixtureBatches(keras.utils.PyDataset):
    """``steps`` batches of ``batch_size`` ``(mixtures, sources)`` per epoch.

    Batch ``i`` of epoch ``e`` is ``sampler.batch(batch_size, epoch=e, index=i)``: new mixtures
    every epoch, the same ones for the same sampler seed.  Runs in the training thread (one
    worker, no multiprocessing), so the epoch counter advanced by :meth:`on_epoch_end` is exact.
    ``epoch`` is the sampler epoch of the first one (a run continued from an artifact goes on
    where it stopped).
    """

    def __init__(self, sampler: MixtureSampler, *, batch_size: int, steps: int, epoch: int = 0):
        super().__init__(workers=1, use_multiprocessing=False)
        self.sampler = sampler
        self.batch_size = v.positive_int("batch_size", batch_size)
        self.steps = v.positive_int("steps", steps)
        self.epoch = v.non_negative_int("epoch", epoch)

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int):
        if not 0 <= index < self.steps:
            raise IndexError(f"batch index {index} out of range for {self.steps} batches")
        return self.sampler.batch(self.batch_size, epoch=self.epoch, index=index)

    def on_epoch_end(self) -> None:
        self.epoch += 1


__all__ = ["MixtureBatches"]
