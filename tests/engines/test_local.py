"""The local engine: rows equal to ``pipeline.predict``, features equal to the dsp functions,
errors as rows, the output folder (shards, manifest, resume, refusals) and the commands."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tympan import dsp, io, pipeline
from tympan.cli.main import cli
from tympan.data import audio_files, fit_length
from tympan.engines import (
    MANIFEST,
    FeatureBatch,
    PredictBatch,
    features_to_parquet,
    input_list,
    predict_to_parquet,
    read_manifest,
)
from tympan.errors import ParameterError


def test_rows_are_the_pipelines_predictions(local_preds, tiny_run, corpus, rows):
    out, summary = local_preds
    files = [str(p) for p in audio_files(corpus)]
    assert summary["inputs"] == 11 and summary["rows_written"] == 11 and summary["errors"] == 1
    assert summary["shards"] == summary["shards_written"] == 4 and summary["shards_skipped"] == 0
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST] + [f"part-0000{k}.parquet" for k in range(4)]
    got = rows(out)
    expected = pipeline.predict(tiny_run, files, on_error="skip")
    labels = pipeline.load_artifact(tiny_run).labels
    assert [r["index"] for r in got] == list(range(11)) and [r["source"] for r in got] == files
    for row, p in zip(got, expected, strict=True):
        assert row["error"] == p.error and row["label"] == p.label
        assert row["duration"] == p.duration and row["flags"] == list(p.flags)
        if p.error is not None:
            assert row["probabilities"] == [] and row["probability"] is None
            continue
        assert row["labels"] == [p.label]
        np.testing.assert_allclose(row["probabilities"], [p.probabilities[k] for k in labels], atol=1e-6)
        assert row["probability"] == pytest.approx(p.probability, abs=1e-6)
        if len(p.segments) > 1:
            assert [(w["start"], w["end"], w["label"]) for w in row["windows"]] == \
                   [(s.start, s.end, s.label) for s in p.segments]
        else:
            assert row["windows"] == []


def test_known_rows(local_preds, rows):
    got = {os.path.basename(r["source"]): r for r in rows(local_preds[0])}
    assert "truncated file" in got["corrupt.wav"]["error"] and "corrupt.wav" in got["corrupt.wav"]["error"]
    assert got["corrupt.wav"]["label"] is None and got["corrupt.wav"]["duration"] is None
    mp3 = got["long.mp3"]
    assert mp3["error"] is None and len(mp3["windows"]) == 20  # 10 s: windows of 1 s every 0.5 s
    assert mp3["duration"] == pytest.approx(10.0, abs=0.05)
    assert got["stereo44k.wav"]["error"] is None and got["stereo44k.wav"]["windows"] == []
    for r in got.values():
        if r["error"] is None:
            assert len(r["probabilities"]) == 10 and sum(r["probabilities"]) == pytest.approx(1, abs=1e-5)


def test_manifest(local_preds, tiny_run):
    from tympan.export.onnx_export import file_sha256

    m = read_manifest(local_preds[0])
    assert m["kind"] == "predict" and m["engine"] == "local" and m["schema_version"] == 1
    assert m["inputs"] == 11 and m["shard_size"] == 3 and m["shards"] == 4 and m["shards_done"] == 4
    assert m["complete"] is True and m["model_sha256"] == file_sha256(tiny_run / "model.keras")


def test_resume_redoes_only_the_missing_shards(local_preds, tiny_run, corpus, tmp_path, rows, same_rows):
    out = tmp_path / "preds.parquet"
    shutil.copytree(local_preds[0], out)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    (out / "part-00002.parquet").unlink()  # a killed run: one shard never written, one half written
    (out / ".part-00002.parquet.0badf00d.tmp").write_bytes(b"PAR1 half")
    (out / "part-00001.parquet").write_bytes((out / "part-00001.parquet").read_bytes()[:100])
    summary = predict_to_parquet(tiny_run, corpus, out=out, shard_size=3, batch_size=2, resume=True,
                                 progress=False)
    assert summary["shards_written"] == 2 and summary["shards_skipped"] == 2 and summary["rows_written"] == 6
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert sorted(after) == sorted(before) and not list(out.glob(".*.tmp"))
    assert [name for name in sorted(after) if after[name] != before[name]] == \
           ["part-00001.parquet", "part-00002.parquet"]
    same_rows(rows(out), rows(local_preds[0]))
    again = predict_to_parquet(tiny_run, corpus, out=out, shard_size=3, resume=True, progress=False)
    assert again["shards_written"] == 0 and again["errors"] == 1  # nothing left: the model is not loaded


def test_refusals(local_preds, tiny_run, corpus, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    for flag in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(ParameterError, match=r"tympan did not write.*nothing there is touched"):
            predict_to_parquet(tiny_run, corpus, out=foreign, progress=False, **flag)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    with pytest.raises(ParameterError, match="holds the output of an earlier job: pass resume"):
        predict_to_parquet(tiny_run, corpus, out=local_preds[0], shard_size=3, progress=False)
    with pytest.raises(ParameterError, match=r"cannot resume.*shard_size: 3 there, 4 now"):
        predict_to_parquet(tiny_run, corpus, out=local_preds[0], shard_size=4, resume=True, progress=False)
    with pytest.raises(ParameterError, match=r"cannot resume.*inputs: 11 there, 10 now"):
        predict_to_parquet(tiny_run, audio_files(corpus)[:10], out=local_preds[0], shard_size=3,
                           resume=True, progress=False)
    with pytest.raises(ParameterError, match=r"cannot resume.*options: .*0.25"):
        predict_to_parquet(tiny_run, corpus, out=local_preds[0], shard_size=3, hop_sec=0.25, resume=True,
                           progress=False)
    with pytest.raises(ParameterError, match="is not an artifact folder"):
        predict_to_parquet(corpus, corpus, out=tmp_path / "x", progress=False)
    with pytest.raises(ParameterError, match="engine must be one of"):
        predict_to_parquet(tiny_run, corpus, out=tmp_path / "x", engine="spark", progress=False)
    with pytest.raises(ParameterError, match=r"cannot join the Ray cluster at address='127.0.0.1:1'"):
        predict_to_parquet(tiny_run, corpus, out=tmp_path / "x", engine="ray", address="127.0.0.1:1",
                           progress=False)
    with pytest.raises(ParameterError, match="address and workers are options of the ray engine"):
        predict_to_parquet(tiny_run, corpus, out=tmp_path / "y", workers=2, progress=False)
    assert not (tmp_path / "x").exists()


def test_overwrite_keeps_what_tympan_did_not_write(local_preds, tiny_run, fsdd, tmp_path, rows):
    out = tmp_path / "preds.parquet"
    shutil.copytree(local_preds[0], out)
    (out / "README").write_text("a note of the user's")
    summary = predict_to_parquet(tiny_run, [fsdd / "0_theo_1.wav"], out=out, overwrite=True, progress=False)
    assert summary["shards"] == 1 and (out / "README").read_text() == "a note of the user's"
    assert sorted(p.name for p in out.iterdir()) == ["README", MANIFEST, "part-00000.parquet"]
    assert [r["source"] for r in rows(out / "part-00000.parquet")] == [str(fsdd / "0_theo_1.wav")]


def test_a_manifest_tympan_did_not_write_is_refused(tiny_run, corpus, tmp_path):
    for text in ("[]", '{"tool": "another one"}'):  # a list broke resume with an AttributeError
        other = tmp_path / "other"
        other.mkdir(exist_ok=True)
        (other / MANIFEST).write_text(text)
        (other / "part-00000.parquet").write_bytes(b"the user's")
        for flag in ({"overwrite": True}, {"resume": True}):
            with pytest.raises(ParameterError, match=r"is not a manifest that tympan wrote.*nothing there"):
                predict_to_parquet(tiny_run, corpus, out=other, progress=False, **flag)
        assert (other / MANIFEST).read_text() == text
        assert (other / "part-00000.parquet").read_bytes() == b"the user's"


def test_input_lists(corpus, tmp_path):
    files = [str(p) for p in audio_files(corpus)]
    listing = tmp_path / "archive.txt"
    listing.write_text(f"# the archive\n{files[0]}\n\n{os.path.relpath(files[1], tmp_path)}\n")
    assert input_list([listing, corpus, files[2]]) == [files[0], files[1], *files, files[2]]
    with pytest.raises(ParameterError, match="sources is empty"):
        input_list([])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="no audio files"):
        input_list(tmp_path / "empty")


def test_batch_function_takes_bytes(tiny_run, corpus):
    fn = PredictBatch(tiny_run)
    paths = [corpus / "0_theo_1.wav", corpus / "corrupt.wav"]
    by_path = fn({"source": [str(p) for p in paths], "index": [5, 9]})
    by_bytes = fn({"source": ["remote/0_theo_1.wav", "remote/corrupt.wav"],
                   "bytes": [p.read_bytes() for p in paths]})
    assert by_path["index"] == [5, 9] and by_bytes["index"] == [0, 1]
    assert by_bytes["source"] == ["remote/0_theo_1.wav", "remote/corrupt.wav"]
    assert by_bytes["label"] == by_path["label"] and by_bytes["probabilities"] == by_path["probabilities"]
    assert "'remote/corrupt.wav'" in by_bytes["error"][1] and "tympan-batch" not in by_bytes["error"][1]


def test_features_equal_the_dsp_functions(corpus, tmp_path, rows):
    out = tmp_path / "mels.parquet"
    summary = features_to_parquet(corpus, out=out, sr=8000, duration=1.0, progress=False)
    assert summary["inputs"] == 11 and summary["errors"] == 1
    got = {os.path.basename(r["source"]): r for r in rows(out)}
    y, sr = sf.read(corpus / "0_theo_1.wav", dtype="float32")
    assert sr == 8000
    y = fit_length(y, 8000)  # padded at the end to 1 s
    expected = dsp.power_to_db(dsp.melspectrogram(y, sr=8000, n_fft=256, hop_length=80, n_mels=40),
                               top_db=80.0)  # the pipeline's defaults at 8 kHz: 32 ms, 10 ms, 40 bands
    row = got["0_theo_1.wav"]
    assert row["shape"] == [40, 101] and row["error"] is None
    np.testing.assert_allclose(np.reshape(row["feature"], row["shape"]), expected, atol=1e-4)
    y44, _ = io.load(corpus / "stereo44k.wav", sr=8000, mono=True)
    assert got["stereo44k.wav"]["shape"] == [40, 101]
    np.testing.assert_allclose(np.reshape(got["stereo44k.wav"]["feature"], (40, 101)),
                               FeatureBatch(sr=8000, duration=1.0).feature(fit_length(y44, 8000)), atol=1e-4)
    assert got["corrupt.wav"]["feature"] is None and "truncated" in got["corrupt.wav"]["error"]
    mfcc = FeatureBatch(kind="mfcc", sr=8000, n_mfcc=13)({"source": [str(corpus / "long.mp3")]})
    assert mfcc["shape"][0][0] == 13 and mfcc["error"] == [None]
    with pytest.raises(ParameterError, match=r"unknown feature option\(s\) \['n_mel'\]"):
        features_to_parquet(corpus, out=tmp_path / "bad", n_mel=3)
    with pytest.raises(ParameterError, match="kind must be one of"):
        features_to_parquet(corpus, out=tmp_path / "bad", kind="chroma")
    assert not (tmp_path / "bad").exists()


def test_embedding_is_the_input_of_the_softmax(tiny_run, corpus, tmp_path, rows):
    out = tmp_path / "emb.parquet"
    features_to_parquet([corpus / "0_theo_1.wav", corpus / "corrupt.wav"], out=out, embedding=tiny_run,
                        progress=False)
    got = rows(out)
    head = pipeline.load_artifact(tiny_run).model.get_layer("probabilities")
    kernel, bias = (np.asarray(w) for w in head.get_weights())
    assert got[0]["shape"] == [kernel.shape[0]] and got[1]["error"] is not None
    logits = np.asarray(got[0]["feature"]) @ kernel + bias  # the softmax of the embedding: predict's answer
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    p = pipeline.predict(tiny_run, corpus / "0_theo_1.wav")[0]
    np.testing.assert_allclose(probs, list(p.probabilities.values()), atol=1e-5)
    with pytest.raises(ParameterError, match=r"an embedding reads the audio as its model was trained.*'sr'"):
        features_to_parquet(corpus, out=tmp_path / "e2", embedding=tiny_run, sr=16000)


def test_commands(tiny_run, corpus, tmp_path, rows, local_preds, same_rows):
    runner = CliRunner()
    out = tmp_path / "preds.parquet"
    names = ["0_theo_1.wav", "corrupt.wav", "stereo44k.wav"]
    result = runner.invoke(cli, ["predict", str(tiny_run), *(str(corpus / n) for n in names),
                                 "--out", str(out), "--shard-size", "2", "--batch-size", "2"])
    assert result.exit_code == 1, result.output
    assert "3 rows in 2 of 2 shards" in result.stdout
    assert "error: 1 of 3 files could not be read" in result.stderr
    by_source = {r["source"]: {**r, "index": None} for r in rows(local_preds[0])}
    same_rows([{**r, "index": None} for r in rows(out)], [by_source[str(corpus / n)] for n in names])
    result = runner.invoke(cli, ["predict", str(tiny_run), *(str(corpus / n) for n in names),
                                 "--out", str(out), "--shard-size", "2", "--resume"])
    assert result.exit_code == 1 and "0 rows in 0 of 2 shards, 2 already there" in result.stdout
    result = runner.invoke(cli, ["predict", str(tiny_run), str(corpus / "0_theo_1.wav"), "--engine", "ray"])
    assert result.exit_code == 2 and "--engine ray write(s) Parquet: give --out FOLDER" in result.output
    result = runner.invoke(cli, ["predict", str(tiny_run), str(corpus / "0_theo_1.wav")])
    assert result.exit_code == 0 and "0_theo_1.wav" in result.stdout  # without --out: the table, as before
    mels = tmp_path / "mels"
    result = runner.invoke(cli, ["features", str(corpus / "0_theo_1.wav"), str(corpus / "long.mp3"),
                                 "--features", "logmel", "--sr", "8000", "--n-mels", "20",
                                 "--out", str(mels)])
    assert result.exit_code == 0, result.output
    assert [r["shape"][0] for r in rows(mels)] == [20, 20] and json.loads(
        (mels / MANIFEST).read_text())["options"]["n_mels"] == 20
    result = runner.invoke(cli, ["features", str(corpus), "--out", str(mels)])
    assert result.exit_code == 1 and "error: out" in result.stderr and "--overwrite" in result.stderr
    one = str(corpus / "0_theo_1.wav")
    for command in (["predict", str(tiny_run), one], ["features", one]):
        result = runner.invoke(cli, [*command, "--out", str(tmp_path / "preds.csv")])
        assert result.exit_code == 2 and "--out is a folder of Parquet shards" in result.output
        assert not (tmp_path / "preds.csv").exists()
    result = runner.invoke(cli, ["predict", str(tiny_run), one, "--out", str(tmp_path / "p"),
                                 "--format", "csv", "--timeline"])
    assert result.exit_code == 2 and "--format, --timeline shape(s) the printed output" in result.output


def test_missing_extra_names_it(monkeypatch, tmp_path, corpus):
    from tympan.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    with pytest.raises(MissingDependencyError,
                       match=r"pyarrow is not installed.*pip install 'tympan\[ray\]'"):
        features_to_parquet(corpus, out=tmp_path / "mels", progress=False)
    assert not (tmp_path / "mels").exists()


def test_features_job_does_not_import_keras(corpus, tmp_path):
    """Log-mel features are numpy's work: the job (and each Ray actor) never pays Keras's import
    (it did, for the n_fft/hop/n_mels rules: 6.7 s of a 7.2 s job on 3 files)."""
    import subprocess

    code = ("import sys; from tympan.engines import features_to_parquet; "
            f"s = features_to_parquet([{str(corpus / '0_theo_1.wav')!r}], out={str(tmp_path / 'm')!r}, "
            "progress=False); print(s['rows_written'], [m for m in ('keras', 'jax') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "1 []"


def test_a_pipe_is_an_error_row_not_a_hang(tiny_run, corpus, tmp_path):
    """A FIFO named like audio (in a folder or a list) is its row's error: open() waited for a
    writer for ever, and the job with it."""
    import subprocess

    pipe = tmp_path / "pipe.wav"
    os.mkfifo(pipe)
    code = ("from tympan.engines import features_to_parquet; "
            f"s = features_to_parquet([{str(pipe)!r}, {str(corpus / '0_theo_1.wav')!r}], "
            f"out={str(tmp_path / 'm')!r}, progress=False); print(s['rows_written'], s['errors'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.split("\n")[-2] == "2 1", done.stderr
    row = PredictBatch(tiny_run)({"source": [str(pipe)]})
    assert row["label"] == [None] and re.search(r"pipe\.wav'.*a pipe \(FIFO\), not a file", row["error"][0])


def test_help_imports_no_engine():
    """``tympan features --help`` and ``tympan predict --help`` import neither Keras nor Ray."""
    import subprocess

    code = ("import sys; from click.testing import CliRunner; from tympan.cli.main import cli; "
            "codes = [CliRunner().invoke(cli, [c, '--help']).exit_code for c in ('features', 'predict')]; "
            "print(codes, [m for m in ('keras', 'jax', 'ray', 'pyarrow') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split("\n")[-2] == "[0, 0] []", done.stderr


def test_features_manifest_records_the_stft_it_used(fsdd, tmp_path):
    """The manifest's options are the recipe with every default filled in (n_fft, hop_length,
    n_mels were null): a resume with those values given is the same job."""
    out = tmp_path / "mels"
    features_to_parquet([fsdd / "0_theo_1.wav"], out=out, sr=8000, progress=False)
    options = read_manifest(out)["options"]
    assert (options["n_fft"], options["hop_length"], options["n_mels"]) == (256, 80, 40)
    summary = features_to_parquet([fsdd / "0_theo_1.wav"], out=out, sr=8000, n_fft=256, hop_length=80,
                                  n_mels=40, resume=True, progress=False)
    assert summary["shards_skipped"] == 1
