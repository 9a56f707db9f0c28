"""Per-speaker feature normalisation: group-normalised training, per-group evaluation and
adapting an artifact to a new speaker, on real recordings."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

from tympan import data, io, models, pipeline
from tympan.errors import ArtifactError, DatasetError, ParameterError
from tympan.pipeline import adaptation, group_norm
from tympan.pipeline.artifact import PIPELINE_FILE
from tympan.pipeline.train import resolve_config

FSDD = {"labels_from": "regex", "pattern": "fsdd"}
# mean of log-mel frames -> softmax: trains in a few epochs, no augmentation
LINEAR = {"name": "mlp", "hidden_units": [], "dropout": 0.0}


@pytest.fixture(scope="module")
def group_trained(digits_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "grouped"
    config = pipeline.PipelineConfig(model=LINEAR, features={"kind": "mel"},
                                     training=pipeline.TrainConfig(epochs=8, learning_rate=1e-2,
                                                                   feature_norm="group"))
    artifact = pipeline.train(digits_dir, config, discovery=FSDD, split="group",
                              split_options={"test_groups": ["george"]}, out=out, verbose=0,
                              progress=False)
    return artifact, out


def _clips(folder, speaker):
    files = sorted(folder.glob(f"*_{speaker}_*.wav"))
    X, _ = data.load_clips(files, sr=8000, duration=1.0, progress=False)
    return files, X


def _numpy_stats(model, X):
    """Per-feature mean and std of the features feeding feature_norm, over clips and frames."""
    F = np.asarray(models.feature_model(model).predict(X, verbose=0), dtype=np.float64)
    F = F.reshape(-1, F.shape[-1])
    return F.mean(axis=0), F.std(axis=0)


def _norm_weights(model):
    layer = model.get_layer(models.FEATURE_NORM)
    return np.asarray(layer.mean).ravel(), np.sqrt(np.asarray(layer.variance).ravel())


def test_group_training_records_the_recipe_and_tests_each_speaker_on_its_own(group_trained,
                                                                           digits_dir):
    artifact, out = group_trained
    meta = json.loads((out / PIPELINE_FILE).read_text())
    assert meta["training"]["feature_norm"] == "group"
    assert meta["metrics"]["test_normalization"].startswith("per test group")
    assert "adaptation" not in meta
    # after training the layer holds the pooled statistics of the training speakers
    _, X_train = _clips(digits_dir, "[jt][ah]*")
    mean, std = _numpy_stats(artifact.model, X_train)
    got_mean, got_std = _norm_weights(artifact.model)
    np.testing.assert_allclose(got_mean, mean, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(got_std, std, rtol=1e-4, atol=1e-3)
    # the reported test accuracy is that of george adapted on george's own clips
    files, X = _clips(digits_dir, "george")
    labels = np.array([artifact.labels.index(f.name.split("_")[0]) for f in files])
    probs = adaptation.predict_per_group(artifact.model, X, ["george"] * len(X))
    assert meta["metrics"]["test"]["accuracy"] == pytest.approx(float(np.mean(probs.argmax(1) == labels)))


def test_per_group_prediction_removes_a_speakers_channel_gain(group_trained, digits_dir):
    """Log-mel features of a clip 20 dB louder are the same plus 20 dB: a speaker's own mean
    removes that, so adapted predictions do not change, unlike unadapted ones."""
    artifact, _ = group_trained
    _, X = _clips(digits_dir, "george")
    X = X[:30]
    both = np.concatenate([X, 10.0 * X / np.abs(X).max()])  # +20 dB relative to the peak level
    quiet = both[:30] / np.abs(X).max()
    groups = ["quiet"] * 30 + ["loud"] * 30
    probs = adaptation.predict_per_group(artifact.model, np.concatenate([quiet, both[30:]]), groups)
    np.testing.assert_allclose(probs[:30], probs[30:], atol=2e-4)
    plain = artifact.model.predict(np.concatenate([quiet, both[30:]]), verbose=0)
    assert np.abs(plain[:30] - plain[30:]).max() > 1e-2  # the pooled normalisation does see it
    # and predict_per_group leaves the model's own normalisation as it was
    np.testing.assert_allclose(artifact.model.predict(quiet, verbose=0), plain[:30], atol=1e-6)


def test_adapt_writes_a_copy_normalised_by_the_speakers_clips(group_trained, digits_dir, tmp_path):
    artifact, out = group_trained
    before = _norm_weights(artifact.model)
    files, X = _clips(digits_dir, "george")
    adapted = pipeline.adapt(out, files[:20], out=tmp_path / "george")
    mean, std = _numpy_stats(adapted.model, X[:20])
    np.testing.assert_allclose(_norm_weights(adapted.model)[0], mean, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(_norm_weights(adapted.model)[1], std, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(_norm_weights(artifact.model)[0], before[0])  # original intact
    meta = json.loads((tmp_path / "george" / PIPELINE_FILE).read_text())
    assert meta["adaptation"]["clips"] == 20 and meta["adaptation"]["files"][0] == files[0].name
    assert "adaptation" not in json.loads((out / PIPELINE_FILE).read_text())
    # the saved copy predicts like the one in memory, and like per-group prediction would
    reloaded = pipeline.load_artifact(tmp_path / "george")
    assert reloaded.adaptation["clips"] == 20
    expected = adapted.model.predict(X[:20], verbose=0)
    np.testing.assert_allclose(reloaded.model.predict(X[:20], verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(adaptation.predict_per_group(artifact.model, X[:20], ["g"] * 20),
                               expected, atol=1e-5)
    # evaluate does not adapt an adapted artifact again, and does adapt the original per group
    george = tmp_path / "george_clips"
    george.mkdir()
    for f in files[:20]:
        shutil.copy(f, george / f.name)
    a = pipeline.evaluate(tmp_path / "george", george, discovery=FSDD, progress=False)
    b = pipeline.evaluate(out, george, discovery=FSDD, progress=False)
    assert a.accuracy == b.accuracy
    c = pipeline.evaluate(out, george, discovery=FSDD, progress=False, adapt_per_group=False)
    labels = np.array([artifact.labels.index(f.name.split("_")[0]) for f in files[:20]])
    assert c.accuracy == pytest.approx(
        float(np.mean(artifact.model.predict(X[:20], verbose=0).argmax(1) == labels)))


def test_predicting_with_an_unadapted_group_model_warns(group_trained, digits_dir, tmp_path):
    _, out = group_trained
    wav = sorted(digits_dir.glob("*_george_*.wav"))[0]
    with pytest.warns(UserWarning, match="not adapted to a speaker yet.*tympan adapt"):
        pipeline.predict(out, wav)
    adapted = pipeline.adapt(out, [wav], out=tmp_path / "one")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert len(adapted.predict(wav)) == 1


def test_adapt_refuses_what_it_cannot_do(group_trained, digits_dir, tmp_path):
    _, out = group_trained
    files = sorted(digits_dir.glob("*_george_*.wav"))[:3]
    pipeline.adapt(out, files, out=tmp_path / "first")
    with pytest.raises(ArtifactError, match="already holds an artifact"):
        pipeline.adapt(out, files, out=tmp_path / "first")
    with pytest.raises(ParameterError, match="from files"):
        pipeline.adapt(out, np.zeros(8000, dtype="float32"))
    with pytest.raises(ParameterError, match="no audio files"):
        pipeline.adapt(out, tmp_path)
    with pytest.raises(ParameterError, match="is the artifact being adapted"):
        pipeline.adapt(out, files, out=out, overwrite=True)
    assert "adaptation" not in json.loads((out / PIPELINE_FILE).read_text())
    with pytest.raises(ParameterError, match="from files"):
        pipeline.adapt(out, [files[0], np.zeros(8000, dtype="float32")])
    with pytest.raises(ParameterError, match="one group per clip"):
        adaptation.predict_per_group(pipeline.load_artifact(out).model,
                                     np.zeros((3, 8000), "float32"), ["a", "b"])
    with pytest.raises(ParameterError, match="some have None"):
        adaptation.predict_per_group(pipeline.load_artifact(out).model,
                                     np.zeros((2, 8000), "float32"), ["a", None])
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(DatasetError, match=r"all 1 clips failed to load.*bad\.wav"):
        pipeline.adapt(out, [bad], on_error="skip")
    with pytest.warns(data.DatasetWarning, match="bad.wav"):
        assert pipeline.adapt(out, [bad, files[0]], on_error="skip").adaptation["clips"] == 1


def test_group_norm_needs_groups(group_trained, digits_dir, tmp_path):
    folder = tmp_path / "by_label"
    for f in sorted(digits_dir.glob("*_jackson_*.wav"))[:20]:
        (folder / f.name[0]).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, folder / f.name[0] / f.name)
    _, out = group_trained
    with pytest.warns(UserWarning, match="no groups .* pooled statistics"):
        pipeline.evaluate(out, folder, progress=False)
    with pytest.raises(DatasetError, match="adapt_per_group needs the dataset's groups"):
        pipeline.evaluate(out, folder, progress=False, adapt_per_group=True)
    config = pipeline.PipelineConfig(model=LINEAR, training=pipeline.TrainConfig(
        epochs=1, feature_norm="group"))
    with pytest.raises(DatasetError, match="needs a group"):
        pipeline.train(folder, config, split="stratified", split_options={"test_size": 0.5},
                       verbose=0, progress=False)
    with pytest.raises(ParameterError, match="feature_norm"):
        pipeline.TrainConfig(feature_norm="speaker")


def test_group_training_keeps_augmentation_and_cross_validates(digits_dir):
    """A model with waveform augmentation before feature_norm trains from batches computed in
    training mode; cross-validation adapts each held-out speaker."""
    small = {"name": "conv1d", "filters": [8], "batch_norm": False, "dropout": 0.0,
             "pooling": "flatten", "dense_units": 16, "augmentation": {"gain_db": 6.0, "time_shift": 0.1}}
    cfg = pipeline.PipelineConfig(model=small, audio=pipeline.AudioConfig(sr=8000, duration=1.0),
                                  training=pipeline.TrainConfig(epochs=1, feature_norm="group"))
    model = models.build_model("conv1d", input_samples=8000, sr=8000, n_classes=10,
                               features=resolve_config(cfg).features,
                               **{k: x for k, x in small.items() if k != "name"})
    assert group_norm.has_augmentation(models.feature_model(model))
    cv = pipeline.cross_validate(digits_dir, cfg, discovery=FSDD, method="leave_one_group_out",
                                 progress=False, only=[0])
    assert cv["folds"][0]["n"] == 60 and 0.0 <= cv["folds"][0]["accuracy"] <= 1.0


def test_stats_pooling_mlp_takes_waveforms_and_reloads(digits_dir, tmp_path):
    y, _ = io.load(sorted(digits_dir.glob("*.wav"))[0])
    model = models.build_model("mlp", input_samples=8000, sr=8000, n_classes=10,
                               features={"kind": "mfcc+delta"}, hidden_units=[], pooling="stats",
                               l2=1e-3)
    assert model.get_layer("frame_statistics").output.shape == (None, 160)
    assert model.get_layer("probabilities").kernel_regularizer is not None
    x = data.fit_length(y, 8000)[None]
    model.save(tmp_path / "m.keras")
    import keras

    again = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ParameterError, match="pooling='stats' needs frame-wise"):
        models.build_model("mlp", input_samples=8000, sr=8000, n_classes=10,
                           features={"kind": "mean_mfcc"}, pooling="stats")
    with pytest.raises(ParameterError, match="pooling"):
        models.build_model("mlp", input_samples=8000, sr=8000, n_classes=10,
                           features={"kind": "mfcc"}, pooling="median")


def test_one_vector_per_clip_needs_two_clips_to_adapt(digits_dir, tmp_path):
    """Statistics pooled per clip have no spread over one clip: refused, not divided by 0."""
    config = pipeline.PipelineConfig(
        model={**LINEAR, "pooling": "stats"}, features={"kind": "mfcc"},
        training=pipeline.TrainConfig(epochs=1, feature_norm="group"))
    art = pipeline.train(digits_dir, config, discovery=FSDD, split="group",
                         split_options={"test_groups": ["george"]}, out=tmp_path / "stats",
                         verbose=0, progress=False)
    files, X = _clips(digits_dir, "george")
    with pytest.raises(ParameterError, match="at least 2 clips"):
        pipeline.adapt(art, files[:1])
    with pytest.raises(ParameterError, match=r"'b'.* fewer than 2 clips"):
        adaptation.predict_per_group(art.model, X[:3], ["a", "a", "b"])
    assert pipeline.adapt(art, files[:2]).adaptation["clips"] == 2


def test_datasets_with_some_groups_missing_still_train_with_dataset_norm(digits_dir, tmp_path):
    rows = ["path,label,group"]
    for i, f in enumerate(sorted(digits_dir.glob("*_jackson_*.wav"))[:40]):
        rows.append(f"{f},{f.name[0]},{'jackson' if i % 2 else ''}")
    (tmp_path / "list.csv").write_text("\n".join(rows) + "\n")
    dataset = data.from_csv(tmp_path / "list.csv", root=tmp_path)
    with pytest.raises(DatasetError, match="have no group"):
        dataset.groups()
    config = pipeline.PipelineConfig(model=LINEAR, training=pipeline.TrainConfig(epochs=1))
    art = pipeline.train(dataset, config, split="stratified", split_options={"test_size": 0.5},
                         verbose=0, progress=False)
    assert art.metrics["n_test"] == 20
    assert pipeline.evaluate(art, dataset, progress=False).confusion.sum() == 40
