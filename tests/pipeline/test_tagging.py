"""The multi-label tagging task: average precision, thresholds, training, save/load, predict, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import userdata
from tympan import pipeline
from tympan.cli.main import main
from tympan.errors import ParameterError
from tympan.pipeline import tagging

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SMALL = {"name": "conv1d", "filters": [16, 32], "batch_norm": False, "dropout": 0.0,
         "pooling": "flatten", "augmentation": {"gain_db": 0.0, "time_shift": 0.0}}


@pytest.fixture(scope="module")
def tags_csv(shared_data, tmp_path_factory):
    """60 FSDD clips (2 speakers x 10 digits x 3 takes) labelled '<digit>;odd|even' in a CSV."""
    return userdata.build_tags_csv(tmp_path_factory.mktemp("tags"), takes=3, shared=shared_data)


@pytest.fixture(scope="module")
def tagger(tags_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tagger"
    config = pipeline.PipelineConfig(model=SMALL, training=pipeline.TrainConfig(epochs=3, seed=1))
    artifact = tagging.train_any(tags_csv, config, split_options={"test_size": 0.25}, out=out,
                                 verbose=0, progress=False)
    return artifact, out


# ------------------------------------------------------------------------------ known answers
def test_average_precision_known_answers():
    assert tagging.average_precision([1, 1, 0, 0], [0.9, 0.8, 0.3, 0.1]) == 1.0
    # positives at ranks 1 and 3: (1/1 + 2/3) / 2
    assert tagging.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)
    # one positive ranked last of 4: 1/4
    assert tagging.average_precision([0, 0, 0, 1], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.25)
    # ties form one step: all four tied, 2 positives -> precision 2/4
    assert tagging.average_precision([1, 0, 1, 0], [0.5] * 4) == pytest.approx(0.5)
    assert np.isnan(tagging.average_precision([0, 0], [0.2, 0.1]))


def test_thresholds_and_metrics_known_answers():
    Y = np.array([[1, 0], [1, 0], [0, 0], [0, 0]], bool)
    P = np.array([[0.9, 0.1], [0.6, 0.2], [0.4, 0.3], [0.1, 0.4]])
    thresholds = tagging.best_thresholds(Y, P)
    assert thresholds[0] == pytest.approx(0.5)  # halfway between 0.6 (a positive) and 0.4
    assert thresholds[1] == 0.5  # no positives
    m = tagging.tagging_metrics(Y, P, thresholds, ("a", "b"))
    assert m["mAP"] == 1.0 and m["ap"] == {"a": 1.0, "b": None}
    assert m["micro_f1"] == 1.0 and m["macro_f1"] == 1.0
    m = tagging.tagging_metrics(Y, P, [0.5, 0.35], ("a", "b"))  # 'b' fires once, wrongly
    assert m["micro_f1"] == pytest.approx(4 / 5) and m["macro_f1"] == pytest.approx(0.5)


def test_split_tags():
    assert tagging.split_tags("b; a;b;") == ("a", "b")


# ------------------------------------------------------------------------------ training
def test_train_records_task_thresholds_and_metrics(tagger):
    artifact, out = tagger
    tags = {str(d) for d in range(10)} | {"odd", "even"}
    assert artifact.task == "tagging" and set(artifact.labels) == tags
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["task"] == "tagging" and set(meta["metrics"]["thresholds"]) == tags
    assert all(0.0 < t < 1.0 for t in meta["metrics"]["thresholds"].values())
    assert {"mAP", "micro_f1", "macro_f1", "ap"} <= set(meta["metrics"]["test"])
    assert meta["metrics"]["n_test"] == 15 and meta["metrics"]["epochs_run"] == 3
    # sigmoid outputs: the probabilities of one clip do not sum to one
    loaded = pipeline.load_artifact(out)
    assert loaded.model.get_layer("probabilities").get_config()["activation"] == "sigmoid"


def test_predict_label_sets_and_round_trip(tagger, tags_csv):
    artifact, out = tagger
    files = sorted(tags_csv.parent.glob("*.wav"))[:4]
    before = pipeline.predict(artifact, files)
    after = pipeline.load_artifact(out).predict(files)
    for p, q in zip(before, after, strict=True):
        assert set(p.probabilities) == set(artifact.labels)
        assert p.labels == tuple(t for t in artifact.labels
                                 if p.probabilities[t] >= artifact.metrics["thresholds"][t])
        assert p.labels == q.labels
        np.testing.assert_allclose(list(p.probabilities.values()), list(q.probabilities.values()),
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ParameterError, match="combine must be 'mean'"):
        pipeline.predict(artifact, files, combine="vote")


def test_classification_data_is_refused_as_unknown_task(tags_csv):
    with pytest.raises(ParameterError, match="task must be"):
        tagging.train_any(tags_csv, task="regression")


def test_cli_train_and_predict_json(tags_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", str(tags_csv), "--task", "tagging", "--model", "conv1d", "--epochs", "2",
                 "--out", str(out), "--quiet"])
    assert code in (0, None)
    assert "mAP" in capsys.readouterr().out
    assert json.loads((out / "pipeline.json").read_text())["task"] == "tagging"
    wav = sorted(tags_csv.parent.glob("*.wav"))[0]
    code = main(["predict", str(out), str(wav), "--format", "json"])
    assert code in (0, None)
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and isinstance(rows[0]["labels"], list)
    assert set(rows[0]["probabilities"]) == {str(d) for d in range(10)} | {"odd", "even"}
    main(["predict", str(out), str(wav), "--format", "csv"])
    assert capsys.readouterr().out.splitlines()[0].startswith("source,labels")


def test_continue_with_rare_tag_sets_splits_at_random(tagger, tags_csv):
    """A tag set on one clip cannot be stratified: the split is random, by file; init continues
    the tagger (epochs counted over both runs)."""
    artifact, out = tagger
    rows = tags_csv.read_text().splitlines()
    rows[1] = rows[1].replace("0;even", "0;odd")  # the only clip tagged both '0' and 'odd'
    rare = tags_csv.with_name("rare.csv")
    rare.write_text("\n".join(rows) + "\n")
    config = pipeline.PipelineConfig(training=pipeline.TrainConfig(epochs=1, seed=2))
    more = tagging.train_tagging(rare, config, init=out, verbose=0, progress=False)
    assert more.split["method"] == "random" and more.metrics["epochs_total"] == 4
    assert more.metrics["init"]["epochs"] == 3 and more.labels == artifact.labels


def test_evaluate_a_tagger(tagger, tags_csv):
    artifact, out = tagger
    report = pipeline.evaluate(out, tags_csv, progress=False)
    assert report.metrics["n"] == 60 and not report.failures
    assert set(report.metrics["ap"]) == set(artifact.labels) and "mAP" in report.format()
    assert 0.0 <= report.to_dict()["micro_f1"] <= 1.0
