"""Loaders for named corpora whose labels are coded in the file names.

:func:`from_emodb`: the Berlin Database of Emotional Speech (EMO-DB; Burkhardt et al., 2005),
ten actors (five female, five male) each speaking ten German sentences in seven emotions.  A
file name such as ``03a01Fa.wav`` holds the speaker (``03``), the text (``a01``), the emotion
letter (``F``, German *Freude*) and a version letter (``a``).  The letters follow the German
emotion names; the items are labelled with English ones.
"""

from __future__ import annotations

import os
from dataclasses import replace

from tympan.data.dataset import Dataset
from tympan.data.listing import dataset_folder, from_regex
from tympan.errors import DatasetError

__all__ = ["EMODB_EMOTIONS", "EMODB_PATTERN", "from_emodb"]

#: EMO-DB file names: speaker (2 digits), text code (a letter and 2 digits), emotion letter,
#: version letter(s), e.g. ``03a01Fa.wav``.
EMODB_PATTERN = r"(?P<group>\d{2})(?P<text>[a-z]\d{2})(?P<label>[WLEAFTN])(?P<version>[a-z]+)\.wav"

#: EMO-DB emotion letters (from the German names) and the English label each item gets.
EMODB_EMOTIONS = {
    "W": "anger",      # Ärger / Wut
    "L": "boredom",    # Langeweile
    "E": "disgust",    # Ekel
    "A": "fear",       # Angst
    "F": "happiness",  # Freude
    "T": "sadness",    # Trauer
    "N": "neutral",
}


def from_emodb(root: str | os.PathLike) -> Dataset:
    """The EMO-DB recordings under ``root`` (searched recursively, e.g. the corpus folder or
    its ``wav/`` folder), labelled with English emotion names and grouped by speaker.

    Labels: ``anger``, ``boredom``, ``disgust``, ``fear``, ``happiness``, ``neutral``,
    ``sadness`` (those present, sorted); ``group`` is the two-digit speaker code (``"03"`` ..
    ``"16"``); ``meta`` holds ``text``, ``version`` and the original ``emotion`` letter.  Other
    file names are skipped.  A folder without any EMO-DB file name raises
    :class:`~tympan.errors.DatasetError` naming it and the expected form.

    Note: the ``labels.csv`` shipped with some copies of the corpus (including
    ``../shared/data/emodb``) swaps ``A``, ``E`` and ``F``; the letters in the file names are
    the corpus's own coding and are what this loader reads.
    """
    base = dataset_folder(root)
    try:
        found = from_regex(base, EMODB_PATTERN)
    except DatasetError as exc:
        raise DatasetError(f"no EMO-DB recordings in '{base}': expected file names such as "
                           f"'03a01Fa.wav' (speaker, text, emotion letter W/L/E/A/F/T/N, "
                           f"version); {exc}") from None
    items = tuple(replace(it, label=EMODB_EMOTIONS[it.label],
                          meta=tuple(sorted((*it.meta, ("emotion", it.label)))))
                  for it in found)
    return Dataset(items, base)
