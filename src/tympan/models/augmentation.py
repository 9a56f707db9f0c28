"""The training-time augmentation of a classifier as one setting: :class:`AugmentationConfig`.

The classifiers that augment (``conv1d``, ``conv1d_lstm``, ``conv2d``, ``mlp``, ``waveform``)
take ``augmentation=`` instead of ten separate parameters: an :class:`AugmentationConfig`, or a
dict of some of its fields, which then changes only those fields of the model's own defaults
(``augmentation={"freq_warp": 0}`` is ``conv1d``'s augmentation without the mel warp).  The
resolved setting is recorded in ``pipeline.json`` as the model's ``"augmentation"`` object (older
artifacts, with the fields flat among the model parameters, are migrated on load:
:mod:`tympan.pipeline.schema`).

Why it lives in ``models`` and not with the pipeline's config dataclasses
(:mod:`tympan.pipeline.config`): the layering is io -> dsp -> layers -> models -> data ->
pipeline -> cli, and the model builders are what read it; ``models`` cannot import
``pipeline``.  The module itself imports neither Keras nor the rest of ``models``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tympan import _validate as v
from tympan.errors import ParameterError

#: The fields the models that augment only the waveform (``mlp``, ``waveform``) apply.
WAVEFORM_FIELDS = ("enabled", "gain_db", "time_shift", "noise_snr_db")


@dataclass(frozen=True)
class AugmentationConfig:
    """Random changes applied to each training example, never at inference.

    ``enabled`` is the master switch.  On the waveform: a random gain of ``±gain_db`` dB, a
    zero-filled time shift of ``±time_shift`` of the clip, white noise at an SNR drawn from
    ``noise_snr_db = (low, high)`` dB (None: no noise).  On frame-wise features: a stretch of
    the frames by ``1 ± time_stretch`` (tempo) and of the mel or linear bands by ``1 ±
    freq_warp`` (vocal tract length; ignored for MFCC kinds), then SpecAugment masks after the
    normalisations: ``freq_masks`` bands of up to ``freq_width`` features and ``time_masks``
    spans of up to ``time_width`` frames (0 masks: off).

    The defaults are ``conv1d``'s, measured on FSDD (``docs/models.md``): gain ±6 dB, shift
    ±15 %, time stretch and mel warp ±10 %, no noise, SpecAugment off.
    """

    enabled: bool = True
    gain_db: float = 6.0
    time_shift: float = 0.15
    noise_snr_db: tuple[float, float] | None = None
    time_stretch: float = 0.1
    freq_warp: float = 0.1
    freq_masks: int = 0
    freq_width: int = 8
    time_masks: int = 0
    time_width: int = 10

    def __post_init__(self):
        if not isinstance(self.enabled, bool):
            raise ParameterError(f"augmentation enabled must be True or False, got {self.enabled!r}")
        v.non_negative_number("gain_db", self.gain_db)
        for name in ("time_shift", "time_stretch", "freq_warp"):
            if not 0 <= v.non_negative_number(name, getattr(self, name)) < 1:
                raise ParameterError(f"{name} must be a fraction in [0, 1), got "
                                     f"{getattr(self, name)!r}")
        for name in ("freq_masks", "freq_width", "time_masks", "time_width"):
            v.non_negative_int(name, getattr(self, name))
        snr = self.noise_snr_db
        if snr is not None:
            if isinstance(snr, (str, bytes)) or not isinstance(snr, Sequence) or len(snr) != 2:
                raise ParameterError(f"noise_snr_db must be None or (low, high) in dB, got {snr!r}")
            low, high = (_number("noise_snr_db", x) for x in snr)
            if low > high:
                raise ParameterError(f"noise_snr_db must be (low, high) with low <= high, got {snr!r}")
            object.__setattr__(self, "noise_snr_db", (low, high))  # JSON lists become tuples

    @property
    def spectral(self) -> bool:
        """Whether any augmentation of the features (stretch, warp, masks) is asked for."""
        return bool(self.time_stretch or self.freq_warp or self.freq_masks or self.time_masks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (``noise_snr_db`` as a list)."""
        d = dataclasses.asdict(self)
        if d["noise_snr_db"] is not None:
            d["noise_snr_db"] = list(d["noise_snr_db"])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, base: AugmentationConfig | None = None
                  ) -> AugmentationConfig:
        """``d``'s fields over ``base`` (default: the class defaults); an unknown field raises
        :class:`~tympan.errors.ParameterError` naming it and the known ones."""
        if not isinstance(d, Mapping):
            raise ParameterError(f"augmentation must be a dict of its settings, got {d!r}")
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ParameterError(f"unknown augmentation setting(s) {', '.join(map(repr, unknown))}; "
                                 f"known: {', '.join(known)}")
        return dataclasses.replace(base or cls(), **d)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name} must hold numbers, got {value!r}")
    return float(value)


def augmentation_config(value: Any, *, default: AugmentationConfig, model: str,
                        waveform_only: bool = False) -> AugmentationConfig:
    """The :class:`AugmentationConfig` a builder of ``model`` applies: ``value`` itself, a dict
    of fields over ``default`` (the model's own), or ``default`` for None.  With
    ``waveform_only`` (models that augment only the waveform) a feature augmentation asked for
    raises :class:`~tympan.errors.ParameterError`."""
    if value is None:
        config = default
    elif isinstance(value, AugmentationConfig):
        config = value
    elif isinstance(value, Mapping):
        config = AugmentationConfig.from_dict(value, base=default)
    else:
        raise ParameterError(f"augmentation of model {model!r} must be an AugmentationConfig or a "
                             f"dict of its settings, got {value!r}")
    if waveform_only and config.enabled and config.spectral:
        asked = {f: getattr(config, f) for f in ("time_stretch", "freq_warp", "freq_masks",
                                                 "time_masks") if getattr(config, f)}
        raise ParameterError(f"model {model!r} augments only the waveform ({', '.join(WAVEFORM_FIELDS)}); "
                             f"set {asked} to 0")
    return config


#: Each augmenting model's own defaults (measured: docs/models.md, benchmarks/model_search.py).
CONV1D = AugmentationConfig()
CONV1D_LSTM = AugmentationConfig(time_stretch=0.0, freq_warp=0.0)
CONV2D = AugmentationConfig(freq_masks=1, freq_width=4, time_masks=1, time_width=8)
#: ``mlp`` and ``waveform``: off by default; gain and shift when switched on
WAVEFORM = AugmentationConfig(enabled=False, time_shift=0.1, time_stretch=0.0, freq_warp=0.0)

__all__ = ["CONV1D", "CONV1D_LSTM", "CONV2D", "WAVEFORM", "WAVEFORM_FIELDS", "AugmentationConfig",
           "augmentation_config"]
