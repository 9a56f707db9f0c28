"""The config dataclasses of issue 19 (AugmentationConfig, MixingConfig), and pipeline.json
schema version 1 (augmentation settings flat among the model parameters) still loading."""

from __future__ import annotations

import json
import shutil

import pytest

from tympan import data, pipeline
from tympan.errors import ArtifactError, ParameterError
from tympan.models import AugmentationConfig
from tympan.models.augmentation import CONV1D, CONV1D_LSTM, CONV2D, WAVEFORM
from tympan.pipeline.artifact import PIPELINE_FILE, read_pipeline_json
from tympan.pipeline.config import SEPARATOR_TRAINING, MixingConfig
from tympan.pipeline.schema import SCHEMA_VERSION, V1_AUGMENTATION, migrate


# ------------------------------------------------------------------------ AugmentationConfig
def test_augmentation_round_trip():
    config = AugmentationConfig(noise_snr_db=[5, 30], freq_masks=2, time_masks=1)
    d = config.to_dict()
    assert d["noise_snr_db"] == [5.0, 30.0] and config.noise_snr_db == (5.0, 30.0)
    assert AugmentationConfig.from_dict(json.loads(json.dumps(d))) == config


def test_augmentation_from_dict_changes_only_the_fields_given():
    assert AugmentationConfig.from_dict({"freq_warp": 0.0}, base=CONV2D) == AugmentationConfig(
        freq_warp=0.0, freq_masks=1, freq_width=4, time_masks=1, time_width=8)


def test_model_defaults_are_the_augmentation_they_were():
    # the values each builder took as separate parameters before issue 19
    assert CONV1D.to_dict() == {"enabled": True, "gain_db": 6.0, "time_shift": 0.15,
                                "noise_snr_db": None, "time_stretch": 0.1, "freq_warp": 0.1,
                                "freq_masks": 0, "freq_width": 8, "time_masks": 0, "time_width": 10}
    assert (CONV1D_LSTM.time_stretch, CONV1D_LSTM.freq_warp, CONV1D_LSTM.enabled) == (0.0, 0.0, True)
    assert (CONV2D.freq_masks, CONV2D.freq_width, CONV2D.time_masks, CONV2D.time_width) == (1, 4, 1, 8)
    assert (WAVEFORM.enabled, WAVEFORM.time_shift, WAVEFORM.spectral) == (False, 0.1, False)


@pytest.mark.parametrize("values, match", [
    ({"enabled": "yes"}, "augmentation enabled must be True or False, got 'yes'"),
    ({"gain_db": -1}, "gain_db"),
    ({"time_shift": 1.0}, r"time_shift must be a fraction in \[0, 1\), got 1.0"),
    ({"freq_warp": -0.1}, "freq_warp"),
    ({"freq_masks": 1.5}, "freq_masks"),
    ({"noise_snr_db": 20}, "noise_snr_db must be None or \\(low, high\\) in dB, got 20"),
    ({"noise_snr_db": [30, 5]}, r"noise_snr_db must be \(low, high\) with low <= high, got \[30, 5\]"),
    ({"noise_snr_db": ["a", 5]}, "noise_snr_db must hold numbers, got 'a'"),
])
def test_augmentation_errors(values, match):
    with pytest.raises(ParameterError, match=match):
        AugmentationConfig(**values)


def test_augmentation_unknown_field():
    with pytest.raises(ParameterError, match=r"unknown augmentation setting\(s\) 'gain'; known: enabled"):
        AugmentationConfig.from_dict({"gain": 3})


def test_resolved_augmentation_is_recorded_in_full():
    from tympan import models

    params = models.resolve_params("conv1d", {"augmentation": {"freq_warp": 0.0}})
    assert params["augmentation"] == {**CONV1D.to_dict(), "freq_warp": 0.0}
    params = models.resolve_params("mlp", {"augmentation": AugmentationConfig(
        enabled=True, time_stretch=0.0, freq_warp=0.0)})
    assert params["augmentation"]["enabled"] is True and params["augmentation"]["time_shift"] == 0.15


# ---------------------------------------------------------------------------- MixingConfig
def test_mixing_round_trip():
    config = MixingConfig(held_out=["sp01"], snr_db=[0, 5], speed=(1, 1), by_length=False)
    d = json.loads(json.dumps(config.to_dict()))
    assert d["held_out"] == ["sp01"] and d["snr_db"] == [0.0, 5.0]
    assert MixingConfig.from_dict(d) == config


def test_mixing_defaults_are_the_separator_recipe():
    m = MixingConfig()
    assert m.held_out == tuple(f"sp{i}" for i in range(25, 31)) == data.mixing.HELD_OUT_SENTENCES
    assert (m.snr_db, m.gain_db, m.speed) == ((-5.0, 10.0), (-20.0, 0.0), (0.85, 1.15))
    assert (m.pair_fraction, m.by_length, m.pair_speed, m.examples_per_epoch) == (0.5, True, False, 1024)
    t = SEPARATOR_TRAINING
    assert (t.epochs, t.batch_size, t.learning_rate, t.early_stopping, t.validation_size) == (
        80, 16, 2e-3, None, 0.0)


