"""Signal comparison metrics: known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tympan.dsp.metrics import (
    align,
    gain_matched_snr_db,
    log_spectral_distance,
    sdr,
    si_sdr,
    si_sdr_improvement,
    snr_db,
    spectral_convergence,
)
from tympan.errors import ParameterError


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


def test_si_sdr_known_answers(rng):
    x = rng.standard_normal(10_000)
    w = rng.standard_normal(10_000)
    noise = w - (w @ x) / (x @ x) * x  # orthogonal to x
    noise *= 0.1 * np.linalg.norm(3 * x) / np.linalg.norm(noise)  # 20 dB below the scaled target
    assert si_sdr(x, 3 * x + noise) == pytest.approx(20.0)
    assert si_sdr(x, -0.5 * x) > 200  # a gain, even a sign flip, costs nothing
    assert snr_db(x, -0.5 * x) < 0  # unlike the plain SNR
    assert si_sdr(x, 3 * x + noise) == gain_matched_snr_db(x, 3 * x + noise)
    assert si_sdr(x, noise) < -100  # orthogonal: nothing of the reference


def test_spectral_convergence_known_answers(rng):
    S = rng.uniform(0.0, 1.0, (65, 40))
    assert spectral_convergence(S, 0.9 * S) == pytest.approx(0.1)
    assert spectral_convergence(S, np.zeros_like(S)) == pytest.approx(1.0)
    assert spectral_convergence(S, S) == 0.0
    phase = np.exp(1j * rng.uniform(0, 2 * np.pi, S.shape))
    assert spectral_convergence(S * phase, S) == pytest.approx(0.0, abs=1e-15)  # magnitudes only
    assert 20 * np.log10(spectral_convergence(S, 1.01 * S)) == pytest.approx(-40.0)


def test_log_spectral_distance_known_answers(rng):
    S = rng.uniform(0.1, 1.0, (2, 65, 40))
    assert log_spectral_distance(S, S) == 0.0
    assert log_spectral_distance(S, 10 * S) == pytest.approx(20.0)  # 20 dB in every bin
    half = S.copy()
    half[..., :20] *= 10  # 20 dB off in half of the frames: the mean over frames is 10 dB
    assert log_spectral_distance(S, half) == pytest.approx(10.0)
    # below amin both count as amin: silence against quieter silence is no distance
    assert log_spectral_distance(np.full((5, 4), 1e-7), np.full((5, 4), 1e-9), amin=1e-5) == 0.0


def test_spectral_metric_errors():
    with pytest.raises(ParameterError, match="same shape"):
        spectral_convergence(np.ones((5, 4)), np.ones((5, 3)))
    with pytest.raises(ParameterError, match="bins, frames"):
        log_spectral_distance(np.ones(5), np.ones(5))
    with pytest.raises(ParameterError, match="amin"):
        log_spectral_distance(np.ones((5, 4)), np.ones((5, 4)), amin=0.0)


def test_sdr_and_si_sdr_improvement_hand_values():
    """Tiny signals worked by hand.  s = [1, 0]; estimate [2, 1]: the error is [1, 1], so the
    plain SDR is 10 log10(1 / 2); projected on s the estimate is 2 s, leaving [0, 1], so SI-SDR
    is 10 log10(4 / 1).  The mixture [1, 1] projects to s leaving [0, 1]: 0 dB, hence
    SI-SDRi = 10 log10(4)."""
    s, est, mix = np.array([1.0, 0.0]), np.array([2.0, 1.0]), np.array([1.0, 1.0])
    assert sdr(s, est) == pytest.approx(10 * np.log10(0.5))
    assert si_sdr(s, est) == pytest.approx(10 * np.log10(4.0))
    assert si_sdr(s, mix) == pytest.approx(0.0, abs=1e-12)
    assert si_sdr_improvement(s, est, mix) == pytest.approx(10 * np.log10(4.0))
    # s = [1, 0, -1, 0] with an error of 0.5 in one sample: 10 log10(2 / 0.25)
    assert sdr([1, 0, -1, 0], [1, 0.5, -1, 0]) == pytest.approx(10 * np.log10(8.0))
    assert sdr(s, est) == snr_db(s, est)  # the plain SDR is the SNR of the estimate
    assert si_sdr_improvement(s, mix, mix) == 0.0
