"""Comparing a signal with its reference: SNR, gain-matched SNR, alignment by correlation.

Used to measure round trips (STFT/iSTFT, codecs), and by the benchmarks that report them.
"""

from __future__ import annotations

import numpy as np
import scipy.signal


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """``10 log10(sum(reference**2) / sum((estimate - reference)**2))`` in float64.

    An exact match gives about 3000 dB rather than a division by zero.
    """
    ref = np.asarray(reference, dtype=np.float64)
    err = np.asarray(estimate, dtype=np.float64) - ref
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum(err**2), 1e-300)))


def gain_matched_snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """SNR after scaling ``reference`` by the least-squares gain that best matches ``estimate``
    (an MP3 encoder at constant bitrate scales its output by about 0.95, for instance)."""
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    return snr_db(np.sum(ref * est) / np.sum(ref * ref) * ref, est)


def align(reference: np.ndarray, estimate: np.ndarray, *, max_lag: int = 4096):
    """Shift ``estimate`` against ``reference`` (both ``(channels, samples)``; 1-D is one
    channel) to the lag, within ``±max_lag`` samples, where their channel means correlate best.

    Returns ``(lag, reference_part, estimate_part)``, 2-D and of equal length, where
    ``estimate[..., lag + i]`` lines up with ``reference[..., i]`` (decoders add a delay).
    """
    ref, est = np.atleast_2d(reference), np.atleast_2d(estimate)
    r, e = ref.mean(axis=0), est.mean(axis=0)
    n = min(len(r), len(e))
    c = scipy.signal.correlate(e[:n], r[:n], mode="full", method="fft")
    lags = np.arange(-n + 1, n)
    keep = np.abs(lags) <= max_lag
    lag = int(lags[keep][np.argmax(c[keep])])
    est, ref = (est[:, lag:], ref) if lag >= 0 else (est, ref[:, -lag:])
    k = min(ref.shape[1], est.shape[1])
    return lag, ref[:, :k], est[:, :k]