@pytest.mark.parametrize("values, match", [
    ({"held_out": "sp25"}, "held_out must be a list of sentence ids such as 'sp25', got 'sp25'"),
    ({"snr_db": (10, -5)}, r"snr_db must be \(low, high\) with low <= high, got \(10, -5\)"),
    ({"gain_db": 3}, r"gain_db must be \(low, high\) numbers, got 3"),
    ({"speed": (0.1, 1.0)}, r"speed must be \(low, high\) factors with 0.5 <= low <= high <= 2"),
    ({"pair_fraction": 1.5}, r"pair_fraction must be in \[0, 1\], got 1.5"),
    ({"by_length": 1}, "by_length must be True or False, got 1"),
    ({"examples_per_epoch": 0}, "examples_per_epoch"),
])
def test_mixing_errors(values, match):
    with pytest.raises(ParameterError, match=match):
        MixingConfig(**values)


def test_mixing_unknown_field():
    with pytest.raises(ParameterError, match=r"unknown mixing settings: \['snr'\]"):
        MixingConfig.from_dict({"snr": [0, 5]})


# ------------------------------------------------------------------------ schema version 1
def _as_version_1(meta: dict) -> dict:
    """A current pipeline.json written as version 1 did: augmentation flat in ``model``."""
    meta = json.loads(json.dumps(meta))
    model = meta["model"]
    augmentation = model.pop("augmentation")
    back = {new: old for old, new in V1_AUGMENTATION.items()}
    model.update({back[k]: val for k, val in augmentation.items()})
    meta["schema_version"] = 1
    return meta


def test_current_artifacts_record_the_augmentation(trained):
    _, folder = trained
    meta = json.loads((folder / PIPELINE_FILE).read_text())
    assert meta["schema_version"] == SCHEMA_VERSION == 2
    assert meta["model"]["augmentation"] == {**CONV1D.to_dict(), "gain_db": 0.0, "time_shift": 0.0}
    assert not set(V1_AUGMENTATION) & set(meta["model"])


def test_migrate_version_1():
    v1 = {"schema_version": 1, "model": {"name": "conv1d", "filters": [8], "augment": False,
                                         "gain_db": 0.0, "noise_snr_db": [5, 30]}}
    out = migrate(v1)
    assert out["schema_version"] == 2
    assert out["model"] == {"name": "conv1d", "filters": [8],
                            "augmentation": {"enabled": False, "gain_db": 0.0, "noise_snr_db": [5, 30]}}
    assert "augment" in v1["model"]  # a copy: the caller's dict is not changed
    separator = {"schema_version": 1, "model": {"name": "separator", "sources": ["speech", "noise"]}}
    assert migrate(separator)["model"] == separator["model"]


def test_version_1_artifact_loads_and_predicts_the_same(trained, tmp_path, digits_dir):
    _, folder = trained
    old = tmp_path / "v1"
    shutil.copytree(folder, old)
    meta = json.loads((folder / PIPELINE_FILE).read_text())
    (old / PIPELINE_FILE).write_text(json.dumps(_as_version_1(meta), indent=2))
    assert json.loads((old / PIPELINE_FILE).read_text())["model"]["gain_db"] == 0.0

    assert read_pipeline_json(old)["model"] == meta["model"]  # migrated on reading
    files = sorted(digits_dir.glob("*_george_*.wav"))[:4]
    now = pipeline.predict(pipeline.load_artifact(folder), files)
    then = pipeline.predict(pipeline.load_artifact(old), files)
    assert all(p.ok for p in now) and [p.probabilities for p in then] == [p.probabilities for p in now]
    loaded = pipeline.load_artifact(old)
    assert loaded.config.model["augmentation"]["time_shift"] == 0.0
    # saved again, it is written in the current version
    pipeline.save_artifact(loaded, tmp_path / "again")
    assert json.loads((tmp_path / "again" / PIPELINE_FILE).read_text())["schema_version"] == 2


def test_bad_recorded_augmentation_is_named(trained, tmp_path):
    _, folder = trained
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    meta = json.loads((folder / PIPELINE_FILE).read_text())
    meta["model"]["augmentation"]["time_shift"] = 2.0
    (bad / PIPELINE_FILE).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"model\.augmentation: time_shift must be a fraction in "
                                            r"\[0, 1\), got 2\.0"):
        pipeline.load_artifact(bad)


def test_bad_recorded_mixing_is_named(trained, tmp_path):
    _, folder = trained
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    meta = json.loads((folder / PIPELINE_FILE).read_text())
    meta["split"]["mixing"] = {"snr_db": [10, -5]}
    (bad / PIPELINE_FILE).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"split\.mixing: snr_db must be \(low, high\) with low <= high"):
        read_pipeline_json(bad)
