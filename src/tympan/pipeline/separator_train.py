"""Train a source separator (the separation task, :data:`tympan.pipeline.separate.SEPARATION`).

:func:`train_separator` fits the ``separator`` model on noisy/clean pairs (a NOIZEUS-style
folder) and on speech + noise mixed on the fly at random SNRs, holding out whole sentences
(default NOIZEUS sp25-sp30, in every noise condition), through :mod:`tympan.pipeline.driver`;
validation is whole sentences too.  An ensemble is its members trained apart and combined by
:func:`tympan.pipeline.separator_ensemble.combine_separators`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan.data.loading import progress_bar
from tympan.data.mixing import (
    MixtureSampler,
    load_pair,
    noizeus_pairs,
    sentence_id,
    speed_range,
)
from tympan.errors import ParameterError
from tympan.pipeline import driver
from tympan.pipeline.artifact import Artifact, check_destination, runtime_info
from tympan.pipeline.config import SEPARATOR_AUDIO, SEPARATOR_TRAINING, MixingConfig, PipelineConfig
from tympan.pipeline.separate import SEPARATION, measured
from tympan.pipeline.separator_ensemble import combine_separators
from tympan.pipeline.sources import audio_files, load_signal

_MIXING = MixingConfig()  # the recipe's defaults (tympan.pipeline.config)


def _group(path) -> str:
    return sentence_id(path) or Path(path).stem


def _split_groups(groups: list[str], size: float, seed: int) -> set[str]:
    """The validation groups: ``size`` of them (at least one when ``size > 0``), seeded."""
    if size <= 0 or len(groups) < 2:
        return set()
    k = min(len(groups) - 1, max(1, round(size * len(groups))))
    order = np.random.default_rng(seed).permutation(len(groups))
    return {groups[i] for i in order[:k]}


def _material(pairs, speech, noise, held_out, sr, validation_size, seed, progress):
    """Training and validation arrays: ``{"pairs", "speech", "noise"}`` each, and the ids."""
    pair_list = noizeus_pairs(pairs, exclude=held_out) if pairs is not None else []
    speech_files = [f for f in audio_files(speech) if sentence_id(f) not in held_out] if speech else []
    noise_files = audio_files(noise) if noise else []
    groups = sorted({p.sentence for p in pair_list} | {_group(f) for f in speech_files})
    val = _split_groups(groups, validation_size, seed)
    parts = {part: {"pairs": [], "speech": [], "noise": []} for part in ("train", "val")}
    bar = progress_bar(len(pair_list) + len(speech_files) + len(noise_files),
                       "loading") if progress else None
    clean_of = {}
    for p in pair_list:
        part = parts["val" if p.sentence in val else "train"]
        clean, n = load_pair(p, sr=sr)
        part["pairs"].append((clean, n))
        clean_of[(part is parts["val"], p.sentence)] = clean
        if noise is None:  # the recorded noise of the training sentences, for mixing on the fly
            part["noise"].append(n)
        if bar is not None:
            bar.update()
    for f in speech_files:
        parts["val" if _group(f) in val else "train"]["speech"].append(load_signal(f, None, sr))
        if bar is not None:
            bar.update()
    for f in noise_files:
        y = load_signal(f, None, sr)
        for part in parts.values():
            part["noise"].append(y)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    if speech is None:  # the clean sentences of the pairs, mixed with other noises
        for (is_val, _), clean in clean_of.items():
            parts["val" if is_val else "train"]["speech"].append(clean)
    for part in parts.values():  # mixing on the fly needs both
        if not part["speech"] or not part["noise"]:
            part["speech"], part["noise"] = [], []
    return parts, [g for g in groups if g not in val], sorted(val)


def train_separator(*, pairs=None, speech=None, noise=None, config: PipelineConfig | None = None,
                    held_out=_MIXING.held_out, snr_db=_MIXING.snr_db, gain_db=_MIXING.gain_db,
                    pair_fraction: float = _MIXING.pair_fraction, speed=_MIXING.speed,
                    by_length: bool = _MIXING.by_length, pair_speed: bool = _MIXING.pair_speed,
                    examples_per_epoch: int = _MIXING.examples_per_epoch, init=None, out=None,
                    overwrite: bool = False,
                    measure: bool = True, verbose: int = 1, progress: bool = True) -> Artifact:
    """Train a source separator; returns (and with ``out``, saves) the artifact.

    Material: ``pairs``, a NOIZEUS-style folder (``clean/`` and ``noisy/<noise>_<snr>dB/``; the
    noise of a pair is noisy - clean), and mixtures made on the fly of ``speech`` (files or
    folders; default: the pairs' clean sentences) and ``noise`` (default: the pairs' noise) at
    an SNR drawn from ``snr_db``, each speech window first resampled by a factor drawn from
    ``speed`` (new voices; ``(1, 1)`` for none), the speech files drawn in proportion to their
    length (``by_length``; else every file equally often); with ``pair_speed`` the pairs'
    windows are resampled too, speech and noise by the same factor (new voices from the
    recorded pairs: +0.3 / +0.55 dB SI-SDRi at 0 / 5 dB input SNR over 60 continued epochs,
    ``docs/separation.md``).  Sentences whose id is in
    ``held_out`` (``spNN`` in the file name) are never loaded, in any noise condition;
    ``config.training.validation_size`` of the other sentences are kept for validation (early
    stopping).  Each epoch draws
    ``examples_per_epoch`` fresh windows of ``config.audio.duration`` seconds
    (``pair_fraction`` of them from pairs).  The loss is the negative SI-SDR
    (:func:`~tympan.models.separator.si_sdr_loss`), Adam with a cosine decay.  When ``pairs`` is
    given (and ``measure``), the held-out sentences are measured at the end
    (``metrics["test"]``).  With ``config.training.ensemble = n > 1``, ``n`` separators are
    trained with the seeds ``seed``, ``seed + 1``, ... and saved as one that averages their
    sources (:func:`~tympan.pipeline.combine_separators`; ``n`` times the time).  Without
    ``config``: 1-s windows at 8 kHz, the default ``separator``, 80 epochs of 16-window batches
    at a learning rate of 2e-3, no validation part (the benchmark's recipe).

    ``init`` (a separator artifact or its folder) continues training from its weights: the
    model recipe and audio settings are ``init``'s (``config`` then sets the training only), the
    mixtures made on the fly go on from the epoch where ``init`` stopped (new ones, not a
    replay), and the history and epoch count carry on.  Sentences ``init`` trained on cannot be
    held out now (the test figures would be flattered).  ``init`` itself is not changed.
    """
    from tympan import models

    # the recipe measured in benchmarks/separation.py (docs/separation.md)
    config = config or PipelineConfig(audio=SEPARATOR_AUDIO, model={"name": "separator"},
                                      training=SEPARATOR_TRAINING)
    if not config.model:  # the separator with its own defaults
        config = dataclasses.replace(config, model={"name": "separator"})
    if not config.audio.resolved:  # the rate and window the separator recipe was measured with
        config = dataclasses.replace(config, audio=dataclasses.replace(
            config.audio, sr=config.audio.sr or SEPARATOR_AUDIO.sr,
            duration=config.audio.duration or SEPARATOR_AUDIO.duration))
    if models.model_task(config.model["name"]) != SEPARATION.name:
        raise ParameterError(f"model {config.model['name']!r} is not a separator; available: "
                             f"{', '.join(models.available_models(SEPARATION.name))}")
    if pairs is None and (speech is None or noise is None):
        raise ParameterError("train_separator needs pairs= (a NOIZEUS-style folder) or both "
                             "speech= and noise= (files or folders)")
    start = None
    if init is not None:
        start, config = driver.continued(init, config, SEPARATION)
    config = driver.resolve_config(config)
    speed = speed_range(speed)
    if out is not None:
        check_destination(out, overwrite=overwrite)
    if config.training.ensemble > 1:
        return _train_ensemble(config, init, out, overwrite, measure, pairs=pairs, speech=speech,
                               noise=noise, held_out=held_out, snr_db=snr_db, gain_db=gain_db,
                               pair_fraction=pair_fraction, speed=speed, by_length=by_length,
                               pair_speed=pair_speed, examples_per_epoch=examples_per_epoch,
                               verbose=verbose, progress=progress)
    held_out = sorted({s.lower() for s in held_out})
    if start is not None:
        _check_held_out(start, held_out)
    t, audio = config.training, config.audio
    parts, train_ids, val_ids = _material(pairs, speech, noise, held_out, audio.sr,
                                          t.validation_size, t.seed, progress)
    mixing = MixingConfig(held_out=held_out, snr_db=snr_db, gain_db=gain_db,
                          pair_fraction=pair_fraction, speed=speed, by_length=bool(by_length),
                          pair_speed=bool(pair_speed),
                          examples_per_epoch=examples_per_epoch).to_dict()
    sampler = MixtureSampler(samples=audio.samples, **parts["train"], snr_db=snr_db,
                             gain_db=gain_db, pair_fraction=pair_fraction, speed=speed,
                             by_length=by_length, pair_speed=pair_speed, seed=t.seed)
    steps = max(1, v.positive_int("examples_per_epoch", examples_per_epoch) // t.batch_size)
    batches = SEPARATION.examples(sampler, config, epoch=driver.epochs_before(start), steps=steps)
    validation = None
    if val_ids:
        val_sampler = MixtureSampler(samples=audio.samples, **parts["val"], snr_db=snr_db,
                                     gain_db=gain_db, pair_fraction=pair_fraction,
                                     by_length=by_length, seed=t.seed + 1)
        validation = val_sampler.batch(max(t.batch_size, round(t.validation_size * examples_per_epoch)))
    model = driver.build(config, start=start)
    params = driver.model_params(config)
    stft = model.get_layer(models.STFT)  # record the n_fft and hop used
    config = dataclasses.replace(config, model={**config.model, "sources": list(params["sources"]),
                                                "n_fft": stft.n_fft, "hop_length": stft.hop_length})
    driver.compile_model(model, t, loss=SEPARATION.loss(config),
                         learning_rate=SEPARATION.learning_rate(config, steps=steps * t.epochs))
    began = time.perf_counter()
    history = driver.fit_model(model, batches, validation=validation, epochs=t.epochs,
                         patience=t.early_stopping, verbose=verbose)
    counts = {part: {k: len(val) for k, val in parts[part].items()} for part in parts}
    metrics_ = {"train": counts["train"], "validation": counts["val"],
                "epochs_run": len(history.get("loss", [])),
                "train_seconds": round(time.perf_counter() - began, 1)}
    history = driver.record_continuation(start, metrics_, history)
    split = {"method": "sentences", "held_out": held_out, "train_sentences": train_ids,
             "validation_sentences": val_ids, "mixing": mixing,
             "pairs": None if pairs is None else os.fspath(pairs),
             "speech": None if speech is None else [os.fspath(f) for f in _as_list(speech)],
             "noise": None if noise is None else [os.fspath(f) for f in _as_list(noise)]}
    artifact = Artifact(model=model, config=config, labels=tuple(params["sources"]),
                        metrics=metrics_, split=split, history=history, info=runtime_info(),
                        task=SEPARATION.name)
    return measured(artifact, pairs if measure else None, held_out, out, overwrite)


def _train_ensemble(config: PipelineConfig, init, out, overwrite: bool, measure: bool,
                    **kwargs) -> Artifact:
    """``config.training.ensemble`` separators (seeds ``seed + k``) combined into one."""
    if init is not None:
        raise ParameterError("init continues one separator; with training.ensemble > 1 continue "
                             "each member's artifact, then combine them (combine_separators)")
    members = driver.members(config, lambda member: train_separator(config=member, measure=False,
                                                                    **kwargs))
    pairs = kwargs["pairs"] if measure else None
    return combine_separators(members, pairs=pairs, out=out, overwrite=overwrite)


def _check_held_out(start: Artifact, held_out: list[str]) -> None:
    trained = set(start.split.get("train_sentences") or []) & set(held_out)
    if trained:
        raise ParameterError(f"{start.path or 'init'} was trained on {sorted(trained)}, which are "
                             "held out here; hold out sentences it never heard (its split "
                             f"held out {start.split.get('held_out')})")


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


__all__ = ["train_separator"]
