"""Tampered and replaced artifacts: every bad pipeline.json / model.keras / history.json is a
clean ArtifactError naming the file and the field; a save replaces only tympan's files, never
leaves the path without a complete artifact, and never deletes a user's file."""

from __future__ import annotations

import json
import os
import shutil
import warnings
import zipfile

import numpy as np
import pytest
import soundfile as sf

from tympan import pipeline
from tympan.cli.main import main
from tympan.errors import ArtifactError, InputWarning
from tympan.pipeline import artifact as art
from tympan.pipeline import folder_swap


def _artifact(labels=("a", "b", "c"), metrics=None):
    """A small untrained classifier (mlp on mean MFCCs, 0.25 s at 8 kHz): the mechanics of
    saving and loading need no training."""
    from tympan import models
    from tympan.pipeline.train import resolve_config

    config = resolve_config(pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=8000, duration=0.25), model={"name": "mlp", "hidden_units": [8]}))
    params = {k: v for k, v in config.model.items() if k != "name"}
    model = models.build_model("mlp", input_samples=config.audio.samples, sr=8000,
                               n_classes=len(labels), features=config.features, **params)
    return art.Artifact(model=model, config=config, labels=tuple(labels), metrics=metrics or {},
                        history={"loss": [1.0, 0.5]}, info=art.runtime_info())


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(artifact folder, a second artifact of other labels) written once for the module."""
    root = tmp_path_factory.mktemp("artifacts")
    first = art.save_artifact(_artifact(metrics={"version": "old"}), root / "old")
    second = _artifact(labels=("x", "y"), metrics={"version": "new"})
    return first, second


@pytest.fixture
def run(saved, tmp_path):
    """A fresh copy of the saved artifact, at tmp_path / 'run'."""
    return shutil.copytree(saved[0], tmp_path / "run")


def _edit(folder, change):
    file = folder / "pipeline.json"
    meta = json.loads(file.read_text())
    change(meta)
    file.write_text(json.dumps(meta))


# --- pipeline.json against the schema -------------------------------------------------------

def _set(path, value):
    def change(meta):
        *parents, last = path.split(".")
        node = meta
        for key in parents:
            node = node[key]
        node[last] = value
    return change


def _drop(key):
    return lambda meta: meta.pop(key)


TAMPERED = [
    ("labels_int", _set("labels", 5), r"labels must be a list, got 5"),
    ("labels_missing", _drop("labels"), r"required field 'labels' is missing"),
    ("labels_duplicate", _set("labels", ["a", "a", "b"]), r"labels must be unique.*'a' appears twice"),
    ("labels_not_strings", _set("labels", ["a", 2, "c"]), r"labels\[1\] must be a non-empty string, got 2"),
    ("audio_missing", _drop("audio"), r"required field 'audio' is missing"),
    ("features_missing", _drop("features"), r"required field 'features' is missing"),
    ("model_missing", _drop("model"), r"required field 'model' is missing"),
    ("task_unknown", _set("task", "regression"), r"task must be one of .*got 'regression'"),
    ("sr_string", _set("audio.sr", "8000"), r"audio\.sr must be an integer or null, got '8000'"),
    ("sr_negative", _set("audio.sr", -8000), r"audio\.sr must be a positive integer, got -8000"),
    ("duration_nan", _set("audio.duration", float("nan")), r"audio\.duration must be a positive number"),
    ("audio_unknown_key", _set("audio.gain", 2), r"audio\.gain must be absent"),
    ("training_type", _set("training.validation_size", "0.2"), r"training\.validation_size must be a number"),
    ("windows_choice", _set("windows.combine", "median"), r"windows\.combine must be one of"),
    ("input_shape", _set("input.shape", [4000]),
     r"input\.shape must be \[audio\.sr \* audio\.duration\] = \[2000\]"),
    ("model_name_type", _set("model.name", 7), r"model\.name must be a string, got 7"),
    ("model_empty", _set("model", {}), r"model\.name must be a string, got None"),
    ("empty_object", lambda meta: meta.clear(), r"no integer schema_version"),
    ("schema_newer", _set("schema_version", 99), r"schema_version 99, newer than this tympan"),
    ("schema_zero", _set("schema_version", 0), r"unknown schema_version 0"),
]


@pytest.mark.parametrize("case, change, match", TAMPERED, ids=[c[0] for c in TAMPERED])
def test_tampered_pipeline_json_is_refused_naming_file_and_field(run, case, change, match):
    _edit(run, change)
    with pytest.raises(ArtifactError, match=match) as info:
        art.read_pipeline_json(run)
    assert str(run / "pipeline.json") in str(info.value)


def test_sr_changed_for_the_model_is_refused(run):
    """8000 -> 16000 with the input shape edited to match: only the model can tell."""
    _edit(run, _set("audio.sr", 16000))
    _edit(run, _set("input.shape", [4000]))
    with pytest.raises(ArtifactError, match=r"audio\.sr 16000 x audio\.duration 0\.25 s = 4000 samples"
                                            r".*takes input of shape \(None, 2000\)"):
        art.load_artifact(run)


def test_labels_not_matching_the_model_outputs_are_refused(run):
    _edit(run, _set("labels", ["a", "b", "c", "d"]))
    with pytest.raises(ArtifactError, match=r"labels lists 4 classes .* the model gives 3"):
        art.load_artifact(run)


def test_feature_recipe_is_checked_by_the_front_end(run):
    _edit(run, _set("features.n_fft", -1))
    with pytest.raises(ArtifactError, match=r"pipeline\.json: features: n_fft must be a positive "
                                            r"integer, got -1"):
        art.load_artifact(run)


def test_model_of_another_task_is_refused(run):
    _edit(run, _set("model.name", "autoencoder"))
    with pytest.raises(ArtifactError, match=r"task must be 'reconstruction', the task of model"):
        art.load_artifact(run)


@pytest.mark.parametrize("text, match", [
    ("[" * 100_000 + "]" * 100_000, r"nested too deeply"),
    ("[1, 2]", r"top level must be an object, got list"),
    ('{"schema_version": 1,', r"cannot read .*pipeline\.json"),
    ("\udcff".encode("utf-8", "surrogatepass"), r"cannot read .*pipeline\.json"),
], ids=["deep", "list", "truncated", "not_utf8"])
def test_unreadable_pipeline_json_is_refused(run, text, match):
    file = run / "pipeline.json"
    file.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ArtifactError, match=match):
        art.load_artifact(run)


# --- model.keras and history.json ----------------------------------------------------------

def _rewrite_model(folder, change):
    file = folder / "model.keras"
    with zipfile.ZipFile(file) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    config = json.loads(parts["config.json"])
    change(config)
    parts["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(file, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_corrupt_model_is_named_corrupt(run):
    (run / "model.keras").write_bytes(b"not a zip at all")
    with pytest.raises(ArtifactError, match=r"model\.keras: model\.keras is corrupt \(not a Keras archive"):
        art.load_artifact(run)


def test_truncated_model_is_named_corrupt(run):
    data = (run / "model.keras").read_bytes()
    (run / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match=r"model\.keras is corrupt"):
        art.load_artifact(run)


def test_lambda_layer_is_refused(run):
    def to_lambda(config):
        layer = config["config"]["layers"][-1]
        layer.update(class_name="Lambda", module="keras.layers",
                     config={"name": layer["config"]["name"], "function": {
                         "class_name": "__lambda__", "config": {"code": "AAAA", "defaults": None,
                                                               "closure": None}}})
    _rewrite_model(run, to_lambda)
    with pytest.raises(ArtifactError, match=r"model\.keras: refused to load a model with a Lambda layer"):
        art.load_artifact(run)


def test_class_from_os_is_refused(run):
    def to_os(config):
        config["config"]["layers"][-1].update(module="os", class_name="system")
    _rewrite_model(run, to_os)
    with pytest.raises(ArtifactError, match=r"model\.keras: refused to load class 'system' from module 'os'"):
        art.load_artifact(run)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"loss": 3}', "[" * 100_000])
def test_corrupt_history_only_warns(run, text):
    (run / "history.json").write_text(text)
    with pytest.warns(InputWarning, match=r"ignored .*history\.json"):
        loaded = art.load_artifact(run)
    assert loaded.history == {} and loaded.labels == ("a", "b", "c")


def test_cli_predict_on_tampered_artifact_is_one_line(run, tmp_path, capsys):
    wav = tmp_path / "clip.wav"
    sf.write(wav, np.zeros(2000, dtype=np.float32) + 0.1 * np.sin(np.arange(2000)), 8000)
    _edit(run, _set("labels", 5))
    rc = main(["predict", str(run), str(wav)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert str(run / "pipeline.json") in err and "labels must be a list, got 5" in err


# --- overwriting ---------------------------------------------------------------------------

def test_overwrite_keeps_user_files(run, saved):
    (run / "notes.txt").write_text("my notes")
    (run / "results").mkdir()
    (run / "results" / "eval.csv").write_text("file,label\n")
    os.symlink("notes.txt", run / "link")
    art.save_artifact(saved[1], run, overwrite=True)
    assert (run / "notes.txt").read_text() == "my notes"
    assert (run / "results" / "eval.csv").read_text() == "file,label\n"
    assert os.readlink(run / "link") == "notes.txt"
    assert art.load_artifact(run).labels == ("x", "y")
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]  # no hidden folder left


def test_overwrite_removes_stale_tympan_files(run, saved):
    (run / "confusion.png").write_bytes(b"old figure")  # written by tympan: the new save has none
    (run / "model.onnx").write_bytes(b"an export of the old model.keras")
    art.save_artifact(saved[1], run, overwrite=True)
    assert not (run / "confusion.png").exists()
    assert not (run / "model.onnx").exists()


def test_non_artifact_folder_is_refused_even_with_overwrite(tmp_path, saved):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pipeline.json").write_text('{"stages": []}')
    (folder / "main.py").write_text("code")
    with pytest.raises(ArtifactError, match=r"is not a tympan artifact .*schema_version"):
        art.save_artifact(saved[1], folder, overwrite=True)
    with pytest.raises(ArtifactError, match=r"is not a tympan artifact"):
        art.check_destination(folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["main.py", "pipeline.json"]
    assert (folder / "main.py").read_text() == "code"


def test_cli_train_overwrite_refuses_non_artifact(tmp_path, capsys):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pipeline.json").write_text('{"stages": []}')
    (folder / "main.py").write_text("code")
    (tmp_path / "data").mkdir()
    rc = main(["train", str(tmp_path / "data"), "--out", str(folder), "--overwrite"])
    err = capsys.readouterr().err
    assert rc == 1 and "is not a tympan artifact" in err and err.count("\n") == 1
    assert (folder / "main.py").read_text() == "code"


def test_recovery_of_a_copy_hidden_by_an_interrupted_save(run):
    hidden = folder_swap.old_name(run, pid=2**22 + 12345)  # a process that is gone
    os.rename(run, hidden)
    with pytest.warns(RuntimeWarning, match=r"recovered it from \.run\.old-"):
        loaded = art.load_artifact(run)
    assert loaded.labels == ("a", "b", "c") and not hidden.exists()


def _state(run):
    """'old' or 'new': which complete artifact is at ``run`` (loading it must work)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return art.load_artifact(run).metrics["version"]


