"""Training material for source separation: noisy/clean pairs and mixtures made on the fly.

- :func:`noizeus_pairs`: the NOIZEUS layout (``clean/spNN.wav`` and
  ``noisy/<noise>_<snr>dB/spNN_<noise>_sn<snr>.wav``, sample-aligned), one :class:`NoisyPair`
  per noisy file; the noise of a pair is ``noisy - clean``.
- :func:`sentence_id` and :data:`HELD_OUT_SENTENCES`: sentences are held out by id, in every
  noise condition, so a test sentence is never heard in training.
- :func:`mix_at_snr`: speech plus noise scaled to a given SNR.
- :class:`MixtureSampler`: batches of ``(mixture, sources)`` windows drawn from pairs and from
  random speech + random noise segments at a random SNR, deterministic in ``(seed, epoch,
  index)``.

numpy and :mod:`tympan.io` only; the Keras ``PyDataset`` over the sampler lives in
``tympan.pipeline``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from tympan import _validate as v
from tympan import io
from tympan.errors import DatasetError, ParameterError

__all__ = ["HELD_OUT_SENTENCES", "NOIZEUS_NOISES", "MixtureSampler", "NoisyPair", "load_pair",
           "mix_at_snr", "noizeus_pairs", "random_segment", "sentence_id", "speed_range"]

#: The eight NOIZEUS noises, each at 0, 5, 10 and 15 dB nominal SNR.
NOIZEUS_NOISES = ("airport", "babble", "car", "exhibition", "restaurant", "station", "street",
                  "train")
#: Sentences never used for training by default (NOIZEUS sp25-sp30), in any noise condition.
HELD_OUT_SENTENCES = tuple(f"sp{i:02d}" for i in range(25, 31))

_SENTENCE = re.compile(r"(?<![a-z])(sp\d+)", re.IGNORECASE)
_CONDITION = re.compile(r"(?P<noise>[a-z]+)_(?P<snr>-?\d+)dB", re.IGNORECASE)


@dataclass(frozen=True)
class NoisyPair:
    """A noisy recording and its clean sentence: ``noisy = clean + noise`` sample by sample."""

    sentence: str
    noise: str
    snr_db: float  # the nominal SNR of the condition
    clean: Path
    noisy: Path


def sentence_id(path: str | os.PathLike) -> str | None:
    """The sentence id in a file name (``sp07`` of ``sp07.wav`` or ``sp07_car_sn5.wav``), or
    None when there is none."""
    m = _SENTENCE.search(Path(path).stem)
    return None if m is None else m[1].lower()


def noizeus_pairs(root: str | os.PathLike, *, exclude: Sequence[str] = (),
                  only: Sequence[str] | None = None) -> list[NoisyPair]:
    """Every noisy file under ``root/noisy/<noise>_<snr>dB/`` with its clean sentence from
    ``root/clean/``, sorted by condition then sentence.

    ``exclude`` drops sentence ids (e.g. :data:`HELD_OUT_SENTENCES` for training), ``only``
    keeps just those.  A folder without that layout raises
    :class:`~tympan.errors.DatasetError` naming what is missing.
    """
    base = Path(root)
    clean_dir, noisy_dir = base / "clean", base / "noisy"
    if not clean_dir.is_dir() or not noisy_dir.is_dir():
        raise DatasetError(f"{base} is not a NOIZEUS-style folder: expected clean/ and "
                           f"noisy/<noise>_<snr>dB/ inside it")
    clean = {sentence_id(p): p for p in sorted(clean_dir.iterdir())
             if p.suffix.lower() in io.FORMATS and sentence_id(p)}
    excluded = {s.lower() for s in exclude}
    kept = None if only is None else {s.lower() for s in only}
    pairs = []
    for folder in sorted(p for p in noisy_dir.iterdir() if p.is_dir()):
        m = _CONDITION.fullmatch(folder.name)
        if m is None:
            continue
        for path in sorted(folder.iterdir()):
            sid = sentence_id(path)
            if (path.suffix.lower() not in io.FORMATS or sid not in clean or sid in excluded
                    or (kept is not None and sid not in kept)):
                continue
            pairs.append(NoisyPair(sid, m["noise"].lower(), float(m["snr"]), clean[sid], path))
    if not pairs:
        raise DatasetError(f"no noisy/clean pairs found under {base}"
                           + (f" (excluding {sorted(excluded)})" if excluded else ""))
    return pairs


def load_pair(pair: NoisyPair, *, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """``(clean, noise)`` of ``pair`` at ``sr``, float32, equal lengths; ``noise = noisy - clean``."""
    clean = io.load(pair.clean, sr=sr)[0]
    noisy = io.load(pair.noisy, sr=sr)[0]
    if len(clean) != len(noisy):
        raise DatasetError(f"{pair.noisy} has {len(noisy)} samples but its clean sentence "
                           f"{pair.clean} has {len(clean)}: not a sample-aligned pair")
    return clean, noisy - clean


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> tuple[np.ndarray, np.ndarray]:
    """``(speech + g * noise, g * noise)`` with ``g`` making ``10 log10(sum(speech^2) /
    sum((g noise)^2)) = snr_db``.  Equal lengths required; silent noise is left silent."""
    speech, noise = np.asarray(speech, np.float32), np.asarray(noise, np.float32)
    if speech.shape != noise.shape:
        raise ParameterError(f"speech and noise must have the same shape, got {speech.shape} "
                             f"and {noise.shape}")
    p_speech = float(np.sum(np.square(speech, dtype=np.float64)))
    p_noise = float(np.sum(np.square(noise, dtype=np.float64)))
    gain = 0.0 if p_noise == 0 else np.sqrt(p_speech / p_noise / 10.0 ** (snr_db / 10.0))
    scaled = (noise * np.float32(gain)).astype(np.float32)
    return speech + scaled, scaled


def random_segment(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``n``-sample segment of ``y``; a shorter ``y`` is repeated (noise) from a
    random start."""
    if len(y) >= n:
        start = int(rng.integers(0, len(y) - n + 1))
        return y[start : start + n]
    reps = -(-n // len(y)) + 1
    start = int(rng.integers(0, len(y)))
    return np.tile(y, reps)[start : start + n]


def _window(y: np.ndarray, n: int, rng: np.random.Generator) -> tuple[int, int]:
    """``(start, stop)`` of a random window of at most ``n`` samples of ``y``."""
    start = int(rng.integers(0, max(len(y) - n, 0) + 1))
    return start, min(start + n, len(y))


class MixtureSampler:
    """Batches of ``(mixtures (b, samples), sources (b, samples, 2))``: speech then noise.

    ``pairs``: ``(clean, noise)`` arrays of equal length (from :func:`load_pair`); an example
    from a pair is a random window of it, the sources as recorded.  ``speech`` and ``noise``:
    lists of arrays; an example made on the fly is a random window of a random speech array
    plus a random segment of a random noise array of the same length, scaled to an SNR drawn
    uniformly from ``snr_db = (low, high)``.  With ``speed = (low, high)`` (default ``(1, 1)``,
    off) the speech window is first resampled by a factor drawn uniformly from that range
    (faster and higher, or slower and lower: new voices from the same speakers), and with
    ``pair_speed`` a pair's window too (speech and noise by the same factor); with
    ``by_length`` the speech arrays are drawn in proportion to their length (every second of
    speech equally often) instead of one by one.  (Noise over the whole window around a shorter
    speech clip, tried with ``benchmarks/separation.py``, cost 1.1 dB SI-SDRi at 0 dB.)
    ``pair_fraction`` of each batch (rounded) come from pairs when both kinds exist.  Every
    example then gets a random gain drawn from ``gain_db = (low, high)`` (and is scaled down if
    its mixture would peak above 1); windows shorter than ``samples`` are zero-padded.  Batch
    ``index`` of ``epoch`` is the same for the same ``seed`` whatever the order it is asked in.
    """

    def __init__(self, *, samples: int, pairs: Sequence[tuple[np.ndarray, np.ndarray]] = (),
                 speech: Sequence[np.ndarray] = (), noise: Sequence[np.ndarray] = (),
                 snr_db: tuple[float, float] = (-5.0, 10.0), gain_db: tuple[float, float] = (-20.0, 0.0),
                 pair_fraction: float = 0.5, speed: tuple[float, float] = (1.0, 1.0),
                 by_length: bool = False, pair_speed: bool = False, seed: int = 0):
        self.samples = v.positive_int("samples", samples)
        self.pairs, self.speech = list(pairs), [s for s in speech if len(s)]
        self.noise = [n for n in noise if len(n) and np.any(n)]
        self.snr_db = _range("snr_db", snr_db)
        self.gain_db = _range("gain_db", gain_db)
        if not 0.0 <= pair_fraction <= 1.0:
            raise ParameterError(f"pair_fraction must be in [0, 1], got {pair_fraction!r}")
        if bool(self.speech) != bool(self.noise):
            raise DatasetError("mixing on the fly needs both speech and noise: got "
                               f"{len(self.speech)} speech and {len(self.noise)} noise recordings")
        if not self.pairs and not self.speech:
            raise DatasetError("nothing to train on: no pairs, and no speech and noise to mix")
        self.speed = speed_range(speed)
        self.pair_speed = bool(pair_speed)
        lengths = np.array([len(s) for s in self.speech], np.float64)
        self._speech_p = lengths / lengths.sum() if (by_length and self.speech) else None
        self.pair_fraction = pair_fraction if (self.pairs and self.speech) else float(bool(self.pairs))
        self.seed = int(seed)

    def _from_pair(self, rng):
        clean, noise = self.pairs[int(rng.integers(len(self.pairs)))]
        if not self.pair_speed or self.speed == (1.0, 1.0):
            start, stop = _window(clean, self.samples, rng)
            return clean[start:stop], noise[start:stop]
        # both sources by the same factor: their sum is the resampled recording (linear)
        clean, noise = self._resampled_window((clean, noise), rng)
        return clean, noise

    def _resampled_window(self, arrays, rng) -> list[np.ndarray]:
        """One random window of the equal-length ``arrays``, each resampled by one factor drawn
        from ``speed`` (f times faster: pitch and formants f times higher)."""
        factor = float(rng.uniform(*self.speed))
        start, stop = _window(arrays[0], math.ceil(self.samples * factor), rng)
        return [np.ascontiguousarray(soxr.resample(x[start:stop], factor, 1.0)[: self.samples],
                                     np.float32) for x in arrays]

    def _on_the_fly(self, rng):
        if self._speech_p is None:
            speech = self.speech[int(rng.integers(len(self.speech)))]
        else:
            speech = self.speech[int(rng.choice(len(self.speech), p=self._speech_p))]
        if self.speed == (1.0, 1.0):  # off: no resampling, and the random draws of before
            start, stop = _window(speech, self.samples, rng)
            speech = speech[start:stop]
        else:  # speed perturbation
            (speech,) = self._resampled_window((speech,), rng)
        noise = random_segment(self.noise[int(rng.integers(len(self.noise)))], len(speech), rng)
        _, noise = mix_at_snr(speech, noise, float(rng.uniform(*self.snr_db)))
        return speech, noise

    def batch(self, size: int, *, epoch: int = 0, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        size = v.positive_int("size", size)
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        n_pairs = round(self.pair_fraction * size)
        sources = np.zeros((size, self.samples, 2), np.float32)
        for i in range(size):
            speech, noise = self._from_pair(rng) if i < n_pairs else self._on_the_fly(rng)
            gain = 10.0 ** (rng.uniform(*self.gain_db) / 20.0)
            peak = float(np.max(np.abs(speech + noise), initial=0.0)) * gain
            if peak > 0.99:
                gain *= 0.99 / peak
            sources[i, : len(speech), 0] = speech * gain
            sources[i, : len(noise), 1] = noise * gain
        return sources.sum(axis=-1), sources


def speed_range(speed) -> tuple[float, float]:
    """``speed`` checked as ``(low, high)`` resampling factors, ``0.5 <= low <= high <= 2``."""
    try:
        low, high = (float(x) for x in speed)
    except (TypeError, ValueError):
        raise ParameterError(f"speed must be (low, high) factors, got {speed!r}") from None
    if not (0.5 <= low <= high <= 2.0):
        raise ParameterError(f"speed must be (low, high) factors with 0.5 <= low <= high <= 2, "
                             f"got {speed!r}")
    return low, high


def _range(name: str, value) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be (low, high) in dB, got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ParameterError(f"{name} must be (low, high) in dB with low <= high, got {value!r}")
    return low, high
