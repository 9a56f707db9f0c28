"""The unsupervised frame labellers: ``histogram``, ``fcm`` and ``hmm``, each from the feature
matrix of :mod:`tympan.segment.features` to a class index per frame (0 pause,
1 consonant, 2 vowel, as :data:`tympan.segment.truth.CLASSES`).

* ``histogram``: thresholds read off each recording's histograms.  A frame is a pause below
  Otsu's threshold of the frame energies (kept within ``pause_range_db`` of the loud level); a
  speech frame is a vowel when its vowel-band (300-2500 Hz) energy is above Otsu's threshold
  of the speech frames' vowel-band energies, it is voiced (periodicity above
  ``min_periodicity``), most of its energy lies in the vowel band (``vowel_band_db -
  energy_db`` above ``min_band_share_db``) and it is within ``peak_db`` of the loudest
  vowel-band energy in ``peak_sec`` around it (a syllable nucleus); other speech frames are
  consonants.
* ``fcm``: fuzzy c-means with three clusters on the vowel-band energy, the clusters named by
  their centres (lowest: pause, highest: vowel); the memberships are returned.
* ``hmm``: a three-state hidden Markov model whose states are the classes: each class gets a
  diagonal Gaussian fitted to the frames the ``histogram`` rules give it (energy, vowel-band
  energy and share, periodicity, zero-crossing rate, distance below the local vowel-band peak,
  standardised), and the Viterbi path under
  a sticky transition matrix (``stay``) relabels every frame.

The constants were chosen on EMO-DB speakers 03-14 (``benchmarks/segmentation.py``); the
figures on speakers never used are in ``docs/results.md``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

from tympan import _validate as v
from tympan.errors import ParameterError
from tympan.segment import fcm as _fcm
from tympan.segment import hmm as _hmm
from tympan.segment.features import FEATURE_NAMES
from tympan.segment.pauses import FLOOR_DB, otsu_threshold, relative_db

UNSUPERVISED = ("histogram", "fcm", "hmm")
_ROW = {name: k for k, name in enumerate(FEATURE_NAMES)}


def _rows(features, *names) -> list[np.ndarray]:
    f = np.asarray(features)
    if f.ndim != 2 or f.shape[0] != len(FEATURE_NAMES) or f.shape[1] == 0:
        raise ParameterError(f"features must be ({len(FEATURE_NAMES)}, n_frames > 0) as "
                             f"frame_features returns, got shape {f.shape}")
    return [f[_ROW[n]].astype(np.float64) for n in names]


def _nucleus(band: np.ndarray, *, hop_sec: float, peak_sec: float) -> np.ndarray:
    """dB below the loudest vowel-band energy within ``peak_sec`` of each frame (0 at a peak)."""
    return band - maximum_filter1d(band, 2 * round(peak_sec / hop_sec) + 1, mode="nearest")


def histogram_labels(features, *, hop_sec: float = 0.010, pause_range_db=(-45.0, -30.0),
                     min_periodicity: float = 0.3, min_band_share_db: float = 34.0,
                     peak_db: float = -10.0, peak_sec: float = 0.1) -> np.ndarray:
    """Class per frame by the histogram rules (module notes); ``(n_frames,)`` int."""
    hop_sec = v.positive_number("hop_sec", hop_sec)
    peak_sec = v.non_negative_number("peak_sec", peak_sec)
    lo, hi = sorted(float(x) for x in pause_range_db)
    energy, band, period = _rows(features, "energy_db", "vowel_band_db", "periodicity")
    e = relative_db(energy)
    pause = e < np.clip(otsu_threshold(e), lo, hi)
    out = np.where(pause, 0, 1)
    speech = ~pause
    if speech.sum() < 2:
        return out
    b = np.maximum(band - np.percentile(band, 95), FLOOR_DB - 20.0)
    nucleus = _nucleus(band, hop_sec=hop_sec, peak_sec=peak_sec)
    vowel = (speech & (b > otsu_threshold(b[speech])) & (period > min_periodicity)
             & (band - energy > min_band_share_db) & (nucleus > peak_db))
    out[vowel] = 2
    return out


def fcm_labels(features, *, m: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """``(class per frame, memberships (n_frames, 3))`` by fuzzy c-means on the vowel-band
    energy (relative to the loud level); membership columns are pause, consonant, vowel."""
    (band,) = _rows(features, "vowel_band_db")
    b = relative_db(band)
    u, centres = _fcm.fuzzy_cmeans(b, 3, m=m)
    u = u[:, np.argsort(centres[:, 0], kind="stable")]
    return u.argmax(axis=1), u.astype(np.float32)


def hmm_labels(features, *, hop_sec: float = 0.010, stay: float = 0.8, **histogram) -> np.ndarray:
    """Class per frame: the Viterbi path of a sticky three-state HMM whose Gaussian emissions
    are fitted to the ``histogram`` labels (``histogram`` keyword arguments pass on)."""
    start = histogram_labels(features, hop_sec=hop_sec, **histogram)
    energy, band, period, zcr = _rows(features, "energy_db", "vowel_band_db", "periodicity", "zcr")
    nucleus = _nucleus(band, hop_sec=hop_sec, peak_sec=histogram.get("peak_sec", 0.1))
    x = np.stack([relative_db(energy), relative_db(band), np.clip(band - energy, 0.0, 60.0),
                  period, zcr, np.maximum(nucleus, -40.0)], axis=1)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    scores = _hmm.gaussian_log_scores(x, start, 3)
    return _hmm.viterbi(scores, np.log(_hmm.sticky_transition(3, stay)))
