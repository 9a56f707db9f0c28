"""``tympan serve --runtime onnx``: the served answers equal the Keras runtime's (within 1e-4),
the process never imports Keras or jax, and a missing or stale ``model.onnx`` stops the start
with one line naming the file and ``tympan export``."""

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
from fastapi.testclient import TestClient

import tympan
from tympan.cli.main import cli
from tympan.errors import ArtifactError
from tympan.runtime import OnnxModel
from tympan.serve import create_app

if importlib.util.find_spec("torch") is None:  # torch is installed apart (Makefile, pyproject)
    pytest.skip("the ONNX export runs Keras on torch, which is not installed", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def uploads(fsdd_recordings, tmp_path_factory):
    """Three held-out clips and a file of ten clips end to end (several windows)."""
    files = [fsdd_recordings / f"{digit}_theo_3.wav" for digit in (1, 4, 8)]
    long_file = tmp_path_factory.mktemp("serve-onnx") / "long.wav"
    sf.write(long_file, np.concatenate([sf.read(fsdd_recordings / f"{d}_theo_4.wav", dtype="float32")[0]
                                        for d in range(10)]), 8000)
    return [*files, long_file]


def _answers(app, files):
    with TestClient(app) as c:
        assert app.state.models["mel"].runner.ready.wait(120)
        out = []
        for f in files:
            r = c.post("/predict", files={"file": (f.name, f.read_bytes())})
            assert r.status_code == 200, r.text
            out.append(r.json())
    return out


def test_served_onnx_equals_served_keras(onnx_run, uploads):
    app = create_app([onnx_run], runtime="onnx")
    assert isinstance(app.state.models["mel"].artifact.model, OnnxModel)
    onnx, keras = _answers(app, uploads), _answers(create_app([onnx_run]), uploads)
    assert len(keras[-1]["segments"]) >= 4
    for o, k in zip(onnx, keras, strict=True):
        assert (o["source"], o["label"], o["duration"], o["flags"]) == (k["source"], k["label"],
                                                                         k["duration"], k["flags"])
        np.testing.assert_allclose(list(o["probabilities"].values()), list(k["probabilities"].values()),
                                   atol=TOLERANCE, rtol=0)
        assert [s["label"] for s in o["segments"]] == [s["label"] for s in k["segments"]]
        np.testing.assert_allclose([s["probabilities"] for s in o["segments"]],
                                   [s["probabilities"] for s in k["segments"]],
                                   atol=TOLERANCE, rtol=0)


def test_serving_process_never_imports_keras(onnx_run, uploads):
    """A fresh process builds the onnx application, warms it up and answers a request: no keras,
    jax or torch in sys.modules afterwards."""
    code = ("import json, sys\nfrom fastapi.testclient import TestClient\n"
            "from tympan.serve import create_app\n"
            f"app = create_app([{str(onnx_run)!r}], runtime='onnx')\n"
            "with TestClient(app) as c:\n"
            "    assert app.state.models['mel'].runner.ready.wait(120)\n"
            f"    r = c.post('/predict', content=open({str(uploads[0])!r}, 'rb').read())\n"
            "    print(json.dumps(r.json()))\n"
            "print('MODULES', sorted(m for m in ('keras', 'jax', 'torch', 'tensorflow', 'onnxruntime')"
            " if m in sys.modules))\n")
    src = str(Path(tympan.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "MODULES ['onnxruntime']" in done.stdout
    answer = json.loads(done.stdout.split("MODULES")[0])
    assert answer["label"] == _answers(create_app([onnx_run]), uploads[:1])[0]["label"]


def test_missing_or_stale_model_onnx_stops_the_start(onnx_run, tmp_path):
    run = tmp_path / "mel"
    shutil.copytree(onnx_run, run)
    with open(run / "model.keras", "ab") as f:  # retrained since the export
        f.write(b"\0")
    with pytest.raises(ArtifactError, match=r"exported from another model\.keras"):
        create_app([run], runtime="onnx")
    result = CliRunner().invoke(cli, ["serve", str(run), "--runtime", "onnx"])
    assert result.exit_code == 1 and f"tympan export {run}" in result.output
    assert "model.onnx" in result.output and "Traceback" not in result.output
    (run / "model.onnx").unlink()
    result = CliRunner().invoke(cli, ["serve", str(run), "--runtime", "onnx"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert "has no model.onnx" in line and f"tympan export {run}" in line
