"""Audio in, audio out: train an autoencoder artifact, reconstruct files, measure the loss.

:data:`RECONSTRUCTION` is the task (:mod:`tympan.pipeline.task`): its objectives, examples,
how it runs and is evaluated.  Training cuts every file into clips of the configured duration
(half-overlapping, the last one zero-padded), holds out whole files for testing and whole
files for validation (never windows of a training file: early stopping would judge
near-copies of the training data), and fits the ``autoencoder`` model with
:func:`~tympan.models.autoencoder.snr_loss` through :mod:`tympan.pipeline.driver`.
Reconstruction works on any length: the input is cut into clip-long windows with a hop of
half a clip, each window is reconstructed, and the outputs are overlap-added under a periodic
Hann window (``tympan.pipeline.windowing``), so a long recording comes back whole and without seams.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan import data as tdata
from tympan import io
from tympan.data.loading import progress_bar
from tympan.dsp import metrics
from tympan.dsp.spectrum import spectrogram
from tympan.errors import DatasetError, ParameterError
from tympan.pipeline import driver
from tympan.pipeline.artifact import Artifact, check_destination, load_artifact, runtime_info
from tympan.pipeline.config import AUTOENCODER_TRAINING, PipelineConfig
from tympan.pipeline.inputs import analysis_window, checked_array, require_finite
from tympan.pipeline.sources import audio_files, load_signal, sources
from tympan.pipeline.task import Task, register_task
from tympan.pipeline.windowing import clips, overlap_add, padded_size

PHASES = ("input", "griffinlim")
#: Window (seconds) an autoencoder learns on when ``AudioConfig.duration`` is left unset.
AUTOENCODER_WINDOW = 1.0


def _check_task(artifact: Artifact) -> Artifact:
    return RECONSTRUCTION.check(artifact)


def _model_for(artifact: Artifact, phase: str):
    """The model to run: the whole autoencoder, or (Griffin-Lim phase) its decoded magnitude."""
    v.choice("phase", phase, PHASES)
    if phase == "input":
        return artifact.model
    if artifact.config.model.get("representation") != "logmag":
        raise ParameterError("phase='griffinlim' needs a representation='logmag' autoencoder, this "
                             f"one is {artifact.config.model.get('representation')!r}")
    import keras

    from tympan.models.names import DECODED_MAGNITUDE, RMS_NORMALIZE

    m = artifact.model
    # the magnitude decoded at the normalised level, times the level the input was divided by
    mag = m.get_layer(DECODED_MAGNITUDE).output
    rms = m.get_layer(RMS_NORMALIZE).output[1]
    return keras.Model(m.inputs, [mag, rms])


def reconstruct_array(artifact: Artifact, y: np.ndarray, *, phase: str = "input",
                      batch_size: int = 32) -> np.ndarray:
    """Reconstruct the mono waveform ``y`` (at the artifact's sample rate), any length.  ``y``
    must be finite (ParameterError); a model giving non-finite samples raises ArtifactError."""
    y = np.asarray(y, dtype=np.float32)
    checked_array(y, sr=artifact.config.audio.sr, source="y", warn=False)
    return _reconstructed(artifact, y, "the array", phase, batch_size)


def _reconstructed(artifact: Artifact, y: np.ndarray, name: str, phase: str,
                   batch_size: int = 32) -> np.ndarray:
    """The reconstruction of the checked signal ``y``; a non-finite output is an ArtifactError
    naming the input ``name`` (so nothing is written)."""
    model = _model_for(_check_task(artifact), phase)
    if phase == "input":
        def process(windows):
            return _predict_padded(model, windows, batch_size)
    else:
        def process(windows):
            return _griffinlim_windows(artifact, model, windows, batch_size)
    pieces = list(overlap_add(process, [y], n=artifact.config.audio.samples,
                              batch_size=8 * batch_size))
    out = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return require_finite(out, source=name, model=artifact.path)


def _predict_padded(model, windows: np.ndarray, batch_size: int):
    """``model.predict`` of ``windows`` with the last partial batch padded by zero windows to a
    power of two (at most ``batch_size``), outputs cut back: a jit-compiling backend (jax)
    compiles one shape per batch size, and the last batch of every file would otherwise bring
    a new one (about a second each; a server's first requests ran past their timeout)."""
    n = len(windows)
    rest = n % batch_size
    size = n - rest + (padded_size(rest, batch_size) if rest else 0)
    if size > n:
        windows = np.concatenate([windows, np.zeros((size - n, *windows.shape[1:]), windows.dtype)])
    out = model.predict(windows, batch_size=batch_size, verbose=0)
    return [np.asarray(o)[:n] for o in out] if isinstance(out, (list, tuple)) else np.asarray(out)[:n]


def _griffinlim_windows(artifact, model, windows, batch_size):
    from tympan.dsp import griffinlim
    from tympan.models.names import STFT

    mag, rms = (np.asarray(a) for a in _predict_padded(model, windows, batch_size))
    stft = artifact.model.get_layer(STFT)
    n_fft, hop = stft.n_fft, stft.hop_length
    S = np.swapaxes(mag, -1, -2) * rms[:, :, None]  # (windows, bins, frames)
    return griffinlim(S, n_fft=n_fft, hop_length=hop, length=windows.shape[1], n_iter=64,
                      random_state=0)


def reconstruct(artifact, source, *, sr: int | None = None, phase: str = "input"):
    """Reconstruct every input of ``source`` (a path, folder, list, or an array with ``sr``).

    Returns a list of ``(name, waveform, sample_rate)``; the waveform is at the artifact's
    sample rate, mono, as long as the input.
    """
    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    _check_task(artifact)
    rate, window = artifact.config.audio.sr, analysis_window(artifact.config)
    return [(name, _reconstructed(artifact, load_signal(data, r, rate, window=window), name, phase), rate)
            for name, data, r in sources(source, sr)]



def reconstruct_file(artifact, src, dst, *, phase: str = "input", overwrite: bool = False,
                     subtype: str | None = None) -> dict:
    """Read ``src`` (any supported format), reconstruct it, write ``dst`` (format from its
    extension, at the artifact's sample rate) atomically.  Refuses to overwrite ``dst`` unless
    asked, and never writes over ``src``.  Returns the quality figures against the input."""
    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    src, dst = Path(src), Path(dst)
    if dst.exists() and dst.resolve() == src.resolve():
        raise ParameterError(f"the output {dst} is the input file; choose another output path")
    if dst.exists() and not overwrite:
        raise ParameterError(f"{dst} exists; pass overwrite=True (--overwrite) to replace it")
    rate = artifact.config.audio.sr
    y = load_signal(src, None, rate, window=analysis_window(artifact.config))
    y_hat = _reconstructed(artifact, y, str(src), phase)
    io.save(dst, np.clip(y_hat, -1.0, 1.0), rate, subtype=subtype)
    return {"file": str(src), "out": str(dst), "sr": rate, "seconds": len(y) / rate,
            **quality(y, y_hat, sr=rate)}


def quality(reference: np.ndarray, estimate: np.ndarray, *, sr: int) -> dict[str, float]:
    """SNR, SI-SDR (dB) and log-spectral distance (dB) of ``estimate`` against ``reference``."""
    n_fft = 1 << max(5, round(np.log2(0.032 * sr)))  # about 32 ms
    R, E = (spectrogram(np.asarray(a, np.float32), n_fft=n_fft, hop_length=n_fft // 4)
            for a in (reference, estimate))
    return {"snr_db": metrics.snr_db(reference, estimate),
            "si_sdr_db": metrics.si_sdr(reference, estimate),
            "lsd_db": metrics.log_spectral_distance(R, E)}


def evaluate_reconstruction(artifact, source, *, phase: str = "input") -> dict:
    """Quality of ``artifact`` on every file of ``source``: per file and the means."""
    if not isinstance(artifact, Artifact):
        artifact = load_artifact(artifact)
    rate, window = artifact.config.audio.sr, analysis_window(artifact.config)
    rows = []
    for name, data, r in sources(source, None):
        y = load_signal(data, r, rate, window=window)
        rows.append({"file": name, **quality(y, _reconstructed(artifact, y, name, phase), sr=rate)})
    if not rows:
        raise DatasetError(f"no audio in {source}")
    keys = ("snr_db", "si_sdr_db", "lsd_db")
    return {"files": rows, **{f"mean_{k}": float(np.mean([r[k] for r in rows])) for k in keys}}


def train_autoencoder(data, config: PipelineConfig | None = None, *, test_size: float = 0.1,
                      out=None, overwrite: bool = False, verbose: int = 1,
                      progress: bool = True, init=None) -> Artifact:
    """Train an autoencoder on the audio files of ``data`` (a folder, a file or a list).

    ``config.model`` holds the autoencoder's parameters (``{"name": "autoencoder",
    "representation": "stft", "compression": 8}``); ``config.audio`` the sample rate and clip
    duration.  ``test_size`` of the files (at least one) are held out, never trained on, and
    measured at the end (``metrics["test"]``: mean SNR, SI-SDR and log-spectral distance).
    ``config.training.validation_size`` of the other files (whole files) are the validation
    part that early stopping watches.  ``init`` (an autoencoder artifact or its folder)
    continues it: its model, audio and features, ``config``'s training (its own when
    ``config`` is None).  With ``out`` the artifact folder is written atomically.
    """
    from tympan import models

    start = None
    if init is not None:  # without config, init's own training goes on
        start, config = driver.continued(init, config, RECONSTRUCTION)
    config = config or PipelineConfig(training=AUTOENCODER_TRAINING)
    if not config.model:  # the autoencoder with its default parameters
        config = dataclasses.replace(config, model={"name": "autoencoder"})
    if models.model_task(config.model["name"]) != RECONSTRUCTION.name:
        raise ParameterError(f"model {config.model['name']!r} is not an autoencoder; available: "
                             f"{', '.join(models.available_models(RECONSTRUCTION.name))}")
    if out is not None:
        check_destination(out, overwrite=overwrite)
    files = audio_files(data)
    if not files:
        raise DatasetError(f"no audio files in {data}")
    if not config.audio.resolved:  # the files' rate (as for classifiers), windows of 1 s
        choice = tdata.audio_defaults(tdata.survey(files), sr=config.audio.sr,
                                      duration=config.audio.duration or AUTOENCODER_WINDOW)
        config = dataclasses.replace(config, audio=dataclasses.replace(
            config.audio, sr=choice.sr, duration=choice.duration))
    config = driver.resolve_config(config)
    t = config.training
    train_files, test_files = driver.split_files(files, test_size, t.seed)
    fit_files, val_files = driver.split_files(train_files, t.validation_size, t.seed,
                                              what="validation_size")
    X_fit, X_val = RECONSTRUCTION.examples((fit_files, val_files), config, progress=progress)
    model = driver.build(config, start=start)
    params = driver.model_params(config)
    if params.get("representation") in ("stft", "logmag"):  # record the n_fft and hop used
        stft = model.get_layer(models.STFT)
        config = dataclasses.replace(config, model={**config.model, "n_fft": stft.n_fft,
                                                    "hop_length": stft.hop_length})
    steps = -(-len(X_fit) // t.batch_size) * t.epochs
    driver.compile_model(model, t, loss=RECONSTRUCTION.loss(config),
                         learning_rate=RECONSTRUCTION.learning_rate(config, steps=steps))
    history = driver.fit_model(model, X_fit, X_fit, validation=(X_val, X_val) if len(X_val) else None,
                         epochs=t.epochs, batch_size=t.batch_size, patience=t.early_stopping,
                         verbose=verbose)
    metrics_ = {"n_train_files": len(train_files), "n_train_clips": len(X_fit),
                "n_val_clips": len(X_val), "n_val_files": len(val_files),
                "n_test_files": len(test_files), "epochs_run": len(history.get("loss", [])),
                "bottleneck_values": _bottleneck_values(model),
                "compression": config.audio.samples / _bottleneck_values(model)}
    if start is not None:
        history = driver.record_continuation(start, metrics_, history)
    artifact = Artifact(model=model, config=config, labels=(), metrics=metrics_,
                        split={"method": "files", "test_size": test_size, "seed": t.seed,
                               "test": [os.fspath(f) for f in test_files],
                               "validation": [os.fspath(f) for f in val_files]},
                        history=history, info=runtime_info(), task=RECONSTRUCTION.name)
    if test_files:
        result = evaluate_reconstruction(artifact, test_files)
        metrics_["test"] = {k: val for k, val in result.items() if k != "files"}
        metrics_["test"]["files"] = [{**r, "file": Path(r["file"]).name} for r in result["files"]]
    return driver.save(artifact, out, overwrite=overwrite)


def _bottleneck_values(model) -> int:
    from tympan.models.names import BOTTLENECK

    shape = model.get_layer(BOTTLENECK).output.shape
    return int(np.prod([d for d in shape[1:]]))


class ReconstructionTask(Task):
    """Audio in, the same audio out: an autoencoder trained on the SNR of its output."""

    name = "reconstruction"
    kind = "autoencoder"
    output = "audio"
    trained_with = "pipeline.train_autoencoder (tympan autoencoder train)"
    applied_with = "tympan.pipeline.reconstruct (tympan autoencoder reconstruct)"
    noun = "an autoencoder (audio in, audio out)"
    needs = "reconstruct needs an autoencoder (tympan autoencoder train)"
    supports = frozenset({"init"})

    def loss(self, config):
        from tympan.models.autoencoder import snr_loss

        return snr_loss

    def learning_rate(self, config, *, steps: int):
        # cosine decay to 5 % of the rate over the whole run; with the linear shortcuts of the
        # model it took the 8x STFT model from 8.5 to 9.9 dB (docs/autoencoder.md)
        return driver.cosine_decay(config.training.learning_rate, steps)

    def examples(self, data, config, *, progress: bool = False):
        """``(fit clips, validation clips)``: every file of the two lists ``data`` cut into
        half-overlapping clips of ``config.audio.samples`` (inputs and targets alike)."""
        audio = config.audio
        parts = [list(part) for part in data]
        bar = progress_bar(sum(map(len, parts)), "loading") if progress else None
        out = []
        for part in parts:
            cut = []
            for f in part:
                cut.append(clips(load_signal(f, None, audio.sr), audio.samples))
                if bar is not None:
                    bar.update()
            out.append(np.concatenate(cut) if cut else np.zeros((0, audio.samples), np.float32))
        if bar is not None:
            bar.close()
        return tuple(out)

    def run(self, artifact, source, **options):
        return reconstruct(artifact, source, **options)

    def evaluate(self, artifact, data, **options):
        return evaluate_reconstruction(artifact, data, **options)

    def rows(self, result) -> list[dict]:
        if isinstance(result, dict) and "files" in result:
            return result["files"]
        return super().rows(result)


RECONSTRUCTION = register_task(ReconstructionTask())


__all__ = ["PHASES", "RECONSTRUCTION", "ReconstructionTask", "audio_files", "clips",
           "evaluate_reconstruction", "quality", "reconstruct", "reconstruct_array",
           "reconstruct_file", "train_autoencoder"]
