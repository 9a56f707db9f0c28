"""ONNX export: the whole model (feature layers included) in onnxruntime equals the Keras model
(jax, the artifact's own backend) within 1e-4 on real recordings, at batch 1 and 7; the
metadata; the command; refused overwrites; missing packages."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner

from tympan import io
from tympan.cli.main import cli, main
from tympan.errors import ArtifactError, AudioIOError, MissingDependencyError, ParameterError
from tympan.export import TOLERANCE, export_onnx
from tympan.pipeline.windowing import clips

if importlib.util.find_spec("torch") is None:  # torch is installed apart (Makefile, pyproject)
    pytest.skip("the ONNX export runs Keras on torch, which is not installed", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

HELD_OUT = [f"{digit}_theo_3" for digit in range(7)]  # a speaker none of the runs was trained on


def _windows(paths, artifact) -> np.ndarray:
    n, sr = artifact.config.audio.samples, artifact.config.audio.sr
    return np.concatenate([clips(io.load(p, sr=sr)[0], n) for p in paths]).astype(np.float32)


def _run_onnx(path, x) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["waveform"]
    return session.run(None, {"waveform": x})[0]


def _assert_equals_keras(path, artifact, x) -> float:
    """ONNX == Keras (within the tolerance) on ``x`` batched and on its first row alone."""
    keras_out = np.asarray(artifact.model.predict(x, verbose=0))
    batched, single = _run_onnx(path, x), _run_onnx(path, x[:1])
    assert batched.shape == keras_out.shape
    diff = float(np.abs(batched - keras_out).max())
    assert diff < TOLERANCE
    np.testing.assert_allclose(single, keras_out[:1], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(single, batched[:1], rtol=0, atol=1e-6)
    return diff


@pytest.fixture(scope="session")
def mel_export(mel_run, fsdd_recordings, tmp_path_factory):
    """The conv1d run exported with the command (a child process: this one runs jax):
    ``(file, what the command printed)``."""
    _, run = mel_run
    out = tmp_path_factory.mktemp("export-onnx") / "digits.onnx"
    result = CliRunner().invoke(cli, ["export", str(run), "--out", str(out), "--check-with",
                                      str(fsdd_recordings / "5_theo_0.wav")])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture
def mel_onnx(mel_export):
    return mel_export[0]


def test_command_exports_a_classifier_equal_to_keras(mel_run, mel_export, fsdd_recordings):
    artifact, _ = mel_run
    mel_onnx, printed = mel_export
    x = _windows([fsdd_recordings / f"{name}.wav" for name in HELD_OUT], artifact)
    assert x.shape == (7, 8000)
    _assert_equals_keras(mel_onnx, artifact, x)
    probs = _run_onnx(mel_onnx, x)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert f"wrote {mel_onnx}" in printed and "checked on 11 inputs: max |onnx - keras| = " in printed


def test_metadata_holds_what_a_runtime_needs(mel_run, mel_onnx):
    artifact, run = mel_run
    meta = {p.key: p.value for p in onnx.load(str(mel_onnx)).metadata_props}
    assert meta["exported_by"].startswith("tympan ")
    assert (meta["task"], int(meta["sr"]), float(meta["duration"]), int(meta["samples"])) == (
        "classification", 8000, 1.0, 8000)
    assert json.loads(meta["labels"]) == list(artifact.labels) == [str(d) for d in range(10)]
    assert json.loads(meta["windows"]) == json.loads((run / "pipeline.json").read_text())["windows"]
    assert float(meta["checked_max_abs_diff"]) < TOLERANCE
    graph = onnx.load(str(mel_onnx)).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a symbolic batch dimension
    assert {n.op_type for n in graph.node} >= {"DFT", "Cast", "Conv"}  # features inside, DFT in f64


def test_default_recipe_exports_equal_to_keras(default_run, fsdd_recordings, tmp_path):
    artifact, run = default_run
    assert artifact.config.model["name"] == "mlp" and artifact.config.features["kind"] == "mfcc"
    result = export_onnx(run, check_with=[fsdd_recordings / "7_theo_0.wav"])
    assert result.path == run / "model.onnx" and result.path.stat().st_size == result.size
    assert result.checked == 11 and result.max_abs_diff < TOLERANCE and result.dft_nodes == 1
    x = _windows([fsdd_recordings / f"{name}.wav" for name in HELD_OUT], artifact)
    _assert_equals_keras(result.path, artifact, x)


def test_separator_exports_equal_to_keras(separator_run, shared_data):
    """Spectrogram, masks and the inverse STFT (an inverse DFT) all in the graph."""
    artifact, run = separator_run
    result = export_onnx(run)
    assert result.dft_nodes == 2  # the STFT and its inverse
    noisy = shared_data / "noizeus" / "noisy"
    files = sorted(p for p in noisy.rglob("sp30_*.wav"))[:2]
    x = _windows(files, artifact)[:7]
    assert x.shape == (7, 4000)
    _assert_equals_keras(result.path, artifact, x)
    sources = _run_onnx(result.path, x)
    assert sources.shape == (7, 4000, 2)
    np.testing.assert_allclose(sources.sum(axis=-1), x, atol=1e-4)  # the sources add up to the input


def test_an_existing_file_is_replaced_only_if_asked_and_ours(mel_run, mel_onnx, tmp_path):
    _, run = mel_run
    before = mel_onnx.read_bytes()
    with pytest.raises(ArtifactError, match=r"digits\.onnx exists; pass overwrite=True"):
        export_onnx(run, out=mel_onnx)
    foreign = tmp_path / "other.onnx"
    foreign.write_bytes(b"someone else's model")
    with pytest.raises(ArtifactError, match=r"other\.onnx exists and was not written by tympan"):
        export_onnx(run, out=foreign, overwrite=True)
    assert foreign.read_bytes() == b"someone else's model" and mel_onnx.read_bytes() == before
    assert main(["export", str(run), "--out", str(foreign)]) == 1
    assert not list(tmp_path.glob(".*tmp"))


def test_bad_arguments_are_refused_before_any_export(mel_run, tmp_path):
    _, run = mel_run
    with pytest.raises(ArtifactError, match="no artifact at"):
        export_onnx(tmp_path / "missing")
    with pytest.raises(ParameterError, match="opset must be an integer >= 18, got 11"):
        export_onnx(run, opset=11)
    with pytest.raises(ParameterError, match=r"out must be a \.onnx file name, got '.*model\.keras'"):
        export_onnx(run, out=run / "model.keras", overwrite=True)
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    with pytest.raises(AudioIOError, match=r"notes\.wav"):
        export_onnx(run, out=tmp_path / "x.onnx", check_with=[text])
    assert not (tmp_path / "x.onnx").exists()


def test_missing_packages_name_the_extra(mel_run, monkeypatch, tmp_path, capsys):
    _, run = mel_run
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if not installed
    message = r'needs onnxscript, not installed: pip install "tympan\[onnx\]"'
    with pytest.raises(MissingDependencyError, match=message):
        export_onnx(run, out=tmp_path / "m.onnx")
    assert main(["export", str(run), "--out", str(tmp_path / "m.onnx")]) == 1
    assert 'error: ONNX export needs onnxscript' in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
