"""How well frame labels match a reference: 3-class frame accuracy, per-class recall (through
:class:`tympan.pipeline.metrics.Report`) and boundary precision / recall / F1 within a
tolerance (default +-20 ms)."""

from __future__ import annotations

import numpy as np

from tympan import _validate as v
from tympan.errors import ParameterError
from tympan.segment.truth import CLASSES


def boundaries(segments, *, duration: float | None = None) -> np.ndarray:
    """The times where the label changes in ``[(start, end, label), ...]`` (gaps count as a
    change; neighbours with the same label do not), strictly inside ``(0, duration)``."""
    out: list[float] = []
    prev_end, prev_label = 0.0, None
    for start, end, label in sorted(segments):
        if start > prev_end + 1e-9:  # a gap: both its edges are boundaries
            out += [prev_end, start]
        elif label != prev_label:
            out.append(start)
        prev_end, prev_label = end, label
    if duration is not None and prev_end < duration - 1e-9:
        out.append(prev_end)
    limit = np.inf if duration is None else duration - 1e-9
    return np.unique([t for t in out if 1e-9 < t < limit])


def boundary_scores(reference, estimate, *, tolerance_sec: float = 0.02) -> dict[str, float]:
    """Precision, recall and F1 of the ``estimate`` boundary times against the ``reference``
    ones: a reference boundary is found when an estimated one lies within ``tolerance_sec``,
    each matched at most once (closest pairs first)."""
    tol = v.non_negative_number("tolerance_sec", tolerance_sec) + 1e-9  # exact ties count
    ref, est = np.sort(np.asarray(reference, float)), np.sort(np.asarray(estimate, float))
    pairs = []
    for i, r in enumerate(ref):
        lo, hi = np.searchsorted(est, r - tol), np.searchsorted(est, r + tol, side="right")
        pairs += [(abs(r - est[j]), i, j) for j in range(lo, hi)]
    pairs.sort()
    used_r, used_e, hits = set(), set(), 0
    for dist, i, j in pairs:
        if dist <= tol and i not in used_r and j not in used_e:
            used_r.add(i)
            used_e.add(j)
            hits += 1
    precision = hits / len(est) if len(est) else float(len(ref) == 0)
    recall = hits / len(ref) if len(ref) else float(len(est) == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "hits": hits,
            "n_reference": len(ref), "n_estimate": len(est)}


def frame_report(truth, predicted, *, classes=CLASSES):
    """:class:`~tympan.pipeline.metrics.Report` of per-frame class indices (accuracy, recall,
    confusion matrix)."""
    from tympan.pipeline.metrics import Report

    truth, predicted = np.asarray(truth).reshape(-1), np.asarray(predicted).reshape(-1)
    if truth.shape != predicted.shape:
        raise ParameterError(f"truth and predicted must have as many frames, got {truth.size} and "
                             f"{predicted.size}")
    return Report.from_predictions(truth, predicted, classes)


def summary(report, boundary: dict) -> dict:
    """The figures reported per method: accuracy, recall per class, boundary F1."""
    return {"accuracy": report.accuracy,
            **{f"recall_{c}": float(r) for c, r in zip(report.labels, report.recall, strict=True)},
            "boundary_f1": boundary["f1"], "boundary_precision": boundary["precision"],
            "boundary_recall": boundary["recall"], "frames": int(report.confusion.sum())}
