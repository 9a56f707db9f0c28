"""The engines' settings, each default stated once: :class:`EngineConfig` (how work is cut and
where it runs) and :class:`FeatureConfig` (what ``tympan features`` computes).

The command line leaves its options ``None`` and these dataclasses fill them in (its ``--help``
reads the values from here), as :mod:`tympan.pipeline.config` does for training.
"""

from __future__ import annotations

from dataclasses import dataclass

from tympan import _validate as v
from tympan.errors import ParameterError

#: Where the work runs: in this process, or on a Ray cluster (``pip install 'tympan[ray]'``)
ENGINES = ("local", "ray")
#: What ``tympan features`` computes from each file (without ``--embedding``)
FEATURE_KINDS = ("logmel", "mfcc", "spectrogram", "waveform")
#: What runs the model of ``predict_to_parquet``
RUNTIMES = ("keras", "onnx")


@dataclass(frozen=True)
class EngineConfig:
    """How a batch job is cut and run.

    ``shard_size`` inputs go to one Parquet file (``part-00000.parquet``, ...), the unit that is
    written atomically and that ``resume`` skips; ``batch_size`` inputs go to one call of the
    batch function (:mod:`tympan.engines.batch`), on either engine; ``workers`` is the number
    of Ray actors (``None``: one per CPU of the cluster).  64 inputs a call: clips of one window then fill
    one model batch of :func:`tympan.pipeline.predict` (64 windows).
    """

    engine: str = "local"
    shard_size: int = 256
    batch_size: int = 64
    workers: int | None = None

    def __post_init__(self):
        v.choice("engine", self.engine, ENGINES)
        v.positive_int("shard_size", self.shard_size)
        v.positive_int("batch_size", self.batch_size)
        if self.workers is not None:
            v.positive_int("workers", self.workers)


#: The most samples ``duration`` may pad a clip to: what one Parquet list (int32 offsets) holds
MAX_CLIP_SAMPLES = 2**31 - 1


@dataclass(frozen=True)
class FeatureConfig:
    """The features of one file: decoded, mixed to mono, resampled to ``sr``, fitted to
    ``duration`` seconds (padded at the end or cropped in the middle, as training fits clips;
    ``None``: the whole file), then ``kind``:

    - ``"logmel"``: ``power_to_db(melspectrogram(y))`` clipped at ``top_db`` below the peak,
      ``(n_mels, frames)``: what a model trained with ``--features mel`` sees;
    - ``"mfcc"``: ``n_mfcc`` MFCCs of that log-mel spectrogram, ``(n_mfcc, frames)``;
    - ``"spectrogram"``: the power spectrogram in dB, ``(1 + n_fft // 2, frames)``;
    - ``"waveform"``: the samples themselves, ``(samples,)``.

    ``n_fft``, ``hop_length`` and ``n_mels`` left ``None`` follow the training pipeline's rules
    for ``sr`` (:func:`tympan.dsp.features.default_n_fft`: about 25 ms, a 10 ms hop, 40 mel
    bands below 16 kHz, else 64).
    """

    kind: str = "logmel"
    sr: int = 16000
    duration: float | None = None
    n_fft: int | None = None
    hop_length: int | None = None
    n_mels: int | None = None
    n_mfcc: int = 20
    fmin: float = 0.0
    fmax: float | None = None
    top_db: float | None = 80.0

    def __post_init__(self):
        v.choice("kind", self.kind, FEATURE_KINDS)
        v.positive_int("sr", self.sr)
        if self.duration is not None:
            v.positive_number("duration", self.duration)
            if round(self.duration * self.sr) < 1:
                raise ParameterError(f"duration must give at least one sample at sr={self.sr}, "
                                     f"got {self.duration!r}")
            if self.duration * self.sr > MAX_CLIP_SAMPLES:  # each file would be padded to it
                raise ParameterError(f"duration must give at most {MAX_CLIP_SAMPLES} samples at "
                                     f"sr={self.sr} (a row's limit in Parquet), got {self.duration!r} s")
        for name in ("n_fft", "hop_length", "n_mels"):
            if getattr(self, name) is not None:
                v.positive_int(name, getattr(self, name))
        v.positive_int("n_mfcc", self.n_mfcc)
        if self.top_db is not None:
            v.positive_number("top_db", self.top_db)


__all__ = ["ENGINES", "FEATURE_KINDS", "MAX_CLIP_SAMPLES", "RUNTIMES", "EngineConfig", "FeatureConfig"]
