"""Frame features for segmentation, from ``tympan.dsp``: log energy (of each frame's variation
about its mean: a DC offset, or a constant signal, carries no sound), the energy of the vowel
band (300-2500 Hz, where the first two formants lie), zero-crossing rate, spectral flatness,
periodicity (normalised autocorrelation peak), low/high band energy ratio and MFCCs.

Every recording is analysed at :data:`FEATURE_SR` (16 kHz; other rates are resampled, so an
8 kHz recording has nothing above 4 kHz), with frames centred every ``hop_sec`` as
``tympan.dsp`` frames them with ``center=True``: frame ``i`` is centred at ``i * hop_sec`` and
a signal of ``n`` samples at 16 kHz gives ``1 + n // hop_length`` frames.  The output is
``(feature, frames)``, float32, with the rows named by :data:`FEATURE_NAMES`.

:func:`stream_features` computes the same features of a file of any length block by block
(only the features, a few dozen numbers per frame, are kept), and :func:`standardize` scales
each feature over one recording for the methods that compare frames.
"""

from __future__ import annotations

import functools
import itertools
import os

import numpy as np
import scipy.fft

from tympan import _validate as v
from tympan import dsp, io
from tympan.dsp import filters
from tympan.errors import ParameterError
from tympan.signal_checks import check_signal

#: Sample rate the features are computed at.
FEATURE_SR = 16000
#: Periodicity is searched between these fundamental frequencies (Hz).
F0_RANGE = (60.0, 400.0)
#: Analysis frame of the periodicity (seconds): two periods of the lowest F0 and a half.
PERIODICITY_SEC = 0.040
#: The band edges (Hz) of the low/high energy ratio: below the first against above the second.
BAND_SPLIT = (1000.0, 3000.0)
#: The vowel band (Hz): most of a vowel's energy, little of a nasal's or a fricative's.
VOWEL_BAND = (300.0, 2500.0)
N_MFCC = 13
FEATURE_NAMES = ("energy_db", "vowel_band_db", "zcr", "flatness", "periodicity", "band_ratio_db",
                 *(f"mfcc_{k}" for k in range(N_MFCC)))
_AMIN = 1e-10


def frame_settings(frame_sec: float, hop_sec: float) -> tuple[int, int, int]:
    """``(frame_length, hop_length, n_fft)`` in samples at :data:`FEATURE_SR`."""
    frame_sec = v.positive_number("frame_sec", frame_sec)
    hop_sec = v.positive_number("hop_sec", hop_sec)
    frame_length, hop_length = round(frame_sec * FEATURE_SR), round(hop_sec * FEATURE_SR)
    if hop_length < 1 or frame_length < 16:
        raise ParameterError(f"frame_sec={frame_sec} and hop_sec={hop_sec} give frames of "
                             f"{frame_length} and hops of {hop_length} samples at {FEATURE_SR} Hz; "
                             "use frame_sec >= 0.001 and hop_sec >= 1 / 16000")
    return frame_length, hop_length, 1 << (frame_length - 1).bit_length()


@functools.lru_cache(maxsize=8)
def _window_autocorrelation(length: int, n_fft: int) -> np.ndarray:
    """The Hann window's autocorrelation normalised to 1 at lag 0 (read-only): dividing a
    windowed frame's normalised autocorrelation by it undoes the window's taper (Boersma)."""
    win = filters.get_window("hann", length, dtype=np.float64)
    r = scipy.fft.irfft(np.abs(scipy.fft.rfft(win, n_fft)) ** 2, n_fft)[: length]
    out = np.maximum(r / r[0], 1e-3)
    out.setflags(write=False)
    return out


