"""Train, evaluate, save and predict: the whole pipeline from audio files to an artifact.

```
artifact = train(dataset, PipelineConfig(...), split="group", out="runs/digits")
report = evaluate("runs/digits", test_dataset)
predictions = predict("runs/digits", ["a.wav", "b.mp3"])
ae = train_autoencoder("speech/", PipelineConfig(model={"name": "autoencoder"}), out="runs/ae")
reconstruct_file("runs/ae", "in.mp3", "out.mp3")
sep = train_separator(pairs="../shared/data/noizeus", out="runs/sep")
separate_file("runs/sep", "mix.wav", "separated/")        # separated/speech.wav, noise.wav
combine_separators(["runs/sep", "runs/sep-seed1"], out="runs/sep-avg")   # averaged sources
adapt("runs/emotions", "new_speaker/", out="runs/emotions-anna")   # feature_norm="group" models
tagger = train_tagging("clips.csv", out="runs/tags")   # labels such as "dog;bark": several per clip
```

Every task (classification, reconstruction, separation, tagging; :func:`get_task`) is a
:class:`Task` object (:mod:`tympan.pipeline.task`) and trains through one driver
(:mod:`tympan.pipeline.driver`); the functions above are their public faces.
"""

from tympan.pipeline.adaptation import adapt
from tympan.pipeline.artifact import SCHEMA_VERSION, Artifact, load_artifact, save_artifact
from tympan.pipeline.config import (
    DEFAULT_MODEL,
    AudioConfig,
    MixingConfig,
    PipelineConfig,
    TrainConfig,
    WindowConfig,
)
from tympan.pipeline.demo import DemoResult, run_demo
from tympan.pipeline.evaluate import cross_validate, evaluate
from tympan.pipeline.metrics import Report
from tympan.pipeline.model_input import network_input
from tympan.pipeline.predict import Prediction, Segment, predict
from tympan.pipeline.reconstruct import (
    evaluate_reconstruction,
    reconstruct,
    reconstruct_file,
    train_autoencoder,
)
from tympan.pipeline.separate import evaluate_separation, separate, separate_file
from tympan.pipeline.separator_ensemble import combine_separators
from tympan.pipeline.separator_train import train_separator
from tympan.pipeline.tagging import TagPrediction, train_any, train_tagging
from tympan.pipeline.task import Task, available_tasks, get_task, register_task
from tympan.pipeline.train import train

__all__ = [
    "DEFAULT_MODEL",
    "SCHEMA_VERSION",
    "Artifact",
    "AudioConfig",
    "DemoResult",
    "MixingConfig",
    "PipelineConfig",
    "Prediction",
    "Report",
    "Segment",
    "TagPrediction",
    "Task",
    "TrainConfig",
    "WindowConfig",
    "adapt",
    "available_tasks",
    "combine_separators",
    "cross_validate",
    "evaluate",
    "evaluate_reconstruction",
    "evaluate_separation",
    "get_task",
    "load_artifact",
    "network_input",
    "predict",
    "reconstruct",
    "reconstruct_file",
    "register_task",
    "run_demo",
    "save_artifact",
    "separate",
    "separate_file",
    "train",
    "train_any",
    "train_autoencoder",
    "train_separator",
    "train_tagging",
]
