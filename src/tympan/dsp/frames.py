"""Framing: the one frame-count formula, and a zero-copy framing view.

``n_frames`` is the single source of truth for how many frames a signal yields.  The numpy
features, the Keras layers and their ``compute_output_shape`` all call it.
"""

from __future__ import annotations

import numpy as np

from tympan import _validate as v
from tympan.errors import ParameterError


def n_frames(n_samples: int, *, n_fft: int, hop_length: int, center: bool = True) -> int:
    """Number of frames of a signal of ``n_samples`` samples.

    With ``center=True`` the signal is padded by ``n_fft // 2`` samples on both sides first
    (librosa's convention), so ``n_frames = 1 + n_samples // hop_length``.  With
    ``center=False`` only whole frames count: ``1 + (n_samples - n_fft) // hop_length``, and a
    signal shorter than ``n_fft`` is an error.
    """
    n_fft = v.positive_int("n_fft", n_fft)
    hop_length = v.positive_int("hop_length", hop_length)
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
        raise ParameterError(f"n_samples must be a non-negative integer, got {n_samples!r}")
    padded = int(n_samples) + (2 * (n_fft // 2) if center else 0)
    if padded < n_fft:
        raise ParameterError(
            f"signal of {n_samples} samples is shorter than n_fft={n_fft} with center={center}; "
            "use center=True or a smaller n_fft"
        )
    return 1 + (padded - n_fft) // hop_length


def frame(y: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """Slice the last axis of ``y`` into overlapping frames, without copying.

    Returns a read-only view of shape ``(..., frame_length, n_frames)`` (librosa's layout), with
    ``n_frames = n_frames(y.shape[-1], n_fft=frame_length, hop_length=hop_length, center=False)``.
    """
    frame_length = v.positive_int("frame_length", frame_length)
    hop_length = v.positive_int("hop_length", hop_length)
    y = np.asarray(y)
    if y.ndim == 0:
        raise ParameterError(f"y must have at least one dimension, got shape {y.shape}")
    if y.shape[-1] < frame_length:
        raise ParameterError(
            f"signal of {y.shape[-1]} samples is shorter than frame_length={frame_length}")
    count = n_frames(y.shape[-1], n_fft=frame_length, hop_length=hop_length, center=False)
    view = np.lib.stride_tricks.sliding_window_view(y, frame_length, axis=-1)
    view = view[..., : (count - 1) * hop_length + 1 : hop_length, :]
    return np.swapaxes(view, -1, -2)


def pad_center(data: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad the last axis of ``data`` to ``size`` samples, centred (as librosa does)."""
    n = data.shape[-1]
    if n > size:
        raise ParameterError(f"cannot pad length {n} to a smaller size={size}")
    left = (size - n) // 2
    widths = [(0, 0)] * (data.ndim - 1) + [(left, size - n - left)]
    return np.pad(data, widths)


def overlap_add(frames: np.ndarray, *, hop_length: int) -> np.ndarray:
    """Overlap-add frames laid out ``(..., n_frames, frame_length)`` with a hop of ``hop_length``.

    Returns ``(..., frame_length + hop_length * (n_frames - 1))``.  Vectorised: the frame is cut
    into ``ceil(frame_length / hop_length)`` hop-sized segments and each segment index is added
    as one shifted slab, so the Python loop runs a handful of times whatever the signal length.
    """
    hop_length = v.positive_int("hop_length", hop_length)
    *lead, count, length = frames.shape
    n_seg = -(-length // hop_length)
    extra = n_seg * hop_length - length
    if extra:
        frames = np.pad(frames, [(0, 0)] * (frames.ndim - 1) + [(0, extra)])
    segs = frames.reshape(*lead, count, n_seg, hop_length)
    out = np.zeros((*lead, count + n_seg - 1, hop_length), dtype=frames.dtype)
    for k in range(n_seg):
        out[..., k : k + count, :] += segs[..., :, k, :]
    return out.reshape(*lead, -1)[..., : length + hop_length * (count - 1)]