class _Interrupt:
    """Raise KeyboardInterrupt at the k-th file-system step of a save (``crash``: and at every
    step after it, as if the process were killed: no clean-up runs)."""

    NAMES = ("rename", "link", "unlink", "rmdir", "mkdir", "symlink", "chmod")

    def __init__(self, monkeypatch, k, crash):
        self.k, self.crash, self.calls = k, crash, 0
        for name in self.NAMES:
            monkeypatch.setattr(folder_swap.os, name, self._wrap(getattr(os, name)))
        monkeypatch.setattr(folder_swap, "exchange", self._wrap(folder_swap.exchange))

    def _wrap(self, fn):
        def step(*args, **kwargs):
            self.calls += 1
            if self.calls == self.k or (self.crash and self.calls > self.k):
                raise KeyboardInterrupt
            return fn(*args, **kwargs)
        return step


@pytest.mark.parametrize("crash", [False, True], ids=["interrupt", "crash"])
@pytest.mark.parametrize("has_exchange", [True, False], ids=["exchange", "two-renames"])
def test_interrupt_at_every_step_leaves_a_complete_artifact(saved, tmp_path, monkeypatch, crash,
                                                            has_exchange):
    if not has_exchange:
        monkeypatch.setattr(folder_swap, "_renameat2", False)
    new = saved[1]
    for k in range(1, 100):
        run = shutil.copytree(saved[0], tmp_path / f"k{k}" / "run")
        (run / "notes.txt").write_text("mine")
        (run / "sub").mkdir()
        (run / "sub" / "deep.txt").write_text("deep")
        with monkeypatch.context() as patch:
            hook = _Interrupt(patch, k, crash)
            try:
                art.save_artifact(new, run, overwrite=True)
                interrupted = False
            except KeyboardInterrupt:
                interrupted = True
        assert _state(run) in ("old", "new"), f"step {k}"
        assert (run / "notes.txt").read_text() == "mine", f"step {k}"
        assert (run / "sub" / "deep.txt").read_text() == "deep", f"step {k}"
        if not crash and interrupted:  # the clean-up ran: nothing hidden is left beside it
            assert sorted(p.name for p in run.parent.iterdir()) == ["run"], f"step {k}"
        if not interrupted:
            assert _state(run) == "new" and hook.calls < k
            break
    else:
        pytest.fail("the save never completed")
    assert k > 5  # the steps were really interrupted one by one


