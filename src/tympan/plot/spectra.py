"""Time-frequency pictures: spectrogram, mel spectrogram, MFCC, chroma, CQT, wavelet scalogram.

Each is computed by :mod:`tympan.dsp` with the same parameter names and drawn as cells between
their true edges: time in seconds (frame ``k`` centred on ``k * hop_length / sr``, the axis from
0 to the clip's duration), frequency in Hz (linear or log), the mel axis in Hz on a mel scale,
chroma with pitch-class names, the CQT with note names; a colour bar in dB re the clip's peak
(MFCC and chroma: their own units).  ``y`` is ``(samples,)`` or ``(channels, samples)`` (the
channels are averaged).  ``n_fft`` defaults to about 25 ms of audio (a power of two: 256 at
8 kHz, 1024 at 22.05 kHz) and ``hop_length`` to ``n_fft // 4``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tympan import _validate as v
from tympan import dsp
from tympan.dsp import constantq, filters
from tympan.plot import _axes
from tympan.plot._common import (
    audio,
    colorbar,
    figure_axes,
    frame_edges,
    require_matplotlib,
    set_title,
    stft_sizes,
    time_axis,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DB_FORMAT = "%+.0f dB"
FIGSIZE = (8.0, 3.4)
CMAP = "magma"


def _finish(ax: Axes, mesh, y: np.ndarray, sr: float, *, label: str, fmt: str | None,
            title: str | None, default_title: str) -> None:
    time_axis(ax, len(y) / sr)
    colorbar(ax, mesh, label, fmt)
    set_title(ax, title, default_title)


def draw_spectrogram(ax: Axes, y: np.ndarray, sr: float, *, n_fft: int | None = None,
                     hop_length: int | None = None, window="hann", scale: str = "linear",
                     top_db: float | None = 80.0, cmap: str = CMAP):
    """Draw the dB magnitude spectrogram of the mono ``y`` on ``ax``; returns the mesh."""
    v.choice("scale", scale, _axes.SCALES)
    n_fft, hop_length = stft_sizes(sr, n_fft, hop_length)
    S = dsp.spectrogram(y, n_fft=n_fft, hop_length=hop_length, window=window, power=1.0)
    S_db = dsp.amplitude_to_db(S, ref=np.max, top_db=top_db)
    freqs = filters.fft_frequencies(sr=sr, n_fft=n_fft)
    edges = np.clip(_axes.centres_to_edges(freqs), 0.0, sr / 2.0)
    if scale == "log":  # the 0 Hz row cannot sit on a log axis
        S_db, edges = S_db[1:], edges[1:]
    mesh = _axes.image(ax, frame_edges(S.shape[-1], hop_length=hop_length, sr=sr), edges, S_db,
                       cmap=cmap)
    _axes.hz_axis(ax, float(edges[0]), sr / 2.0, log=scale == "log")
    time_axis(ax, len(y) / sr)
    return mesh


def plot_spectrogram(y: np.ndarray, sr: float, *, n_fft: int | None = None,
                     hop_length: int | None = None, window="hann", scale: str = "linear",
                     top_db: float | None = 80.0, cmap: str = CMAP, ax: Axes | None = None,
                     title: str | None = None) -> Figure:
    """The STFT magnitude in dB re the clip's peak (floored ``top_db`` below), frequency in Hz
    from 0 to ``sr / 2`` (``scale="log"``: a log axis from the first bin's lower edge)."""
    y, sr = audio(y, sr)
    fig, ax = figure_axes(ax, figsize=FIGSIZE)
    mesh = draw_spectrogram(ax, y, sr, n_fft=n_fft, hop_length=hop_length, window=window,
                            scale=scale, top_db=top_db, cmap=cmap)
    _finish(ax, mesh, y, sr, label="dB", fmt=DB_FORMAT, title=title, default_title="spectrogram")
    return fig


def plot_mel(y: np.ndarray, sr: float, *, n_fft: int | None = None, hop_length: int | None = None,
             n_mels: int = 64, fmin: float = 0.0, fmax: float | None = None, htk: bool = False,
             top_db: float | None = 80.0, cmap: str = CMAP, ax: Axes | None = None,
             title: str | None = None) -> Figure:
    """The mel power spectrogram (:func:`tympan.dsp.melspectrogram`) in dB re the clip's peak;
    the frequency axis is in Hz on the mel scale, from ``fmin`` to ``fmax`` (default ``sr / 2``),
    ticks evenly spaced in mel."""
    y, sr = audio(y, sr)
    n_fft, hop_length = stft_sizes(sr, n_fft, hop_length)
    fmax = sr / 2.0 if fmax is None else fmax
    M = dsp.melspectrogram(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin,
                           fmax=fmax, htk=htk)
    fig, ax = figure_axes(ax, figsize=FIGSIZE)
    mesh = _axes.image(ax, frame_edges(M.shape[-1], hop_length=hop_length, sr=sr),
                       _axes.mel_edges(n_mels, fmin=fmin, fmax=fmax, htk=htk),
                       dsp.power_to_db(M, ref=np.max, top_db=top_db), cmap=cmap)
    _axes.mel_axis(ax, fmin=float(fmin), fmax=float(fmax), htk=htk)
    _finish(ax, mesh, y, sr, label="dB", fmt=DB_FORMAT, title=title,
            default_title=f"mel spectrogram ({n_mels} bands)")
    return fig


def plot_mfcc(y: np.ndarray, sr: float, *, n_mfcc: int = 20, n_fft: int | None = None,
              hop_length: int | None = None, n_mels: int = 64, fmin: float = 0.0,
              fmax: float | None = None, cmap: str = "coolwarm", ax: Axes | None = None,
              title: str | None = None) -> Figure:
    """MFCCs (:func:`tympan.dsp.mfcc`), coefficient index on y; colour symmetric about 0."""
    require_matplotlib()  # the install hint, before matplotlib's own import error
    from matplotlib import ticker

    y, sr = audio(y, sr)
    n_fft, hop_length = stft_sizes(sr, n_fft, hop_length)
    C = dsp.mfcc(y, sr=sr, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                 fmin=fmin, fmax=fmax)
    fig, ax = figure_axes(ax, figsize=FIGSIZE)
    # coefficient 0 (the log energy) dwarfs the others: the colour range follows coefficients >= 1
    rest = C[1:] if n_mfcc > 1 else C
    limit = float(np.max(np.abs(rest))) or 1.0
    mesh = _axes.image(ax, frame_edges(C.shape[-1], hop_length=hop_length, sr=sr),
                       np.arange(n_mfcc + 1) - 0.5, C, cmap=cmap, vmin=-limit, vmax=limit)
    ax.set_ylim(-0.5, n_mfcc - 0.5)
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_ylabel("MFCC coefficient")
    _finish(ax, mesh, y, sr, label="MFCC value", fmt=None, title=title,
            default_title=f"MFCC ({n_mfcc} coefficients)")
    return fig


def _whole_octaves(sr: float, fmin: float) -> int:
    """Whole octaves from ``fmin`` whose CQT filters all stay below Nyquist (10 % margin)."""
    return max(1, int(np.floor(np.log2(sr / 2.0 / (1.1 * fmin)))))


def plot_chroma(y: np.ndarray, sr: float, *, method: str = "stft", n_fft: int | None = None,
                hop_length: int | None = None, n_chroma: int = 12, cmap: str = "viridis",
                ax: Axes | None = None, title: str | None = None) -> Figure:
    """The chromagram, pitch classes named C to B on y, each frame normalised to a maximum of 1.

    ``method="stft"``: :func:`tympan.dsp.chroma_stft` (``n_fft`` defaults to about 100 ms of
    audio, fine enough for low notes); ``"cqt"``: :func:`tympan.dsp.chroma_cqt` over the
    whole octaves from C1 that fit below Nyquist.
    """
    y, sr = audio(y, sr)
    v.choice("method", method, ("stft", "cqt"))
    n_fft, hop_length = stft_sizes(sr, n_fft, hop_length, seconds=0.1)
    if method == "stft":
        chroma = dsp.chroma_stft(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_chroma=n_chroma)
    else:
        chroma = dsp.chroma_cqt(y, sr=sr, hop_length=hop_length, n_chroma=n_chroma,
                                n_octaves=min(7, _whole_octaves(sr, constantq.C1_HZ)),
                                bins_per_octave=3 * n_chroma)
    fig, ax = figure_axes(ax, figsize=FIGSIZE)
    mesh = _axes.image(ax, frame_edges(chroma.shape[-1], hop_length=hop_length, sr=sr),
                       np.arange(n_chroma + 1) - 0.5, chroma, cmap=cmap, vmin=0.0, vmax=1.0)
    _axes.pitch_class_axis(ax, n_chroma)
    _finish(ax, mesh, y, sr, label="relative energy", fmt=None, title=title,
            default_title=f"chroma ({method})")
    return fig


def plot_cqt(y: np.ndarray, sr: float, *, hop_length: int | None = None, fmin: float | None = None,
             n_bins: int | None = None, bins_per_octave: int = 12, top_db: float | None = 80.0,
             cmap: str = CMAP, ax: Axes | None = None, title: str | None = None) -> Figure:
    """The constant-Q transform magnitude (:func:`tympan.dsp.cqt`) in dB re the clip's peak, on
    a log-frequency axis labelled with note names.  ``fmin`` defaults to C1 (32.70 Hz) and
    ``n_bins`` to the whole octaves whose filters fit below Nyquist (6 at 8 kHz)."""
    y, sr = audio(y, sr)
    _, hop_length = stft_sizes(sr, None, hop_length)
    fmin = constantq.C1_HZ if fmin is None else v.positive_number("fmin", fmin)
    bins_per_octave = v.positive_int("bins_per_octave", bins_per_octave)
    if n_bins is None:
        n_bins = bins_per_octave * _whole_octaves(sr, fmin)
    C = np.abs(dsp.cqt(y, sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
                       bins_per_octave=bins_per_octave))
    freqs = constantq.cqt_frequencies(n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
    fig, ax = figure_axes(ax, figsize=FIGSIZE)
    mesh = _axes.image(ax, frame_edges(C.shape[-1], hop_length=hop_length, sr=sr),
                       _axes.centres_to_edges(freqs, log=True),
                       dsp.amplitude_to_db(C, ref=np.max, top_db=top_db), cmap=cmap)
    _axes.note_axis(ax, freqs, bins_per_octave=bins_per_octave)
    _finish(ax, mesh, y, sr, label="dB", fmt=DB_FORMAT, title=title,
            default_title=f"constant-Q transform ({n_bins} bins from {_axes.note_name(fmin)})")
    return fig


def plot_scalogram(y: np.ndarray, sr: float, *, hop_length: int | None = None, fmin: float = 32.70,
                   fmax: float | None = None, n_bins: int = 64, wavelet: str = "cmor1.5-1.0",
                   top_db: float | None = 80.0, cmap: str = CMAP, ax: Axes | None = None,
                   title: str | None = None) -> Figure:
    """The Morlet wavelet scalogram (:func:`tympan.dsp.scalogram`) in dB re the clip's peak, on
    a log-frequency axis in Hz from ``fmin`` to ``fmax`` (default ``sr / 2``).  PyWavelets
    computes every sample, so keep clips to a few seconds."""
    y, sr = audio(y, sr)
    _, hop_length = stft_sizes(sr, None, hop_length)
    W = dsp.scalogram(y, sr=sr, hop_length=hop_length, fmin=fmin, fmax=fmax, n_bins=n_bins,
                      wavelet=wavelet)
    freqs = dsp.scalogram_frequencies(sr=sr, fmin=fmin, fmax=fmax, n_bins=n_bins)
    edges = _axes.centres_to_edges(freqs, log=True)
    fig, ax = figure_axes(ax, figsize=FIGSIZE)
    mesh = _axes.image(ax, frame_edges(W.shape[-1], hop_length=hop_length, sr=sr), edges,
                       dsp.amplitude_to_db(W, ref=np.max, top_db=top_db), cmap=cmap)
    _axes.hz_axis(ax, float(edges[0]), float(edges[-1]), log=True)
    _finish(ax, mesh, y, sr, label="dB", fmt=DB_FORMAT, title=title,
            default_title=f"wavelet scalogram ({wavelet}, {n_bins} bins)")
    return fig
