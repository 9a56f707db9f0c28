"""What every figure shares: the lazy matplotlib import, the figure and axes, mono audio, saving.

Figures are made with :class:`matplotlib.figure.Figure`, never through ``pyplot``: no global
state, nothing to close, safe in a server, a thread or a headless training run (PNG, PDF and
SVG render without a display).  Jupyter shows a returned Figure when it is a cell's value; to
draw into a ``pyplot`` window pass ``ax=`` from ``plt.subplots()`` and call ``plt.show()``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tympan import _validate as v
from tympan.atomic import replacing
from tympan.errors import MissingDependencyError, ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

INSTALL_HINT = "pip install 'tympan[plot]'"
SAVE_FORMATS = ("png", "pdf", "svg")
TIME_LABEL = "time (s)"


def require_matplotlib():
    """The ``matplotlib`` module, or :class:`MissingDependencyError` telling how to install it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError(
            f"tympan.plot needs matplotlib, which is not installed: {INSTALL_HINT} "
            "(or pip install matplotlib)") from exc
    return matplotlib


def figure_axes(ax: Axes | None, *, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``(figure, axes)`` to draw on: ``ax`` and its figure, or a new one-axes figure."""
    require_matplotlib()
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise ParameterError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax.figure, ax


def set_title(ax: Axes, title: str | None, default: str) -> None:
    """``title`` if given (``""`` for none), else ``default``."""
    ax.set_title(default if title is None else title)


def mono(y: Any, *, name: str = "y") -> np.ndarray:
    """A 1-D signal from ``(samples,)`` or ``(channels, samples)`` (the channels are averaged,
    as :func:`tympan.io.to_mono` and ``io.load(mono=True)`` do)."""
    from tympan.io import to_mono

    y = v.valid_audio(y, name=name)
    if y.ndim > 2:
        raise ParameterError(f"{name} must be (samples,) or (channels, samples), got shape {y.shape}")
    y = to_mono(y)
    if y.shape[-1] == 0:
        raise ParameterError(f"{name} must contain at least one sample, got shape {y.shape}")
    return y


def load_audio(path: str | os.PathLike, *, sr: int | None = None) -> tuple[np.ndarray, int]:
    """``(y, rate)`` of the audio file ``path``, mono (at ``sr`` when given), checked by the
    policy of :mod:`tympan.signal_checks` on the file's own samples: no audio and non-finite
    samples raise AudioIOError naming the file; silence and samples beyond full scale warn."""
    from tympan import io
    from tympan.signal_checks import FILE_WARNINGS, check_signal

    sr = None if sr is None else v.positive_int("sr", sr)
    # warns itself about samples beyond full scale; refuses a rate that cannot be resampled
    y, rate = io.load(path, mono=True, for_sr=sr)
    check_signal(y, sr=rate, source=os.fspath(path), from_file=True, warn=FILE_WARNINGS, stacklevel=3)
    if sr is not None and sr != rate:
        return io.resample(y, orig_sr=rate, target_sr=sr), sr
    return y, rate


def audio(y: Any, sr: Any) -> tuple[np.ndarray, float]:
    """The mono signal (see :func:`mono`) and the checked sample rate."""
    return mono(y), v.positive_number("sr", sr)


def stft_sizes(sr: float, n_fft: int | None, hop_length: int | None, *,
               seconds: float = 0.025) -> tuple[int, int]:
    """``n_fft`` defaults to the power of two at or above ``seconds`` of audio (25 ms: 256
    samples at 8 kHz, 512 at 16 kHz, 1024 at 22.05 kHz, 2048 at 44.1 kHz); ``hop_length`` to
    ``n_fft // 4``."""
    if n_fft is None:
        n_fft = 1 << max(4, int(np.ceil(np.log2(seconds * sr))))
    n_fft = v.positive_int("n_fft", n_fft)
    hop_length = max(1, n_fft // 4) if hop_length is None else v.positive_int("hop_length", hop_length)
    return n_fft, hop_length


def frame_edges(count: int, *, hop_length: int, sr: float) -> np.ndarray:
    """Time in s of the edges of ``count`` centred frames (frame ``k`` at ``k * hop / sr``)."""
    return np.maximum(0.0, (np.arange(count + 1) - 0.5) * hop_length / sr)


def time_axis(ax: Axes, duration: float) -> None:
    """The x axis in seconds, from 0 to the clip's duration."""
    ax.set_xlim(0.0, duration)
    ax.set_xlabel(TIME_LABEL)


def colorbar(ax: Axes, mappable, label: str, fmt: str | None = None):
    """A colour bar beside ``ax`` with its label (``fmt`` such as ``"%+.0f dB"``)."""
    return ax.figure.colorbar(mappable, ax=ax, label=label, format=fmt)


def check_output(out, *, overwrite: bool = False) -> Path:
    """``out`` as a Path if a figure may be written there: a ``.png``, ``.pdf`` or ``.svg``
    name, and no existing file unless ``overwrite``."""
    path = Path(out)
    if path.suffix.lower().lstrip(".") not in SAVE_FORMATS:
        raise ParameterError(f"out must end in one of {', '.join('.' + f for f in SAVE_FORMATS)}, "
                             f"got {str(out)!r}")
    if path.exists() and not overwrite:
        raise ParameterError(f"out {str(path)!r} already exists; pass overwrite=True (--overwrite) "
                             "to replace it")
    return path


def save_figure(fig: Figure, out, *, overwrite: bool = False, dpi: float = 100) -> Path:
    """Write ``fig`` to ``out`` (PNG, PDF or SVG by its extension) and return the path.

    An existing file is replaced only with ``overwrite=True``; the file appears whole or not at
    all (written beside it, then renamed).
    """
    path = check_output(out, overwrite=overwrite)
    dpi = v.positive_number("dpi", dpi)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as (tmp,):
        fig.savefig(tmp, format=path.suffix.lower().lstrip("."), dpi=dpi)
    return path
