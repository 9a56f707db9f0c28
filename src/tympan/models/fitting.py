"""Feature defaults that depend on the data, fitted once on the training clips.

A model's layers are constants after training, so a default that librosa computes from each
signal (the chroma ``tuning=None``) is estimated once, from the training waveforms, and written
into the recipe: :func:`fit_feature_params` returns the resolved recipe with every such value a
number, which the trainer records in ``pipeline.json`` and builds the model from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tympan import _validate as v
from tympan import dsp
from tympan.errors import ParameterError
from tympan.models.frontend import resolve_features
from tympan.models.stack import is_stack, parse

#: waveforms per batch when estimating (bounds the memory of the spectrograms)
BATCH = 256


def circular_median(values, *, period: float = 1.0) -> float:
    """The median of ``values`` on a circle of ``period`` (tuning wraps at half a bin): the
    value among them with the least summed wrapped distance to all the others (on a tie the
    smallest in magnitude, then the lowest), mapped into ``[-period / 2, period / 2)``.  It
    equals the ordinary median of an odd number of values within half a period of each other."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ParameterError("circular_median needs at least one value, got none")
    period = v.positive_number("period", period)
    half = period / 2
    inside = (values >= -half) & (values < half)  # kept as they are: no rounding noise
    centred = np.where(inside, values, (values + half) % period - half)
    candidates, counts = np.unique(centred, return_counts=True)
    gap = np.abs(candidates[:, None] - candidates[None, :]) % period
    cost = (np.minimum(gap, period - gap) * counts[None, :]).sum(axis=1)
    best = np.flatnonzero(np.isclose(cost, cost.min(), rtol=1e-12, atol=1e-12))
    return float(candidates[best[np.argmin(np.abs(candidates[best]))]])


def _chroma_tuning(part: dict, waveforms: np.ndarray, sr: float) -> float:
    """librosa's ``chroma_stft`` estimate (:func:`tympan.dsp.estimate_tuning` of the power
    spectrogram, ``bins_per_octave=n_chroma``) for each clip; their circular median."""
    stft = {k: part[k] for k in ("n_fft", "hop_length", "win_length", "window", "center", "pad_mode")}
    estimates = []
    for start in range(0, len(waveforms), BATCH):
        power = dsp.spectrogram(waveforms[start : start + BATCH], power=2.0, **stft)
        estimates.append(np.atleast_1d(dsp.estimate_tuning(S=power, sr=sr,
                                                           bins_per_octave=part["n_chroma"])))
    return circular_median(np.concatenate(estimates))


def _parts(resolved: dict) -> list[tuple[str, dict]]:
    """``(kind, its keys)`` of every part of a resolved recipe (one part unless a stack); the
    dicts are the recipe's own (nested ones for the further parts of a stack)."""
    if not is_stack(resolved):
        return [(resolved["kind"], resolved)]
    base, rest = parse(resolved["kind"])
    return [(base, resolved), *((kind, resolved[kind]) for kind in rest)]


def fit_feature_params(features: dict, waveforms: Any, *, sr: float) -> dict:
    """``features`` resolved for ``sr`` (:func:`~tympan.models.resolve_features`), with every
    default that depends on the data estimated on ``waveforms`` ``(clips, samples)``, the
    training clips.

    Today that is the ``chroma`` ``tuning`` (of the kind or of a stack's chroma part) when it
    is None: each clip's tuning as ``librosa.feature.chroma_stft`` would estimate it with the
    recipe's STFT (:func:`tympan.dsp.estimate_tuning` of the power spectrogram), then their
    :func:`circular_median` (speech has no common tuning, so the median keeps the filterbank
    near A440 rather than on one clip's accident; music shares one).  A recipe with nothing to
    fit comes back resolved without looking at ``waveforms``.  The trainer
    (:func:`tympan.pipeline.train`, each fold of :func:`tympan.pipeline.cross_validate`) calls
    it and records the result in ``pipeline.json``.
    """
    sr = v.positive_number("sr", sr)
    resolved = resolve_features(features, sr=sr)
    todo = [keys for kind, keys in _parts(resolved) if kind == "chroma" and keys["tuning"] is None]
    if not todo:
        return resolved
    waveforms = v.valid_audio(np.asarray(waveforms) if not isinstance(waveforms, np.ndarray)
                              else waveforms, name="waveforms", min_ndim=2)
    if waveforms.ndim != 2 or len(waveforms) == 0:
        raise ParameterError(f"fit_feature_params needs training waveforms (clips, samples) to "
                             f"estimate the chroma tuning from, got shape {waveforms.shape}")
    for keys in todo:
        keys["tuning"] = _chroma_tuning(keys, waveforms, sr)
    return resolved


__all__ = ["circular_median", "fit_feature_params"]
