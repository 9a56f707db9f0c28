"""Classification metrics in numpy: accuracy, macro-F1, per-class precision/recall, UAR,
confusion matrix.  A small :class:`Report` that prints as a table and serialises to JSON."""

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
