"""Constant-Q transform kernels: cached pure builders for librosa's multi-rate CQT.

(The module is ``constantq``, as librosa's, because ``tympan.dsp.cqt`` is the transform itself.)

The CQT is computed octave by octave (Schoerkhuber and Klapuri 2010, as ``librosa.cqt``): the
top octave at the input rate, then, while ``hop_length`` stays even, the signal is halved (an
anti-aliasing low-pass and decimation by 2) before each lower octave, so every octave's filters
stay short.  Each octave's filters are librosa's: complex exponentials under a window of
``Q sr / f`` samples (``Q = filter_scale / alpha``), ``norm``-normalised, zero-padded centred
to a power of two ``n_fft``, taken to the frequency domain and sparsified (the smallest
coefficients, holding ``sparsity`` of each row's magnitude, are dropped).

librosa multiplies that frequency-domain kernel ``B`` with the FFT of each frame.  Here ``B`` is
folded back through the DFT, ``K[m] = sum_k B[k] exp(-2 pi i k m / n_fft)``: the same linear map
from a frame's samples to the responses, so a response is one real matrix product
``frame @ K`` and needs no FFT.  ``tympan.dsp.cqt`` (numpy) and ``tympan.layers.CQT`` (Keras)
both run exactly these kernels and this low-pass.

Two differences from librosa: the halving uses the odd-length Kaiser-windowed FIR built here
(>= 120 dB stop band wherever it matters) instead of soxr, and librosa's early downsampling by
``2 ** c`` in one step is ``c`` halvings.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import scipy.fft

from tympan import _validate as v
from tympan.dsp import filters
from tympan.errors import ParameterError

C1_HZ = 440.0 * 2.0 ** ((24 - 69) / 12.0)  # 32.703 Hz, librosa's default fmin
# Equivalent noise bandwidth of librosa's table for its default window (n * sum w^2 / (sum w)^2);
# other windows are measured on 1000 samples, as librosa does for windows not in its table.
_ENBW = {"hann": 1.50018310546875}
_STOPBAND_DB = 120.0


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


class Octave(NamedTuple):
    """One octave of the multi-rate CQT, at ``sr / 2 ** (halvings so far)``."""

    halve: bool  # decimate the signal by 2 (the low-pass) before this octave
    hop_length: int  # hop at this octave's rate
    n_fft: int  # frame length at this octave's rate (frames centred: padded by n_fft // 2)
    n_filters: int  # bins of this octave (ascending); the top octave holds the highest bins
    kernel: np.ndarray  # (n_fft, 2 * n_filters) float64: frame @ kernel = [real | imag]


class CQTKernels(NamedTuple):
    """Everything a CQT needs: apply ``early_halvings`` halvings, then the octaves in order."""

    frequencies: np.ndarray  # (n_bins,) centre frequencies in Hz, ascending
    early_halvings: int
    lowpass: np.ndarray  # (taps,) odd, symmetric; includes librosa's sqrt(2) energy scaling
    octaves: tuple[Octave, ...]  # top octave first


def cqt_frequencies(n_bins: int, *, fmin: float | None = None, bins_per_octave: int = 12,
                    tuning: float = 0.0) -> np.ndarray:
    """Centre frequencies in Hz of the CQT bins, as ``librosa.cqt_frequencies``."""
    n_bins = v.positive_int("n_bins", n_bins)
    bins_per_octave = v.positive_int("bins_per_octave", bins_per_octave)
    fmin = C1_HZ if fmin is None else v.positive_number("fmin", fmin)
    tuning = v.finite_number("tuning", tuning)
    fmin = fmin * 2.0 ** (tuning / bins_per_octave)
    return fmin * 2.0 ** (np.arange(n_bins, dtype=np.float64) / bins_per_octave)


def _num_two_factors(x: int) -> int:
    return (x & -x).bit_length() - 1


def cqt_kernels(
    *,
    sr: float,
    hop_length: int = 512,
    fmin: float | None = None,
    n_bins: int = 84,
    bins_per_octave: int = 12,
    tuning: float = 0.0,
    filter_scale: float = 1.0,
    norm: float | None = 1,
    sparsity: float = 0.01,
    window="hann",
    scale: bool = True,
) -> CQTKernels:
    """The multi-rate CQT plan and kernels for these settings (cached, arrays read-only).

    Arguments mean what they mean in ``librosa.cqt``.  The highest filter must stay below the
    Nyquist frequency: ``fmin * 2 ** ((n_bins - 1) / bins_per_octave)`` plus half the filter's
    bandwidth must not exceed ``sr / 2`` (at 8 kHz, C1 allows at most 83 bins).
    """
    sr = v.positive_number("sr", sr)
    hop_length = v.positive_int("hop_length", hop_length)
    n_bins = v.positive_int("n_bins", n_bins)
    bins_per_octave = v.positive_int("bins_per_octave", bins_per_octave)
    fmin = C1_HZ if fmin is None else v.positive_number("fmin", fmin)
    tuning = v.finite_number("tuning", tuning)
    filter_scale = v.positive_number("filter_scale", filter_scale)
    norm = filters.check_norm("norm", norm)
    sparsity = v.non_negative_number("sparsity", sparsity)
    if sparsity >= 1:
        raise ParameterError(f"sparsity must be in [0, 1), got {sparsity!r}")
    if not isinstance(window, (str, tuple)):
        raise ParameterError(f"window must be a scipy window name, got {window!r}")
    return _cached_kernels(sr, hop_length, fmin, n_bins, bins_per_octave, tuning, filter_scale,
                           norm, sparsity, window, bool(scale))


def _enbw(window) -> float:
    if window in _ENBW:
        return _ENBW[window]
    w = filters.get_window(window, 1000, dtype=np.float64)
    return float(1000 * np.sum(w**2) / np.sum(w) ** 2)


@functools.lru_cache(maxsize=16)
def _cached_kernels(sr, hop_length, fmin, n_bins, bpo, tuning, filter_scale, norm, sparsity,
                    window, scale) -> CQTKernels:
    freqs = cqt_frequencies(n_bins, fmin=fmin, bins_per_octave=bpo, tuning=tuning)
    r2 = 2.0 ** (2.0 / bpo)
    q = filter_scale / ((r2 - 1.0) / (r2 + 1.0))  # Q = filter_scale / alpha
    cutoff = freqs[-1] * (1.0 + 0.5 * _enbw(window) / q)
    nyquist = sr / 2.0
    if cutoff > nyquist:
        raise ParameterError(
            f"n_bins={n_bins} from fmin={fmin:.2f} Hz at bins_per_octave={bpo} reach "
            f"{freqs[-1]:.1f} Hz, whose filter extends to {cutoff:.1f} Hz, above the Nyquist "
            f"frequency {nyquist:g} Hz of sr={sr:g}; use fewer n_bins, a lower fmin or a higher sr"
        )
    n_octaves = math.ceil(n_bins / bpo)
    n_filters = min(bpo, n_bins)
    early = min(max(0, math.ceil(math.log2(nyquist / cutoff)) - 2),
                max(0, _num_two_factors(hop_length) - n_octaves + 1))
    sr_e, my_hop = sr / 2**early, hop_length // 2**early
    lengths_e = q * sr_e / freqs
    lowpass = _lowpass(cutoff / (sr_e / 2.0))
    octaves, my_sr, halve = [], sr_e, False
    for i in range(n_octaves):
        hi = n_bins - n_filters * i
        lo = max(0, hi - n_filters)
        basis, n_fft = _octave_basis(freqs[lo:hi], my_sr, q, window, norm, sparsity)
        basis *= math.sqrt(sr_e / my_sr)  # librosa: compensate the downsampling
        if scale:
            basis /= np.sqrt(lengths_e[lo:hi])[:, None]
        else:
            basis *= math.sqrt(2.0**early)  # librosa keeps the early downsampling's energy
        # fold the frequency-domain kernel through the DFT: frame @ K == B @ rfft(frame)
        K = scipy.fft.fft(basis, n=n_fft, axis=-1).T
        kernel = np.ascontiguousarray(np.concatenate([K.real, K.imag], axis=1))
        octaves.append(Octave(halve, my_hop, n_fft, hi - lo, _readonly(kernel)))
        halve = my_hop % 2 == 0
        if halve:
            my_hop //= 2
            my_sr /= 2.0
    return CQTKernels(_readonly(freqs), early, lowpass, tuple(octaves))


def _octave_basis(freqs, sr, q, window, norm, sparsity):
    """librosa's frequency-domain filters for one octave: ``(n_filters, 1 + n_fft // 2)``."""
    lengths = q * sr / freqs
    n_fft = int(2.0 ** np.ceil(np.log2(lengths.max())))
    basis = np.zeros((len(freqs), n_fft), dtype=np.complex128)
    for row, (ilen, freq) in enumerate(zip(lengths, freqs, strict=True)):
        t = np.arange(-ilen // 2, ilen // 2, dtype=np.float64)
        sig = np.exp(2j * np.pi * freq / sr * t) * filters.get_window(window, len(t), dtype=np.float64)
        if norm is not None:
            mag = np.abs(sig)
            sig /= mag.max() if np.isinf(norm) else np.sum(mag**norm) ** (1.0 / norm)
        left = (n_fft - len(t)) // 2
        basis[row, left : left + len(t)] = sig
    basis *= (lengths / n_fft)[:, None]
    B = scipy.fft.fft(basis, axis=-1)[:, : n_fft // 2 + 1]
    if sparsity > 0:  # librosa.util.sparsify_rows: drop the smallest `sparsity` of the magnitude
        mags = np.abs(B)
        ordered = np.sort(mags, axis=1)
        cumulative = np.cumsum(ordered / mags.sum(axis=1, keepdims=True), axis=1)
        first = np.argmin(cumulative < sparsity, axis=1)
        B = np.where(mags >= ordered[np.arange(len(B)), first][:, None], B, 0.0)
    return B, n_fft


def _lowpass(rho: float) -> np.ndarray:
    """Anti-aliasing FIR for one halving, gain ``sqrt(2)`` (librosa's ``resample(scale=True)``).

    ``rho`` is the highest filter cutoff relative to the Nyquist frequency of the rate after
    the halving; the pass band reaches ``rho / 2`` of the current Nyquist and everything that
    would alias into it (above ``1 - rho / 2``) is attenuated by at least 120 dB.
    """
    import scipy.signal  # lazily: importing it costs ~0.8 s (see filters._cached_window)

    width = max(1.0 - rho, 0.02)
    numtaps, beta = scipy.signal.kaiserord(_STOPBAND_DB, width)
    numtaps |= 1  # odd: a zero-phase filter centred on a sample
    h = scipy.signal.firwin(numtaps, 0.5, window=("kaiser", beta)) * math.sqrt(2.0)
    # a half-band filter: every tap an even distance from the centre is zero (sinc zeros; made
    # exact so the numpy path may skip them, see tympan.dsp.tonal._halve)
    offset = np.arange(numtaps) - numtaps // 2
    h[(offset % 2 == 0) & (offset != 0)] = 0.0
    return _readonly(h)


def halving_operator(lowpass: np.ndarray) -> tuple[float, int, np.ndarray]:
    """The half-band low-pass as a block-Toeplitz product, for the Keras layer.

    Returns ``(centre, front, T)``: a halving is ``centre * even + corr``, where ``corr``
    correlates the odd samples with the filter's odd-offset taps ``w`` (``K`` of them, the
    odd samples padded by ``front = K // 2`` zeros in front).  ``T`` has shape
    ``(2 B, B)`` with ``T[r, c] = w[r - c]``: the odd samples, padded by ``K // 2`` in front and
    cut into blocks of ``B >= K - 1``, give ``B`` outputs per pair of adjacent blocks by one
    matrix product.  (A few large products instead of ``K`` shifted multiply-adds: fast under
    XLA and cheap to compile op by op in eager mode.)
    """
    taps = len(lowpass)
    centre = taps // 2
    w = np.asarray(lowpass[(centre + 1) % 2 :: 2], dtype=np.float64)  # odd offsets, ascending
    block = max(32, 1 << (len(w) - 2).bit_length())
    r, c = np.arange(2 * block)[:, None], np.arange(block)[None, :]
    lag = r - c
    T = np.where((lag >= 0) & (lag < len(w)), w[np.clip(lag, 0, len(w) - 1)], 0.0)
    return float(lowpass[centre]), len(w) // 2, _readonly(T)


# ------------------------------------------------------------------------ CQT -> chroma
def cq_to_chroma(n_input: int, *, bins_per_octave: int = 12, n_chroma: int = 12,
                 fmin: float | None = None, base_c: bool = True, dtype=np.float32) -> np.ndarray:
    """``(n_chroma, n_input)`` matrix folding CQT bins onto pitch classes (``librosa.filters.cq_to_chroma``).

    ``fmin`` is the first CQT bin's frequency (default C1); ``bins_per_octave`` must be a
    multiple of ``n_chroma``.
    """
    n_input = v.positive_int("n_input", n_input)
    bins_per_octave = v.positive_int("bins_per_octave", bins_per_octave)
    n_chroma = v.positive_int("n_chroma", n_chroma)
    fmin = C1_HZ if fmin is None else v.positive_number("fmin", fmin)
    if bins_per_octave % n_chroma:
        raise ParameterError(
            f"bins_per_octave must be a multiple of n_chroma={n_chroma}, got {bins_per_octave}")
    return _cached_cq_to_chroma(n_input, bins_per_octave, n_chroma, fmin, bool(base_c),
                                np.dtype(dtype).name)


@functools.lru_cache(maxsize=16)
def _cached_cq_to_chroma(n_input, bpo, n_chroma, fmin, base_c, dtype) -> np.ndarray:
    n_merge = bpo // n_chroma
    m = np.roll(np.repeat(np.eye(n_chroma), n_merge, axis=1), -(n_merge // 2), axis=1)
    m = np.tile(m, math.ceil(n_input / bpo))[:, :n_input]
    midi_0 = np.mod(12.0 * (np.log2(fmin) - np.log2(440.0)) + 69.0, 12)
    roll = int(np.round((midi_0 if base_c else midi_0 - 9) * (n_chroma / 12.0)))
    return _readonly(np.ascontiguousarray(np.roll(m, roll, axis=0), dtype=dtype))
