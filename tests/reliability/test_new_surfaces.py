"""Bad input and tampering on the batch outputs (``tympan predict --out``, ``tympan features``):
nothing a user had is deleted or overwritten, and a file that cannot be read is a row with
its error, never a failed job, a NaN or a traceback.

The ONNX runtime's and the server's cases live with their fixtures (tests/runtime,
tests/serve)."""

from __future__ import annotations

import importlib
import json
import os
import re

import numpy as np
import pytest

from tympan.cli.main import main
from tympan.engines import MANIFEST, features_to_parquet, predict_to_parquet
from tympan.errors import ParameterError


def _rows(folder) -> dict[str, dict]:
    import pyarrow.parquet as pq

    return {r["source"].rsplit("/", 1)[-1]: r for r in pq.read_table(folder).to_pylist()}


@pytest.fixture
def mels(signals, tmp_path):
    """A finished features output of the good tone (``out``, its manifest's text)."""
    out = tmp_path / "mels.parquet"
    features_to_parquet([signals["tone.wav"], signals["one.wav"]], out=out, sr=8000, shard_size=1,
                        progress=False)
    return out


#: manifests a user could write (or a copy of another tool's) that must not make a folder ours
FORGED = {
    "minimal": {"schema_version": 1, "kind": "predict"},
    "not an object": [1, 2],
    "bool for int": {"schema_version": True, "kind": "features", "engine": "local", "inputs": 1,
                     "inputs_sha256": "0" * 64, "shard_size": 1, "shards": 1, "shards_done": 1,
                     "complete": True, "written": "", "tympan": "0.1.0"},
    "shards disagree": {"schema_version": 1, "kind": "features", "engine": "local", "inputs": 10,
                        "inputs_sha256": "0" * 64, "shard_size": 1, "shards": 1, "shards_done": 1,
                        "complete": True, "written": "", "tympan": "0.1.0"},
}


@pytest.mark.parametrize("forged", sorted(FORGED))
@pytest.mark.parametrize("how", ["overwrite", "resume"])
def test_a_forged_manifest_does_not_make_a_folder_ours(forged, how, signals, tmp_path):
    """Before: any JSON object with schema_version and kind predict|features made the folder a
    tympan output, and --overwrite deleted the user's part-00000.parquet in it."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps(FORGED[forged]))
    (folder / "part-00000.parquet").write_text("the user's own file")
    with pytest.raises(ParameterError, match=r"not a manifest that tympan wrote.*nothing there is touched"):
        features_to_parquet([signals["tone.wav"]], out=folder, sr=8000, progress=False, **{how: True})
    assert (folder / "part-00000.parquet").read_text() == "the user's own file"
    assert json.loads((folder / MANIFEST).read_text()) == FORGED[forged]


@pytest.mark.parametrize("how", ["overwrite", "resume"])
@pytest.mark.parametrize("name", ["part-00000.parquet", "part-00001.parquet", "part-00005.parquet"])
def test_a_user_file_named_as_a_shard_is_never_replaced(how, name, mels, signals):
    """In a real output, a file named as a shard that tympan did not write (in place of a shard
    and not Parquet, or a Parquet file beyond the manifest's shards) is refused before anything
    is touched.  Before: --overwrite unlinked it, --resume wrote over it."""
    if name == "part-00005.parquet":  # the user's copy of a shard, which tympan would remove
        (mels / name).write_bytes((mels / "part-00000.parquet").read_bytes())
    else:
        (mels / name).write_text("the user's notes")
    mine = (mels / name).read_bytes()
    (mels / "notes.md").write_text("kept")
    manifest = (mels / MANIFEST).read_text()
    with pytest.raises(ParameterError, match=rf"{name}' is named as a shard but is not one tympan wrote"):
        features_to_parquet([signals["tone.wav"], signals["one.wav"]], out=mels, sr=8000, shard_size=1,
                            progress=False, **{how: True})
    assert (mels / name).read_bytes() == mine
    assert (mels / MANIFEST).read_text() == manifest
    assert (mels / "notes.md").read_text() == "kept"


def test_overwrite_replaces_only_the_shards(mels, signals):
    """A real output with a note of the user's and a text file named far beyond the shards:
    overwrite replaces the shards and manifest, keeps the rest."""
    (mels / "notes.md").write_text("kept")
    (mels / "part-00099.parquet").write_text("kept too")
    summary = features_to_parquet([signals["one.wav"]], out=mels, sr=8000, overwrite=True,
                                  progress=False)
    assert summary["rows_written"] == 1 and set(_rows(mels / "part-00000.parquet")) == {"one.wav"}
    assert not (mels / "part-00001.parquet").exists()  # the earlier job's second shard
    assert (mels / "notes.md").read_text() == "kept"
    assert (mels / "part-00099.parquet").read_text() == "kept too"


def test_features_of_the_bad_input_table(signals, tmp_path):
    """No audio, NaN, inf and 1e30 are rows with the error naming the file; silence, DC, one
    sample and a loud tone give finite features."""
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "random.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    out = tmp_path / "f.parquet"
    files = [*signals.values(), tmp_path / "empty.wav", tmp_path / "random.wav"]
    summary = features_to_parquet(files, out=out, sr=8000, progress=False)
    rows = _rows(out)
    errors = {"zero.wav": "holds no audio", "nan.wav": "non-finite sample", "inf.wav": "non-finite sample",
              "huge.wav": "samples reach 1e\\+30", "empty.wav": "the file is empty",
              "random.wav": "corrupt file"}
    assert summary["errors"] == len(errors)
    for name, row in rows.items():
        if name in errors:
            assert row["feature"] is None
            assert row["error"].startswith(f"cannot read audio file '{tmp_path / name}'")
            assert re.search(errors[name], row["error"])
        else:
            assert row["error"] is None and np.isfinite(row["feature"]).all(), name


@pytest.fixture
def stand_in_run(monkeypatch, classifier, tmp_path):
    """A run folder whose model is conftest's stand-in classifier (no Keras)."""
    monkeypatch.setattr(importlib.import_module("tympan.pipeline"), "load_artifact", lambda path: classifier)
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"stand-in")  # what the manifest's model_sha256 reads
    return run


