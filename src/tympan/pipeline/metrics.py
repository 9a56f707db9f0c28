"""Classification metrics in numpy: accuracy, macro-F1, per-class precision/recall, UAR,
confusion matrix.  A small :class:`Report` that prints as a table and serialises to JSON.
Multi-label (tagging) metrics: average precision, mAP, micro/macro F1 at per-tag thresholds,
and the thresholds of the best F1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of items of true class ``i`` predicted as ``j``."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


@dataclass(frozen=True)
class Report:
    labels: tuple[str, ...]
    confusion: np.ndarray

    @classmethod
    def from_predictions(cls, y_true, y_pred, labels) -> Report:
        return cls(tuple(labels), confusion_matrix(y_true, y_pred, len(labels)))

    @classmethod
    def from_dict(cls, d: dict) -> Report:
        """Inverse of :meth:`to_dict` (as stored in ``pipeline.json``)."""
        return cls(tuple(d["labels"]), np.asarray(d["confusion_matrix"], dtype=np.int64))

    @property
    def support(self) -> np.ndarray:
        return self.confusion.sum(axis=1)

    @property
    def accuracy(self) -> float:
        total = self.confusion.sum()
        return float(np.trace(self.confusion) / total) if total else float("nan")

    @property
    def precision(self) -> np.ndarray:
        predicted = self.confusion.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(predicted > 0, np.diag(self.confusion) / np.maximum(predicted, 1), 0.0)

    @property
    def recall(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.support > 0, np.diag(self.confusion) / np.maximum(self.support, 1),
                            0.0)

    @property
    def f1(self) -> np.ndarray:
        p, r = self.precision, self.recall
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1), 0.0)

    @property
    def macro_f1(self) -> float:
        present = self.support > 0
        return float(self.f1[present].mean()) if present.any() else float("nan")

    @property
    def uar(self) -> float:
        """Unweighted average recall: the mean of per-class recalls over classes present."""
        present = self.support > 0
        return float(self.recall[present].mean()) if present.any() else float("nan")

    def to_dict(self) -> dict:
        return {
            "n": int(self.confusion.sum()),
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "uar": self.uar,
            "per_class": {
                label: {"precision": float(p), "recall": float(r), "f1": float(f),
                        "support": int(s)}
                for label, p, r, f, s in zip(self.labels, self.precision, self.recall, self.f1,
                                             self.support, strict=True)
            },
            "labels": list(self.labels),
            "confusion_matrix": self.confusion.tolist(),
        }

    def format(self) -> str:
        width = max(8, *(len(lb) for lb in self.labels))
        lines = [f"accuracy {self.accuracy:.4f}   macro-F1 {self.macro_f1:.4f}   "
                 f"UAR {self.uar:.4f}   n={int(self.confusion.sum())}",
                 f"{'class':<{width}}  precision  recall  f1      support"]
        for label, p, r, f, s in zip(self.labels, self.precision, self.recall, self.f1,
                                     self.support, strict=True):
            lines.append(f"{label:<{width}}  {p:9.3f}  {r:6.3f}  {f:6.3f}  {int(s):7d}")
        lines.append("confusion matrix (rows: true, columns: predicted)")
        head = " ".join(f"{lb[:5]:>5}" for lb in self.labels)
        lines.append(f"{'':<{width}}  {head}")
        for label, row in zip(self.labels, self.confusion, strict=True):
            lines.append(f"{label:<{width}}  " + " ".join(f"{int(c):5d}" for c in row))
        return "\n".join(lines)


# ------------------------------------------------------------------ multi-label (tagging)
def average_precision(y_true, scores) -> float:
    """Average precision of one tag: ``sum_n (R_n - R_(n-1)) P_n`` over the distinct scores,
    highest first (tied scores form one step); NaN without positives."""
    y, s = np.asarray(y_true, bool).ravel(), np.asarray(scores, np.float64).ravel()
    if not y.any():
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    precision, recall = tp / (last + 1), tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def best_thresholds(Y, P) -> np.ndarray:
    """Per tag, the threshold (``p >= t``) of the best F1 on ``(Y, P)``, halfway to the next
    lower score; 0.5 for a tag without positives."""
    out = np.full(Y.shape[1], 0.5)
    for j in range(Y.shape[1]):
        if not Y[:, j].any():
            continue
        s = np.unique(P[:, j])[::-1]
        f1 = [2 * np.sum(Y[:, j] & (P[:, j] >= t)) / (np.sum(P[:, j] >= t) + Y[:, j].sum()) for t in s]
        k = int(np.argmax(f1))
        out[j] = (s[k] + s[k + 1]) / 2 if k + 1 < len(s) else s[k]
    return out


def tagging_metrics(Y, P, thresholds, tags) -> dict:
    """``mAP`` (over tags with positives), ``micro_f1``, ``macro_f1`` (over tags with positives
    or predictions) and each tag's ``ap``."""
    Y, H = np.asarray(Y, bool), np.asarray(P) >= np.asarray(thresholds)
    tp, fp, fn = (Y & H).sum(0), (~Y & H).sum(0), (Y & ~H).sum(0)
    den = 2 * tp + fp + fn
    ap = [average_precision(Y[:, j], P[:, j]) for j in range(Y.shape[1])]
    return {"mAP": float(np.nanmean(ap)) if not np.all(np.isnan(ap)) else None,
            "micro_f1": float(2 * tp.sum() / max(den.sum(), 1)),
            "macro_f1": float(np.mean(2 * tp[den > 0] / den[den > 0])) if den.any() else None,
            "ap": {t: None if np.isnan(a) else a for t, a in zip(tags, ap, strict=True)},
            "n": len(Y)}
