"""Pauses: known answers on tone + silence, Otsu's threshold, remove_pauses, errors."""

from __future__ import annotations

import numpy as np
import pytest

from tympan import segment
from tympan.errors import ParameterError
from tympan.segment.pauses import otsu_threshold

from .conftest import SR, tone_and_silence

PATTERN = [("silence", 0.5), ("tone", 0.6), ("silence", 0.4), ("tone", 0.3), ("silence", 0.35),
           ("tone", 0.5), ("silence", 0.25)]


def _edges(pattern):
    t, out = 0.0, []
    for kind, sec in pattern:
        if kind == "silence":
            out.append((t, t + sec))
        t += sec
    return out, t


@pytest.mark.parametrize("method", ["energy", "histogram"])
def test_pauses_are_found_where_the_silence_is(method):
    y = tone_and_silence(PATTERN)
    expected, duration = _edges(PATTERN)
    found = segment.pauses(y, SR, method=method)
    assert len(found) == len(expected)
    for (a, b), (ea, eb) in zip(found, expected, strict=True):
        assert a == pytest.approx(ea, abs=0.025) and b == pytest.approx(eb, abs=0.025)
    assert found[-1][1] == pytest.approx(duration)


def test_min_pause_and_pad():
    y = tone_and_silence([("tone", 0.4), ("silence", 0.06), ("tone", 0.4), ("silence", 0.4),
                          ("tone", 0.3)])
    assert len(segment.pauses(y, SR, min_pause_sec=0.1)) == 1  # the 60 ms gap is not a pause
    assert len(segment.pauses(y, SR, min_pause_sec=0.03)) == 2
    (a, b), = segment.pauses(y, SR, pad_sec=0.1)
    assert a == pytest.approx(0.86 + 0.1, abs=0.025) and b == pytest.approx(1.26 - 0.1, abs=0.025)


def test_remove_pauses_keeps_the_tones_only():
    y = tone_and_silence(PATTERN)
    out, kept = segment.remove_pauses(y, SR)
    assert out.dtype == np.float32
    # 1.4 s of tone, plus up to half a frame (12.5 ms) and half a hop at each of its 6 edges
    assert 1.4 <= out.size / SR <= 1.4 + 6 * 0.0175
    assert sum(b - a for a, b in kept) == pytest.approx(out.size / SR, abs=1e-3)
    stereo, kept2 = segment.remove_pauses(np.stack([y, 0.5 * y]), SR)
    assert stereo.shape == (2, out.size) and kept2 == kept


def test_other_rates_give_the_same_pauses():
    y = tone_and_silence(PATTERN)
    from tympan import io

    y8 = io.resample(y, orig_sr=SR, target_sr=8000)
    for (a, b), (c, d) in zip(segment.pauses(y, SR), segment.pauses(y8, 8000), strict=True):
        assert a == pytest.approx(c, abs=0.011) and b == pytest.approx(d, abs=0.011)


def test_silence_is_one_pause_and_a_tone_none():
    for method in segment.PAUSE_METHODS:
        assert segment.pauses(np.zeros(8000, np.float32), SR, method=method) == [(0.0, 0.5)]
    assert segment.pauses(tone_and_silence([("tone", 1.0)]), SR) == []


def test_otsu_splits_two_modes(rng):
    x = np.concatenate([rng.normal(-60, 3, 500), rng.normal(-10, 3, 300)])
    assert -50 < otsu_threshold(x) < -20
    assert otsu_threshold(np.full(10, 3.0)) == 3.0


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(method="loud"), "method"),
    (dict(min_pause_sec=-1), "min_pause_sec"),
    (dict(hop_sec=0), "hop_sec"),
    (dict(pad_sec=-0.1), "pad_sec"),
    (dict(threshold_db=float("nan")), "threshold_db"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        segment.pauses(tone_and_silence(PATTERN), SR, **kwargs)


def test_bad_audio():
    with pytest.raises(ParameterError, match="y must"):
        segment.pauses(np.zeros(0, np.float32), SR)
    with pytest.raises(ParameterError, match="floating-point"):
        segment.pauses(np.zeros(100, np.int16), SR)
    with pytest.raises(ParameterError, match="sr"):
        segment.pauses(np.zeros(100, np.float32), 0)
