"""tympan.plot training figures, and the curves/confusion PNGs a saved artifact gets."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from tympan import pipeline
from tympan.errors import ArtifactError, MissingDependencyError, ParameterError
from tympan.pipeline.metrics import Report
from tympan.plot import plot_confusion, plot_history, save_run_figures

HISTORY = {"loss": [2.0, 1.2, 0.8, 0.6], "accuracy": [0.2, 0.5, 0.7, 0.8],
           "val_loss": [2.1, 1.4, 1.1, 1.3], "val_accuracy": [0.2, 0.4, 0.6, 0.55]}
REPORT = Report.from_predictions([0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 1, 2, 2, 0], ["yes", "no", "maybe"])


@pytest.fixture(scope="module")
def tiny_artifact(make_tiny_artifact):
    return make_tiny_artifact(metrics={"test": REPORT.to_dict()}, history=HISTORY)


def test_history_panels_loss_first_training_and_validation():
    fig = plot_history(HISTORY)
    loss, acc = fig.axes
    assert fig.get_suptitle() == "training curves"
    assert (loss.get_title(), acc.get_title()) == ("loss", "accuracy")
    assert loss.get_xlabel() == "epoch" and loss.get_ylabel() == "loss"
    assert loss.get_xlim() == (1, 4)
    train, val, best = loss.lines
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(val.get_ydata(), HISTORY["val_loss"])
    assert best.get_xdata()[0] == 3  # the lowest val_loss, where early stopping keeps the weights
    assert [t.get_text() for t in acc.get_legend().get_texts()] == [
        "training", "validation", "lowest val_loss (epoch 3)"]


def test_history_from_a_run_folder_or_file_and_one_metric_on_a_given_axes(tmp_path):
    from matplotlib.figure import Figure

    (tmp_path / "history.json").write_text(json.dumps(HISTORY))
    assert len(plot_history(tmp_path).axes) == 2
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_history(tmp_path / "history.json", metrics="accuracy", ax=ax, title="acc") is fig
    assert ax.get_title() == "acc" and len(ax.lines) == 3


def test_history_errors():
    with pytest.raises(ParameterError, match="'f1' is not in the history"):
        plot_history(HISTORY, metrics=["f1"])
    with pytest.raises(ParameterError, match="ax must be 2 matplotlib Axes"):
        from matplotlib.figure import Figure

        plot_history(HISTORY, ax=Figure().add_subplot())
    with pytest.raises(ParameterError, match="empty"):
        plot_history({"loss": []})
    with pytest.raises(ArtifactError, match=r"history\.json"):
        plot_history("/nonexistent/run")


def test_confusion_counts_labels_and_accuracy_in_the_title():
    fig = plot_confusion(REPORT)
    ax, cax = fig.axes
    assert ax.get_title() == "confusion matrix (accuracy 0.714, n = 7)"
    assert (ax.get_xlabel(), ax.get_ylabel(), cax.get_ylabel()) == ("predicted", "true", "count")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["yes", "no", "maybe"]
    np.testing.assert_array_equal(ax.images[0].get_array(), REPORT.confusion)
    assert [t.get_text() for t in ax.texts] == ["1", "1", "0", "0", "2", "0", "1", "0", "2"]


def test_confusion_normalised_rows_and_other_inputs(tmp_path):
    ax = plot_confusion(REPORT.to_dict(), normalize=True).axes[0]
    values = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(values.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(values), REPORT.recall)
    assert plot_confusion(np.eye(2) * 3, labels=["a", "b"]).axes[0].get_title().startswith(
        "confusion matrix (accuracy 1.000")
    (tmp_path / "pipeline.json").write_text(json.dumps(
        {"schema_version": 1, "metrics": {"test": REPORT.to_dict()}}))
    np.testing.assert_array_equal(plot_confusion(tmp_path).axes[0].images[0].get_array(),
                                  REPORT.confusion)


def test_confusion_errors(tmp_path):
    with pytest.raises(ParameterError, match="square"):
        plot_confusion(np.zeros((2, 3)))
    with pytest.raises(ParameterError, match="labels must name the 2 classes"):
        plot_confusion(np.eye(2), labels=["a"])
    with pytest.raises(ParameterError, match="non-negative"):
        plot_confusion(-np.eye(2))
    (tmp_path / "pipeline.json").write_text(json.dumps({"schema_version": 1, "metrics": {}}))
    with pytest.raises(ArtifactError, match="no test confusion matrix"):
        plot_confusion(tmp_path)


def test_save_run_figures_writes_what_the_run_has(tmp_path):
    written = save_run_figures(tmp_path, history=HISTORY, metrics={"test": REPORT.to_dict()})
    assert [p.name for p in written] == ["curves.png", "confusion.png"]
    assert all(p.stat().st_size > 5000 for p in written)
    assert save_run_figures(tmp_path / "ae", history=HISTORY, metrics={"test": {"mean_snr_db": 3}}) == [
        tmp_path / "ae" / "curves.png"]


# --------------------------------------------------------------- the artifact gets its figures
def test_saved_artifact_holds_curves_and_confusion(tiny_artifact, tmp_path):
    out = pipeline.save_artifact(tiny_artifact, tmp_path / "run")
    assert (out / "curves.png").stat().st_size > 5000
    assert (out / "confusion.png").stat().st_size > 5000
    assert not list(tmp_path.glob(".run.tmp-*"))


def test_a_failing_figure_only_warns(tiny_artifact, tmp_path, monkeypatch):
    from tympan.pipeline import artifact

    def broken(*args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(artifact, "save_run_figures", broken)
    with pytest.warns(RuntimeWarning, match="training figures were not drawn.*no fonts"):
        out = pipeline.save_artifact(tiny_artifact, tmp_path / "run")
    assert (out / "model.keras").is_file() and not (out / "curves.png").exists()


def test_without_matplotlib_figures_are_skipped_and_plots_say_how_to_install(tiny_artifact, tmp_path,
                                                                              monkeypatch, digit):
    from tympan.plot import plot_waveform

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'tympan\[plot\]'"):
        plot_waveform(*digit)
    out = pipeline.save_artifact(tiny_artifact, tmp_path / "run")
    assert (out / "pipeline.json").is_file() and not (out / "curves.png").exists()
