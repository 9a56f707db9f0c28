"""Training on more audio than memory holds: the clips streamed from their files in batches.

:class:`ClipStream` is a ``keras.utils.PyDataset``: batch ``i`` of an epoch is read, decoded,
resampled and fitted to the clip length with :func:`tympan.data.loading.load_clip`, the very
function :func:`tympan.data.load_clips` calls for each clip, so a streamed example is the
in-memory one, bit for bit (``crop="random"`` included: each clip keeps the seed
:func:`tympan.data.loading.crop_seeds` gives it).  The training augmentation lives in the
model (:mod:`tympan.layers.augmentation`), so it is applied to streamed batches as to arrays.

Prefetching: when Keras asks for batch ``i`` (in order), ``workers`` threads start reading
batches ``i + 1 .. i + prefetch``, so they are ready when the model's step on batch ``i``
ends.  The stream does this itself rather than through Keras's enqueuer (``workers > 1`` of a
PyDataset): no pool started every epoch, skipped files recorded in this process, no fork of a
process running jax; side by side in ``benchmarks/stream_training.py`` neither was clearly
faster (docs/scale.md).  Threads suffice because libsndfile and soxr release the GIL
(as in :func:`tympan.data.load_clips`).

Shuffling: the files are indexed, so each epoch reads them in a new seeded permutation of the
whole training part (``seed`` and the epoch number), a perfect shuffle where a buffer of
``k`` clips is an approximation of one; only the indices are held in memory.

A file that fails to decode follows ``on_error`` as in the in-memory path: ``"skip"`` leaves
the clip out of its batch (and of every later epoch) with a :class:`tympan.data.DatasetWarning`
naming it and the cause, the same message :func:`tympan.data.load_clips` gives; ``"raise"``
stops training with its error.

The driver (:func:`tympan.pipeline.train`) streams when the clips would take more than
``TrainConfig.stream_above_mb`` MB in memory (:func:`tympan.pipeline.train.streaming_wanted`;
0: always, ``tympan train --stream``).  This module imports Keras: import it only where a
model is trained.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import keras
import numpy as np

from tympan import _validate as v
from tympan.data.dataset import DatasetWarning, Item
from tympan.data.loading import crop_seeds, load_clip
from tympan.errors import AudioIOError, DatasetError


class ClipStream(keras.utils.PyDataset):
    """Batches ``(clips, targets)`` of ``items`` read from their files.

    ``items`` (a sequence of :class:`tympan.data.Item`) with ``targets`` (one per item, any
    array), read with ``audio``'s settings (an :class:`tympan.pipeline.AudioConfig`, resolved)
    ``batch_size`` at a time.  ``shuffle``: a new seeded order each epoch (``seed``, the epoch
    number); else the items' order.  ``seeds``: the ``crop="random"`` seed of each item
    (default: those :func:`tympan.data.load_clips` draws for ``items`` in this order).
    ``multiple``: every batch holds a multiple of this many clips (data-parallel training over
    that many devices): the last ``len(items) % multiple`` clips of each epoch's order are left
    for the next epochs.  ``workers`` threads read the next ``prefetch`` batches ahead (default
    ``2 * workers``; 0 workers: each batch is read when asked for).  ``numbers``: each item's
    number in the warnings about skipped files (its index in the whole dataset; default its
    index in ``items``).  ``shard=(k, count)``: this process reads the ``k``-th of ``count``
    equal shares of every epoch (a multi-host run, one process per host, each feeding its own
    part of the global batch; docs/scale.md).
    """

    def __init__(self, items: Sequence[Item], targets, audio, *, batch_size: int,
                 shuffle: bool = True, seed: int = 0, seeds: Sequence[int | None] | None = None,
                 on_error: str = "skip", multiple: int = 1, workers: int = 1,
                 prefetch: int | None = None, numbers: Sequence[int] | None = None,
                 shard: tuple[int, int] = (0, 1)):
        # Keras's enqueuer stays off (workers=1): the stream reads ahead itself, see __getitem__
        super().__init__(workers=1, use_multiprocessing=False)
        self.threads = v.non_negative_int("workers", workers)
        prefetch = 2 * self.threads if prefetch is None else v.non_negative_int("prefetch", prefetch)
        self.prefetch = prefetch if self.threads else 0
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: dict[int, Future] = {}
        self.items = tuple(items)
        self.targets = np.asarray(targets)
        if len(self.targets) != len(self.items):
            raise DatasetError(f"a stream needs one target per item, got {len(self.targets)} "
                               f"targets for {len(self.items)} items")
        if not self.items:
            raise DatasetError("nothing to stream: no items")
        self.audio = audio
        self.batch_size = v.positive_int("batch_size", batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.multiple = v.positive_int("multiple", multiple)
        self.shard, self.shards = int(shard[0]), v.positive_int("shard count", shard[1])
        if not 0 <= self.shard < self.shards:
            raise DatasetError(f"shard must be (index, count) with 0 <= index < count, got {shard!r}")
        if len(self.items) < self.multiple * self.shards:
            raise DatasetError(f"{len(self.items)} clips cannot fill a batch split over "
                               f"{self.multiple * self.shards} devices")
        v.choice("on_error", on_error, ("raise", "skip"))
        self.on_error = on_error
        self.crop_seeds = (crop_seeds(len(self.items), audio.crop) if seeds is None
                           else list(seeds))
        self.numbers = list(range(len(self.items))) if numbers is None else [int(i) for i in numbers]
        #: item index -> why it failed (``on_error="skip"``), in the order found
        self.failures: dict[int, str] = {}
        self._lock = threading.Lock()
        self.epoch = 0
        self.order = self._order()

    # ---- order
    def _order(self) -> np.ndarray:
        n = len(self.items)
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle
                 else np.arange(n))
        order = order[: n - n % (self.multiple * self.shards)]
        return order[self.shard :: self.shards]

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def on_epoch_end(self) -> None:
        self._forget_ahead()
        self.epoch += 1
        self.order = self._order()

    # ---- batches
    def indices(self, index: int) -> np.ndarray:
        """The item indices of batch ``index`` of this epoch (before any skipped file)."""
        return self.order[index * self.batch_size : (index + 1) * self.batch_size]

    def load(self, i: int) -> np.ndarray | None:
        """Item ``i`` as the model's input; None when its file fails and ``on_error="skip"``."""
        if i in self.failures:
            return None
        a = self.audio
        try:
            return load_clip(self.items[i], sr=a.sr, duration=a.duration, pad=a.pad, crop=a.crop,
                             seed=self.crop_seeds[i])
        except (AudioIOError, DatasetError) as exc:
            if self.on_error == "raise":
                raise
            with self._lock:
                first = i not in self.failures
                self.failures[i] = str(exc)
            if first:
                warnings.warn(f"skipped clip {self.numbers[i]} '{Path(self.items[i].path).name}': {exc}",
                              DatasetWarning, stacklevel=2)
            return None

    def __getitem__(self, index: int):
        """Batch ``index`` of this epoch; with ``workers`` threads, batches ``index + 1`` to
        ``index + prefetch`` start reading now (Keras asks for them in order)."""
        if not self.prefetch:
            return self.batch(index)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="tympan-stream")
        for j in range(index + 1, min(len(self), index + 1 + self.prefetch)):
            if j not in self._ahead:
                self._ahead[j] = self._pool.submit(self.batch, j)
        for j in [j for j in self._ahead if j < index]:  # read ahead but skipped over
            self._ahead.pop(j).cancel()
        future = self._ahead.pop(index, None)
        return self.batch(index) if future is None else future.result()

    def close(self) -> None:
        """Stop reading ahead and end the stream's threads (a later batch starts them again);
        :func:`tympan.pipeline.train` closes its streams when training ends, even on an error."""
        self._forget_ahead()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _forget_ahead(self) -> None:
        """Drop the batches read ahead (the next epoch has another order)."""
        for future in self._ahead.values():
            future.cancel()
        wait(list(self._ahead.values()))
        self._ahead.clear()

    def batch(self, index: int):
        """``(clips, targets)`` of batch ``index`` of this epoch, read now."""
        idx = self.indices(index)
        clips = [self.load(int(i)) for i in idx]
        kept = [k for k, clip in enumerate(clips) if clip is not None]
        kept = kept[: len(kept) - len(kept) % self.multiple]
        if not kept:
            first = next((self.failures[int(i)] for i in idx if int(i) in self.failures), "")
            raise DatasetError(f"no clip of batch {index} could be read ({len(idx)} clips; "
                               f"the first failure: {first})")
        x = np.stack([clips[k] for k in kept])
        return x, self.targets[idx[kept]]

    def waveforms(self):
        """The clips alone, batch by batch in this epoch's order (for
        :func:`tympan.models.adapt_normalization`)."""
        for index in range(len(self)):
            yield self[index][0]


__all__ = ["ClipStream"]
