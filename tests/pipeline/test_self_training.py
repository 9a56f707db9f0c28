"""Self-training on the unlabelled clips of held-out speakers (TrainConfig.self_training):
what it changes, what it leaves alone, what it records, and its errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tympan import data, models, pipeline
from tympan.cli.main import main
from tympan.errors import DatasetError, ParameterError
from tympan.pipeline.group_norm import predict_per_group, split_at_norm
from tympan.pipeline.self_training import self_train

FSDD = {"labels_from": "regex", "pattern": "fsdd"}
LINEAR = {"name": "mlp", "hidden_units": [], "dropout": 0.0}


def _config(**training):
    return pipeline.PipelineConfig(model=LINEAR, features={"kind": "mel"},
                                   training=pipeline.TrainConfig(epochs=30, learning_rate=1e-2,
                                                                 feature_norm="group", **training))


@pytest.fixture(scope="module")
def clips(digits_dir):
    ds = data.discover(digits_dir, **FSDD)
    X, kept = data.load_clips(ds, sr=8000, duration=1.0, progress=False)
    assert len(kept) == len(ds)
    return ds, X, np.array(ds.targets()), np.array(ds.groups(), dtype=object)


def test_self_train_fine_tunes_the_layers_after_feature_norm_only(clips, digits_dir):
    ds, X, y, g = clips
    art = pipeline.train(ds, _config(), split="group", split_options={"test_groups": ["george"]},
                         verbose=0, progress=False)
    model = art.model
    features, body = split_at_norm(model)
    frozen = [w.copy() for w in (*features.get_weights(),
                                 *model.get_layer(models.FEATURE_NORM).get_weights())]
    tuned_before = [w.copy() for w in body.get_weights()]
    new = g == "george"
    before = predict_per_group(model, X[new], g[new])
    record = self_train(model, X[~new], y[~new], g[~new], X[new], g[new], rounds=2, threshold=0.3)
    assert record["rounds"] == 2 and record["threshold"] == 0.3
    sure = int((before.max(axis=1) >= 0.3).sum())
    assert record["pseudo_labelled"][0] == sure and 0 < sure <= new.sum()
    assert len(record["pseudo_labelled"]) == 2
    after = [*features.get_weights(), *model.get_layer(models.FEATURE_NORM).get_weights()]
    for a, b in zip(frozen, after, strict=True):
        np.testing.assert_array_equal(b, a)
    assert any(np.abs(a - b).max() > 1e-6 for a, b in zip(tuned_before, body.get_weights(), strict=True))
    assert not np.allclose(predict_per_group(model, X[new], g[new]), before)


def test_self_training_never_reads_the_test_labels(clips):
    """The same training with the held-out speaker's labels shuffled: the self-trained models
    are identical (only the test report sees those labels)."""
    import dataclasses

    ds = clips[0]
    labels = [it.label for it in ds.items if it.group == "george"]
    shuffled = iter(np.random.default_rng(0).permutation(labels))
    relabelled = data.Dataset(tuple(dataclasses.replace(it, label=str(next(shuffled)))
                                    if it.group == "george" else it for it in ds.items),
                              ds.root, ds.labels)
    runs = [pipeline.train(d, _config(self_training=1, pseudo_label_threshold=0.3), split="group",
                           split_options={"test_groups": ["george"]}, verbose=0, progress=False)
            for d in (ds, relabelled)]
    assert runs[0].metrics["self_training"] == runs[1].metrics["self_training"]
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-6)
    assert runs[0].metrics["test"]["confusion_matrix"] != runs[1].metrics["test"]["confusion_matrix"]


def test_training_with_self_training_records_it(digits_dir, tmp_path):
    pipeline.train(digits_dir, _config(self_training=2, pseudo_label_threshold=0.3),
                   discovery=FSDD, split="group", split_options={"test_groups": ["george"]},
                   out=tmp_path / "st", verbose=0, progress=False)
    meta = json.loads((tmp_path / "st" / "pipeline.json").read_text())
    assert meta["training"]["self_training"] == 2
    assert meta["training"]["pseudo_label_threshold"] == 0.3
    record = meta["metrics"]["self_training"]
    assert record["rounds"] == 2 and len(record["pseudo_labelled"]) == 2
    assert 0 < min(record["pseudo_labelled"]) and max(record["pseudo_labelled"]) <= 60
    assert 0 < meta["metrics"]["test"]["accuracy"] <= 1
    assert pipeline.load_artifact(tmp_path / "st").config.training.self_training == 2


def test_cross_validation_self_trains_each_fold_on_its_test_speaker(digits_dir):
    cv = pipeline.cross_validate(digits_dir, _config(self_training=1, pseudo_label_threshold=0.3),
                                 discovery=FSDD, method="leave_one_group_out", only=[0, 2],
                                 progress=False)
    assert [f["fold"] for f in cv["folds"]] == [0, 2]
    for fold in cv["folds"]:
        assert fold["self_training"]["rounds"] == 1
        assert 0 < fold["self_training"]["pseudo_labelled"][0] <= fold["n"]


def test_self_training_errors(clips, capsys, digits_dir):
    with pytest.raises(ParameterError, match=r"self_training .* needs feature_norm='group'"):
        pipeline.TrainConfig(self_training=2)
    with pytest.raises(ParameterError, match="self_training must be a positive integer"):
        pipeline.TrainConfig(self_training=-1, feature_norm="group")
    with pytest.raises(ParameterError, match="pseudo_label_threshold is a probability"):
        pipeline.TrainConfig(pseudo_label_threshold=1.5)
    _, X, y, g = clips
    model = models.build_model("mlp", input_samples=8000, sr=8000, n_classes=10,
                               features={"kind": "mel"}, hidden_units=[], dropout=0.0)
    models.adapt_normalization(model, X[:20])
    with pytest.raises(ParameterError, match="threshold is a probability"):
        self_train(model, X[:20], y[:20], g[:20], X[20:30], g[20:30], threshold=2.0)
    with pytest.raises(ParameterError, match="rounds must be a positive integer"):
        self_train(model, X[:20], y[:20], g[:20], X[20:30], g[20:30], rounds=0)
    with pytest.raises(ParameterError, match="one group per clip"):
        self_train(model, X[:20], y[:20], g[:19], X[20:30], g[20:30])
    assert main(["train", str(digits_dir), "--pattern", "fsdd", "--self-training", "2",
                 "--out", str(digits_dir.parent / "never")]) != 0
    err = capsys.readouterr().err
    assert "needs feature_norm='group'" in err and "Traceback" not in err
    assert not (digits_dir.parent / "never").exists()


def test_adapt_with_self_training(digits_dir, tmp_path):
    """``adapt --self-training``: the copy is fine-tuned on the training data plus the new
    speaker's clips and normalised by that speaker; the original artifact is not changed."""
    run = tmp_path / "grouped"
    art = pipeline.train(digits_dir, _config(pseudo_label_threshold=0.3), discovery=FSDD,
                         split="group", split_options={"test_groups": ["george"]}, out=run,
                         verbose=0, progress=False)
    george = sorted(digits_dir.glob("*_george_*.wav"))
    adapted = pipeline.adapt(run, george, out=tmp_path / "george", self_training=1,
                             training_data=digits_dir, discovery=FSDD)
    record = adapted.adaptation["self_training"]
    assert record["rounds"] == 1 and 0 < record["pseudo_labelled"][0] <= len(george)
    # george's own (labelled) clips are in digits_dir: left out of the training data
    assert record["left_out_own_clips"] == len(george)
    assert record["training_clips"] == len(list(digits_dir.glob("*.wav"))) - len(george)
    copies = tmp_path / "copies"  # the same files elsewhere count as the same
    copies.mkdir()
    for f in george[:4]:
        shutil.copy(f, copies / f"clip_{f.name}")
    again = pipeline.adapt(run, copies, self_training=1, training_data=digits_dir, discovery=FSDD)
    assert again.adaptation["self_training"]["left_out_own_clips"] == 4
    meta = json.loads((tmp_path / "george" / "pipeline.json").read_text())
    assert meta["adaptation"]["self_training"] == record
    only_normalised = pipeline.adapt(run, george)
    X, _ = data.load_clips(george, sr=8000, duration=1.0, progress=False)
    assert not np.allclose(adapted.model.predict(X, verbose=0),
                           only_normalised.model.predict(X, verbose=0), atol=1e-4)
    np.testing.assert_allclose(  # the same feature_norm: the speaker's statistics
        adapted.model.get_layer(models.FEATURE_NORM).get_weights()[0],
        only_normalised.model.get_layer(models.FEATURE_NORM).get_weights()[0], rtol=1e-5)
    for a, b in zip(art.model.get_weights(), pipeline.load_artifact(run).model.get_weights(),
                    strict=True):
        np.testing.assert_array_equal(b, a)
    with pytest.raises(ParameterError, match="pass training_data"):
        pipeline.adapt(run, george, self_training=1)
    with pytest.raises(ParameterError, match="only used for self-training"):
        pipeline.adapt(run, george, training_data=digits_dir, discovery=FSDD)
    with pytest.raises(ParameterError, match="already self-trained"):
        pipeline.adapt(tmp_path / "george", george, self_training=1, training_data=digits_dir,
                       discovery=FSDD)
    with pytest.raises(DatasetError, match="only the speaker's own clips"):
        pipeline.adapt(run, george, self_training=1, training_data=george[0].parent,
                       discovery={"labels_from": "regex",
                                  "pattern": r"(?P<label>\d)_(?P<group>george)_\d+\.wav"})
    plain = pipeline.train(digits_dir, pipeline.PipelineConfig(
        model=LINEAR, features={"kind": "mel"}, training=pipeline.TrainConfig(epochs=1)),
        discovery=FSDD, split="group", split_options={"test_groups": ["george"]},
        out=tmp_path / "plain", verbose=0, progress=False)
    assert plain.config.training.feature_norm == "dataset"
    with pytest.raises(ParameterError, match="adapts models trained with --feature-norm group"):
        pipeline.adapt(tmp_path / "plain", george, self_training=1, training_data=digits_dir,
                       discovery=FSDD)
    other = tmp_path / "other" / "cat"
    other.mkdir(parents=True)
    shutil.copy(george[0], other / "meow.wav")
    with pytest.raises(DatasetError, match=r"labels the model does not know: \['cat'\]"):
        pipeline.adapt(run, george, self_training=1, training_data=other.parent,
                       discovery={"labels_from": "folders"})
    assert main(["adapt", str(run), str(george[0]), str(george[1]), "--out", str(tmp_path / "g2"),
                 "--self-training", "1", "--training-data", str(digits_dir), "--pattern", "fsdd"]) == 0
    assert (tmp_path / "g2" / "model.keras").is_file()
