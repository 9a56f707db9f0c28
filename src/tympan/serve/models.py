"""The served artifacts: loaded once, named by their folder, each with its own batcher."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tympan.errors import ParameterError
from tympan.pipeline import WindowConfig, load_artifact
from tympan.serve.batching import MicroBatcher
from tympan.serve.config import ServeConfig


@dataclass
class Served:
    """One artifact behind the server: its name, its batcher (classifiers only) and the
    sliding window of ``WS /stream`` in samples at the artifact's rate."""

    name: str
    artifact: object
    batcher: MicroBatcher | None
    window: int
    hop: int

    @property
    def task(self) -> str:
        return self.artifact.task

    @property
    def ready(self) -> bool:
        return self.batcher is not None and self.batcher.ready.is_set()

    def describe(self) -> dict:
        audio = self.artifact.config.audio
        return {"name": self.name, "task": self.task, "labels": list(self.artifact.labels or []),
                "sample_rate": audio.sr, "clip_seconds": audio.duration,
                "window_seconds": self.window / audio.sr, "hop_seconds": self.hop / audio.sr,
                "ready": self.ready}


def load_models(runs, config: ServeConfig) -> dict[str, Served]:
    """Load every run; the first is the default model.  Two runs with the same folder name
    are refused (the name is the model's URL)."""
    if isinstance(runs, (str, os.PathLike)):
        runs = [runs]
    runs = list(runs)
    if not runs:
        raise ParameterError("runs is empty: give at least one artifact folder to serve")
    served: dict[str, Served] = {}
    for run in runs:
        artifact = load_artifact(run)
        name = Path(run).resolve().name
        if name in served:
            raise ParameterError(f"two runs are named '{name}' ({run}): the folder name is the "
                                 "model's name in the URL, rename one")
        audio = artifact.config.audio
        w = artifact.config.windows
        window = WindowConfig(w.window_sec, w.hop_sec, w.combine).resolved(audio.duration)
        batcher = None
        if artifact.task == "classification":
            batcher = MicroBatcher(artifact, max_batch=config.max_batch, max_wait_ms=config.max_wait_ms,
                                   queue_size=config.queue_size)
        served[name] = Served(name, artifact, batcher, window=max(1, round(window.window_sec * audio.sr)),
                              hop=max(1, round(window.hop_sec * audio.sr)))
    return served
