"""The model: training curves from ``history.json`` and the confusion matrix of an evaluation,
and the two figures ``tympan train`` leaves in the run folder."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tympan.artifact_files import CONFUSION_FILE, CURVES_FILE, HISTORY_FILE, PIPELINE_FILE
from tympan.errors import ArtifactError, ParameterError
from tympan.plot._common import figure_axes, require_matplotlib, save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_NOT_CURVES = ("learning_rate", "lr")


# ----------------------------------------------------------------------------------- history
def read_history(source) -> dict[str, list[float]]:
    """The history dict from a run folder (its ``history.json``), a JSON file, or a dict."""
    if isinstance(source, Mapping):
        history = dict(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        file = path if path.suffix.lower() == ".json" else path / HISTORY_FILE
        history = _read_json(file, "training history")
        if not isinstance(history, dict):
            raise ArtifactError(f"{file} does not hold a history (a dict of lists)")
    else:
        raise ParameterError(f"history must be a dict, a history.json file or a run folder, got "
                             f"{type(source).__name__}")
    out = {}
    for key, values in history.items():
        arr = np.asarray(values, dtype=np.float64) if isinstance(values, (list, tuple)) else None
        if arr is None or arr.ndim != 1:
            raise ParameterError(f"history[{key!r}] must be a list of numbers (one per epoch), got "
                                 f"{values!r}")
        out[str(key)] = arr.tolist()
    if not any(out.values()):
        raise ParameterError("history is empty: no epoch was recorded")
    return out


def _curve_metrics(history: Mapping[str, list], metrics) -> list[str]:
    if metrics is None:
        names = [k for k in history if not k.startswith("val_") and k not in _NOT_CURVES and history[k]]
        names = sorted(names, key=lambda k: (k != "loss", list(history).index(k)))
        names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
        return names
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    for name in names:
        if name not in history and f"val_{name}" not in history:
            raise ParameterError(f"metrics: {name!r} is not in the history, which has "
                                 f"{sorted(history)}")
    return names


def plot_history(history, *, metrics: str | Sequence[str] | None = None,
                 ax: Axes | Sequence[Axes] | None = None, title: str | None = None) -> Figure:
    """Training curves: one panel per metric (default: loss first, then every other metric in
    the history, e.g. accuracy), training and validation, epochs 1..n on x.

    ``history`` is a dict of per-epoch lists (Keras' ``History.history``), a ``history.json``
    file or a run folder.  A dotted line marks the epoch of the lowest ``val_loss`` (the
    weights early stopping keeps).  ``ax``: one Axes per metric (a single Axes for one metric).
    ``title`` is the figure's title (with one metric, the panel's).
    """
    require_matplotlib()
    from matplotlib.axes import Axes as _Axes
    from matplotlib.figure import Figure as _Figure
    from matplotlib.ticker import MaxNLocator

    history = read_history(history)
    names = _curve_metrics(history, metrics)
    if ax is None:
        fig = _Figure(figsize=(4.2 * len(names), 3.2), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(1, len(names))))
    else:
        axes = [ax] if isinstance(ax, _Axes) else list(ax)
        if len(axes) != len(names) or not all(isinstance(a, _Axes) for a in axes):
            raise ParameterError(f"ax must be {len(names)} matplotlib Axes (one per metric: "
                                 f"{names}), got {ax!r}")
        fig = axes[0].figure
    best = None
    if history.get("val_loss"):
        best = int(np.argmin(history["val_loss"])) + 1
    for panel, name in zip(axes, names, strict=True):
        n = 0
        for key, label, style in ((name, "training", "-"), (f"val_{name}", "validation", "--")):
            values = history.get(key)
            if values:
                panel.plot(np.arange(1, len(values) + 1), values, style, marker="o", markersize=2.5,
                           label=label)
                n = max(n, len(values))
        if best is not None:
            panel.axvline(best, color="0.5", linestyle=":", linewidth=1,
                          label=f"lowest val_loss (epoch {best})")
        panel.set_xlim(0.5 if n <= 1 else 1, 1.5 if n <= 1 else n)
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
        panel.set_xlabel("epoch")
        panel.set_ylabel(name)
        if len(names) == 1:
            panel.set_title(f"training curves: {name}" if title is None else title)
        else:
            panel.set_title(name)
        panel.grid(alpha=0.3)
        panel.legend(fontsize="small")
    if len(names) > 1 and (ax is None or title is not None):
        fig.suptitle("training curves" if title is None else title)
    return fig


def _read_json(file: Path, what: str) -> Any:
    """The JSON in ``file``; ArtifactError naming it when it is missing or unreadable."""
    if not file.is_file():
        raise ArtifactError(f"no {what} at {file}: the file does not exist")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ArtifactError(f"cannot read {file}: {exc}") from None


# --------------------------------------------------------------------------------- confusion
def _confusion(report, labels) -> tuple[np.ndarray, list[str]]:
    """``(matrix, labels)`` from a Report, its dict, a run folder or an array with labels."""
    if isinstance(report, (str, os.PathLike)):
        meta = _read_json(Path(report) / PIPELINE_FILE, "artifact")
        metrics = meta.get("metrics") if isinstance(meta, Mapping) else None
        test = metrics.get("test") if isinstance(metrics, Mapping) else None
        if not isinstance(test, Mapping) or "confusion_matrix" not in test:
            raise ArtifactError(f"{report} has no test confusion matrix in its metrics (trained "
                                "without a test set, or not a classifier)")
        report = test
    if hasattr(report, "confusion") and hasattr(report, "labels"):
        matrix, names = report.confusion, report.labels
    elif isinstance(report, Mapping):
        if "confusion_matrix" not in report:
            raise ParameterError(f"report must hold a 'confusion_matrix', got keys {sorted(report)}")
        matrix, names = report["confusion_matrix"], report.get("labels")
    else:
        matrix, names = report, None
    names = labels if labels is not None else names
    try:
        matrix = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"the confusion matrix must be numeric, got {matrix!r}") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ParameterError(f"the confusion matrix must be square (n_classes, n_classes), got "
                             f"shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)) or (matrix < 0).any():
        raise ParameterError("the confusion matrix must hold non-negative counts")
    names = [str(i) for i in range(len(matrix))] if names is None else [str(x) for x in names]
    if len(names) != len(matrix):
        raise ParameterError(f"labels must name the {len(matrix)} classes, got {len(names)}: {names}")
    return matrix, names


def plot_confusion(report, *, labels: Sequence[str] | None = None, normalize: bool = False,
                   cmap: str = "Blues", ax: Axes | None = None, title: str | None = None) -> Figure:
    """The confusion matrix: true class on y, predicted on x, counts in the cells.

    ``report`` is a :class:`tympan.pipeline.Report`, its ``to_dict()`` (as stored in
    ``pipeline.json``), a run folder (its test metrics) or a square array of counts with
    ``labels``.  ``normalize=True`` divides each row by its total (the recall of each class on
    the diagonal).
    """
    matrix, names = _confusion(report, labels)
    counts = matrix
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    k = len(names)
    fig, ax = figure_axes(ax, figsize=(max(4.0, 0.45 * k + 2.2), max(3.4, 0.42 * k + 1.6)))
    image = ax.imshow(matrix, cmap=cmap, vmin=0.0, vmax=1.0 if normalize else max(1.0, matrix.max()),
                      interpolation="nearest", aspect="equal")
    ax.set_xticks(np.arange(k), names, rotation=90 if max(map(len, names)) > 3 else 0)
    ax.set_yticks(np.arange(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:
        high = 0.5 * (1.0 if normalize else matrix.max())
        for i in range(k):
            for j in range(k):
                value = matrix[i, j]
                text = f"{value:.2f}" if normalize else f"{value:.0f}"
                ax.text(j, i, text, ha="center", va="center", fontsize="x-small" if k > 12 else "small",
                        color="white" if value > high else "black")
    ax.figure.colorbar(image, ax=ax, label="fraction of the true class" if normalize else "count")
    total = counts.sum()
    accuracy = float(np.trace(counts) / total) if total else float("nan")
    default = f"confusion matrix (accuracy {accuracy:.3f}, n = {int(total)})"
    ax.set_title(default if title is None else title)
    return fig


# ------------------------------------------------------------------------- the run's figures
def save_run_figures(folder, *, history: Mapping[str, Any] | None = None,
                     metrics: Mapping[str, Any] | None = None, dpi: float = 90) -> list[Path]:
    """Write ``curves.png`` (from ``history``, when it has epochs) and ``confusion.png`` (from
    ``metrics["test"]``, when it holds a confusion matrix) into ``folder``; returns the paths
    written.  :func:`tympan.pipeline.save_artifact` calls it when matplotlib is installed."""
    folder = Path(folder)
    written = []
    if history and any(history.values()):
        written.append(save_figure(plot_history(history), folder / CURVES_FILE, overwrite=True,
                                   dpi=dpi))
    test = (metrics or {}).get("test")
    if isinstance(test, Mapping) and "confusion_matrix" in test:
        written.append(save_figure(plot_confusion(test), folder / CONFUSION_FILE, overwrite=True,
                                   dpi=dpi))
    return written
