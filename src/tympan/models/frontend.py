"""Feature front ends: a ``features`` dict -> the Keras layers that turn waveforms into features.

A feature recipe is a plain dict, ``{"kind": ..., <layer parameters>}``, so it can be written to
``pipeline.json`` and read back.  :func:`resolve_features` fills in every default for a sample
rate (that resolved dict is what gets recorded); :func:`build_frontend` turns it into layers
applied one after the other to waveforms ``(batch, samples)``.

Kinds (:data:`FEATURE_KINDS`) and the layers they give:

==============  =========================================================  ======================
kind            layers                                                     output
==============  =========================================================  ======================
``mel``         ``MelSpectrogram`` -> ``PowerToDb``                        (batch, frames, n_mels)
``mfcc``        ``MFCC``                                                   (batch, frames, n_mfcc)
``mfcc+delta``  ``MFCC`` -> ``AppendDeltas``                               (batch, frames,
                                                                           n_mfcc * (1 + order))
``mean_mfcc``   ``MFCC`` -> ``GlobalAveragePooling1D`` (mean over frames)  (batch, n_mfcc)
``spectrogram`` ``Spectrogram(mode="power")`` -> ``PowerToDb``             (batch, frames, bins)
``waveform``    none                                                       (batch, samples)
==============  =========================================================  ======================

dB conversions use ``ref=1.0`` and ``amin=1e-10`` with the recipe's ``top_db`` per example.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from tympan import _validate as v
from tympan.errors import ParameterError
from tympan.layers import MFCC, Delta, MelSpectrogram, PowerToDb, Spectrogram

FEATURE_KINDS = ("mel", "mfcc", "mfcc+delta", "mean_mfcc", "spectrogram", "waveform")

_STFT_KEYS = ("n_fft", "hop_length", "win_length", "window", "center", "pad_mode")
_MEL_KEYS = (*_STFT_KEYS, "power", "n_mels", "fmin", "fmax", "htk", "norm", "top_db")
# For the MFCC kinds, as in librosa.feature.mfcc: `norm` is the DCT norm, `mel_norm` the filterbank's.
_MFCC_KEYS = (*_STFT_KEYS, "power", "n_mels", "fmin", "fmax", "htk", "mel_norm", "top_db", "n_mfcc",
              "lifter", "norm")
_KEYS = {
    "mel": _MEL_KEYS,
    "mfcc": _MFCC_KEYS,
    "mfcc+delta": (*_MFCC_KEYS, "delta_width", "delta_order"),
    "mean_mfcc": _MFCC_KEYS,
    "spectrogram": (*_STFT_KEYS, "top_db"),
    "waveform": (),
}


def default_n_fft(sr: float) -> int:
    """The power of two nearest to 25 ms: 256 at 8 kHz, 512 at 16-22.05 kHz, 1024 at 44.1-48 kHz."""
    return int(2 ** round(math.log2(0.025 * sr)))


def default_hop_length(sr: float) -> int:
    """10 ms: 80 samples at 8 kHz, 160 at 16 kHz."""
    return max(1, round(0.010 * sr))


def default_n_mels(sr: float) -> int:
    """40 mel bands below 16 kHz (no empty bands with a 32 ms window at 8 kHz), else 64."""
    return 40 if sr < 16000 else 64


def _defaults(kind: str, sr: float) -> dict[str, Any]:
    n_fft = default_n_fft(sr)
    stft = {"n_fft": n_fft, "hop_length": default_hop_length(sr), "win_length": n_fft,
            "window": "hann", "center": True, "pad_mode": "constant"}
    mel = {**stft, "power": 2.0, "n_mels": default_n_mels(sr), "fmin": 0.0, "fmax": sr / 2.0,
           "htk": False, "norm": "slaney", "top_db": 80.0}
    mfcc = {**{k: x for k, x in mel.items() if k != "norm"}, "mel_norm": "slaney",
            "n_mfcc": 40 if kind == "mean_mfcc" else 20, "lifter": 0.0, "norm": "ortho"}
    return {
        "mel": mel,
        "mfcc": mfcc,
        "mfcc+delta": {**mfcc, "delta_width": 9, "delta_order": 1},
        "mean_mfcc": mfcc,
        "spectrogram": {**stft, "top_db": 80.0},
        "waveform": {},
    }[kind]


def _kind(features: Any) -> str:
    if not isinstance(features, dict):
        raise ParameterError(f"features must be a dict such as {{'kind': 'mel'}}, got {features!r}")
    kind = features.get("kind", "mel")
    if kind not in FEATURE_KINDS:
        raise ParameterError(
            f"unknown feature kind {kind!r}; choose one of {', '.join(FEATURE_KINDS)}"
        )
    return kind


def resolve_features(features: dict, *, sr: float) -> dict:
    """``features`` with ``kind`` and every parameter of its layers filled in for ``sr``.

    Defaults: ``n_fft`` the power of two nearest 25 ms, ``hop_length`` 10 ms, ``win_length =
    n_fft``, Hann window, ``n_mels`` 40 below 16 kHz else 64, ``fmin=0``, ``fmax=sr/2``,
    ``top_db=80``, ``n_mfcc`` 20 (40 for ``mean_mfcc``), deltas of width 9 and order 1.  Keys
    that the kind does not use raise :class:`~tympan.errors.ParameterError` naming them; values
    are checked by building the layers once.
    """
    sr = v.positive_number("sr", sr)
    kind = _kind(features)
    unknown = sorted(set(features) - {"kind", *_KEYS[kind]})
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for feature kind {kind!r}; "
            f"it takes {', '.join(_KEYS[kind]) or 'none'}"
        )
    resolved = {"kind": kind, **_defaults(kind, sr), **{k: x for k, x in features.items()
                                                         if k != "kind"}}
    defaults = _defaults(kind, sr)
    for key in ("n_fft", "hop_length", "fmax"):  # None means "the default" for these
        if key in resolved and resolved[key] is None:
            resolved[key] = defaults[key]
    if "win_length" in resolved and resolved["win_length"] is None:
        resolved["win_length"] = resolved["n_fft"]
    _layers(resolved, sr)  # validate every value now
    return resolved


@keras.saving.register_keras_serializable(package="tympan")
class AppendDeltas(keras.layers.Layer):
    """``(batch, frames, feature)`` -> features and their deltas up to ``order``, on the last axis.

    Output ``(batch, frames, feature * (1 + order))``: ``[x, delta(x), delta2(x), ...]`` with
    :class:`~tympan.layers.Delta` of the given ``width`` (so at least ``width`` frames).
    """

    def __init__(self, width=9, order=1, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.width = v.positive_int("delta_width", width)
        self.order = v.positive_int("delta_order", order)
        self.deltas = [Delta(width=self.width, order=k, name=f"delta_{k}")
                       for k in range(1, self.order + 1)]

    def build(self, input_shape):
        for delta in self.deltas:
            delta.build(input_shape)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        return ops.concatenate([x, *(delta(x) for delta in self.deltas)], axis=-1)

    def compute_output_shape(self, input_shape):
        feats = None if input_shape[-1] is None else input_shape[-1] * (1 + self.order)
        return (*input_shape[:-1], feats)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "order": self.order}


def _pick(resolved: dict, keys: tuple[str, ...], **rename: str) -> dict:
    return {rename.get(k, k): resolved[k] for k in keys}


def _layers(resolved: dict, sr: float) -> list[keras.layers.Layer]:
    kind = resolved["kind"]
    if kind == "waveform":
        return []
    stft = _pick(resolved, _STFT_KEYS)
    if kind == "spectrogram":
        return [Spectrogram(**stft, mode="power", name="spectrogram"),
                PowerToDb(top_db=resolved["top_db"], name="power_to_db")]
    mel = _pick(resolved, ("power", "n_mels", "fmin", "fmax", "htk"))
    if kind == "mel":
        return [MelSpectrogram(sr=sr, **stft, **mel, norm=resolved["norm"], name="melspectrogram"),
                PowerToDb(top_db=resolved["top_db"], name="power_to_db")]
    mfcc = MFCC(sr=sr, **stft, **mel,
                **_pick(resolved, ("mel_norm", "n_mfcc", "lifter", "norm", "top_db")), name="mfcc")
    if kind == "mfcc":
        return [mfcc]
    if kind == "mfcc+delta":
        return [mfcc, AppendDeltas(width=resolved["delta_width"], order=resolved["delta_order"],
                                   name="deltas")]
    return [mfcc, keras.layers.GlobalAveragePooling1D(name="mean_over_frames")]


def build_frontend(features: dict, *, sr: float) -> list[keras.layers.Layer]:
    """The feature layers for ``features`` (resolved first), to apply in order to waveforms."""
    return _layers(resolve_features(features, sr=sr), v.positive_number("sr", sr))


__all__ = ["FEATURE_KINDS", "AppendDeltas", "build_frontend", "default_hop_length", "default_n_fft",
           "default_n_mels", "resolve_features"]
