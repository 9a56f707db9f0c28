"""The served artifacts: loaded once (by the configured runtime), named by their folder, each
with its own worker: a micro-batcher for a classifier, an :class:`AudioOutWorker` for an
autoencoder or a separator."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tympan.errors import ParameterError
from tympan.pipeline import WindowConfig, load_artifact
from tympan.serve.audio_out import AUDIO_TASKS, AudioOutWorker
from tympan.serve.batching import MicroBatcher
from tympan.serve.config import ServeConfig


@dataclass
class Served:
    """One artifact behind the server: its name, its batcher (classifiers), its worker
    (audio-out models) and the sliding window of ``WS /stream`` in samples at the artifact's
    rate."""

    name: str
    artifact: object
    batcher: MicroBatcher | None
    window: int
    hop: int
    worker: AudioOutWorker | None = None

    @property
    def task(self) -> str:
        return self.artifact.task

    @property
    def runner(self) -> MicroBatcher | None:
        """The thread that runs this model's requests (None: a task the server does not run)."""
        return self.batcher if self.batcher is not None else self.worker

    @property
    def ready(self) -> bool:
        return self.runner is not None and self.runner.ready.is_set()

    def describe(self) -> dict:
        audio = self.artifact.config.audio
        return {"name": self.name, "task": self.task, "output": "audio" if self.worker else "labels",
                "labels": list(self.artifact.labels or []),
                "sample_rate": audio.sr, "clip_seconds": audio.duration,
                "window_seconds": self.window / audio.sr, "hop_seconds": self.hop / audio.sr,
                "ready": self.ready}


#: the tasks whose answer is labels, through the micro-batcher (a tagger: several per input)
LABEL_TASKS = ("classification", "tagging")


def load_models(runs, config: ServeConfig) -> dict[str, Served]:
    """Load every run (``config.runtime``: ``model.keras`` in Keras, or ``model.onnx`` in
    onnxruntime, never importing Keras); the first is the default model.  Two runs with the
    same folder name are refused (the name is the model's URL)."""
    if isinstance(runs, (str, os.PathLike)):
        runs = [runs]
    runs = list(runs)
    if not runs:
        raise ParameterError("runs is empty: give at least one artifact folder to serve")
    if config.runtime == "onnx":
        from tympan.runtime import load_onnx_artifact as load
    else:
        load = load_artifact
    served: dict[str, Served] = {}
    for run in runs:
        artifact = load(run)
        name = Path(run).resolve().name
        if name in served:
            raise ParameterError(f"two runs are named '{name}' ({run}): the folder name is the "
                                 "model's name in the URL, rename one")
        audio = artifact.config.audio
        w = artifact.config.windows
        window = WindowConfig(w.window_sec, w.hop_sec, w.combine).resolved(audio.duration)
        batcher = worker = None
        if artifact.task in LABEL_TASKS:
            batcher = MicroBatcher(artifact, max_batch=config.max_batch, max_wait_ms=config.max_wait_ms,
                                   queue_size=config.queue_size, adaptive_wait=True)
        elif artifact.task in AUDIO_TASKS:
            worker = AudioOutWorker(artifact, queue_size=config.queue_size)
        served[name] = Served(name, artifact, batcher, window=max(1, round(window.window_sec * audio.sr)),
                              hop=max(1, round(window.hop_sec * audio.sr)), worker=worker)
    return served
