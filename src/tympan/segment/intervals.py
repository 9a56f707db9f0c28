"""Interval helpers, the one place where frames become time intervals.

An interval is ``(start, end)`` in seconds; a list of intervals returned here is sorted,
non-overlapping and inside ``[0, duration]``.  Frame ``i`` (of frames centred every
``hop_sec``, as :func:`tympan.dsp.frames.n_frames` with ``center=True`` counts them) covers
``[(i - 1/2) hop_sec, (i + 1/2) hop_sec]`` clipped to the signal.
"""

from __future__ import annotations

import numpy as np

from tympan import _validate as v

Interval = tuple[float, float]


def runs(labels) -> list[tuple[int, int, int]]:
    """``[(first, stop, value), ...]``: the runs of equal values of a 1-D array (``stop``
    exclusive), in order."""
    a = np.asarray(labels).reshape(-1)
    if a.size == 0:
        return []
    edges = np.flatnonzero(a[1:] != a[:-1]) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [a.size]])
    return [(int(s), int(e), a[s].item()) for s, e in zip(starts, stops, strict=True)]


def frame_span(first: int, stop: int, *, hop_sec: float, duration: float) -> Interval:
    """The time ``(start, end)`` covered by frames ``first .. stop - 1``, clipped to the signal."""
    start = min(max(0.0, round((first - 0.5) * hop_sec, 9)), duration)
    return start, min(max(start, round((stop - 0.5) * hop_sec, 9)), duration)


def frames_to_intervals(mask, *, hop_sec: float, duration: float) -> list[Interval]:
    """The intervals covered by the runs of true frames of the boolean ``mask``."""
    hop_sec = v.positive_number("hop_sec", hop_sec)
    duration = v.non_negative_number("duration", duration)
    out = [frame_span(a, b, hop_sec=hop_sec, duration=duration)
           for a, b, value in runs(np.asarray(mask, dtype=bool)) if value]
    return [(a, b) for a, b in out if b > a]


def fill_short_runs(mask, *, value: bool, min_frames: int) -> np.ndarray:
    """A copy of the boolean ``mask`` in which each run of ``value`` shorter than
    ``min_frames`` frames takes the other value (a run touching either end too)."""
    out = np.array(mask, dtype=bool).reshape(-1)
    for first, stop, val in runs(out):
        if bool(val) == value and stop - first < min_frames:
            out[first:stop] = not value
    return out


def hysteresis(score, *, upper: float, lower: float) -> np.ndarray:
    """Frames where ``score > lower`` in a run that reaches ``score > upper`` somewhere (a
    two-threshold switch: on above ``upper``, off again only below ``lower``)."""
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    weak = score > min(lower, upper)
    strong = score > upper
    out = np.zeros_like(weak)
    for first, stop, val in runs(weak):
        if val and strong[first:stop].any():
            out[first:stop] = True
    return out


def merge(intervals, *, gap_sec: float = 0.0) -> list[Interval]:
    """Sort ``intervals`` and join those that overlap or lie within ``gap_sec`` of each other;
    empty ones (``end <= start``) are dropped."""
    gap_sec = v.non_negative_number("gap_sec", gap_sec)
    out: list[Interval] = []
    for start, end in sorted((float(a), float(b)) for a, b in intervals if b > a):
        if out and start <= out[-1][1] + gap_sec:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def clip(intervals, *, duration: float) -> list[Interval]:
    """``intervals`` cut to ``[0, duration]``, merged."""
    duration = v.non_negative_number("duration", duration)
    return merge((max(0.0, a), min(duration, b)) for a, b in intervals)


def pad(intervals, pad_sec: float, *, duration: float) -> list[Interval]:
    """Each interval widened by ``pad_sec`` on both sides, clipped to ``[0, duration]``, merged."""
    pad_sec = v.non_negative_number("pad_sec", pad_sec)
    return clip(((a - pad_sec, b + pad_sec) for a, b in intervals), duration=duration)


def complement(intervals, *, duration: float) -> list[Interval]:
    """The parts of ``[0, duration]`` that ``intervals`` do not cover."""
    out, t = [], 0.0
    for a, b in clip(intervals, duration=duration):
        if a > t:
            out.append((t, a))
        t = b
    duration = float(duration)
    if duration > t:
        out.append((t, duration))
    return out


def drop_short(intervals, *, min_sec: float) -> list[Interval]:
    """The intervals at least ``min_sec`` long."""
    min_sec = v.non_negative_number("min_sec", min_sec)
    return [(a, b) for a, b in intervals if b - a >= min_sec]


def to_samples(intervals, *, sr: float, n_samples: int) -> list[tuple[int, int]]:
    """``[(first, stop), ...]`` sample indices of ``intervals`` (rounded), within ``n_samples``."""
    sr = v.positive_number("sr", sr)
    out = []
    for a, b in intervals:
        first, stop = min(round(a * sr), n_samples), min(round(b * sr), n_samples)
        if stop > first:
            out.append((first, stop))
    return out
