"""Backend-agnostic signal helpers over ``keras.ops`` shared by the tympan layers.

These mirror ``tympan.dsp`` (framing, overlap-add, per-example dB) so a layer and its numpy
function compute the same thing; the constant matrices are passed in, never built here.
"""

from __future__ import annotations

from keras import ops


def frame_signal(x, *, n_fft: int, hop_length: int, count: int):
    """Frames of a ``(batch, samples)`` signal as ``(batch, count, n_fft)``.

    When ``hop_length`` divides ``n_fft`` the signal is reshaped into hop-sized chunks and
    ``n_fft // hop_length`` shifted chunk views are concatenated (no gather); otherwise the
    frames are gathered with a constant index matrix.
    """
    if n_fft % hop_length == 0:
        ratio = n_fft // hop_length
        needed = (count + ratio - 1) * hop_length
        x = x[:, :needed]
        chunks = ops.reshape(x, (-1, count + ratio - 1, hop_length))
        if ratio == 1:
            return chunks
        return ops.concatenate([chunks[:, k : k + count, :] for k in range(ratio)], axis=-1)
    starts = ops.arange(count, dtype="int32")[:, None] * hop_length
    index = starts + ops.arange(n_fft, dtype="int32")[None, :]
    return ops.take(x, index, axis=1)


def overlap_add(frames, *, hop_length: int):
    """Overlap-add ``(batch, count, frame_length)`` frames into ``(batch, samples)``.

    Same algorithm as :func:`tympan.dsp.frames.overlap_add`: hop-sized segments added as a
    handful of shifted slabs.
    """
    count, length = frames.shape[1], frames.shape[2]
    if count is None:
        count = ops.shape(frames)[1]
    n_seg = -(-length // hop_length)
    extra = n_seg * hop_length - length
    if extra:
        frames = ops.pad(frames, [[0, 0], [0, 0], [0, extra]])
    segs = ops.reshape(frames, (-1, count, n_seg, hop_length))
    total = None
    for k in range(n_seg):
        part = ops.pad(segs[:, :, k, :], [[0, 0], [k, n_seg - 1 - k], [0, 0]])
        total = part if total is None else total + part
    out = ops.reshape(total, (-1, (count + n_seg - 1) * hop_length))
    return out[:, : length + hop_length * (count - 1)]


def power_to_db(x, *, ref_max: bool, ref: float, amin: float, top_db: float | None):
    """``10 log10(max(amin, x) / ref)`` with ``ref`` and ``top_db`` taken per example.

    The peak is reduced over every axis but the batch axis, never over the batch.
    """
    axes = tuple(range(1, len(x.shape)))
    log10 = 1.0 / ops.log(ops.convert_to_tensor(10.0, dtype=x.dtype))
    db = 10.0 * ops.log(ops.maximum(x, amin)) * log10
    if ref_max:
        db = db - 10.0 * ops.log(ops.maximum(ops.max(x, axis=axes, keepdims=True), amin)) * log10
    elif ref != 1.0:
        db = db - 10.0 * ops.log(ops.maximum(ops.convert_to_tensor(ref, x.dtype), amin)) * log10
    if top_db is not None:
        db = ops.maximum(db, ops.max(db, axis=axes, keepdims=True) - top_db)
    return db
