"""Source separation: the task, split recordings into sources, measure a separator.

:data:`SEPARATION` is the task (:mod:`tympan.pipeline.task`): its objectives (the negative
SI-SDR, a cosine-decayed rate), how it runs and is evaluated.  Training is
:func:`tympan.pipeline.separator_train.train_separator`.  :func:`separate` splits an array,
:func:`separate_file` a file of any length into one file per source in the input's format, in
flat memory (read in blocks, windows overlap-added, written as they are finished).
:func:`evaluate_separation` gives SDR, SI-SDR and SI-SDR improvement per input SNR and noise.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan import io
from tympan.atomic import replacing
from tympan.data.mixing import load_pair, mix_at_snr, noizeus_pairs, random_segment
from tympan.dsp import metrics
from tympan.errors import AudioIOError, DatasetError, ParameterError
from tympan.pipeline import driver
from tympan.pipeline.artifact import Artifact
from tympan.pipeline.config import MixingConfig
from tympan.pipeline.inputs import analysis_window, checked_file, require_finite
from tympan.pipeline.sources import audio_files, load_signal
from tympan.pipeline.task import Task, register_task
from tympan.pipeline.windowing import overlap_add

_BLOCK = 1 << 15  # samples read from a file at a time
_MIXING = MixingConfig()  # the recipe's defaults (tympan.pipeline.config)


def separator(artifact) -> Artifact:
    """``artifact`` (or the one loaded from its folder) when it is a separator, else an
    ArtifactError naming what it is."""
    return driver.load(artifact, SEPARATION)


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
    artifact = separator(artifact)
    batch_size = v.positive_int("batch_size", batch_size)
    y = load_signal(np.asarray(y), v.positive_int("sr", sr), artifact.config.audio.sr,
              window=analysis_window(artifact.config))
    pieces = list(_separated(artifact, [y], batch_size))
    out = np.concatenate(pieces) if pieces else np.zeros((0, len(artifact.labels)), np.float32)
    require_finite(out, source="the array", model=artifact.path)
    return {name: np.ascontiguousarray(out[:, i]) for i, name in enumerate(artifact.labels)}


@contextlib.contextmanager
def _writers(paths: dict[str, Path], *, sr: int, fmt: str, subtype: str):
    """SoundFiles open on temporary files next to ``paths``; all renamed into place only when the
    block completes (:func:`tympan.atomic.replacing`), removed otherwise."""
    import soundfile as sf

    with contextlib.ExitStack() as stack:  # closed last in, first out: the files, then renamed
        try:
            tmps = stack.enter_context(replacing(*paths.values()))
            files = {k: stack.enter_context(sf.SoundFile(tmp, "w", samplerate=sr, channels=1,
                                                         format=fmt, subtype=subtype))
                     for k, tmp in zip(paths, tmps, strict=True)}
        except (RuntimeError, OSError, ValueError) as exc:
            raise AudioIOError(f"cannot write {fmt} ({subtype}) at {sr} Hz in "
                               f"{next(iter(paths.values())).parent}: {exc}") from exc
        yield files


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
    artifact = separator(artifact)
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
    noises = [(Path(f).stem, load_signal(f, None, sr)) for f in audio_files(noise)]
    for f in audio_files(speech):
        clean = load_signal(f, None, sr)
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
    artifact = separator(artifact)
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


def measured(artifact: Artifact, pairs, held_out, out, overwrite: bool) -> Artifact:
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
        driver.save(artifact, out, overwrite=overwrite)
    return artifact


class SeparationTask(Task):
    """Audio in, one audio per source out (labels: the sources), trained on the SI-SDR."""

    name = "separation"
    kind = "separator"
    output = "audio"
    trained_with = "pipeline.train_separator (tympan separator train)"
    applied_with = "tympan.pipeline.separate (tympan separate)"
    noun = "a source separator (audio in, one audio per source out)"
    needs = "separating needs a separator (tympan separator train)"
    supports = frozenset({"init", "ensemble"})

    def loss(self, config):
        from tympan.models.separator import si_sdr_loss

        return si_sdr_loss

    def learning_rate(self, config, *, steps: int):
        return driver.cosine_decay(config.training.learning_rate, steps)

    def examples(self, data, config, *, epoch: int = 0, steps: int = 1):
        """A ``PyDataset`` of fresh ``(mixtures, sources)`` batches every epoch from the
        :class:`~tympan.data.mixing.MixtureSampler` ``data``."""
        from tympan.pipeline.mixture_batches import MixtureBatches  # Keras: only when training

        return MixtureBatches(data, batch_size=config.training.batch_size, steps=steps, epoch=epoch)

    def run(self, artifact, source, **options):
        return separate(artifact, source, **options)

    def evaluate(self, artifact, data=None, **options):
        return evaluate_separation(artifact, data, **options)

    def rows(self, result) -> list[dict]:
        if isinstance(result, dict) and "rows" in result:
            return result["rows"]
        return super().rows(result)


SEPARATION = register_task(SeparationTask())


__all__ = ["SEPARATION", "SeparationTask", "evaluate_separation", "measured",
           "separate", "separate_file", "separator"]