def test_predict_out_rows_of_the_bad_input_table(stand_in_run, signals, tmp_path, capsys):
    """predict --out: errors as rows naming the file, flags for silence and short input, exit 1
    and one error line; no NaN probability."""
    out = tmp_path / "p.parquet"
    rc = main(["predict", str(stand_in_run), *map(str, signals.values()), "--out", str(out)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert rc == 1 and err == [f"error: 4 of {len(signals)} files could not be read (see the 'error' column)"]
    rows = _rows(out)
    for name in ("zero.wav", "nan.wav", "inf.wav", "huge.wav"):
        assert rows[name]["label"] is None and f"'{signals[name]}'" in rows[name]["error"]
    assert rows["silence.wav"]["flags"] == ["silent"] and rows["dc.wav"]["flags"] == ["silent"]
    assert rows["one.wav"]["flags"] == ["silent", "too_short"] and "too_short" in rows["ten.wav"]["flags"]
    assert rows["loud.wav"]["flags"] == ["beyond_full_scale"]
    for row in rows.values():
        assert row["error"] is not None or np.isfinite(row["probabilities"]).all()
    with pytest.raises(ParameterError, match="holds the output of an earlier job"):
        predict_to_parquet(stand_in_run, [signals["tone.wav"]], out=out, progress=False)


@pytest.fixture
def odd_list(signals, tmp_path):
    """A list of inputs (``inputs.txt``) whose lines are a folder, a path with a NUL byte, a
    FIFO, the list itself and one good file: ``(list, {name: expected error})``."""
    folder = tmp_path / "a_folder"
    folder.mkdir()
    (folder / "inside.wav").write_bytes(signals["tone.wav"].read_bytes())
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"{folder}\nnul\0byte.wav\n{fifo}\n{listing}\n{signals['tone.wav']}\n")
    errors = {"a_folder": rf"^cannot read audio file '{folder}': it is a directory, not a file$",
              "nul\0byte.wav": rf"^cannot process '{tmp_path}/nul\0byte.wav': ValueError: embedded null "
                                r"byte$",
              "pipe.wav": rf"^cannot read audio file '{fifo}': it is a pipe \(FIFO\), not a file$",
              "inputs.txt": rf"^cannot read audio file '{listing}': unsupported or unrecognised format"}
    return listing, errors


def test_predict_out_gives_one_row_per_line_of_a_list(stand_in_run, odd_list, tmp_path):
    """Before: a folder named in a list gave its files' predictions, one batch had more rows
    than inputs and the whole job failed ("ValueError: zip() argument 3 is longer ...");
    a NUL byte was "ValueError: embedded null byte", naming no file."""
    listing, errors = odd_list
    out = tmp_path / "p.parquet"
    summary = predict_to_parquet(stand_in_run, listing, out=out, progress=False)
    rows = _rows(out)
    assert summary["inputs"] == len(rows) == 5 and summary["errors"] == 4
    for name, error in errors.items():
        assert re.search(error, rows[name]["error"]), rows[name]["error"]
    assert rows["tone.wav"]["label"] == "quiet" and rows["tone.wav"]["probability"] == pytest.approx(0.75)


def test_a_folder_in_a_list_is_never_predicted_file_by_file(stand_in_run, odd_list, tmp_path, monkeypatch):
    """The folder's row is its error, and its files are not all read first (a folder of a
    corpus in a list would have been predicted whole, then thrown away)."""
    import tympan.pipeline

    listing, _ = odd_list
    given, predict = [], tympan.pipeline.predict
    monkeypatch.setattr(tympan.pipeline, "predict",
                        lambda run, paths, **kw: given.extend(paths) or predict(run, paths, **kw))
    predict_to_parquet(stand_in_run, listing, out=tmp_path / "p.parquet", progress=False)
    assert given and str(tmp_path / "a_folder") not in given


def test_features_name_the_file_of_any_error(odd_list, tmp_path):
    listing, errors = odd_list
    out = tmp_path / "f.parquet"
    features_to_parquet(listing, out=out, sr=8000, progress=False)
    rows = _rows(out)
    for name, error in errors.items():
        assert re.search(error, rows[name]["error"]), rows[name]["error"]
    assert rows["tone.wav"]["error"] is None


@pytest.mark.parametrize("existing", [False, True])
def test_a_job_whose_model_fails_to_load_leaves_no_output(stand_in_run, monkeypatch, signals, tmp_path,
                                                          existing):
    """A model that does not load (corrupt model.keras, a separator given to predict) fails
    the job with its error and leaves the folder as it was: none, or the user's empty one.
    Before: a folder with a manifest of 0 shards stayed, and the next try needed --overwrite."""
    from tympan.errors import ArtifactError

    def broken(path):
        raise ArtifactError(f"{path}/model.keras: model.keras is corrupt")

    monkeypatch.setattr(importlib.import_module("tympan.pipeline"), "load_artifact", broken)
    out = tmp_path / "p.parquet"
    if existing:
        out.mkdir()
    with pytest.raises(ArtifactError, match=r"model\.keras is corrupt"):
        predict_to_parquet(stand_in_run, [signals["tone.wav"]], out=out, progress=False)
    assert (list(out.iterdir()) == []) if existing else not out.exists()
    with pytest.raises(ArtifactError, match=r"model\.keras is corrupt"):  # the same error again, no refusal
        features_to_parquet([signals["tone.wav"]], out=out, embedding=stand_in_run, progress=False)
    assert (list(out.iterdir()) == []) if existing else not out.exists()


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_overwrite_with_a_model_that_fails_to_load_keeps_the_earlier_output(stand_in_run, monkeypatch,
                                                                             signals, tmp_path, engine):
    """--overwrite removes the earlier job's shards only once the new model has loaded (on Ray
    too: it loads on the driver first, before a cluster is reached)."""
    from tympan.errors import ArtifactError

    out = tmp_path / "p.parquet"
    predict_to_parquet(stand_in_run, [signals["tone.wav"]], out=out, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(path):
        raise ArtifactError(f"{path}/model.keras: model.keras is corrupt")

    monkeypatch.setattr(importlib.import_module("tympan.pipeline"), "load_artifact", broken)
    with pytest.raises(ArtifactError, match=r"model\.keras is corrupt"):
        predict_to_parquet(stand_in_run, [signals["tone.wav"]], out=out, overwrite=True, engine=engine,
                           progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_failed_job_keeps_the_shards_it_wrote(stand_in_run, monkeypatch, signals, tmp_path):
    """Once a shard is written, a failure (here an interrupt in the second shard) keeps the
    folder for --resume."""
    from tympan.engines.batch import PredictBatch

    calls = []
    real = PredictBatch.__call__

    def interrupted(self, batch):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(PredictBatch, "__call__", interrupted)
    out = tmp_path / "p.parquet"
    files = [signals["tone.wav"], signals["loud.wav"]]
    with pytest.raises(KeyboardInterrupt):
        predict_to_parquet(stand_in_run, files, out=out, shard_size=1, batch_size=1, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "part-00000.parquet"]
    summary = predict_to_parquet(stand_in_run, files, out=out, shard_size=1, resume=True, progress=False)
    assert summary["shards_skipped"] == 1 and summary["shards_written"] == 1


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    """A small untrained classifier saved as an artifact (mlp on mean MFCCs, 0.25 s at 8 kHz):
    what the server, the export and predict load."""
    from tympan import models, pipeline
    from tympan.pipeline import artifact as art
    from tympan.pipeline.train import resolve_config

    config = resolve_config(pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=8000, duration=0.25), model={"name": "mlp", "hidden_units": [8]}))
    params = {k: v for k, v in config.model.items() if k != "name"}
    model = models.build_model("mlp", input_samples=config.audio.samples, sr=8000, n_classes=3,
                               features=config.features, **params)
    artifact = art.Artifact(model=model, config=config, labels=("a", "b", "c"), info=art.runtime_info())
    return art.save_artifact(artifact, tmp_path_factory.mktemp("keras") / "run")


def _edited(run, tmp_path, change):
    import shutil

    copy = shutil.copytree(run, tmp_path / "edited")
    meta = json.loads((copy / "pipeline.json").read_text())
    change(meta)
    (copy / "pipeline.json").write_text(json.dumps(meta))
    return copy


def _rate_doubled(meta):  # input.shape still sr * duration: the schema alone cannot tell
    meta["audio"]["sr"], meta["audio"]["duration"] = 16000, 0.125


@pytest.mark.parametrize(("change", "error"), [
    (_rate_doubled, r"pipeline\.json: audio\.sr is 16000, but the model's layer '\w+' was built for "
                    r"8000 Hz"),
    (lambda meta: meta.update(task="tagging"),
     r"pipeline\.json: task must be 'classification': the model's output layer is a softmax, got "
     r"'tagging'"),
])
def test_edits_only_the_model_can_tell_are_refused(keras_run, tmp_path, capsys, change, error):
    """Before: the rate doubled and the clip halved (input.shape unchanged) loaded, and the
    model heard every file at the wrong rate; a classifier renamed a tagger loaded and read its
    softmax as independent tags; predict, export and serve (which load through here) went on."""
    from tympan.errors import ArtifactError
    from tympan.pipeline import load_artifact

    run = _edited(keras_run, tmp_path, change)
    with pytest.raises(ArtifactError, match=error):
        load_artifact(run)
    rc = main(["predict", str(run), str(tmp_path / "any.wav")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(lines) == 1 and lines[0].startswith(f"error: {run / 'pipeline.json'}: ")
    assert re.search(error, lines[0])


def test_a_duration_no_row_can_hold_is_refused_before_any_work(signals, tmp_path):
    """Before: --duration 1e12 padded each file to 8e15 samples: every row a MemoryError."""
    out = tmp_path / "f.parquet"
    with pytest.raises(ParameterError, match=r"duration must give at most 2147483647 samples at sr=8000"):
        features_to_parquet([signals["tone.wav"]], out=out, sr=8000, duration=1e12, progress=False)
    assert not out.exists()


class _NaNClassifier:
    """A classifier whose weights went NaN (a poisoned model.onnx, a diverged training)."""

    def predict_on_batch(self, x):
        return np.full((len(x), 2), np.nan, np.float32)


def test_a_model_giving_nan_is_an_error_never_a_label(classifier, monkeypatch, signals, tmp_path, capsys):
    """Before: label '0' at probability NaN, exit 0, JSON output with NaN in it and NaN in the
    Parquet rows."""
    import dataclasses

    from tympan import pipeline
    from tympan.errors import ArtifactError

    broken = dataclasses.replace(classifier, model=_NaNClassifier(), path=tmp_path / "run")
    error = rf"the model in '{tmp_path / 'run'}' gave 2 non-finite value\(s\) \(NaN/inf\) for '.*tone\.wav'"
    for on_error in ("raise", "skip"):
        with pytest.raises(ArtifactError, match=error):
            pipeline.predict(broken, [signals["tone.wav"]], on_error=on_error)
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"stand-in")
    monkeypatch.setattr(importlib.import_module("tympan.pipeline"), "load_artifact", lambda path: broken)
    out = tmp_path / "p.parquet"
    summary = predict_to_parquet(run, [signals["tone.wav"], signals["loud.wav"]], out=out, progress=False)
    assert summary["errors"] == 2
    for row in _rows(out).values():
        assert row["label"] is None and row["probabilities"] == [] and re.search(error.split(" for ")[0],
                                                                                 row["error"])


def test_a_hop_below_one_sample_is_refused(classifier, signals):
    """Before: --hop 1e-9 became a hop of one sample: a 10 s file ran for minutes."""
    from tympan import pipeline

    with pytest.raises(ParameterError, match=r"hop_sec must be at least one sample at 8000 Hz, got 1e-09"):
        pipeline.predict(classifier, [signals["tone.wav"]], hop_sec=1e-9)
    (p,) = pipeline.predict(classifier, [signals["tone.wav"]], window_sec=0.5, hop_sec=1 / 8000)
    assert len(p.segments) == 4001  # one sample is still a hop
