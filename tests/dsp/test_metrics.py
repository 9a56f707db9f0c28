"""Signal comparison metrics: known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tympan.dsp.metrics import align, gain_matched_snr_db, snr_db


def test_snr_known_answers(rng):
    x = rng.standard_normal(10_000)
    assert snr_db(x, x + 0.1 * x) == pytest.approx(20.0)
    assert snr_db(x, x - 0.01 * x) == pytest.approx(40.0)
    assert snr_db(x, x) > 1000  # exact: no division by zero
    assert snr_db(x.astype(np.float32), x) > 100  # float32 rounding only


def test_gain_matched_snr_ignores_a_constant_gain(rng):
    x = rng.standard_normal(10_000)
    assert snr_db(x, 0.95 * x) == pytest.approx(26.02, abs=0.01)
    assert gain_matched_snr_db(x, 0.95 * x) > 200


@pytest.mark.parametrize("lag", [0, 37, -250])
def test_align_finds_a_known_delay(rng, lag):
    ref = rng.standard_normal((2, 4000))
    est = np.roll(ref, lag, axis=1)
    found, r, e = align(ref, est, max_lag=500)
    assert found == lag
    assert r.shape == e.shape
    assert snr_db(r[:, 300:-300], e[:, 300:-300]) > 200
    found_1d, _, _ = align(ref[0], est[0], max_lag=500)
    assert found_1d == lag
