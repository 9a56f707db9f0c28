"""The signal itself: the waveform against time, and the magnitude spectrum of the whole clip."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tympan import _validate as v
from tympan import dsp
from tympan.errors import ParameterError
from tympan.plot import _axes
from tympan.plot._common import audio, figure_axes, set_title, time_axis

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Above this many samples per horizontal pixel the waveform is drawn as its min/max envelope.
ENVELOPE_SAMPLES_PER_PIXEL = 8


def minmax_envelope(y: np.ndarray, n_columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(column centres in samples, minima, maxima)`` of ``y`` cut into ``n_columns`` equal runs.

    Each column also takes the first sample of the next, so neighbouring columns overlap and
    the envelope has no gaps where the signal jumps between them.
    """
    n = len(y)
    starts = np.unique((np.arange(n_columns) * n) // n_columns)
    lo, hi = np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)
    np.minimum(lo[:-1], y[starts[1:]], out=lo[:-1])
    np.maximum(hi[:-1], y[starts[1:]], out=hi[:-1])
    return (starts + np.append(starts[1:], n) - 1) / 2.0, lo, hi


def draw_waveform(ax: Axes, y: np.ndarray, sr: float, *, envelope: bool | None = None,
                  color: str = "tab:blue") -> bool:
    """Draw the mono ``y`` on ``ax`` (time in s); returns whether the envelope was drawn.

    ``envelope=None`` chooses it when there are more than :data:`ENVELOPE_SAMPLES_PER_PIXEL`
    samples per pixel of the axes' width: each pixel column then shows the span between its
    smallest and largest sample, which is what a line through every sample would fill anyway,
    at a fraction of the cost.
    """
    n = len(y)
    pixels = max(1, round(ax.get_window_extent().width))
    if envelope is None:
        envelope = n > ENVELOPE_SAMPLES_PER_PIXEL * pixels
    if envelope:
        centres, lo, hi = minmax_envelope(y, min(n, 2 * pixels))
        ax.fill_between(centres / sr, lo, hi, color=color, linewidth=0.3, label="min/max envelope")
    else:
        ax.plot(np.arange(n) / sr, y, color=color, linewidth=0.8)
    peak = float(np.max(np.abs(y))) if n else 0.0
    limit = 1.05 * peak if peak > 0 else 1.0
    ax.set_ylim(-limit, limit)
    ax.set_ylabel("amplitude")
    time_axis(ax, n / sr)
    return bool(envelope)


def plot_waveform(y: np.ndarray, sr: float, *, envelope: bool | None = None, color: str = "tab:blue",
                  ax: Axes | None = None, title: str | None = None) -> Figure:
    """The waveform against time in seconds (0 to the clip's duration).

    ``y`` is ``(samples,)`` or ``(channels, samples)`` (the channels are averaged).  For long
    inputs (more than 8 samples per pixel) the min/max envelope is drawn instead of a line
    through every sample; ``envelope=True``/``False`` forces either.
    """
    y, sr = audio(y, sr)
    fig, ax = figure_axes(ax, figsize=(8.0, 2.8))
    draw_waveform(ax, y, sr, envelope=envelope, color=color)
    set_title(ax, title, f"waveform ({len(y) / sr:.2f} s at {sr:g} Hz)")
    return fig


def plot_spectrum(y: np.ndarray, sr: float, *, n_fft: int | None = None, window: str | None = "hann",
                  n_bins: int | None = None, fmax: float | None = None, scale: str = "linear",
                  db: bool = True, top_db: float | None = 80.0, normalize: str | None = "max",
                  color: str = "tab:blue", ax: Axes | None = None, title: str | None = None) -> Figure:
    """The magnitude (modulus) of the FFT of the whole clip against frequency in Hz.

    The values are exactly :func:`tympan.dsp.fft_features` (the ``fft`` feature kind) with the
    same ``n_fft``, ``window``, ``n_bins``/``fmax``, ``top_db`` and ``normalize``, and
    ``db`` for its ``scale="db"``/``"linear"``: by default dB re the clip's peak.  ``scale`` is
    the frequency axis: ``"linear"`` from 0 Hz or ``"log"`` (from the first non-zero bin), up to
    the last bin kept (``sr / 2`` by default).  ``y`` is ``(samples,)`` or ``(channels,
    samples)`` (the channels are averaged).
    """
    y, sr = audio(y, sr)
    v.choice("scale", scale, _axes.SCALES)
    values = dsp.fft_features(y, sr, n_fft=n_fft, window=window, n_bins=n_bins, fmax=fmax,
                              scale="db" if db else "linear", top_db=top_db, normalize=normalize)
    freqs = dsp.fft_frequencies_kept(sr=sr, n_fft=len(y) if n_fft is None else n_fft,
                                     n_bins=n_bins, fmax=fmax)
    fig, ax = figure_axes(ax, figsize=(8.0, 3.0))
    top = float(freqs[-1]) if (n_bins is not None or fmax is not None) else sr / 2.0
    if scale == "log":
        keep = freqs > 0
        if not keep.any():
            raise ParameterError("scale='log' needs a bin above 0 Hz; keep more n_bins or a larger n_fft")
        freqs, values = freqs[keep], values[keep]
    ax.plot(freqs, values, color=color, linewidth=0.8)
    lo = float(freqs[0]) if scale == "log" else 0.0
    _axes.hz_axis(ax, lo, max(top, lo * 1.001), log=scale == "log", which="x")
    ax.set_ylabel(_SPECTRUM_LABELS[(db, normalize)])
    set_title(ax, title, f"spectrum ({len(y) / sr:.2f} s, {len(values)} bins)")
    return fig


_SPECTRUM_LABELS = {
    (True, "max"): "magnitude (dB re peak)", (True, None): "magnitude (dB)",
    (True, "standard"): "magnitude (dB, standardised)", (False, "max"): "magnitude (re peak)",
    (False, None): "magnitude |FFT|", (False, "standard"): "magnitude (standardised)",
}