def test_overwrite_without_hard_links_copies_user_files(run, saved, monkeypatch):
    (run / "results").mkdir()
    (run / "results" / "eval.csv").write_text("file,label\n")

    def no_links(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(folder_swap.os, "link", no_links)
    art.save_artifact(saved[1], run, overwrite=True)
    assert (run / "results" / "eval.csv").read_text() == "file,label\n"
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]


def test_failing_write_is_an_artifact_error_and_keeps_the_old(run, saved, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saved[1].model, "save", full)
    with pytest.raises(ArtifactError, match=r"cannot write the artifact .*run: .*No space left"):
        art.save_artifact(saved[1], run, overwrite=True)
    assert _state(run) == "old" and sorted(p.name for p in run.parent.iterdir()) == ["run"]


def test_keras_functions_named_in_the_file_still_load(tmp_path):
    """Keras writes its own functions (a compiled loss) as module 'builtins', class 'function':
    not refused as a foreign class."""
    import keras

    artifact = _artifact()
    artifact.model.compile(optimizer="adam", loss=keras.losses.sparse_categorical_crossentropy)
    folder = art.save_artifact(artifact, tmp_path / "compiled")
    assert b'"builtins"' in zipfile.ZipFile(folder / "model.keras").read("config.json")
    assert art.load_artifact(folder).labels == ("a", "b", "c")


