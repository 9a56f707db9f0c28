"""Comparing a signal with its reference: SNR (the plain SDR), gain-matched SNR (SI-SDR) and
its improvement over a mixture (SI-SDRi), alignment by correlation; and a magnitude spectrogram
with its reference: spectral convergence, log-spectral distance.

Used to measure round trips (STFT/iSTFT, codecs, spectrogram inversion), and by the benchmarks
that report them.  Each returns one float over the whole arrays given.
"""

from __future__ import annotations

import numpy as np

from tympan import _validate as v
from tympan.errors import ParameterError


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


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019), in float64.

    ``10 log10(||a r||^2 / ||e - a r||^2)`` with ``a = <e, r> / <r, r>``, the projection of the
    estimate on the reference: a gain, or a sign flip, costs nothing.  The same number as
    :func:`gain_matched_snr_db`, under the name source-separation papers use.
    """
    return gain_matched_snr_db(reference, estimate)


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB, the plain definition used by tympan's separation
    figures: ``10 log10(||s||^2 / ||s - s_hat||^2)``, the SNR of the estimate (:func:`snr_db`).

    Not BSS-eval's SDR (``museval``/``mir_eval``), which first lets a 512-tap filter distort
    the reference for free and so reads higher; a gain error counts here (see :func:`si_sdr`).
    """
    return snr_db(reference, estimate)


def si_sdr_improvement(reference: np.ndarray, estimate: np.ndarray, mixture: np.ndarray) -> float:
    """SI-SDRi in dB: ``si_sdr(reference, estimate) - si_sdr(reference, mixture)``, how much a
    separated source gained over the mixture it came from."""
    return si_sdr(reference, estimate) - si_sdr(reference, mixture)


def _magnitudes(reference, estimate) -> tuple[np.ndarray, np.ndarray]:
    ref = np.abs(np.asarray(reference)).astype(np.float64)
    est = np.abs(np.asarray(estimate)).astype(np.float64)
    if ref.shape != est.shape:
        raise ParameterError(
            f"reference and estimate must have the same shape, got {ref.shape} and {est.shape}"
        )
    return ref, est


def spectral_convergence(reference: np.ndarray, estimate: np.ndarray) -> float:
    """``||  |R| - |E|  ||_F / || |R| ||_F`` of two spectrograms (magnitudes are taken).

    0 for a perfect match, 1 for an all-zero estimate; in dB, ``20 * log10`` of it (-20 dB is
    an error of a tenth of the reference's norm).
    """
    ref, est = _magnitudes(reference, estimate)
    return float(np.linalg.norm(ref - est) / max(np.linalg.norm(ref), 1e-300))


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray, *, amin: float = 1e-5) -> float:
    """Log-spectral distance in dB of two spectrograms ``(..., bins, frames)``.

    The RMS over frequency of ``20 log10(max(amin, |R|) / max(amin, |E|))`` in each frame,
    averaged over frames (and leading axes).  ``amin`` floors both magnitudes, so bins where
    both are below it (silence) count as equal.
    """
    ref, est = _magnitudes(reference, estimate)
    if ref.ndim < 2:
        raise ParameterError(f"spectrograms must be (..., bins, frames), got shape {ref.shape}")
    amin = v.positive_number("amin", amin)
    diff = 20.0 * (np.log10(np.maximum(ref, amin)) - np.log10(np.maximum(est, amin)))
    return float(np.mean(np.sqrt(np.mean(diff**2, axis=-2))))


def align(reference: np.ndarray, estimate: np.ndarray, *, max_lag: int = 4096):
    """Shift ``estimate`` against ``reference`` (both ``(channels, samples)``; 1-D is one
    channel) to the lag, within ``±max_lag`` samples, where their channel means correlate best.

    Returns ``(lag, reference_part, estimate_part)``, 2-D and of equal length, where
    ``estimate[..., lag + i]`` lines up with ``reference[..., i]`` (decoders add a delay).
    """
    ref, est = np.atleast_2d(reference), np.atleast_2d(estimate)
    r, e = ref.mean(axis=0), est.mean(axis=0)
    n = min(len(r), len(e))
    import scipy.signal  # lazily: importing it costs ~0.8 s (see filters._cached_window)

    c = scipy.signal.correlate(e[:n], r[:n], mode="full", method="fft")
    lags = np.arange(-n + 1, n)
    keep = np.abs(lags) <= max_lag
    lag = int(lags[keep][np.argmax(c[keep])])
    est, ref = (est[:, lag:], ref) if lag >= 0 else (est, ref[:, -lag:])
    k = min(ref.shape[1], est.shape[1])
    return lag, ref[:, :k], est[:, :k]
