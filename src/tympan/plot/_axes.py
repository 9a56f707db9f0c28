"""Frequency axes: Hz (linear or log), the mel scale labelled in Hz, note names, pitch classes.

Values are drawn as cells between edges (``pcolormesh``), so every axis keeps its true units:
a mel axis is in Hz on a mel-warped scale (its top is ``fmax``), a CQT axis in Hz on a log
scale with note names at the C of each octave.
"""

from __future__ import annotations

import numpy as np

from tympan.dsp import filters

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
HZ_LABEL = "frequency (Hz)"
SCALES = ("linear", "log")  # the ``scale=`` of a frequency axis


def note_name(hz: float) -> str:
    """The nearest equal-tempered note (A4 = 440 Hz), e.g. ``261.6 -> "C4"``."""
    midi = int(np.round(69 + 12 * np.log2(hz / 440.0)))
    return f"{PITCH_CLASSES[midi % 12]}{midi // 12 - 1}"


def _hz_text(value: float, _pos=None) -> str:
    return f"{value:g}"


def image(ax, x_edges: np.ndarray, y_edges: np.ndarray, values: np.ndarray, *, cmap: str,
          vmin: float | None = None, vmax: float | None = None):
    """``values`` (rows along y, columns along x) as cells between the given edges."""
    return ax.pcolormesh(x_edges, y_edges, values, shading="flat", cmap=cmap, vmin=vmin,
                         vmax=vmax, rasterized=True)


def centres_to_edges(centres: np.ndarray, *, log: bool = False) -> np.ndarray:
    """Cell edges halfway between centres (geometrically when ``log``), extended at both ends."""
    c = np.log(centres) if log else np.asarray(centres, dtype=np.float64)
    if len(c) == 1:
        edges = np.array([c[0] - 0.5, c[0] + 0.5])
    else:
        mid = (c[1:] + c[:-1]) / 2
        edges = np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])
    return np.exp(edges) if log else edges


def hz_axis(ax, lo: float, hi: float, *, log: bool, which: str = "y") -> None:
    """Frequency in Hz from ``lo`` to ``hi`` on the ``which`` axis, on a linear or log scale."""
    from matplotlib import ticker

    axis = ax.yaxis if which == "y" else ax.xaxis
    if log:
        (ax.set_yscale if which == "y" else ax.set_xscale)("log")
        axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(ticker.FuncFormatter(_hz_text))
        axis.set_minor_formatter(ticker.NullFormatter())
    (ax.set_ylim if which == "y" else ax.set_xlim)(lo, hi)
    axis.set_label_text(HZ_LABEL)


def mel_edges(n_mels: int, *, fmin: float, fmax: float, htk: bool) -> np.ndarray:
    """Edges in Hz of ``n_mels`` cells evenly spaced on the mel scale from ``fmin`` to ``fmax``."""
    return filters.mel_frequencies(n_mels + 1, fmin=fmin, fmax=fmax, htk=htk)


def mel_axis(ax, *, fmin: float, fmax: float, htk: bool, n_ticks: int = 7) -> None:
    """Hz on a mel-warped scale from ``fmin`` to ``fmax``, ticks evenly spaced in mel and
    labelled in Hz (rounded to two significant digits)."""
    from matplotlib import ticker

    def forward(f):
        return filters.hz_to_mel(np.maximum(f, 0.0), htk=htk)

    def inverse(m):
        return filters.mel_to_hz(m, htk=htk)

    ax.set_yscale("function", functions=(forward, inverse))
    ticks = []
    for f in filters.mel_frequencies(n_ticks, fmin=fmin, fmax=fmax, htk=htk):
        rounded = float(f) if f <= 0 else float(f"{f:.2g}")
        if fmin <= rounded <= fmax and rounded not in ticks:
            ticks.append(rounded)
    ax.yaxis.set_major_locator(ticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(_hz_text))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.set_ylim(fmin, fmax)
    ax.set_ylabel(f"{HZ_LABEL}, mel scale")


def note_axis(ax, frequencies: np.ndarray, *, bins_per_octave: int) -> None:
    """Log-frequency cells centred on ``frequencies``; ticks at the note C of every octave in
    range (every note when the range is under two octaves), labelled with note names."""
    from matplotlib import ticker

    edges = centres_to_edges(frequencies, log=True)
    ax.set_yscale("log")
    lo, hi = float(edges[0]), float(edges[-1])
    midi = np.arange(np.ceil(69 + 12 * np.log2(lo / 440.0)), np.floor(69 + 12 * np.log2(hi / 440.0)) + 1)
    if len(midi) >= 24:
        midi = midi[midi % 12 == 0]
    ticks = 440.0 * 2.0 ** ((midi - 69) / 12.0)
    ax.yaxis.set_major_locator(ticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(ticker.FixedFormatter([note_name(f) for f in ticks]))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.set_ylim(lo, hi)
    ax.set_ylabel(f"note ({bins_per_octave} bins per octave)")


def pitch_class_axis(ax, n_chroma: int, *, base_c: bool = True) -> None:
    """Rows ``0 .. n_chroma - 1`` labelled with pitch-class names (C or A first) when
    ``n_chroma == 12``, else with their index."""
    from matplotlib import ticker

    ax.set_ylim(-0.5, n_chroma - 0.5)
    if n_chroma == 12:
        names = PITCH_CLASSES if base_c else PITCH_CLASSES[9:] + PITCH_CLASSES[:9]
        ax.yaxis.set_major_locator(ticker.FixedLocator(np.arange(12)))
        ax.yaxis.set_major_formatter(ticker.FixedFormatter(list(names)))
    ax.set_ylabel("pitch class")
