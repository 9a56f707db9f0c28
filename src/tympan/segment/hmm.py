"""Hidden Markov smoothing in numpy: a sticky transition matrix, Gaussian class scores, and the
Viterbi path.

:func:`viterbi` finds the state sequence maximising ``log_initial[s0] + sum_t
log_scores[t, s_t] + sum_t log_transition[s_{t-1}, s_t]`` by dynamic programming (one pass
forward keeping, for every state, the best predecessor; one pass back).
"""

from __future__ import annotations

import numpy as np

from tympan import _validate as v
from tympan.errors import ParameterError


def sticky_transition(n_states: int, stay: float) -> np.ndarray:
    """``(n_states, n_states)`` transition probabilities: ``stay`` on the diagonal, the rest
    shared equally among the other states."""
    n = v.positive_int("n_states", n_states)
    stay = v.positive_number("stay", stay)
    if stay > 1.0 or (n > 1 and stay == 1.0):
        raise ParameterError(f"stay must be in (0, 1) (in (0, 1] for one state), got {stay!r}")
    a = np.full((n, n), (1.0 - stay) / max(n - 1, 1))
    np.fill_diagonal(a, stay)
    return a


def viterbi(log_scores, log_transition, log_initial=None) -> np.ndarray:
    """The most likely state path ``(n_frames,)`` (int) for per-frame state log-scores
    ``(n_frames, n_states)``, log transition probabilities ``(n_states, n_states)`` (row: from,
    column: to) and log initial probabilities (default: uniform).  Ties go to the lower state."""
    s = np.asarray(log_scores, dtype=np.float64)
    a = np.asarray(log_transition, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] == 0:
        raise ParameterError(f"log_scores must be (n_frames > 0, n_states), got shape {s.shape}")
    n, k = s.shape
    if a.shape != (k, k):
        raise ParameterError(f"log_transition must be ({k}, {k}) for {k} states, got shape {a.shape}")
    pi = np.full(k, -np.log(k)) if log_initial is None else np.asarray(log_initial, dtype=np.float64)
    if pi.shape != (k,):
        raise ParameterError(f"log_initial must have shape ({k},), got {pi.shape}")
    back = np.zeros((n, k), dtype=np.int64)
    delta = pi + s[0]
    for t in range(1, n):
        cand = delta[:, None] + a
        back[t] = cand.argmax(axis=0)
        delta = cand[back[t], np.arange(k)] + s[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(delta.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def gaussian_log_scores(x, labels, n_classes: int, *, var_floor: float = 0.05) -> np.ndarray:
    """Per-frame log-likelihoods ``(n, n_classes)`` of diagonal Gaussians fitted to the frames
    of each class in ``labels`` (rows of ``x`` ``(n, features)``), plus the log of the class's
    share of frames.  A class with fewer than 3 frames scores ``-1e3`` everywhere."""
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    out = np.full((x.shape[0], n_classes), -1e3)
    for k in range(n_classes):
        sel = labels == k
        if sel.sum() < 3:
            continue
        mu, var = x[sel].mean(axis=0), x[sel].var(axis=0) + var_floor
        out[:, k] = -0.5 * (((x - mu) ** 2 / var) + np.log(2 * np.pi * var)).sum(axis=1) + np.log(sel.mean())
    return out
