"""Backend-agnostic signal helpers over ``keras.ops`` shared by the tympan layers.

These mirror ``tympan.dsp`` (framing, overlap-add, per-example dB) so a layer and its numpy
function compute the same thing; the constant matrices are passed in, never built here.
"""

from __future__ import annotations

from keras import ops


def frame_signal(x, *, n_fft: int, hop_length: int, count: int):
    """Frames of a ``(batch, samples)`` signal as ``(batch, count, n_fft)``.

    No gather: the signal is reshaped into hop-sized chunks, and a frame is ``n_fft //
    hop_length`` whole chunks followed by the first ``n_fft % hop_length`` samples of the next
    one, so the frames are that many shifted chunk views concatenated on the last axis (a
    remainder adds zeros at the end first, enough for its last chunk; they are never part of
    a frame).  Exactly the samples a gather would take; reshapes, slices and one concatenate
    also export to ONNX (a gather through Keras's torch ``take`` writes a ``Squeeze`` that
    onnxruntime refuses to load).  ``samples >= (count - 1) * hop_length + n_fft``.
    """
    whole, rem = divmod(n_fft, hop_length)
    n_chunks = count + whole - (0 if rem else 1)
    needed = n_chunks * hop_length
    if rem and not (isinstance(needed, int) and x.shape[1] is not None and x.shape[1] >= needed):
        x = ops.pad(x, [[0, 0], [0, hop_length - rem]])
    chunks = ops.reshape(x[:, :needed], (-1, n_chunks, hop_length))
    parts = [chunks[:, k : k + count, :] for k in range(whole)]
    if rem:
        parts.append(chunks[:, whole : whole + count, :rem])
    if len(parts) == 1:
        return parts[0]
    return ops.concatenate(parts, axis=-1)


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
