"""Long signals through a fixed-length model: overlapping windows and overlap-add.

:func:`clips` cuts a signal into training clips.  :func:`sliding_windows` cuts a signal given
in chunks into the windows a classifier predicts on (the last one ending at the signal's end),
holding only a window and a chunk of samples at a time.  :func:`overlap_add` runs a model over windows
of ``n`` samples every ``hop`` (default ``n // 2``) and adds the outputs back under a periodic
Hann window (whose half-overlapping copies sum to one), so a recording of any length comes back
whole and without seams.  It reads its input as an iterable of chunks and yields its output in
pieces of ``hop`` samples, holding only a window's worth of samples and one batch of windows: a
file streamed in blocks is processed in flat memory, and gives exactly what the whole array
gives (the windows and batches are the same).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from tympan import _validate as v
from tympan.dsp.filters import get_window
from tympan.errors import ParameterError


def clips(y: np.ndarray, n: int, *, hop: int | None = None) -> np.ndarray:
    """``y`` cut into clips of ``n`` samples every ``hop`` (default ``n // 2``), the last one
    zero-padded; a signal shorter than ``n`` gives one padded clip.  ``(count, n)``."""
    n = v.positive_int("n", n)
    hop = max(1, n // 2) if hop is None else v.positive_int("hop", hop)
    starts = list(range(0, max(len(y) - n, 0) + 1, hop))
    if starts[-1] + n < len(y):
        starts.append(starts[-1] + hop)
    out = np.zeros((len(starts), n), dtype=np.float32)
    for i, s in enumerate(starts):
        part = y[s : s + n]
        out[i, : len(part)] = part
    return out


def sliding_windows(chunks: Iterable[np.ndarray], *, length: int,
                    hop: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, window)`` for windows of ``length`` samples every ``hop`` over a signal given
    as consecutive 1-D ``chunks`` (any sizes; ``[y]`` for an array).

    The windows start at 0, ``hop``, ``2 * hop``, ... while they fit in the signal; when the
    last of them ends before the signal does, one more window covers its last ``length``
    samples (start ``n - length``).  A signal no longer than ``length`` gives one window: the
    whole signal (shorter than ``length``, possibly empty), at start 0.  So every window ends at
    ``start + len(window)`` and the last one at the signal's end.  Only about ``length``
    samples plus the current chunk are held; windows are views of them (copy one to keep it).
    """
    length = v.positive_int("length", length)
    hop = v.positive_int("hop", hop)
    buf = np.zeros(0, np.float32)
    buf_start = 0  # sample index of buf[0]
    start = 0  # start of the next window
    last = None  # start of the last window yielded
    for chunk in chunks:
        chunk = np.asarray(chunk, np.float32).reshape(-1)
        buf = np.concatenate([buf, chunk]) if len(buf) else chunk
        end = buf_start + len(buf)
        while start + length <= end:
            yield start, buf[start - buf_start : start - buf_start + length]
            last, start = start, start + hop
        keep = max(buf_start, min(start, end - length))  # the next window, or the tail's samples
        buf, buf_start = buf[keep - buf_start :], keep
    end = buf_start + len(buf)
    if last is None:
        yield 0, buf  # buf_start is 0: nothing was ever dropped
    elif last + length < end:
        yield end - length, buf[end - length - buf_start :]


def _windows(chunks: Iterable[np.ndarray], n: int, hop: int) -> Iterator[np.ndarray]:
    """Windows ``padded[k * hop : k * hop + n]`` of the signal with ``hop`` zeros before it (so
    every sample lies under two windows) and zeros after it, until the last sample is under a
    window that starts at most ``hop`` before it."""
    buf = np.zeros(hop, np.float32)
    length = 0
    for chunk in chunks:
        chunk = np.asarray(chunk, np.float32).reshape(-1)
        length += len(chunk)
        buf = np.concatenate([buf, chunk])
        while len(buf) >= n:
            yield buf[:n]
            buf = buf[hop:]
    if length == 0:
        return
    remaining = (length - 1) // hop + 2 - (length + hop - len(buf)) // hop  # windows left
    buf = np.concatenate([buf, np.zeros(max(0, (remaining - 1) * hop + n - len(buf)), np.float32)])
    for k in range(remaining):
        yield buf[k * hop : k * hop + n]


def overlap_add(process: Callable[[np.ndarray], np.ndarray], chunks: Iterable[np.ndarray], *,
                n: int, hop: int | None = None, batch_size: int = 32) -> Iterator[np.ndarray]:
    """Apply ``process`` to overlapping windows of a signal and overlap-add its outputs.

    ``chunks`` are consecutive 1-D pieces of the signal, any sizes (``[y]`` for an array).
    ``process`` takes a batch of windows ``(b, n)`` (``b <= batch_size``) and returns outputs
    ``(b, n, ...)``; each is weighted by a periodic Hann window, summed with its neighbours and
    divided by the sum of the weights.  Yields the result in consecutive pieces ``(hop, ...)``
    (the last one shorter) that concatenate to exactly the signal's length.
    """
    n = v.positive_int("n", n)
    hop = max(1, n // 2) if hop is None else v.positive_int("hop", hop)
    if hop > n:
        raise ParameterError(f"hop={hop} is longer than the window n={n}: samples would be skipped")
    batch_size = v.positive_int("batch_size", batch_size)
    w = get_window("hann", n, dtype=np.float32)
    length = {"samples": 0, "known": False}

    def counted():
        for chunk in chunks:
            length["samples"] += np.size(chunk)
            yield chunk
        length["known"] = True

    total = weight = None
    emitted, k = 0, 0
    batch: list[np.ndarray] = []
    windows = _windows(counted(), n, hop)
    while True:
        window = next(windows, None)
        if window is not None:
            batch.append(window)
        if batch and (window is None or len(batch) == batch_size):
            outputs = np.asarray(process(np.stack(batch)), np.float32)
            batch = []
            for out in outputs:
                if total is None:
                    total = np.zeros(out.shape, np.float32)
                    weight = np.zeros(n, np.float32)
                total += w.reshape((n,) + (1,) * (out.ndim - 1)) * out
                weight += w
                piece = total[:hop] / np.maximum(weight[:hop], 1e-3).reshape(
                    (hop,) + (1,) * (out.ndim - 1))
                if k > 0:  # window 0's first hop samples are the padding before the signal
                    keep = min(hop, length["samples"] - emitted) if length["known"] else hop
                    emitted += keep
                    yield piece[:keep]
                total = np.concatenate([total[hop:], np.zeros_like(total[:hop])])
                weight = np.concatenate([weight[hop:], np.zeros(hop, np.float32)])
                k += 1
        if window is None:
            return


def padded_size(n: int, limit: int) -> int:
    """The rows a batch of ``n`` windows is padded to: the next power of two, at most ``limit``
    (and never fewer than ``n``).  A jit-compiling backend (jax) compiles the model once per
    batch shape (about a second each); padding partial batches this way keeps the shapes to a
    handful, which predict, reconstruct and the server's warm-up all share."""
    return max(n, min(1 << max(n - 1, 0).bit_length(), limit))


__all__ = ["clips", "overlap_add", "padded_size", "sliding_windows"]
