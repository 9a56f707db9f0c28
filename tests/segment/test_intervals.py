"""Interval helpers and the pause detectors: sorted, disjoint, in bounds for any input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tympan import segment
from tympan.segment import intervals as iv


def _well_formed(spans, duration):
    for a, b in spans:
        assert 0.0 <= a < b <= duration + 1e-12
    for (_, b), (a, _) in itertools.pairwise(spans):
        assert b <= a  # sorted and disjoint


interval_lists = st.lists(st.tuples(st.floats(-2, 12, allow_nan=False), st.floats(-2, 12, allow_nan=False)),
                          max_size=20)


@given(interval_lists, st.floats(0, 10), st.floats(0, 1))
def test_merge_pad_clip_complement_are_well_formed(spans, duration, pad):
    merged = iv.merge(spans)
    assert merged == sorted(merged)
    _well_formed(iv.clip(spans, duration=duration), duration)
    _well_formed(iv.pad(spans, pad, duration=duration), duration)
    gaps = iv.complement(spans, duration=duration)
    _well_formed(gaps, duration)
    covered = iv.clip(spans, duration=duration)
    total = sum(b - a for a, b in covered) + sum(b - a for a, b in gaps)
    assert total == pytest.approx(duration, abs=1e-9)  # a partition of [0, duration]


@given(arrays(bool, st.integers(0, 300)), st.floats(0.001, 0.05), st.floats(0, 1))
def test_frames_to_intervals_cover_the_true_runs(mask, hop, extra):
    duration = (max(len(mask) - 1, 0)) * hop + extra * hop
    spans = iv.frames_to_intervals(mask, hop_sec=hop, duration=duration)
    _well_formed(spans, duration)
    for k in np.flatnonzero(mask):  # each true frame centre inside some interval
        t = min(k * hop, duration)
        if 0 < t < duration:
            assert any(a <= t <= b for a, b in spans)


signals = st.one_of(
    arrays(np.float32, st.integers(1, 6000), elements=st.floats(-1, 1, width=32)),  # noise, short
    st.integers(1, 40000).map(lambda n: np.zeros(n, np.float32)),  # silence
    st.integers(1, 40000).map(lambda n: np.full(n, 0.5, np.float32)),  # all loud (DC)
    st.integers(1, 40000).map(lambda n: 0.5 * np.sin(np.arange(n) * 0.1).astype(np.float32)),
)


@settings(max_examples=60, deadline=None)
@given(signals, st.sampled_from([8000, 16000, 22050]), st.sampled_from(["energy", "histogram"]),
       st.floats(0, 0.2))
def test_pauses_are_sorted_disjoint_and_in_bounds(y, sr, method, pad):
    duration = y.size / sr
    spans = segment.pauses(y, sr, method=method, pad_sec=pad)
    _well_formed(spans, duration)
    kept_audio, kept = segment.remove_pauses(y, sr, method=method, pad_sec=pad)
    _well_formed(kept, duration)
    assert kept_audio.size <= y.size


@settings(max_examples=25, deadline=None)
@given(signals, st.sampled_from(["histogram", "fcm", "hmm", "energy"]))
def test_segments_partition_the_signal(y, method):
    segs = segment.segments(y, 16000, method=method)
    duration = y.size / 16000
    assert segs[0][0] == 0.0 and segs[-1][1] == pytest.approx(duration)
    for (_, b, la), (a, _, lb) in itertools.pairwise(segs):
        assert a == pytest.approx(b) and la != lb


def test_hysteresis_and_short_runs():
    score = np.array([0, 5, 3, 3, 0, 3, 3, 0, 9, 0], float)
    np.testing.assert_array_equal(iv.hysteresis(score, upper=4, lower=2),
                                  [0, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    mask = np.array([1, 0, 1, 1, 0, 0, 0, 1], bool)
    np.testing.assert_array_equal(iv.fill_short_runs(mask, value=False, min_frames=2),
                                  [1, 1, 1, 1, 0, 0, 0, 1])
    assert iv.runs([]) == [] and iv.runs([2, 2, 1]) == [(0, 2, 2), (2, 3, 1)]
