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
``chroma``      ``Chroma`` (each frame's maximum is 1)                     (batch, frames, n_chroma)
``cqt``         ``CQT(power=2)`` -> ``PowerToDb``                          (batch, frames, n_bins)
``scalogram``   ``Scalogram(power=2)`` -> ``PowerToDb`` (complex Morlet)   (batch, frames, n_bins)
``fft``         ``FFTMagnitude``: whole clip, or frames with ``framed=True``  (batch, bins) or
                                                                           (batch, frames, bins)
``waveform``    none                                                       (batch, samples)
==============  =========================================================  ======================

``fft`` is the modulus of the FFT (:func:`tympan.dsp.fft_features`): of the whole clip
(``n_fft`` None: the clip length; one vector per clip) or of frames (``framed=True``: a
spectrogram-like sequence), the first ``n_bins`` bins or those up to ``fmax``, ``scale`` "db" or
"linear", ``normalize`` "max", "standard" or None per example.  ``framed`` left out (or None)
is the model's choice (:func:`tympan.models.model_features`): frames for the models that read
frames (``conv1d``, ``conv1d_lstm``, ``conv2d``), the whole clip for ``mlp`` and on its own.

``chroma``'s ``tuning`` defaults to None, as in librosa: estimated from the data, once, by
:func:`tympan.models.fit_feature_params` on the training clips (the trainer calls it and
records the number), so that the layers never change after training.  A recipe whose tuning
is still None cannot build layers: give a number (``0.0``: A440) or fit it first.

dB conversions use ``ref=1.0`` and ``amin=1e-10`` with the recipe's ``top_db`` per example.

Stacks join frame-wise kinds with ``+`` on the feature axis, e.g. ``"mfcc+delta+chroma"`` or
``"mel+cqt"``: the first kind (optionally with ``+delta``) takes the recipe's own keys, each
further kind its keys from a nested dict under its name (``{"kind": "mfcc+chroma", "n_mfcc": 13,
"chroma": {"n_chroma": 24}}``), and every part uses the first one's ``hop_length`` so that
frames line up (see :mod:`tympan.models.stack`).
"""

from __future__ import annotations

import keras

from tympan import _validate as v
from tympan.models import stack
from tympan.models.feature_kinds import (
    FEATURE_KINDS,
    FRAMEWISE_KINDS,
    AppendDeltas,
    default_cqt_bins,
    default_hop_length,
    default_n_fft,
    default_n_mels,
    kind_layers,
    resolve_kind,
)


def resolve_features(features: dict, *, sr: float) -> dict:
    """``features`` with ``kind`` and every parameter of its layers filled in for ``sr``.

    Defaults: ``n_fft`` the power of two nearest 25 ms, ``hop_length`` 10 ms, ``win_length =
    n_fft``, Hann window, ``n_mels`` 40 below 16 kHz else 64, ``fmin=0``, ``fmax=sr/2``,
    ``top_db=80``, ``n_mfcc`` 20 (40 for ``mean_mfcc``), deltas of width 9 and order 1, ``fft``
    of the whole clip (``framed=False``; a model may choose frames: see
    :func:`tympan.models.model_features`).  ``chroma``'s ``tuning`` stays None, estimated from
    data by :func:`tympan.models.fit_feature_params`.  Keys that the kind does not use raise
    :class:`~tympan.errors.ParameterError` naming them; values are checked by building the
    layers once.  A stack (``"mfcc+chroma"``) is resolved part by part
    (:func:`tympan.models.stack.resolve_stack`).
    """
    sr = v.positive_number("sr", sr)
    if stack.is_stack(features):
        return stack.resolve_stack(features, sr=sr)
    return resolve_kind(features, sr=sr)


def is_framewise(resolved: dict) -> bool:
    """Whether a resolved recipe gives frames ``(batch, frames, feature)``."""
    kind = resolved["kind"]
    return (kind in FRAMEWISE_KINDS or stack.is_stack(resolved)
            or (kind == "fft" and bool(resolved.get("framed"))))


def build_frontend(features: dict, *, sr: float) -> list[keras.layers.Layer]:
    """The feature layers for ``features`` (resolved first), to apply in order to waveforms."""
    sr = v.positive_number("sr", sr)
    resolved = resolve_features(features, sr=sr)
    if stack.is_stack(resolved):
        return [stack.FeatureStack(resolved, sr=sr, name="feature_stack")]
    return kind_layers(resolved, sr)


__all__ = [
    "FEATURE_KINDS",
    "FRAMEWISE_KINDS",
    "AppendDeltas",
    "build_frontend",
    "default_cqt_bins",
    "default_hop_length",
    "default_n_fft",
    "default_n_mels",
    "is_framewise",
    "resolve_features",
]
