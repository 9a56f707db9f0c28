"""Separators continued from an artifact (``init``) and averaged (``combine_separators``,
``TrainConfig.ensemble``): weights carried over, new mixtures, honest held-out sentences,
sources that still add back to the mixture, save/load equality, errors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tympan import pipeline
from tympan.data.mixing import MixtureSampler
from tympan.errors import ParameterError
from tympan.pipeline.mixture_batches import MixtureBatches

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

CONFIG = pipeline.PipelineConfig(
    audio=pipeline.AudioConfig(sr=8000, duration=0.25),
    model={"name": "separator", "filters": 8, "depth": 1, "kernel_sizes": [3], "spectral": [4]},
    training=pipeline.TrainConfig(epochs=1, batch_size=4, validation_size=0.0))
QUIET = {"examples_per_epoch": 8, "verbose": 0, "progress": False}


def _training(**changes) -> pipeline.PipelineConfig:
    return dataclasses.replace(CONFIG, training=dataclasses.replace(CONFIG.training, **changes))


@pytest.fixture(scope="module")
def base(noizeus, tmp_path_factory):
    out = tmp_path_factory.mktemp("sep-ens") / "base"
    pipeline.train_separator(pairs=noizeus, config=CONFIG, held_out=["sp30"], out=out, **QUIET)
    return out


@pytest.fixture(scope="module")
def continued(noizeus, base):
    """``base`` trained one more epoch at a learning rate too small to move the weights."""
    before = (base / "pipeline.json").read_bytes()
    art = pipeline.train_separator(pairs=noizeus, config=_training(learning_rate=1e-12),
                                   held_out=["sp30"], init=base, measure=False, **QUIET)
    assert (base / "pipeline.json").read_bytes() == before  # init is not changed
    return art


@pytest.fixture(scope="module")
def mixture():
    return np.random.default_rng(7).standard_normal(5000).astype(np.float32) * 0.1


def test_init_starts_from_the_weights_and_carries_the_history_on(base, continued, mixture):
    start = pipeline.load_artifact(base)
    assert continued.metrics["epochs_run"] == 1 and continued.metrics["epochs_total"] == 2
    assert continued.metrics["init"]["path"] == str(base) and continued.metrics["init"]["epochs"] == 1
    assert continued.history["loss"][0] == start.history["loss"][0]
    assert len(continued.history["loss"]) == 2
    assert continued.config.model == start.config.model  # init's recipe, not CONFIG's
    a = pipeline.separate(start, mixture, 8000)["speech"]
    b = pipeline.separate(continued, mixture, 8000)["speech"]
    np.testing.assert_allclose(b, a, atol=1e-5)


def test_a_continued_run_draws_new_mixtures():
    rng = np.random.default_rng(0)
    speech, noise = [rng.standard_normal(4000).astype(np.float32)], [rng.standard_normal(4000)]
    sampler = MixtureSampler(samples=1000, speech=speech, noise=noise, seed=3)
    later = MixtureBatches(sampler, batch_size=2, steps=1, epoch=5)
    x, _ = later[0]
    np.testing.assert_array_equal(x, sampler.batch(2, epoch=5, index=0)[0])
    assert not np.allclose(x, MixtureBatches(sampler, batch_size=2, steps=1)[0][0])
    later.on_epoch_end()
    np.testing.assert_array_equal(later[0][1], sampler.batch(2, epoch=6, index=0)[1])
    with pytest.raises(ParameterError, match="epoch must be a non-negative integer, got -1"):
        MixtureBatches(sampler, batch_size=2, steps=1, epoch=-1)


def test_init_refuses_to_hold_out_sentences_it_trained_on(noizeus, base, tmp_path):
    with pytest.raises(ParameterError, match=r"was trained on \['sp01'\], which are held out"):
        pipeline.train_separator(pairs=noizeus, held_out=["sp01"], init=base,
                                 out=tmp_path / "never", **QUIET)
    assert not (tmp_path / "never").exists()


def test_combined_sources_are_the_members_average_and_add_back(noizeus, base, continued,
                                                               mixture, tmp_path):
    out = tmp_path / "avg"
    avg = pipeline.combine_separators([base, continued], pairs=noizeus, out=out)
    assert avg.split["held_out"] == ["sp30"] and avg.metrics["test"]["mean"]["n"] == 32
    assert [m["path"] for m in avg.metrics["members"]] == [str(base), None]
    members = [pipeline.separate(m, mixture, 8000) for m in (base, continued)]
    parts = pipeline.separate(out, mixture, 8000)  # saved and loaded again
    for name in ("speech", "noise"):
        np.testing.assert_allclose(parts[name], (members[0][name] + members[1][name]) / 2,
                                   atol=1e-6)
    np.testing.assert_allclose(parts["speech"] + parts["noise"], mixture, atol=1e-5)
    meta = json.loads((out / "pipeline.json").read_text())
    assert len(meta["model"]["members"]) == 2 and meta["task"] == "separation"
    with pytest.raises(ParameterError, match="is an ensemble of separators"):
        pipeline.train_separator(pairs=noizeus, init=out, **QUIET)


def test_combine_errors(base, continued, tmp_path):
    with pytest.raises(ParameterError, match="needs two or more separators"):
        pipeline.combine_separators([base])
    other = dataclasses.replace(continued, config=dataclasses.replace(
        continued.config, audio=pipeline.AudioConfig(sr=16000, duration=0.125)))
    with pytest.raises(ParameterError, match=r"share their sample rate: .*base has 8000.* has 16000"):
        pipeline.combine_separators([base, other], out=tmp_path / "never")
    relabelled = dataclasses.replace(continued, labels=("voice", "rest"))
    with pytest.raises(ParameterError, match=r"share their sources"):
        pipeline.combine_separators([base, relabelled])
    assert not (tmp_path / "never").exists()


def test_training_ensemble_trains_seeded_members_and_averages_them(noizeus, base, mixture):
    art = pipeline.train_separator(pairs=noizeus, config=_training(ensemble=2), held_out=["sp30"],
                                   measure=False, **QUIET)
    assert [m.name for m in art.model.layers[1:3]] == ["member0", "member1"]
    assert len(art.metrics["members"]) == 2 and "test" not in art.metrics
    # member 0 is the seed-0 separator trained as ``base`` was; member 1 another one
    x = mixture[None, :2000]
    alone = pipeline.load_artifact(base).model.predict(x, verbose=0)
    members = [art.model.get_layer(f"member{k}").predict(x, verbose=0) for k in (0, 1)]
    np.testing.assert_allclose(members[0], alone, atol=1e-5)
    assert not np.allclose(members[1], alone, atol=1e-3)
    np.testing.assert_allclose(art.model.predict(x, verbose=0), (members[0] + members[1]) / 2,
                               atol=1e-6)
    with pytest.raises(ParameterError, match="init continues one separator"):
        pipeline.train_separator(pairs=noizeus, config=_training(ensemble=2), init=base, **QUIET)