def periodicity(y16: np.ndarray, *, hop_length: int) -> np.ndarray:
    """The highest normalised autocorrelation (``0..1``) of 40-ms Hann frames of a 16-kHz signal
    at lags of one F0 period in :data:`F0_RANGE`; frames as ``dsp`` frames them with
    ``center=True``.  Near 1 in vowels, low in noise and silence.  ``(n_frames,)``."""
    length = round(PERIODICITY_SEC * FEATURE_SR)
    n_fft = 1 << (2 * length - 1).bit_length()
    padded = np.pad(y16.astype(np.float64), (length // 2, length // 2))
    frames = dsp.frame(padded, frame_length=length, hop_length=hop_length).T
    frames = frames - frames.mean(axis=1, keepdims=True)
    win = filters.get_window("hann", length, dtype=np.float64)
    r = scipy.fft.irfft(np.abs(scipy.fft.rfft(frames * win, n_fft, axis=1)) ** 2, n_fft,
                        axis=1)[:, :length]
    lo, hi = round(FEATURE_SR / F0_RANGE[1]), round(FEATURE_SR / F0_RANGE[0])
    norm = r[:, lo:hi] / np.maximum(r[:, :1], _AMIN) / _window_autocorrelation(length, n_fft)[lo:hi]
    return np.clip(norm.max(axis=1), 0.0, 1.0)


def frame_energy_db(y16: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """The energy (dB re full scale, floored at -100) of each frame's variation about its own
    mean: frames centred every ``hop_length`` as ``tympan.dsp`` frames them with
    ``center=True``, the signal's ends extended by their edge values (so a constant signal
    stays constant there).  A DC offset or a constant signal gives -100 dB, as silence does;
    for speech, whose frames have no mean, it is the plain RMS energy.  ``(n_frames,)``."""
    pad = frame_length // 2
    frames = dsp.frame(np.pad(np.asarray(y16, np.float64), (pad, pad), mode="edge"),
                       frame_length=frame_length, hop_length=hop_length)
    return 10 * np.log10(np.maximum(frames.var(axis=0), _AMIN))


def _features16(y16: np.ndarray, *, frame_length: int, hop_length: int, n_fft: int) -> np.ndarray:
    """The feature matrix ``(len(FEATURE_NAMES), frames)`` of a 16-kHz mono float signal."""
    power = dsp.spectrogram(y16, n_fft=n_fft, hop_length=hop_length, win_length=frame_length,
                            power=2.0).astype(np.float64)
    zcr = dsp.zero_crossing_rate(y16, frame_length=frame_length, hop_length=hop_length)[0]
    flatness = dsp.spectral_flatness(S=np.sqrt(power))[0]
    freqs = filters.fft_frequencies(sr=FEATURE_SR, n_fft=n_fft)
    low = power[freqs < BAND_SPLIT[0]].sum(axis=0)
    high = power[freqs >= BAND_SPLIT[1]].sum(axis=0)
    vowel = power[(freqs >= VOWEL_BAND[0]) & (freqs < VOWEL_BAND[1])].sum(axis=0)
    mel = dsp.melspectrogram(S=power, sr=FEATURE_SR, n_mels=40, fmax=FEATURE_SR / 2)
    mfcc = dsp.mfcc(S=dsp.power_to_db(mel, top_db=None), n_mfcc=N_MFCC)
    rows = [frame_energy_db(y16, frame_length=frame_length, hop_length=hop_length),
            10 * np.log10(np.maximum(vowel, _AMIN)),
            zcr, flatness,
            periodicity(y16, hop_length=hop_length),
            10 * np.log10(np.maximum(low, _AMIN) / np.maximum(high, _AMIN)), *mfcc]
    return np.stack([np.asarray(r, dtype=np.float32) for r in rows])


def input_flags(y: np.ndarray, sr: float, *, stacklevel: int = 3) -> list[str]:
    """The flags of the signal ``y`` by the policy of :mod:`tympan.signal_checks` (its errors
    for non-finite and huge samples name ``y``; the count and first position); arrays that are
    not float, empty ones and bad rates are left to the checks of :func:`mono16`."""
    sr = v.positive_number("sr", sr)
    if not (isinstance(y, np.ndarray) and np.issubdtype(y.dtype, np.floating) and y.size):
        return []
    return check_signal(y, sr=sr, source="y", stacklevel=stacklevel + 1)


def mono16(y: np.ndarray, sr: float) -> np.ndarray:
    """``y`` (mono or ``(channels, samples)``, averaged) as float32 mono at :data:`FEATURE_SR`."""
    y = io.to_mono(v.valid_audio(y))
    if y.ndim != 1:
        raise ParameterError(f"y must be (samples,) or (channels, samples), got shape {y.shape}")
    if y.size == 0:
        raise ParameterError("y must contain at least one sample, got an empty signal")
    sr = v.positive_number("sr", sr)
    y = y.astype(np.float32, copy=False)
    return y if sr == FEATURE_SR else io.resample(y, orig_sr=sr, target_sr=FEATURE_SR)


def frame_features(y: np.ndarray, sr: float, *, frame_sec: float = 0.025,
                   hop_sec: float = 0.010) -> np.ndarray:
    """The segmentation features of ``y`` (mono ``(samples,)`` or ``(channels, samples)``,
    averaged), ``(len(FEATURE_NAMES), n_frames)`` float32; frame ``i`` is centred at
    ``i * hop_sec``.  ``frame_sec`` is the analysis frame of all but the periodicity (40 ms)."""
    frame_length, hop_length, n_fft = frame_settings(frame_sec, hop_sec)
    return _features16(mono16(y, sr), frame_length=frame_length, hop_length=hop_length,
                       n_fft=n_fft)


def stream_features(path: str | os.PathLike, *, frame_sec: float = 0.025, hop_sec: float = 0.010,
                    block_sec: float = 30.0) -> tuple[np.ndarray, float]:
    """:func:`frame_features` of the audio file ``path`` read in blocks of about ``block_sec``
    seconds (with a few frames of overlap, so every frame sees the same samples as when the
    file is read whole); returns ``(features, duration in seconds)``."""
    frame_length, hop_length, n_fft = frame_settings(frame_sec, hop_sec)
    block_sec = v.positive_number("block_sec", block_sec)
    margin = hop_length * -(-max(round(PERIODICITY_SEC * FEATURE_SR), n_fft) // (2 * hop_length))
    step = hop_length * max(1, round(block_sec * FEATURE_SR / hop_length))
    blocks = io.stream(path, block_length=step + 2 * margin, hop_length=step, sr=FEATURE_SR)
    parts, n_samples = [], 0
    m = margin // hop_length
    for k, (block, following) in enumerate(itertools.pairwise(itertools.chain(blocks, [None]))):
        feats = _features16(block, frame_length=frame_length, hop_length=hop_length, n_fft=n_fft)
        first = 0 if k == 0 else m
        stop = feats.shape[1] if following is None else m + step // hop_length
        parts.append(feats[:, first:stop])
        n_samples = k * step + block.shape[-1]
    if not parts:
        raise ParameterError(f"'{path}' holds no samples")
    return np.concatenate(parts, axis=1), n_samples / FEATURE_SR


def standardize(features: np.ndarray) -> np.ndarray:
    """Each feature (row) minus its median over the recording, divided by its spread (the
    interquartile range / 1.349, at least ``1e-3``): robust per-recording scaling."""
    f = np.asarray(features, dtype=np.float64)
    q1, med, q3 = np.percentile(f, [25, 50, 75], axis=-1, keepdims=True)
    return ((f - med) / np.maximum((q3 - q1) / 1.349, 1e-3)).astype(np.float32)
