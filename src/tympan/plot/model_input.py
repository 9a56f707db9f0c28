"""What a trained network gets: the spectrum of a clip exactly as an ``fft`` model sees it.

The clip and the recipe are plain arguments; :func:`tympan.pipeline.network_input` reads them
for a file from a trained run (its rate, clip length, pad/crop and resolved ``fft`` recipe).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from tympan.errors import ParameterError
from tympan.plot.signal import plot_spectrum

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def plot_network_spectrum(clip: np.ndarray, sr: float, *, features: Mapping[str, Any],
                          scale: str = "linear", ax: Axes | None = None,
                          title: str | None = None) -> Figure:
    """The spectrum of ``clip`` that a whole-clip ``fft`` model with the resolved recipe
    ``features`` gets: the same bins and scaling, drawn by :func:`tympan.plot.plot_spectrum`.

    For a trained run, ``clip, sr, recipe = tympan.pipeline.network_input(run, file)`` gives
    them as the run reads the file: ``plot_network_spectrum(clip, sr, features=recipe)``.  (A
    framed recipe gives the network a spectrogram: ``tympan plot spectrogram``.)
    """
    if not isinstance(features, Mapping) or features.get("kind") != "fft":
        kind = features.get("kind") if isinstance(features, Mapping) else features
        raise ParameterError(f"features must be an 'fft' recipe (the spectrum of what a network "
                             f"gets is drawn for kind 'fft' only), got kind {kind!r}")
    if features.get("framed"):
        raise ParameterError("features takes framed FFT magnitudes (a spectrogram); draw them with "
                             "plot_spectrogram (tympan plot spectrogram)")
    return plot_spectrum(clip, sr, n_fft=features.get("n_fft"), window=features.get("window", "hann"),
                         n_bins=features.get("n_bins"), fmax=features.get("fmax"), scale=scale,
                         db=features.get("scale", "db") == "db", top_db=features.get("top_db"),
                         normalize=features.get("normalize"), ax=ax,
                         title="what the network gets" if title is None else title)


__all__ = ["plot_network_spectrum"]