# --- a save killed outright (SIGKILL): its hidden folder is cleared by the next load or save ---

_KILLED_SAVE = """
import os, signal, sys
from pathlib import Path
from tympan.artifact_files import ARTIFACT_FILES
from tympan.pipeline import folder_swap

def kill(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def fill(folder):  # the new artifact: a copy of the old one
    for name in ("model.keras", "pipeline.json"):
        (folder / name).write_bytes((Path(sys.argv[1]) / name).read_bytes())
        if sys.argv[2] == "fill":
            kill()

if sys.argv[2] == "swapped":  # after the exchange, while the old folder is being emptied
    folder_swap._clear = kill
elif sys.argv[2] == "carried":  # the user's files linked into the new folder, before the swap
    folder_swap.exchange = kill
folder_swap.replace_folder(Path(sys.argv[1]), fill, owned=ARTIFACT_FILES)
"""


def _killed_save(run, when):
    import signal
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(run), when], capture_output=True,
                          timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    hidden = [p.name for p in run.parent.iterdir() if p.name != "run"]
    assert len(hidden) == 1 and hidden[0].startswith(".run.tmp-"), hidden  # what it left


@pytest.mark.parametrize("when", ["fill", "carried", "swapped"])
@pytest.mark.parametrize("next_step", ["load", "save"])
def test_a_killed_save_leaves_nothing_behind_after_the_next(run, saved, when, next_step, monkeypatch):
    monkeypatch.setattr(folder_swap, "STALE_AFTER", 0.0)  # killed just now
    (run / "notes.txt").write_text("mine")
    (run / "sub").mkdir()
    (run / "sub" / "deep.txt").write_text("deep")
    _killed_save(run, when)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # all it holds is tympan's or at run
        if next_step == "load":
            art.read_pipeline_json(run)
        else:
            art.save_artifact(saved[1], run, overwrite=True)
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]
    assert (run / "notes.txt").read_text() == "mine" and (run / "sub" / "deep.txt").read_text() == "deep"
    assert art.load_artifact(run).labels == (("a", "b", "c") if next_step == "load" else ("x", "y"))


