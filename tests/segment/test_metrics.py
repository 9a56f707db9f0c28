"""Segmentation scores: boundaries, boundary F1 with a tolerance, frame report."""

from __future__ import annotations

import numpy as np
import pytest

from tympan.errors import ParameterError
from tympan.segment import metrics


def test_boundaries_of_segments():
    segs = [(0.0, 0.5, "pause"), (0.5, 0.8, "vowel"), (0.8, 1.0, "vowel"), (1.2, 2.0, "consonant")]
    np.testing.assert_allclose(metrics.boundaries(segs, duration=2.5), [0.5, 1.0, 1.2, 2.0])
    np.testing.assert_allclose(metrics.boundaries([(0.1, 0.2, "v")]), [0.1])


def test_boundary_scores_known_answers():
    ref = [0.10, 0.50, 0.90]
    r = metrics.boundary_scores(ref, [0.11, 0.52, 0.53, 0.70])
    assert r["hits"] == 2 and r["precision"] == 0.5 and r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert metrics.boundary_scores(ref, [0.125], tolerance_sec=0.02)["hits"] == 0
    assert metrics.boundary_scores(ref, ref)["f1"] == 1.0
    assert metrics.boundary_scores([], [])["f1"] == 1.0
    assert metrics.boundary_scores(ref, [])["f1"] == 0.0
    # each reference boundary matched once, closest first
    assert metrics.boundary_scores([0.5], [0.49, 0.505])["hits"] == 1


def test_frame_report_and_summary():
    rep = metrics.frame_report([0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 2, 0])
    assert rep.accuracy == pytest.approx(4 / 6)
    s = metrics.summary(rep, {"f1": 0.5, "precision": 0.5, "recall": 0.5})
    assert s["recall_consonant"] == 0.5 and s["recall_vowel"] == pytest.approx(2 / 3)
    with pytest.raises(ParameterError, match="as many frames"):
        metrics.frame_report([0, 1], [0])
    with pytest.raises(ParameterError, match="tolerance_sec"):
        metrics.boundary_scores([0.1], [0.1], tolerance_sec=-1)
