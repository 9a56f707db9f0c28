"""The lean runtime (``predict_onnx``, ``tympan predict --runtime onnx``): the same labels,
probabilities (within 1e-4), windows and errors as the Keras runtime on real recordings, a
long file and a folder; json output with the same keys; Keras, jax and torch never imported."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

import tympan
from tympan import pipeline
from tympan.cli.main import cli
from tympan.errors import ArtifactError, AudioIOError, ParameterError
from tympan.pipeline import Prediction, TagPrediction
from tympan.runtime import OnnxModel, load_onnx_artifact, predict_onnx

if importlib.util.find_spec("torch") is None:  # torch is installed apart (Makefile, pyproject)
    pytest.skip("the ONNX export runs Keras on torch, which is not installed", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

TOLERANCE = 1e-4
HELD_OUT = [f"{digit}_theo_3.wav" for digit in range(5)]  # a speaker the run was not trained on


@pytest.fixture(scope="module")
def inputs(fsdd_recordings, tmp_path_factory):
    """``(files, folder)``: held-out clips, a file of twenty clips end to end (over 2.5 s:
    several windows of the 1-s model) and a folder holding copies of clips and that file."""
    folder = tmp_path_factory.mktemp("runtime-inputs")
    files = [fsdd_recordings / name for name in HELD_OUT]
    parts = [sf.read(fsdd_recordings / f"{digit}_theo_{take}.wav", dtype="float32")[0]
             for take in (3, 4) for digit in range(10)]
    long_file = folder / "long.wav"
    sf.write(long_file, np.concatenate(parts), 8000)
    assert sf.info(long_file).duration > 2.5
    for f in files[:2]:
        shutil.copy(f, folder / f.name)
    return [*files, long_file], folder


def _assert_same(onnx_preds, keras_preds):
    assert len(onnx_preds) == len(keras_preds)
    for o, k in zip(onnx_preds, keras_preds, strict=True):
        assert isinstance(o, Prediction)
        assert (o.source, o.label, o.duration, o.flags, o.error) == \
               (k.source, k.label, k.duration, k.flags, k.error)
        assert list(o.probabilities) == list(k.probabilities)
        np.testing.assert_allclose(list(o.probabilities.values()), list(k.probabilities.values()),
                                   atol=TOLERANCE, rtol=0)
        assert [(s.start, s.end, s.label) for s in o.segments] == \
               [(s.start, s.end, s.label) for s in k.segments]
        np.testing.assert_allclose([s.probabilities for s in o.segments],
                                   [s.probabilities for s in k.segments], atol=TOLERANCE, rtol=0)


def test_same_predictions_as_keras(onnx_run, inputs):
    files, folder = inputs
    keras_preds = pipeline.predict(onnx_run, files)
    onnx_preds = predict_onnx(onnx_run, files)
    _assert_same(onnx_preds, keras_preds)
    long = onnx_preds[-1]
    assert len(long.segments) >= 4 and long.duration == pytest.approx(sf.info(files[-1]).duration)
    # a folder (recursively, the same order), and other windows and combinations
    _assert_same(predict_onnx(onnx_run, folder), pipeline.predict(onnx_run, folder))
    options = {"window_sec": 0.5, "hop_sec": 0.25, "combine": "vote", "batch_size": 3}
    _assert_same(predict_onnx(onnx_run, files[-1:], **options),
                 pipeline.predict(onnx_run, files[-1:], **options))


def test_loaded_artifact_and_array(onnx_run, fsdd_recordings):
    art = load_onnx_artifact(onnx_run)
    assert isinstance(art.model, OnnxModel) and art.task == "classification"
    y, rate = sf.read(fsdd_recordings / HELD_OUT[0], dtype="float32")
    # an array at another rate is resampled as the Keras runtime does
    y16 = tympan.io.resample(y, orig_sr=rate, target_sr=16000)
    _assert_same(predict_onnx(art, [y16], sr=16000), pipeline.predict(onnx_run, [y16], sr=16000))


def test_same_errors_as_keras(onnx_run, fsdd_recordings, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    good = fsdd_recordings / HELD_OUT[0]
    with pytest.raises(AudioIOError, match=r"broken\.wav") as onnx_error:
        predict_onnx(onnx_run, [good, bad])
    with pytest.raises(AudioIOError) as keras_error:
        pipeline.predict(onnx_run, [good, bad])
    assert str(onnx_error.value) == str(keras_error.value)
    skipped = predict_onnx(onnx_run, [good, bad], on_error="skip")
    _assert_same(skipped, pipeline.predict(onnx_run, [good, bad], on_error="skip"))
    assert skipped[0].ok and not skipped[1].ok


def test_cli_json_same_as_keras(onnx_run, inputs):
    files, _ = inputs
    args = ["predict", str(onnx_run), *map(str, files), "--format", "json"]
    keras_out = CliRunner().invoke(cli, args)
    onnx_out = CliRunner().invoke(cli, [*args, "--runtime", "onnx"])
    assert keras_out.exit_code == 0 and onnx_out.exit_code == 0, onnx_out.output
    k, o = json.loads(keras_out.output), json.loads(onnx_out.output)
    assert [sorted(p) for p in o] == [sorted(p) for p in k]
    assert [p["label"] for p in o] == [p["label"] for p in k]
    np.testing.assert_allclose([p["probability"] for p in o], [p["probability"] for p in k],
                               atol=TOLERANCE, rtol=0)
    table = CliRunner().invoke(cli, ["predict", str(onnx_run), str(files[-1]), "--runtime", "onnx",
                                     "--timeline"])
    assert table.exit_code == 0 and "long.wav" in table.output and "windows" in table.output


def test_cli_process_never_imports_keras(onnx_run, fsdd_recordings):
    """A fresh ``tympan predict --runtime onnx`` process: the label, and no keras, jax or torch
    in sys.modules after the command ran."""
    code = ("import sys\nfrom tympan.cli.main import main\n"
            f"sys.argv = ['tympan', 'predict', {str(onnx_run)!r}, "
            f"{str(fsdd_recordings / HELD_OUT[1])!r}, '--runtime', 'onnx', '--format', 'json']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('MODULES', sorted(m for m in ('keras', 'jax', 'torch', 'tensorflow', 'onnxruntime')"
            " if m in sys.modules))\n")
    src = str(Path(tympan.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "MODULES ['onnxruntime']" in done.stdout
    label = pipeline.predict(onnx_run, fsdd_recordings / HELD_OUT[1])[0].label
    assert json.loads(done.stdout.split("MODULES")[0])[0]["label"] == label


def test_missing_model_onnx(onnx_run, fsdd_recordings, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("pipeline.json", "model.keras"):
        shutil.copy(onnx_run / name, run / name)
    with pytest.raises(ArtifactError, match=r"has no model.onnx: run `tympan export .*run` first"):
        predict_onnx(run, fsdd_recordings / HELD_OUT[0])
    result = CliRunner().invoke(cli, ["predict", str(run), str(fsdd_recordings / HELD_OUT[0]),
                                      "--runtime", "onnx"])
    assert result.exit_code == 1 and "tympan export" in result.output


def test_stale_or_foreign_model_onnx(onnx_run, fsdd_recordings, tmp_path):
    """A model.onnx that is not this artifact's export (other labels, another model.keras) is
    refused with what to do."""
    run = tmp_path / "run"
    shutil.copytree(onnx_run, run)
    meta = json.loads((run / "pipeline.json").read_text())
    meta["labels"] = ["zero", *meta["labels"][1:]]
    (run / "pipeline.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="not this artifact's export"):
        load_onnx_artifact(run)
    shutil.copy(onnx_run / "pipeline.json", run / "pipeline.json")
    with open(run / "model.keras", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ArtifactError, match=r"exported from another model\.keras"):
        load_onnx_artifact(run)
    (run / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(ArtifactError, match=r"cannot load .*model\.onnx in onnxruntime"):
        load_onnx_artifact(run)


@pytest.mark.parametrize(("edit", "error"), [
    ("sr", r"model\.onnx was exported with sr (\d+) but pipeline\.json has audio\.sr \d+"),
    ("task", r"model\.onnx was exported with task classification but pipeline\.json has task tagging"),
])
def test_edited_rate_or_task_refused(onnx_run, fsdd_recordings, tmp_path, edit, error):
    """pipeline.json edited so that it still passes the schema (the rate doubled and the clip
    halved keep input.shape; a classifier renamed a tagger) no longer matches the export's
    metadata.  Before: the onnx runtime predicted from audio at the wrong rate, or a softmax
    read as independent tags, with exit status 0."""
    run = tmp_path / "run"
    shutil.copytree(onnx_run, run)
    meta = json.loads((run / "pipeline.json").read_text())
    if edit == "sr":
        meta["audio"]["sr"] *= 2
        meta["audio"]["duration"] /= 2
    else:
        meta["task"] = "tagging"
    (run / "pipeline.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=error):
        load_onnx_artifact(run)
    result = CliRunner().invoke(cli, ["predict", str(run), str(fsdd_recordings / HELD_OUT[0]),
                                      "--runtime", "onnx"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("error: ") and "Traceback" not in result.output


def test_parquet_output_needs_only_model_onnx(onnx_run, fsdd_recordings, tmp_path):
    """A folder deployed with pipeline.json and model.onnx alone: predict --runtime onnx --out
    writes the rows that the printed predictions give, and its manifest identifies model.onnx.
    Before: refused as "not an artifact folder: it has no model.keras"."""
    import pyarrow.parquet as pq

    from tympan.engines import predict_to_parquet, read_manifest
    from tympan.export.onnx_export import file_sha256

    run = tmp_path / "deployed"
    run.mkdir()
    for name in ("pipeline.json", "model.onnx"):
        shutil.copy(onnx_run / name, run / name)
    files = [fsdd_recordings / name for name in HELD_OUT[:2]]
    out = tmp_path / "preds.parquet"
    summary = predict_to_parquet(run, files, out=out, runtime="onnx", progress=False)
    assert summary["rows_written"] == 2 and summary["errors"] == 0
    rows = sorted(pq.read_table(out).to_pylist(), key=lambda r: r["index"])
    want = predict_onnx(run, files)
    assert [(r["label"], r["probability"]) for r in rows] == \
           [(p.label, pytest.approx(p.probability, abs=1e-6)) for p in want]
    assert read_manifest(out)["model_sha256"] == file_sha256(run / "model.onnx")
    with pytest.raises(ParameterError, match=r"no model\.keras"):
        predict_to_parquet(run, files, out=tmp_path / "keras.parquet", progress=False)


def test_tagger_same_as_keras(onnx_tagger, inputs):
    files, _ = inputs
    keras_preds = pipeline.predict(onnx_tagger, files)
    onnx_preds = predict_onnx(onnx_tagger, files)
    assert [type(p) for p in onnx_preds] == [TagPrediction] * len(files)
    for o, k in zip(onnx_preds, keras_preds, strict=True):
        assert (o.source, o.labels, o.duration, o.flags) == (k.source, k.labels, k.duration, k.flags)
        np.testing.assert_allclose([o.probabilities[t] for t in k.probabilities],
                                   list(k.probabilities.values()), atol=TOLERANCE, rtol=0)
    args = ["predict", str(onnx_tagger), *map(str, files), "--format", "csv"]
    keras_out = CliRunner().invoke(cli, args)
    onnx_out = CliRunner().invoke(cli, [*args, "--runtime", "onnx"])
    assert onnx_out.exit_code == 0, onnx_out.output
    assert onnx_out.output.startswith("source,labels,duration") and onnx_out.output == keras_out.output


def test_other_tasks_refused(onnx_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(onnx_run, run)
    meta = json.loads((run / "pipeline.json").read_text())
    meta["task"], meta["labels"] = "reconstruction", []
    (run / "pipeline.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="reconstruction model: the onnx runtime predicts "
                                            "classification and tagging models only"):
        load_onnx_artifact(run)
