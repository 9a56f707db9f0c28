"""What a trained network gets: the spectrum of a file exactly as an ``fft`` model sees it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tympan.errors import ArtifactError, ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def network_input(run: str | os.PathLike, file: str | os.PathLike):
    """``(clip, sr, recipe)``: ``file`` read as the artifact in ``run`` reads it for training
    (its rate, mono, fitted to the clip duration with its pad/crop policy) and the resolved
    ``fft`` feature recipe from its ``pipeline.json``.  Needs no Keras."""
    from tympan.data import fit_length
    from tympan.pipeline.artifact import read_pipeline_json
    from tympan.pipeline.config import AudioConfig
    from tympan.plot._common import load_audio

    meta = read_pipeline_json(run)
    recipe = dict(meta.get("features") or {})
    if recipe.get("kind") != "fft":
        raise ParameterError(f"the model in {run} takes feature kind {recipe.get('kind')!r}; the "
                             "spectrum of what a network gets is drawn for kind 'fft' only")
    try:
        audio = AudioConfig(**meta["audio"])
    except (KeyError, TypeError) as exc:
        raise ArtifactError(f"{run}: pipeline.json has no valid 'audio' settings ({exc})") from None
    y, sr = load_audio(file, sr=audio.sr)
    return fit_length(y, audio.samples, pad=audio.pad, crop=audio.crop), sr, recipe


def plot_network_spectrum(run: str | os.PathLike, file: str | os.PathLike, *,
                          scale: str = "linear", ax: Axes | None = None,
                          title: str | None = None) -> Figure:
    """The spectrum of ``file`` that the whole-clip ``fft`` model in ``run`` gets: the same clip
    (rate, duration, pad/crop), bins and scaling, drawn by :func:`tympan.plot.plot_spectrum`.
    (A framed recipe gives the network a spectrogram: ``tympan plot spectrogram``.)
    """
    from tympan.plot.signal import plot_spectrum

    clip, sr, recipe = network_input(run, file)
    if recipe.get("framed"):
        raise ParameterError(f"the model in {run} takes framed FFT magnitudes (a spectrogram); draw "
                             "them with plot_spectrogram (tympan plot spectrogram)")
    fig = plot_spectrum(clip, sr, n_fft=recipe.get("n_fft"), window=recipe.get("window", "hann"),
                        n_bins=recipe.get("n_bins"), fmax=recipe.get("fmax"), scale=scale,
                        db=recipe.get("scale", "db") == "db", top_db=recipe.get("top_db"),
                        normalize=recipe.get("normalize"), ax=ax,
                        title=title if title is not None
                        else f"{os.path.basename(os.fspath(file))}: what the network gets")
    return fig


__all__ = ["network_input", "plot_network_spectrum"]
