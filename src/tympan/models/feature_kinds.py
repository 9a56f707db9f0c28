"""One feature kind: its defaults, its resolved recipe and its Keras layers.

:mod:`tympan.models.frontend` documents the kinds and builds the front end of any recipe; a
stack of kinds (:mod:`tympan.models.stack`) is made of these single kinds.  Both build on this
module, which knows nothing of stacks.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from tympan import _validate as v
from tympan.dsp.features import default_hop_length, default_n_fft, default_n_mels
from tympan.errors import ParameterError
from tympan.layers import (
    CQT,
    MFCC,
    Chroma,
    Delta,
    FFTMagnitude,
    MelSpectrogram,
    PowerToDb,
    Scalogram,
    Spectrogram,
)

FEATURE_KINDS = ("mel", "mfcc", "mfcc+delta", "mean_mfcc", "spectrogram", "chroma", "cqt",
                 "scalogram", "fft", "waveform")
#: kinds with a frame axis, which a stack (``"a+b"``) may join
FRAMEWISE_KINDS = ("mel", "mfcc", "mfcc+delta", "spectrogram", "chroma", "cqt", "scalogram")

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
    "chroma": (*_STFT_KEYS, "n_chroma", "tuning", "norm"),
    "cqt": ("hop_length", "fmin", "n_bins", "bins_per_octave", "top_db"),
    "scalogram": ("hop_length", "fmin", "fmax", "n_bins", "wavelet", "top_db"),
    "fft": ("n_fft", "framed", "hop_length", "win_length", "window", "center", "pad_mode", "n_bins",
            "fmax", "scale", "top_db", "normalize"),
    "waveform": (),
}


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
        "chroma": {**stft, "n_chroma": 12, "tuning": None, "norm": "inf"},
        "cqt": {"hop_length": stft["hop_length"], "fmin": CQT_FMIN, "bins_per_octave": 12,
                "n_bins": default_cqt_bins(sr), "top_db": 80.0},
        "scalogram": {"hop_length": stft["hop_length"], "fmin": 50.0, "fmax": sr / 2.0,
                      "n_bins": 64, "wavelet": "cmor1.5-1.0", "top_db": 80.0},
        "fft": {"n_fft": None, "framed": False, "hop_length": stft["hop_length"], "win_length": None,
                "window": "hann", "center": True, "pad_mode": "constant", "n_bins": None,
                "fmax": None, "scale": "db", "top_db": 80.0, "normalize": "max"},
        "waveform": {},
    }[kind]


CQT_FMIN = 440.0 * 2.0 ** ((24 - 69) / 12)  # C1 (MIDI 24), 32.703 Hz: librosa's default


def default_cqt_bins(sr: float, fmin: float = CQT_FMIN, bins_per_octave: int = 12) -> int:
    """Semitone bins from C1 up to 45 % of ``sr`` (the top filter's band must fit below
    Nyquist), at most 7 octaves: 84 at 22.05 kHz and above, 81 at 8 kHz."""
    return int(min(7 * bins_per_octave, math.floor(bins_per_octave * math.log2(0.45 * sr / fmin))))


def _kind(features: Any) -> str:
    if not isinstance(features, dict):
        raise ParameterError(f"features must be a dict such as {{'kind': 'mel'}}, got {features!r}")
    kind = features.get("kind", "mel")
    if kind not in FEATURE_KINDS:
        raise ParameterError(
            f"unknown feature kind {kind!r}; choose one of {', '.join(FEATURE_KINDS)}, or a stack "
            "of frame-wise kinds such as 'mfcc+delta+chroma'"
        )
    return kind


def resolve_kind(features: dict, *, sr: float) -> dict:
    """One kind's recipe (not a stack) with every parameter of its layers filled in for ``sr``;
    :func:`tympan.models.frontend.resolve_features` documents the defaults.  Keys that the kind
    does not use raise :class:`~tympan.errors.ParameterError` naming them; values are checked by
    building the layers once."""
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
    if kind == "fft" and resolved["framed"] is None:
        resolved["framed"] = False
    if kind == "fft" and resolved["framed"] and resolved["n_fft"] is None:
        resolved["n_fft"] = default_n_fft(sr)  # whole clip: None stays, the clip's length
    if "win_length" in resolved and resolved["win_length"] is None:
        resolved["win_length"] = resolved["n_fft"]
    # validate every value now (a tuning still to be estimated checked as A440)
    kind_layers({**resolved, "tuning": 0.0} if resolved.get("tuning", 0.0) is None else resolved, sr)
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


def kind_layers(resolved: dict, sr: float) -> list[keras.layers.Layer]:
    """The layers of one resolved kind (not a stack), to apply in order to waveforms."""
    kind = resolved["kind"]
    if kind == "waveform":
        return []
    if kind in ("chroma", "cqt", "scalogram"):
        return _pitch_layers(resolved, sr)
    if kind == "fft":
        return [FFTMagnitude(sr=sr, **{k: x for k, x in resolved.items() if k != "kind"},
                             name="fft_magnitude")]
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


def _pitch_layers(resolved: dict, sr: float) -> list[keras.layers.Layer]:
    kind = resolved["kind"]
    if kind == "chroma":
        if resolved["tuning"] is None:
            raise ParameterError(
                "feature kind 'chroma' has tuning=None, to be estimated from the training clips: "
                "call tympan.models.fit_feature_params(features, waveforms, sr=sr) first (the "
                "trainer does), or give a tuning (0.0: A440)")
        norm = float("inf") if resolved["norm"] == "inf" else resolved["norm"]
        return [Chroma(sr=sr, **_pick(resolved, _STFT_KEYS), n_chroma=resolved["n_chroma"],
                       tuning=resolved["tuning"], norm=norm, name="chroma")]
    db = PowerToDb(top_db=resolved["top_db"], name=f"{kind}_to_db")
    if kind == "cqt":
        return [CQT(sr=sr, **_pick(resolved, ("hop_length", "fmin", "n_bins", "bins_per_octave")),
                    power=2.0, name="cqt"), db]
    return [Scalogram(sr=sr, **_pick(resolved, ("hop_length", "fmin", "fmax", "n_bins", "wavelet")),
                      power=2.0, name="scalogram"), db]


__all__ = [
    "CQT_FMIN",
    "FEATURE_KINDS",
    "FRAMEWISE_KINDS",
    "AppendDeltas",
    "default_cqt_bins",
    "default_hop_length",
    "default_n_fft",
    "default_n_mels",
    "kind_layers",
    "resolve_kind",
]
