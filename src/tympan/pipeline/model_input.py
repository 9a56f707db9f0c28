"""What a trained network gets from a file: the clip as the run reads it for training and the
resolved feature recipe, for drawing (:func:`tympan.plot.plot_network_spectrum`)."""

from __future__ import annotations

import os

import numpy as np

from tympan.data import fit_length
from tympan.errors import ParameterError
from tympan.pipeline.artifact import read_pipeline_json
from tympan.pipeline.config import AudioConfig
from tympan.pipeline.inputs import load_checked


def network_input(run: str | os.PathLike, file: str | os.PathLike) -> tuple[np.ndarray, int, dict]:
    """``(clip, sr, recipe)``: ``file`` read as the artifact in ``run`` reads it for training
    (its rate, mono, fitted to the clip duration with its pad/crop policy) and the resolved
    ``fft`` feature recipe from its ``pipeline.json``.  Needs no Keras.

    ``tympan.plot.plot_network_spectrum(clip, sr, features=recipe)`` draws it."""
    meta = read_pipeline_json(run)
    recipe = dict(meta.get("features") or {})
    if recipe.get("kind") != "fft":
        raise ParameterError(f"the model in {run} takes feature kind {recipe.get('kind')!r}; the "
                             "spectrum of what a network gets is drawn for kind 'fft' only")
    audio = AudioConfig(**meta["audio"])  # checked by the schema when read
    y = load_checked(file, sr=audio.sr)
    return fit_length(y, audio.samples, pad=audio.pad, crop=audio.crop), audio.sr, recipe


__all__ = ["network_input"]
