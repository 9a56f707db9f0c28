"""Fuzzy c-means clustering in numpy (Bezdek, 1981).

Each point belongs to every cluster with a membership in ``[0, 1]``, the memberships of a point
summing to one; the centres are the membership-weighted means (weights ``u ** m``) and the
memberships follow from the distances, ``u_ik = 1 / sum_j (d_ik / d_ij) ** (2 / (m - 1))``,
alternating until the memberships change by less than ``tol``.
"""

from __future__ import annotations

import numpy as np

from tympan import _validate as v
from tympan.errors import ParameterError


def memberships_from_distances(d2: np.ndarray, m: float) -> np.ndarray:
    """Memberships ``(n, c)`` from squared distances ``(n, c)``; a point on a centre belongs to
    it alone."""
    d2 = np.maximum(np.asarray(d2, dtype=np.float64), 1e-300)
    inv = (d2 / d2.min(axis=1, keepdims=True)) ** (-1.0 / (m - 1.0))
    return inv / inv.sum(axis=1, keepdims=True)


def fuzzy_cmeans(x, n_clusters: int, *, m: float = 2.0, init=None, max_iter: int = 100,
                 tol: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the rows of ``x`` ``(n, features)`` (a 1-D ``x`` is one feature); returns
    ``(memberships (n, n_clusters), centres (n_clusters, features))``.

    ``m`` > 1 is the fuzzifier (near 1: hard k-means; larger: softer).  ``init`` is a starting
    membership matrix ``(n, n_clusters)``; by default each point starts in the cluster of its
    quantile of the first feature (deterministic).
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] == 0 or not np.all(np.isfinite(x)):
        raise ParameterError(f"x must be a finite (n, features) array with n > 0, got shape {x.shape}")
    c = v.positive_int("n_clusters", n_clusters)
    m = v.positive_number("m", m)
    if m <= 1.0:
        raise ParameterError(f"m must be greater than 1, got {m!r}")
    max_iter = v.positive_int("max_iter", max_iter)
    if init is None:
        rank = np.argsort(np.argsort(x[:, 0], kind="stable"), kind="stable")
        u = np.full((x.shape[0], c), 0.1 / max(c - 1, 1))
        u[np.arange(x.shape[0]), np.minimum(rank * c // x.shape[0], c - 1)] = 0.9
    else:
        u = np.asarray(init, dtype=np.float64)
        if u.shape != (x.shape[0], c):
            raise ParameterError(f"init must have shape {(x.shape[0], c)}, got {u.shape}")
    u = u / u.sum(axis=1, keepdims=True)
    centres = np.zeros((c, x.shape[1]))
    for _ in range(max_iter):
        w = u**m
        centres = (w.T @ x) / np.maximum(w.sum(axis=0), 1e-300)[:, None]
        new = memberships_from_distances(((x[:, None, :] - centres[None]) ** 2).sum(-1), m)
        done = np.abs(new - u).max() < tol
        u = new
        if done:
            break
    return u, centres
