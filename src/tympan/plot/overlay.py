"""Labels over time: segments (pauses, vowels, consonants, ...) over the waveform or the
spectrogram, and a classifier's window-by-window predictions over the spectrogram.

Segments are ``(start_s, end_s, label)`` tuples or objects with ``start``, ``end`` and ``label``
attributes (times in seconds), so the output of a segmenter and the windows of a
:class:`tympan.pipeline.Prediction` draw the same way.  One colour per label, with a legend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from tympan import _validate as v
from tympan.errors import ParameterError
from tympan.plot._common import audio, colorbar, figure_axes, set_title
from tympan.plot.signal import draw_waveform
from tympan.plot.spectra import DB_FORMAT, draw_spectrogram

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Colours of the usual segment labels; other labels take the next colours of the tab10 cycle.
SEGMENT_COLORS = {"pause": "#9e9e9e", "silence": "#9e9e9e", "vowel": "#d62728",
                  "consonant": "#1f77b4", "voiced": "#ff7f0e", "unvoiced": "#2ca02c"}
_CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")
STRIP = 0.12  # height of the label strip at the top of a spectrogram, in axes fraction


def as_intervals(segments: Iterable[Any], *, name: str = "segments") -> list[tuple[float, float, str]]:
    """``[(start, end, label), ...]`` from tuples or objects with ``start``/``end``/``label``,
    checked: finite times, ``0 <= start < end``."""
    if isinstance(segments, (str, bytes)) or not isinstance(segments, Iterable):
        raise ParameterError(f"{name} must be a list of (start_s, end_s, label), got "
                             f"{type(segments).__name__}")
    out = []
    for i, seg in enumerate(segments):
        try:
            start, end, label = ((seg.start, seg.end, seg.label) if hasattr(seg, "start")
                                 else tuple(seg))
            start, end = float(start), float(end)
        except (TypeError, ValueError):
            raise ParameterError(f"{name}[{i}] must be (start_s, end_s, label), got {seg!r}") from None
        if not (np.isfinite(start) and np.isfinite(end)) or start < 0 or end <= start:
            raise ParameterError(f"{name}[{i}] must have 0 <= start < end (seconds), got "
                                 f"start={start!r}, end={end!r}")
        out.append((start, end, str(label)))
    return out


def label_colors(labels: Iterable[str], colors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A colour for each label in order of first appearance: ``colors`` first, then
    :data:`SEGMENT_COLORS`, then the tab10 cycle (skipping colours already taken)."""
    chosen: dict[str, Any] = {}
    for label in labels:
        if label in chosen:
            continue
        if colors is not None and label in colors:
            chosen[label] = colors[label]
        elif label.lower() in SEGMENT_COLORS:
            chosen[label] = SEGMENT_COLORS[label.lower()]
        else:
            free = [c for c in _CYCLE if c not in chosen.values()]
            chosen[label] = free[0] if free else _CYCLE[len(chosen) % len(_CYCLE)]
    return chosen


def _legend(ax: Axes, colors: dict[str, Any], *, loc: str = "upper right") -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=c, label=label) for label, c in colors.items()]
    if handles:
        ax.legend(handles=handles, loc=loc, fontsize="small", framealpha=0.8,
                  ncols=min(len(handles), 6))


def _rows(intervals: list[tuple[float, float, str]]) -> list[int]:
    """Greedy row per interval so that intervals in one row do not overlap."""
    ends: list[float] = []
    rows = []
    for start, end, _ in intervals:
        for r, last in enumerate(ends):
            if start >= last - 1e-9:
                ends[r] = end
                rows.append(r)
                break
        else:
            ends.append(end)
            rows.append(len(ends) - 1)
    return rows


def _strip(ax: Axes, intervals, colors, *, alphas=None, texts=None, height: float = STRIP) -> None:
    """The intervals as coloured bars in a band at the top of ``ax`` (x in data, y in axes
    fraction), overlapping intervals stacked in rows; optional per-bar alpha and text."""
    from matplotlib.colors import to_rgba

    order = sorted(range(len(intervals)), key=lambda i: intervals[i][0])
    ordered = [intervals[i] for i in order]
    rows = _rows(ordered)
    n_rows = max(rows, default=0) + 1
    row_h = height / n_rows
    transform = ax.get_xaxis_transform()
    for r in range(n_rows):
        picked = [i for i, row in zip(order, rows, strict=True) if row == r]
        bars = [(intervals[i][0], intervals[i][1] - intervals[i][0]) for i in picked]
        faces = [to_rgba(colors[intervals[i][2]], 1.0 if alphas is None else alphas[i]) for i in picked]
        y0 = 1.0 - (r + 1) * row_h
        ax.broken_barh(bars, (y0, row_h), facecolors=faces, edgecolor="white", linewidth=0.5,
                       transform=transform, zorder=3)
        if texts is not None and len(picked) <= 60:
            for i in picked:
                start, end, _ = intervals[i]
                ax.text((start + end) / 2, y0 + row_h / 2, texts[i], transform=transform,
                        ha="center", va="center", fontsize="x-small", color="white", zorder=4,
                        clip_on=True)


