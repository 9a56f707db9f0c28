"""Layer names that are a contract: the pipeline finds a model's parts by these names
(``model.get_layer(STFT)``), so the builders in :mod:`tympan.models` and the pipeline take them
from here, and a saved model keeps them in its config.

- ``FEATURE_NORM`` (``"feature_norm"``): the classifiers' dataset feature normalisation, adapted
  per speaker by ``tympan adapt``;
- ``STFT`` (``"stft"``): the complex STFT of the autoencoder and the separator (its ``n_fft``
  and ``hop_length`` are recorded in ``pipeline.json``);
- ``RMS_NORMALIZE`` (``"rms_normalize"``): their level normalisation, outputs
  ``(normalised, rms)``;
- ``BOTTLENECK`` (``"bottleneck"``): the autoencoder's code (its size gives the compression);
- ``DECODED_MAGNITUDE`` (``"decoded_magnitude"``): the ``logmag`` autoencoder's decoded magnitude;
- ``MASKS`` (``"masks"``): the separator's masks ``(batch, frames, bins, n_sources)``;
- ``member_name(k)`` (``"member0"``, ``"member1"``, ...): the members nested in an ensemble.
"""

from __future__ import annotations

FEATURE_NORM = "feature_norm"
STFT = "stft"
RMS_NORMALIZE = "rms_normalize"
BOTTLENECK = "bottleneck"
DECODED_MAGNITUDE = "decoded_magnitude"
MASKS = "masks"
MEMBER_PREFIX = "member"


def member_name(k: int) -> str:
    """The name of the ``k``-th member nested in an ensemble: ``"member0"``, ``"member1"``, ..."""
    return f"{MEMBER_PREFIX}{int(k)}"


def is_member_name(name: str) -> bool:
    """Whether ``name`` is an ensemble member's name (:func:`member_name`)."""
    rest = name[len(MEMBER_PREFIX):]
    return name.startswith(MEMBER_PREFIX) and rest.isdigit()


__all__ = ["BOTTLENECK", "DECODED_MAGNITUDE", "FEATURE_NORM", "MASKS", "MEMBER_PREFIX", "RMS_NORMALIZE",
           "STFT", "is_member_name", "member_name"]
