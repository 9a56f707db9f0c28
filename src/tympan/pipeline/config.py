"""The pipeline recipe: frozen dataclasses that round-trip through ``pipeline.json``.

Everything needed to turn a file into model input lives here (audio settings, windowing for
long inputs, feature recipe), next to the model and training settings, so ``predict`` rebuilds
exactly the preprocessing used in training; and the separator's mixing recipe
(:class:`MixingConfig`).  Every default is stated here once: the command line leaves its options
``None`` and these dataclasses fill them in (its ``--help`` reads the values from here).  The
recipes of the audio-out tasks are named constants: :data:`SEPARATOR_AUDIO`,
:data:`SEPARATOR_TRAINING`, :data:`AUTOENCODER_TRAINING`.

The classifiers' augmentation settings are :class:`tympan.models.AugmentationConfig`, in
``models`` because the model builders read them (``models`` cannot import ``pipeline``); they
are recorded as the model's ``"augmentation"`` in ``pipeline.json``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tympan import _validate as v
from tympan.data.mixing import HELD_OUT_SENTENCES, speed_range
from tympan.errors import ParameterError

#: TrainConfig.feature_norm: one normalisation for the dataset, or one per group (speaker)
FEATURE_NORMS = ("dataset", "group")

#: The architecture of a recipe that names none but sets model parameters (and of large
#: datasets: tympan.pipeline.recipes)
DEFAULT_MODEL = "conv1d"

PAD_POLICIES = ("end", "center", "wrap")
CROP_POLICIES = ("start", "center", "end", "random")
COMBINE = ("mean", "max", "vote")


@dataclass(frozen=True)
class AudioConfig:
    """How a file becomes the model's input waveform.

    Samples are read as float32 in [-1, 1] (PCM code / 2**(bits-1)), mixed to mono by averaging
    channels, resampled to ``sr`` with soxr, then fitted to ``duration`` seconds: shorter clips
    are padded (``pad``), longer ones cropped (``crop``) in training; at prediction, inputs
    longer than the clip are cut into windows instead (see :class:`WindowConfig`).

    ``sr`` and ``duration`` left ``None`` (the default) are chosen from the training data's
    headers (the common native rate up to 16 kHz, the 95th percentile of the durations rounded
    up to 0.5 s; :func:`tympan.data.audio_defaults`) and recorded in ``pipeline.json``.
    """

    sr: int | None = None
    mono: bool = True
    duration: float | None = None
    pad: str = "end"
    crop: str = "center"

    def __post_init__(self):
        if self.sr is not None:
            v.positive_int("sr", self.sr)
        if self.duration is not None:
            v.positive_number("duration", self.duration)
        v.choice("pad", self.pad, PAD_POLICIES)
        v.choice("crop", self.crop, CROP_POLICIES)
        if not self.mono:
            raise ParameterError("mono must be True: multichannel models are not supported yet")

    @property
    def resolved(self) -> bool:
        """Whether the sample rate and duration are set (not left to the data)."""
        return self.sr is not None and self.duration is not None

    @property
    def samples(self) -> int:
        if not self.resolved:
            raise ParameterError(f"the audio settings are not chosen yet (sr={self.sr!r}, "
                                 f"duration={self.duration!r}): training chooses them from the data")
        return round(self.duration * self.sr)


@dataclass(frozen=True)
class WindowConfig:
    """Windows for inputs longer than the training clip, and how their predictions combine.

    ``window_sec`` defaults to the clip duration, ``hop_sec`` to half of it.  The file-level
    decision is the ``mean`` (or ``max``) of the window probabilities, or a majority ``vote``.
    """

    window_sec: float | None = None
    hop_sec: float | None = None
    combine: str = "mean"

    def __post_init__(self):
        if self.window_sec is not None:
            v.positive_number("window_sec", self.window_sec)
        if self.hop_sec is not None:
            v.positive_number("hop_sec", self.hop_sec)
        v.choice("combine", self.combine, COMBINE)

    def resolved(self, duration: float) -> WindowConfig:
        window = self.window_sec or duration
        return WindowConfig(window, self.hop_sec or window / 2, self.combine)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    early_stopping: int | None = 10  # patience in epochs on validation loss; None: off
    validation_size: float = 0.15
    validation: str = "stratified"  # how validation is carved from training: "stratified" | "group"
    class_weight: bool = False
    seed: int = 0
    # "dataset": one feature normalisation for every clip; "group": each group (speaker) by its
    # own statistics, and models adapted to a new speaker (see tympan.pipeline.adaptation)
    feature_norm: str = "dataset"
    # >1: that many models trained with seeds seed, seed+1, ... and saved as one model that
    # averages their probabilities (see tympan.pipeline.driver.ensemble_model)
    ensemble: int = 1
    # >0 (with feature_norm="group"): that many rounds of self-training on the unlabelled test
    # clips, those predicted with at least pseudo_label_threshold (tympan.pipeline.self_training)
    self_training: int = 0
    pseudo_label_threshold: float = 0.9
    # the clips are streamed from their files in batches (tympan.pipeline.streaming) instead of
    # loaded into memory when they would take more than this many MB as float32 (clips x
    # samples x 4 bytes); 0: always stream (--stream); None: never
    stream_above_mb: float | None = 2048.0
    # threads of the stream that read, decode, resample and fit the clips of the next batches
    stream_workers: int = 2
    # data-parallel training over this many devices (keras.distribution.DataParallel, jax
    # backend): None one device as before, 0 or "all" every visible device
    devices: int | str | None = None

    def __post_init__(self):
        v.positive_int("epochs", self.epochs)
        v.positive_int("batch_size", self.batch_size)
        v.choice("optimizer", self.optimizer, ("adam", "adamw", "sgd", "rmsprop"))
        v.positive_number("learning_rate", self.learning_rate)
        if self.early_stopping is not None:
            v.positive_int("early_stopping", self.early_stopping)
        v.choice("validation", self.validation, ("stratified", "group"))
        v.choice("feature_norm", self.feature_norm, FEATURE_NORMS)
        v.positive_int("ensemble", self.ensemble)
        if self.self_training != 0:
            v.positive_int("self_training", self.self_training)
            if self.feature_norm != "group":
                raise ParameterError("self_training fine-tunes on the test speakers' own clips, "
                                     "each normalised by their statistics: it needs "
                                     "feature_norm='group' (--feature-norm group)")
        if not 0 < v.positive_number("pseudo_label_threshold", self.pseudo_label_threshold) <= 1:
            raise ParameterError("pseudo_label_threshold is a probability in (0, 1], got "
                                 f"{self.pseudo_label_threshold!r}")
        if not 0.0 <= self.validation_size < 1.0:
            raise ParameterError(f"validation_size must be in [0, 1), got {self.validation_size!r}")
        if self.stream_above_mb is not None:
            v.non_negative_number("stream_above_mb", self.stream_above_mb)
        v.positive_int("stream_workers", self.stream_workers)
        if self.devices is not None:
            object.__setattr__(self, "devices", _devices(self.devices))


def _devices(value: Any) -> int | str:
    """``TrainConfig.devices``: a positive count, or ``"all"`` (also given as 0 or ``"0"``)."""
    if isinstance(value, str) and value.strip().lower() in ("all", "0"):
        return "all"
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"devices must be a number of devices or 'all', got {value!r}")
    return "all" if value == 0 else value


@dataclass(frozen=True)
class PipelineConfig:
    """The whole recipe.  ``features`` and ``model`` are dicts of parameters; an empty
    ``features`` means the model's default recipe, an empty ``model`` a model chosen from the
    size of the training data (:func:`tympan.pipeline.recipes.choose_recipe`).  Training
    resolves every default, so the saved ``pipeline.json`` lists exactly what was used."""

    audio: AudioConfig = field(default_factory=AudioConfig)
    features: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    training: TrainConfig = field(default_factory=TrainConfig)
    windows: WindowConfig = field(default_factory=WindowConfig)

    def __post_init__(self):
        if self.model and "name" not in self.model:
            raise ParameterError(f"model must name a 'name' (or be empty: chosen from the data), "
                                 f"got {self.model!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ParameterError(f"unknown pipeline settings: {sorted(unknown)}")
        return cls(
            audio=_build(AudioConfig, d.get("audio", {}), "audio"),
            features=dict(d.get("features", {})),
            model=dict(d.get("model", {"name": "conv1d"})),
            training=_build(TrainConfig, d.get("training", {}), "training"),
            windows=_build(WindowConfig, d.get("windows", {}), "windows"),
        )


@dataclass(frozen=True)
class MixingConfig:
    """How a separator's training material is mixed (:func:`tympan.pipeline.train_separator`).

    ``held_out``: sentence ids (``spNN``) never trained on, in any noise condition (NOIZEUS
    sp25-sp30 by default), measured at the end.  Each epoch draws ``examples_per_epoch`` windows,
    ``pair_fraction`` of them from the recorded noisy/clean pairs and the others mixed on the
    fly: a speech window, first resampled by a factor drawn from ``speed = (low, high)`` (new
    voices; ``(1, 1)`` for none; with ``pair_speed`` the pairs' windows too), plus noise at an
    SNR drawn from ``snr_db = (low, high)`` dB, the speech files drawn in proportion to their
    length (``by_length``) or one by one; every example then gets a gain drawn from
    ``gain_db = (low, high)`` dB.  The defaults are the recipe measured in
    ``benchmarks/separation.py`` (``docs/separation.md``).  Recorded in ``pipeline.json`` under
    ``split.mixing``.
    """

    held_out: tuple[str, ...] = HELD_OUT_SENTENCES
    snr_db: tuple[float, float] = (-5.0, 10.0)
    gain_db: tuple[float, float] = (-20.0, 0.0)
    pair_fraction: float = 0.5
    speed: tuple[float, float] = (0.85, 1.15)
    by_length: bool = True
    pair_speed: bool = False
    examples_per_epoch: int = 1024

    def __post_init__(self):
        held = self.held_out
        if isinstance(held, str) or not isinstance(held, (list, tuple)) or not all(
                isinstance(s, str) and s.strip() for s in held):
            raise ParameterError(f"held_out must be a list of sentence ids such as 'sp25', got {held!r}")
        object.__setattr__(self, "held_out", tuple(s.strip() for s in held))
        for name in ("snr_db", "gain_db"):
            object.__setattr__(self, name, _range(name, getattr(self, name)))
        try:
            object.__setattr__(self, "speed", speed_range(self.speed))
        except ParameterError as exc:
            raise ParameterError(f"{exc} (the mixing's speed)") from None
        if isinstance(self.pair_fraction, bool) or not isinstance(self.pair_fraction, (int, float)) \
                or not 0.0 <= self.pair_fraction <= 1.0:
            raise ParameterError(f"pair_fraction must be in [0, 1], got {self.pair_fraction!r}")
        for name in ("by_length", "pair_speed"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(f"{name} must be True or False, got {getattr(self, name)!r}")
        v.positive_int("examples_per_epoch", self.examples_per_epoch)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (ranges and sentence ids as lists)."""
        return {k: list(val) if isinstance(val, tuple) else val
                for k, val in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MixingConfig:
        if not isinstance(d, dict):
            raise ParameterError(f"mixing settings must be an object, got {d!r}")
        return _build(cls, d, "mixing")


def _range(name: str, value: Any) -> tuple[float, float]:
    """``(low, high)`` numbers with ``low <= high``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or len(value) != 2 \
            or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in value):
        raise ParameterError(f"{name} must be (low, high) numbers, got {value!r}")
    low, high = float(value[0]), float(value[1])
    if low > high:
        raise ParameterError(f"{name} must be (low, high) with low <= high, got {value!r}")
    return low, high


#: The separator recipe (NOIZEUS is 8 kHz; measured in benchmarks/separation.py,
#: docs/separation.md): 1-s windows at 8 kHz, 80 epochs of 16-window batches at a learning rate
#: of 2e-3 (cosine decay), no validation part.
SEPARATOR_AUDIO = AudioConfig(sr=8000, duration=1.0)
SEPARATOR_TRAINING = TrainConfig(epochs=80, batch_size=16, learning_rate=2e-3, early_stopping=None,
                                 validation_size=0.0)
#: The autoencoder's training recipe (its audio: the files' rate, windows of 1 s;
#: tympan.pipeline.train_autoencoder).
AUTOENCODER_TRAINING = TrainConfig(epochs=30, batch_size=16)


def _build(cls, values: dict, section: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ParameterError(f"unknown {section} settings: {sorted(unknown)} (known: {sorted(known)})")
    return cls(**values)