def test_only_stale_folders_of_tympans_own_names_are_cleared(run, monkeypatch):
    monkeypatch.setattr(folder_swap, "STALE_AFTER", 0.0)  # killed just now
    _killed_save(run, "carried")
    [stale] = [p for p in run.parent.iterdir() if p.name != "run"]
    (stale / "added.txt").write_text("written there meanwhile")  # not at run: kept, and said so
    dead = stale.name.split("-")[1]
    others = {f".run.tmp-{dead}-notes": "dir", f".run.tmp-{os.getppid()}-abcdefgh": "dir",
              f".run.tmp-{dead}-abcdefg": "dir", f".runs.tmp-{dead}-abcdefgh": "dir",
              f"run.tmp-{dead}-abcdefgh": "dir", f".run.tmp-{dead}-abcdefgi": "file",
              f".run.old-{dead}x": "dir"}
    for name, kind in others.items():
        if kind == "dir":
            (run.parent / name).mkdir()
            (run.parent / name / "pipeline.json").write_text("{}")
        else:
            (run.parent / name).write_text("a file")
    with pytest.warns(RuntimeWarning, match=rf"kept {stale}: it holds files that are not the same"):
        art.read_pipeline_json(run)
    assert sorted(p.name for p in stale.iterdir()) == ["added.txt"]  # tympan's own files gone
    for name in others:
        assert (run.parent / name).exists(), name
    assert folder_swap.remove_stale(run, owned=art.ARTIFACT_FILES) == []


def test_a_save_killed_while_writing_a_figure_is_cleared_too(run, monkeypatch):
    """The half-written figure (tympan.atomic's temporary file) in the hidden folder is tympan's:
    the folder goes, with no warning, at the next load."""
    monkeypatch.setattr(folder_swap, "STALE_AFTER", 0.0)  # killed just now
    from tympan.atomic import temporary_name

    _killed_save(run, "carried")
    [stale] = [p for p in run.parent.iterdir() if p.name != "run"]
    half = temporary_name(stale / "curves.png")
    half.write_bytes(b"\x89PNG half")
    mine = stale / ".notes.txt.123.0badf00d.tmp"  # the same form, but no file tympan writes
    mine.write_text("a user's")
    with pytest.warns(RuntimeWarning, match=rf"kept {stale}"):
        art.read_pipeline_json(run)
    assert sorted(p.name for p in stale.iterdir()) == [mine.name]
    mine.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        art.read_pipeline_json(run)
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]


def test_a_hidden_folder_still_changing_is_left_to_its_save(run, monkeypatch):
    """A process id means nothing on another host: a save there (a shared volume) writes into its
    folder all along.  Only a folder unchanged for STALE_AFTER seconds is a killed save's."""
    import time

    _killed_save(run, "carried")
    [stale] = [p for p in run.parent.iterdir() if p.name != "run"]
    assert folder_swap.remove_stale(run, owned=art.ARTIFACT_FILES) == []  # just written
    assert stale.is_dir()
    later = time.time() + folder_swap.STALE_AFTER + 60  # (os.utime cannot age a change time)
    monkeypatch.setattr(folder_swap.time, "time", lambda: later)
    assert folder_swap.remove_stale(run, owned=art.ARTIFACT_FILES) == [stale]
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]
