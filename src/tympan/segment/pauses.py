"""Pauses: where a recording is silent between (and around) its words.

Two ways to draw the line between speech and pause on the frame energies (dB):

* ``"energy"``: a fixed level below the recording's loud level (the 95th percentile of its
  frame energies), ``threshold_db`` (default -30 dB);
* ``"histogram"``: Otsu's threshold on the histogram of the frame energies (the level that best
  splits it into two modes, pause and speech), for recordings whose pauses are not clean.

Both then switch with hysteresis (speech starts above the threshold and lasts until the energy
falls ``hysteresis_db`` below it), fill pauses shorter than ``min_pause_sec`` and drop speech
shorter than ``min_speech_sec``; ``pad_sec`` keeps that much more audio around the speech.
Frames quieter than ``silence_db`` (dB re full scale, default -70) are pauses in any case, so a
silent recording is one pause; the energy is that of each frame's variation about its mean, so
a DC offset or a constant signal is silent too.
"""

from __future__ import annotations

import numpy as np

from tympan import _validate as v
from tympan.errors import ParameterError
from tympan.segment import intervals as iv
from tympan.segment.features import FEATURE_SR, frame_energy_db, frame_settings, input_flags, mono16

PAUSE_METHODS = ("energy", "histogram")
#: Frame energies are clipped this far below the loud level, so that digital silence (zeros)
#: does not stretch the histogram.
FLOOR_DB = -80.0
#: Frames quieter than this (dB re full scale) are pauses whatever the recording's level.
SILENCE_DB = -70.0


def otsu_threshold(values, *, bins: int = 64) -> float:
    """Otsu's threshold of ``values``: the cut of their ``bins``-bin histogram that maximises
    the between-class variance of the two sides (the middle of the cuts that do, when several
    do, as between two separated modes).  Constant values give that value."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ParameterError("values must not be empty")
    bins = v.positive_int("bins", bins)
    if np.ptp(x) == 0:
        return float(x[0])
    counts, edges = np.histogram(x, bins=bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(counts) / x.size
    m0 = np.cumsum(counts * centres) / x.size
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (m0[-1] * w0 - m0) ** 2 / (w0 * (1.0 - w0))
    if bins == 1:
        return float(edges[1])
    between = np.nan_to_num(between[:-1], nan=-1.0)
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))  # a plateau: take its middle
    return float(0.5 * (edges[1 + best[0]] + edges[1 + best[-1]]))


def relative_db(energy_db) -> np.ndarray:
    """Frame energies in dB relative to the recording's loud level (their 95th percentile),
    floored at :data:`FLOOR_DB`."""
    e = np.asarray(energy_db, dtype=np.float64)
    return np.maximum(e - np.percentile(e, 95), FLOOR_DB)


def pause_frames(energy_db, *, hop_sec: float, method: str = "energy", threshold_db: float = -30.0,
                 hysteresis_db: float = 6.0, min_pause_sec: float = 0.1,
                 min_speech_sec: float = 0.05, silence_db: float = SILENCE_DB) -> np.ndarray:
    """Boolean per frame, true in a pause, from the frame energies ``energy_db`` (dB re full
    scale); frames below ``silence_db`` are pauses whatever the recording's level."""
    v.choice("method", method, PAUSE_METHODS)
    hop_sec = v.positive_number("hop_sec", hop_sec)
    hysteresis_db = v.non_negative_number("hysteresis_db", hysteresis_db)
    min_pause_sec = v.non_negative_number("min_pause_sec", min_pause_sec)
    min_speech_sec = v.non_negative_number("min_speech_sec", min_speech_sec)
    for name, value in (("threshold_db", threshold_db), ("silence_db", silence_db)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not np.isfinite(value):
            raise ParameterError(f"{name} must be a finite number (dB), got {value!r}")
    e = np.where(np.asarray(energy_db) < silence_db, FLOOR_DB, relative_db(energy_db))
    upper = float(threshold_db) if method == "energy" else otsu_threshold(e)
    speech = iv.hysteresis(e, upper=upper, lower=upper - hysteresis_db)
    speech = ~iv.fill_short_runs(~speech, value=True, min_frames=round(min_pause_sec / hop_sec))
    return ~iv.fill_short_runs(speech, value=True, min_frames=round(min_speech_sec / hop_sec))


def pause_intervals(pause_mask, *, hop_sec: float, duration: float,
                    pad_sec: float = 0.0) -> list[iv.Interval]:
    """The pauses of a per-frame pause mask as intervals, after widening the speech between
    them by ``pad_sec`` on each side."""
    speech = iv.frames_to_intervals(~np.asarray(pause_mask, dtype=bool), hop_sec=hop_sec,
                                    duration=duration)
    return iv.complement(iv.pad(speech, pad_sec, duration=duration), duration=duration)


def _energy_db(y, sr, frame_sec, hop_sec) -> tuple[np.ndarray, float]:
    frame_length, hop_length, _ = frame_settings(frame_sec, hop_sec)
    y = v.valid_audio(y)
    energy = frame_energy_db(mono16(y, sr), frame_length=frame_length, hop_length=hop_length)
    return energy, y.shape[-1] / float(sr)


def pauses(y: np.ndarray, sr: float, *, method: str = "energy", frame_sec: float = 0.025,
           hop_sec: float = 0.010, threshold_db: float = -30.0, hysteresis_db: float = 6.0,
           min_pause_sec: float = 0.1, min_speech_sec: float = 0.05, silence_db: float = SILENCE_DB,
           pad_sec: float = 0.0) -> list[tuple[float, float]]:
    """The pauses of ``y`` (mono, or ``(channels, samples)`` averaged) as sorted, disjoint
    ``(start, end)`` intervals in seconds within ``[0, len(y) / sr]``.

    ``method``: ``"energy"`` (a threshold ``threshold_db`` below the loud level) or
    ``"histogram"`` (Otsu's threshold on the frame energies; ``threshold_db`` is unused).
    Frames of ``frame_sec`` every ``hop_sec``; see the module notes for the rest.
    """
    if "silent" in input_flags(y, sr):  # a constant signal rings when resampled
        return [(0.0, y.shape[-1] / float(sr))]
    energy, duration = _energy_db(y, sr, frame_sec, hop_sec)
    hop = frame_settings(frame_sec, hop_sec)[1] / FEATURE_SR
    mask = pause_frames(energy, hop_sec=hop, method=method, threshold_db=threshold_db,
                        hysteresis_db=hysteresis_db, min_pause_sec=min_pause_sec,
                        min_speech_sec=min_speech_sec, silence_db=silence_db)
    return pause_intervals(mask, hop_sec=hop, duration=duration, pad_sec=pad_sec)


def cut(y: np.ndarray, sr: float, keep) -> np.ndarray:
    """The samples of ``y`` (last axis) inside the intervals ``keep`` (seconds), joined."""
    spans = iv.to_samples(keep, sr=sr, n_samples=y.shape[-1])
    if not spans:
        return y[..., :0].copy()
    return np.concatenate([y[..., a:b] for a, b in spans], axis=-1)


def remove_pauses(y: np.ndarray, sr: float, **kwargs) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """``(y without its pauses, the kept intervals in seconds)``; ``kwargs`` are those of
    :func:`pauses`.  Every channel of a ``(channels, samples)`` array is cut the same way."""
    y = v.valid_audio(y)
    duration = y.shape[-1] / v.positive_number("sr", sr)
    kept = iv.complement(pauses(y, sr, **kwargs), duration=duration)
    return cut(y, sr, kept), kept
