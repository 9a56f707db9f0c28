"""Data-parallel training (TrainConfig.devices, keras.distribution.DataParallel on jax): the
same model trained with the same seed on one CPU device and on two virtual ones
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``, set before jax starts, so in a
subprocess) gives the same loss curve, and the second run's weights live on both devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tympan.errors import ParameterError

#: The largest difference between the two loss curves, measured: 2.4e-7 (this mlp; 1.2e-7 for
#: a conv1d on log-mel), float32 rounding of the batch's gradient summed in two halves across the
#: devices (docs/scale.md); the tolerance is ten times it.
TOLERANCE = 2.5e-6

RUN = r"""
import json, shutil, sys, tempfile
from pathlib import Path

from tympan import data, pipeline
from tympan.errors import ParameterError
folder = Path(tempfile.mkdtemp())
for p in sorted(data.demo_dir().glob("*.wav")):
    digit, speaker, take = p.stem.split("_")
    if speaker in ("jackson", "theo") and int(take) < 4 and int(digit) < 4:
        shutil.copy(p, folder / p.name)
model = {"name": "mlp", "hidden_units": [8], "dropout": 0.0}
found = {"labels_from": "regex", "pattern": "fsdd"}
out = {}
for devices in (None, 2):
    training = pipeline.TrainConfig(epochs=3, seed=1, batch_size=8, devices=devices,
                                    early_stopping=None)
    config = pipeline.PipelineConfig(model=model, features={"kind": "mean_mfcc"}, training=training)
    art = pipeline.train(folder, config, discovery=found, split="stratified", verbose=0,
                         progress=False)
    kernel = art.model.weights[-1].value
    out[str(devices)] = {"loss": art.history["loss"], "val_loss": art.history["val_loss"],
                                  "devices": len(kernel.sharding.device_set),
                                  "n_train": art.metrics["n_train"]}
errors = []
from tympan.pipeline import driver
for devices, batch in ((2, 7), (3, 8)):
    try:
        with driver.distributed(pipeline.TrainConfig(batch_size=batch, devices=devices)):
            pass
    except ParameterError as exc:
        errors.append(str(exc))
out["errors"] = errors
print(json.dumps(out))
"""


def _python(code: str, **env) -> subprocess.CompletedProcess:
    src = Path(__file__).resolve().parents[2] / "src"
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
               "TYMPAN_JAX_CACHE": "off", **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ,
                          timeout=300)


def test_two_devices_give_the_loss_curve_of_one():
    done = _python(RUN, KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    one, two = out["None"], out["2"]
    assert one["devices"] == 1 and two["devices"] == 2  # the weights replicated on both devices
    assert one["n_train"] == two["n_train"] == 22  # even: no example left out for two devices
    for key in ("loss", "val_loss"):
        assert len(one[key]) == len(two[key]) == 3
        assert max(abs(a - b) for a, b in zip(one[key], two[key], strict=True)) < TOLERANCE
    assert one["loss"][-1] < one["loss"][0]  # it learns
    assert out["errors"][0].startswith("batch_size 7 must be a multiple of the 2 devices of devices=2")
    assert out["errors"][1].startswith("devices=3 (--devices) asks for more devices than the 2 visible")


def test_devices_need_the_jax_backend(monkeypatch):
    import keras

    from tympan.pipeline import TrainConfig, driver

    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(ParameterError, match=r"devices=2 \(--devices\) needs the jax backend, "
                       "Keras runs on 'torch'"), driver.distributed(TrainConfig(devices=2)):
        pass


def test_no_devices_changes_nothing():
    from tympan.pipeline import TrainConfig, driver

    with driver.distributed(TrainConfig()) as n:
        assert n == 1 and driver.device_count() == 1


def test_train_devices_beyond_the_visible_ones_is_one_clean_line(tmp_path):
    import shutil

    from click.testing import CliRunner

    from tympan import data
    from tympan.cli.main import cli

    for path in sorted(data.demo_dir().glob("*_jackson_[0-1].wav"))[:8]:
        shutil.copy(path, tmp_path / path.name)
    result = CliRunner().invoke(cli, ["train", str(tmp_path), "--labels-from", "regex", "--pattern",
                                      "fsdd", "--split", "stratified", "--devices", "64", "--out",
                                      str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "error: devices=64 (--devices) asks for more devices than the 1 visible" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()
    result = CliRunner().invoke(cli, ["train", str(tmp_path), "--devices", "two", "--out",
                                      str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "error: devices must be a number of devices or 'all', got 'two'" in result.output


def test_multi_host_variables_start_keras_distribution_once(monkeypatch):
    import keras

    from tympan.pipeline import TrainConfig, driver

    calls = []
    monkeypatch.setattr(keras.distribution, "initialize", lambda: calls.append(1))
    monkeypatch.setattr(driver._start_multi_host, "done", False, raising=False)
    with driver.distributed(TrainConfig(devices=1)) as n:  # no variables: not started
        assert n == 1 and driver.device_count() == 1
    assert calls == []
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "10.0.0.1:1234")
    for _ in range(2):
        with driver.distributed(TrainConfig(devices=1)):
            pass
    assert calls == [1]
