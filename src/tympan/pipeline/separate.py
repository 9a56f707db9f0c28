"""Source separation: train a separator artifact, split recordings into sources, measure it.

:func:`train_separator` fits the ``separator`` model on noisy/clean pairs (a NOIZEUS-style
folder) and on speech + noise mixed on the fly at random SNRs, holding out whole sentences
(default NOIZEUS sp25-sp30, in every noise condition).  :func:`separate` splits an array,
:func:`separate_file` a file of any length into one file per source in the input's format, in
flat memory (read in blocks, windows overlap-added, written as they are finished).
:func:`evaluate_separation` gives SDR, SI-SDR and SI-SDR improvement per input SNR and noise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import time
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan import io
from tympan.data.mixing import (
    MixtureSampler,
    load_pair,
    mix_at_snr,
    noizeus_pairs,
    random_segment,
    sentence_id,
    speed_range,
)
from tympan.dsp import metrics
from tympan.errors import ArtifactError, AudioIOError, DatasetError, ParameterError
from tympan.pipeline.artifact import Artifact, check_destination, load_artifact, runtime_info, save_artifact
from tympan.pipeline.config import (
    SEPARATOR_AUDIO,
    SEPARATOR_TRAINING,
    MixingConfig,
    PipelineConfig,
)
from tympan.pipeline.inputs import analysis_window, checked_file, require_finite
from tympan.pipeline.reconstruct import _load, audio_files
from tympan.pipeline.windowing import overlap_add

_BLOCK = 1 << 15  # samples read from a file at a time
_MIXING = MixingConfig()  # the recipe's defaults (tympan.pipeline.config)


def _artifact(artifact) -> Artifact:
    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    if artifact.task != "separation":
        raise ArtifactError(f"{artifact.path or 'the artifact'} is a {artifact.task} model; "
                            "separating needs a separator (tympan separator train)")
    return artifact


def _separated(artifact: Artifact, chunks, batch_size: int):
    """Pieces ``(samples, n_sources)`` of the separated signal read from ``chunks``."""
    model = artifact.model

    def process(windows):
        # always a full batch: one compiled shape, however many windows a file has
        full = np.zeros((batch_size, windows.shape[1]), np.float32)
        full[: len(windows)] = windows
        return np.asarray(model.predict_on_batch(full))[: len(windows)]

    return overlap_add(process, chunks, n=artifact.config.audio.samples, batch_size=batch_size)


def separate(artifact, y: np.ndarray, sr: int, *, batch_size: int = 32) -> dict[str, np.ndarray]:
    """Split the waveform ``y`` (``(samples,)`` or ``(channels, samples)``, any length, at
    ``sr``) into its sources: ``{source: waveform}`` in the artifact's order, mono, at the
    artifact's sample rate.  The sources add up to the (mono, resampled) input.  ``y`` is
    checked by the signal policy (:mod:`tympan.pipeline.inputs`); a model giving non-finite
    samples raises ArtifactError."""
    artifact = _artifact(artifact)
    batch_size = v.positive_int("batch_size", batch_size)
    y = _load(np.asarray(y), v.positive_int("sr", sr), artifact.config.audio.sr,
              window=analysis_window(artifact.config))
    pieces = list(_separated(artifact, [y], batch_size))
    out = np.concatenate(pieces) if pieces else np.zeros((0, len(artifact.labels)), np.float32)
    require_finite(out, source="the array", model=artifact.path)
    return {name: np.ascontiguousarray(out[:, i]) for i, name in enumerate(artifact.labels)}


@contextlib.contextmanager
def _writers(paths: dict[str, Path], *, sr: int, fmt: str, subtype: str):
    """SoundFiles open on temporary files next to ``paths``; renamed into place only when the
    block completes, removed otherwise."""
    import soundfile as sf

    tmps = {k: p.with_name(f".{p.name}.{secrets.token_hex(4)}.tmp") for k, p in paths.items()}
    files: dict[str, sf.SoundFile] = {}
    try:
        try:
            for k, tmp in tmps.items():
                files[k] = sf.SoundFile(tmp, "w", samplerate=sr, channels=1, format=fmt,
                                        subtype=subtype)
        except (RuntimeError, OSError, ValueError) as exc:
            raise AudioIOError(f"cannot write {fmt} ({subtype}) at {sr} Hz in "
                               f"{next(iter(paths.values())).parent}: {exc}") from exc
        yield files
        for f in files.values():
            f.close()
        for k, tmp in tmps.items():
            os.replace(tmp, paths[k])
    finally:
        for f in files.values():
            f.close()
        for tmp in tmps.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def separate_file(artifact, src, out_dir, *, overwrite: bool = False,
                  batch_size: int = 32) -> dict[str, Path]:
    """Separate the file ``src`` (any supported format and length) into ``out_dir/<source>.<ext>``
    (e.g. ``speech.wav`` and ``noise.wav``), in the input's format and sample encoding, mono,
    at the artifact's sample rate.

    The input is read in blocks and the outputs written as they are finished, so memory does
    not grow with the file's length; the result equals :func:`separate` on the whole array.
    Existing outputs are replaced only with ``overwrite=True``, the input never.  Returns
    ``{source: path}``.  The input is checked by the signal policy as it is read
    (:mod:`tympan.pipeline.inputs`: non-finite samples and no audio are errors naming it,
    silence warns), and so is every output piece (a model giving NaN raises ArtifactError):
    on any error nothing is written.
    """
    artifact = _artifact(artifact)
    src, out_dir = Path(src), Path(out_dir)
    meta = io.info(src)
    paths = {name: out_dir / f"{name}{src.suffix.lower()}" for name in artifact.labels}
    for path in paths.values():
        if path.exists() and path.resolve() == src.resolve():
            raise ParameterError(f"the output {path} is the input file; choose another --out")
        if path.exists() and not overwrite:
            raise ParameterError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    out_dir.mkdir(parents=True, exist_ok=True)
    rate = artifact.config.audio.sr
    blocks, monitor = checked_file(src, sr=rate, block_length=_BLOCK,
                                   min_samples=analysis_window(artifact.config))
    with _writers(paths, sr=rate, fmt=meta.format, subtype=meta.subtype) as files:
        for piece in _separated(artifact, blocks, v.positive_int("batch_size", batch_size)):
            piece = np.clip(require_finite(piece, source=str(src), model=artifact.path), -1.0, 1.0)
            for i, name in enumerate(artifact.labels):
                files[name].write(np.ascontiguousarray(piece[:, i]))
        monitor.finish(stacklevel=3)  # a file of no samples: nothing is written
    return paths


# ------------------------------------------------------------------------------ evaluation
def _mixture_items(pairs, sentences, speech, noise, snrs, sr: int, seed: int):
    """``(name, noise name, nominal SNR, clean, noise)`` of every test mixture."""
    if pairs is not None:
        for p in noizeus_pairs(pairs, only=sentences):
            yield (p.noisy.name, p.noise, p.snr_db, *load_pair(p, sr=sr))
        return
    if speech is None or noise is None:
        raise ParameterError("evaluate_separation needs pairs= (a NOIZEUS-style folder) or both "
                             "speech= and noise=")
    rng = np.random.default_rng(seed)
    noises = [(Path(f).stem, _load(f, None, sr)) for f in audio_files(noise)]
    for f in audio_files(speech):
        clean = _load(f, None, sr)
        for snr in snrs:
            name, n = noises[int(rng.integers(len(noises)))]
            _, seg = mix_at_snr(clean, random_segment(n, len(clean), rng), float(snr))
            yield (f"{Path(f).name}+{name}@{snr:g}dB", name, float(snr), clean, seg)


def _means(rows, key) -> dict:
    keys = ("input_si_sdr_db", "sdr_db", "si_sdr_db", "si_sdri_db", "noise_si_sdr_db")
    groups: dict = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    return {str(g): {"n": len(rs), **{k: float(np.mean([r[k] for r in rs])) for k in keys}}
            for g, rs in sorted(groups.items())}


def evaluate_separation(artifact, pairs=None, *, sentences=None, speech=None, noise=None,
                        snr_db=(0, 5, 10, 15), seed: int = 0, batch_size: int = 32) -> dict:
    """Separation quality on mixtures never trained on.

    ``pairs``: a NOIZEUS-style folder; the test sentences are ``sentences`` (default: those the
    artifact held out in training).  Or ``speech`` and ``noise`` (files or folders): every
    speech file mixed with a random noise segment at each SNR of ``snr_db`` (seeded).

    Per mixture (``rows``): the first source against the clean speech (plain SDR, SI-SDR,
    SI-SDR improvement over the mixture) and the second against the noise (SI-SDR); then the
    means ``by_snr`` (nominal input SNR), ``by_noise`` and ``mean``.
    """
    artifact = _artifact(artifact)
    if len(artifact.labels) != 2:
        raise ParameterError(f"evaluate_separation measures two sources (speech, noise), the "
                             f"artifact has {list(artifact.labels)}")
    if sentences is None:
        sentences = artifact.split.get("held_out") or _MIXING.held_out
    rate = artifact.config.audio.sr
    rows = []
    for name, noise_name, snr, clean, noise_sig in _mixture_items(pairs, sentences, speech, noise,
                                                                  snr_db, rate, seed):
        mixture = clean + noise_sig
        out = separate(artifact, mixture, rate, batch_size=batch_size)
        est, est_noise = (out[s] for s in artifact.labels)
        rows.append({"mixture": name, "noise": noise_name, "snr_db": snr,
                     "input_si_sdr_db": metrics.si_sdr(clean, mixture),
                     "sdr_db": metrics.sdr(clean, est), "si_sdr_db": metrics.si_sdr(clean, est),
                     "si_sdri_db": metrics.si_sdr_improvement(clean, est, mixture),
                     "noise_si_sdr_db": metrics.si_sdr(noise_sig, est_noise)})
    if not rows:
        raise DatasetError(f"no test mixtures (sentences {list(sentences)})")
    return {"sentences": list(sentences) if pairs is not None else None, "rows": rows,
            "by_snr": _means(rows, "snr_db"), "by_noise": _means(rows, "noise"),
            "mean": _means([{**r, "all": "all"} for r in rows], "all")["all"]}


# ------------------------------------------------------------------------------ training
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
    from tympan.data.loading import progress_bar

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
        parts["val" if _group(f) in val else "train"]["speech"].append(_load(f, None, sr))
        if bar is not None:
            bar.update()
    for f in noise_files:
        y = _load(f, None, sr)
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
    import keras

    from tympan import models
    from tympan.models.separator import si_sdr_loss
    from tympan.pipeline.mixture_batches import MixtureBatches
    from tympan.pipeline.train import make_optimizer, resolve_config

    # the recipe measured in benchmarks/separation.py (docs/separation.md)
    config = config or PipelineConfig(audio=SEPARATOR_AUDIO, model={"name": "separator"},
                                      training=SEPARATOR_TRAINING)
    if not config.model:  # the separator with its own defaults
        config = dataclasses.replace(config, model={"name": "separator"})
    if not config.audio.resolved:  # the rate and window the separator recipe was measured with
        config = dataclasses.replace(config, audio=dataclasses.replace(
            config.audio, sr=config.audio.sr or SEPARATOR_AUDIO.sr,
            duration=config.audio.duration or SEPARATOR_AUDIO.duration))
    if models.model_task(config.model["name"]) != "separation":
        raise ParameterError(f"model {config.model['name']!r} is not a separator; available: "
                             f"{', '.join(models.available_models('separation'))}")
    if pairs is None and (speech is None or noise is None):
        raise ParameterError("train_separator needs pairs= (a NOIZEUS-style folder) or both "
                             "speech= and noise= (files or folders)")
    start = None
    if init is not None:
        start = _artifact(init)
        config = _continued_config(start, config)
    config = resolve_config(config)
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
    done = 0 if start is None else int(start.metrics.get("epochs_total",
                                                       start.metrics.get("epochs_run", 0)))
    batches = MixtureBatches(sampler, batch_size=t.batch_size, steps=steps, epoch=done)
    validation = None
    if val_ids:
        val_sampler = MixtureSampler(samples=audio.samples, **parts["val"], snr_db=snr_db,
                                     gain_db=gain_db, pair_fraction=pair_fraction,
                                     by_length=by_length, seed=t.seed + 1)
        validation = val_sampler.batch(max(t.batch_size, round(t.validation_size * examples_per_epoch)))
    keras.utils.set_random_seed(t.seed)
    params = {k: val for k, val in config.model.items() if k != "name"}
    model = models.build_model(config.model["name"], input_samples=audio.samples, sr=audio.sr,
                               features=config.features, **params)
    if start is not None:
        model.set_weights(start.model.get_weights())
    stft = model.get_layer(models.STFT)  # record the n_fft and hop used
    config = dataclasses.replace(config, model={**config.model, "sources": list(params["sources"]),
                                                "n_fft": stft.n_fft, "hop_length": stft.hop_length})
    schedule = keras.optimizers.schedules.CosineDecay(t.learning_rate, decay_steps=steps * t.epochs,
                                                      alpha=0.05)
    model.compile(optimizer=make_optimizer(t.optimizer, schedule), loss=si_sdr_loss)
    callbacks = []
    if validation is not None and t.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=t.early_stopping,
                                                       restore_best_weights=True))
    began = time.perf_counter()
    hist = model.fit(batches, validation_data=validation, epochs=t.epochs, callbacks=callbacks,
                     verbose=verbose)
    history = {k: [float(x) for x in vals] for k, vals in hist.history.items()}
    counts = {part: {k: len(val) for k, val in parts[part].items()} for part in parts}
    metrics_ = {"train": counts["train"], "validation": counts["val"],
                "epochs_run": len(history.get("loss", [])),
                "train_seconds": round(time.perf_counter() - began, 1)}
    metrics_["epochs_total"] = done + metrics_["epochs_run"]
    if start is not None:
        metrics_["init"] = {"path": None if start.path is None else os.fspath(start.path),
                            "epochs": done, "train_seconds": start.metrics.get("train_seconds")}
        history = {k: [*start.history.get(k, []), *vals] for k, vals in history.items()}
    split = {"method": "sentences", "held_out": held_out, "train_sentences": train_ids,
             "validation_sentences": val_ids, "mixing": mixing,
             "pairs": None if pairs is None else os.fspath(pairs),
             "speech": None if speech is None else [os.fspath(f) for f in _as_list(speech)],
             "noise": None if noise is None else [os.fspath(f) for f in _as_list(noise)]}
    artifact = Artifact(model=model, config=config, labels=tuple(params["sources"]),
                        metrics=metrics_, split=split, history=history, info=runtime_info(),
                        task="separation")
    return _measure_and_save(artifact, pairs if measure else None, held_out, out, overwrite)


def _measure_and_save(artifact: Artifact, pairs, held_out, out, overwrite: bool) -> Artifact:
    """Measure ``artifact`` on the ``held_out`` sentences of ``pairs`` (when both are given and
    the folder has them) into ``metrics["test"]``, save it to ``out`` (when given), return it."""
    if pairs is not None and held_out:
        try:
            result = evaluate_separation(artifact, pairs, sentences=sorted(held_out))
        except DatasetError:  # the folder has none of the held-out sentences
            result = None
        if result is not None:
            artifact.metrics["test"] = {k: result[k] for k in ("by_snr", "by_noise", "mean")}
    if out is not None:
        save_artifact(artifact, out, overwrite=overwrite)
    return artifact


def _train_ensemble(config: PipelineConfig, init, out, overwrite: bool, measure: bool,
                    **kwargs) -> Artifact:
    """``config.training.ensemble`` separators (seeds ``seed + k``) combined into one."""
    from tympan.pipeline.separator_ensemble import combine_separators

    if init is not None:
        raise ParameterError("init continues one separator; with training.ensemble > 1 continue "
                             "each member's artifact, then combine them (combine_separators)")
    t = config.training
    members = [train_separator(config=dataclasses.replace(config, training=dataclasses.replace(
                   t, seed=t.seed + k, ensemble=1)), measure=False, **kwargs)
               for k in range(t.ensemble)]
    pairs = kwargs["pairs"] if measure else None
    return combine_separators(members, pairs=pairs, out=out, overwrite=overwrite)


def _continued_config(start: Artifact, config: PipelineConfig | None) -> PipelineConfig:
    """The config of a run continuing ``start``: its model, audio and features, ``config``'s
    training (or ``start``'s, when ``config`` is None)."""
    model = dict(start.config.model)
    if "members" in model:
        raise ParameterError(f"{start.path or 'init'} is an ensemble of separators; continue "
                             "training each member's own artifact, then combine them again")
    training = start.config.training if config is None else config.training
    return dataclasses.replace(start.config, model=model, training=training)


def _check_held_out(start: Artifact, held_out: list[str]) -> None:
    trained = set(start.split.get("train_sentences") or []) & set(held_out)
    if trained:
        raise ParameterError(f"{start.path or 'init'} was trained on {sorted(trained)}, which are "
                             "held out here; hold out sentences it never heard (its split "
                             f"held out {start.split.get('held_out')})")


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


__all__ = ["evaluate_separation", "separate", "separate_file", "train_separator"]