def _make_room(ax: Axes, height: float) -> None:
    """Raise the top of the y axis so a band of ``height`` (axes fraction) at the top sits
    above the data instead of over it; ticks stay within the data's range."""
    lo, hi = ax.get_ylim()
    log = ax.get_yscale() == "log"
    a, b = (np.log(lo), np.log(hi)) if log else (lo, hi)
    top = a + (b - a) / (1.0 - height)
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    ax.set_ylim(lo, float(np.exp(top)) if log else top)
    ax.set_yticks(ticks)


def plot_segments(y: np.ndarray, sr: float, segments, *, on: str = "waveform",
                  colors: Mapping[str, Any] | None = None, alpha: float = 0.3,
                  n_fft: int | None = None, hop_length: int | None = None, scale: str = "linear",
                  ax: Axes | None = None, title: str | None = None) -> Figure:
    """Segments in colour over the waveform (``on="waveform"``: shaded spans behind it) or the
    spectrogram (``on="spectrogram"``: a band of coloured bars above the top frequency, so the
    picture stays visible); one colour per label (pause grey, vowel red, consonant blue by default, override
    with ``colors={"label": colour}``) and a legend.

    ``segments`` is a list of ``(start_s, end_s, label)`` or of objects with ``start``, ``end``
    and ``label``.  ``y`` is ``(samples,)`` or ``(channels, samples)`` (channels averaged).
    """
    y, sr = audio(y, sr)
    v.choice("on", on, ("waveform", "spectrogram"))
    alpha = v.positive_number("alpha", alpha)
    intervals = as_intervals(segments)
    palette = label_colors([label for _, _, label in intervals], colors)
    fig, ax = figure_axes(ax, figsize=(8.0, 3.2))
    if on == "waveform":
        draw_waveform(ax, y, sr, color="black")
        for label, color in palette.items():
            bars = [(s, e - s) for s, e, lb in intervals if lb == label]
            ax.broken_barh(bars, (0.0, 1.0), facecolors=color, alpha=min(alpha, 1.0),
                           transform=ax.get_xaxis_transform(), zorder=0)
    else:
        mesh = draw_spectrogram(ax, y, sr, n_fft=n_fft, hop_length=hop_length, scale=scale)
        colorbar(ax, mesh, "dB", DB_FORMAT)
        _make_room(ax, STRIP)
        _strip(ax, intervals, palette)
    _legend(ax, palette, loc="lower right")
    set_title(ax, title, f"segments ({len(intervals)})")
    return fig


def plot_prediction(y: np.ndarray, sr: float, prediction, *, colors: Mapping[str, Any] | None = None,
                    n_fft: int | None = None, hop_length: int | None = None, scale: str = "linear",
                    ax: Axes | None = None, title: str | None = None) -> Figure:
    """A prediction timeline over the spectrogram of a long recording.

    ``prediction`` is a :class:`tympan.pipeline.Prediction` for the same audio (``y``, ``sr``
    as loaded for plotting; any rate): its windows (``prediction.segments``) are drawn as bars in
    a band above the top frequency, one colour per label, each bar as opaque as the window's
    probability and marked with its label; overlapping windows take separate rows.  The title gives the
    file-level decision.
    """
    y, sr = audio(y, sr)
    for attr in ("segments", "label", "probability"):
        if not hasattr(prediction, attr):
            raise ParameterError(f"prediction must be a tympan.pipeline.Prediction, got "
                                 f"{type(prediction).__name__}")
    windows = list(prediction.segments)
    intervals = as_intervals(windows, name="prediction.segments")
    probs = [float(w.probability) for w in windows]
    palette = label_colors(sorted({label for _, _, label in intervals}), colors)
    fig, ax = figure_axes(ax, figsize=(9.0, 3.6))
    mesh = draw_spectrogram(ax, y, sr, n_fft=n_fft, hop_length=hop_length, scale=scale)
    colorbar(ax, mesh, "dB", DB_FORMAT)
    rows = max(_rows(sorted(intervals)), default=0) + 1
    height = min(0.4, 0.07 * rows)
    _make_room(ax, height)
    _strip(ax, intervals, palette, alphas=[0.25 + 0.75 * p for p in probs],
           texts=[label for _, _, label in intervals], height=height)
    _legend(ax, palette, loc="lower right")
    set_title(ax, title, f"prediction: {prediction.label} (p = {prediction.probability:.2f}, "
                         f"{len(windows)} windows)")
    return fig
