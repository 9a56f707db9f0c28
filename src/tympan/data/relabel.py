"""New labels (and groups) for a dataset from its file names: one corpus, several tasks.

The same recordings answer different questions: FSDD's file ``3_theo_12.wav`` is the digit 3
for word recognition and the speaker ``theo`` for speaker recognition.  :func:`relabel` takes
the label from a named group of a regular expression searched in each file name, and
optionally a new ``group`` (what the group split keeps apart: for speaker recognition the
take or the text, so that test sentences are never heard in training).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace

from tympan import _validate as v
from tympan.data.dataset import Dataset, DatasetWarning
from tympan.errors import DatasetError, ParameterError

__all__ = ["LABEL_PATTERNS", "relabel"]

#: Named label patterns: ``fsdd-speaker`` labels FSDD by speaker with the take number as the
#: group; ``emodb-speaker`` labels EMO-DB by speaker with the text code (``a01`` .. ``b10``) as
#: the group.
LABEL_PATTERNS = {
    "fsdd-speaker": r"^\d_(?P<label>[a-z]+)_(?P<group>\d+)\.\w+$",
    "emodb-speaker": r"^(?P<label>\d{2})(?P<group>[a-z]\d{2})[WLEAFTN][a-z]*\.\w+$",
}
_SHOW = 3


def label_regex(pattern: str | re.Pattern) -> re.Pattern:
    """The compiled label pattern (a name from :data:`LABEL_PATTERNS` or a regex with a
    ``(?P<label>...)`` group)."""
    if isinstance(pattern, str) and pattern.lower() in LABEL_PATTERNS:
        pattern = LABEL_PATTERNS[pattern.lower()]
    regex = v.regex("label_pattern", pattern)
    if "label" not in regex.groupindex:
        raise ParameterError(f"label_pattern must have a named group 'label' (?P<label>...) or be "
                             f"one of {', '.join(LABEL_PATTERNS)}, got {regex.pattern!r}")
    return regex


def relabel(dataset: Dataset, pattern: str | re.Pattern) -> Dataset:
    """``dataset`` with each item's label taken from ``pattern`` searched in its file name.

    ``pattern`` is a regular expression with a ``(?P<label>...)`` group and optionally a
    ``(?P<group>...)`` group, which then replaces the item's group; or a name from
    :data:`LABEL_PATTERNS`.  Items whose name does not match are dropped with a
    :class:`~tympan.data.DatasetWarning` naming a few; if none matches, DatasetError.
    """
    regex = label_regex(pattern)
    has_group = "group" in regex.groupindex
    items, missed = [], []
    for item in dataset:
        m = regex.search(item.path.name)
        if m is None or not m["label"]:
            missed.append(item.path.name)
            continue
        group = (m["group"] or None) if has_group else item.group
        items.append(replace(item, label=m["label"], group=group))
    if not items:
        raise DatasetError(f"label_pattern '{regex.pattern}' matches none of the {len(dataset)} file "
                           f"names in '{dataset.root}' (e.g. '{missed[0] if missed else '-'}')")
    if missed:
        warnings.warn(f"label_pattern '{regex.pattern}' does not match {len(missed)} file name(s), "
                      f"which are left out: {', '.join(missed[:_SHOW])}"
                      f"{' ...' if len(missed) > _SHOW else ''}", DatasetWarning, stacklevel=2)
    return Dataset(tuple(items), dataset.root)
