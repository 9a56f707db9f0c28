"""Train, evaluate, save and predict: the whole pipeline from audio files to an artifact.

```
artifact = train(dataset, PipelineConfig(...), split="group", out="runs/digits")
report = evaluate("runs/digits", test_dataset)
predictions = predict("runs/digits", ["a.wav", "b.mp3"])
```
"""

from tympan.pipeline.artifact import SCHEMA_VERSION, Artifact, load_artifact, save_artifact
from tympan.pipeline.config import AudioConfig, PipelineConfig, TrainConfig, WindowConfig
from tympan.pipeline.demo import DemoResult, run_demo
from tympan.pipeline.evaluate import cross_validate, evaluate
from tympan.pipeline.metrics import Report
from tympan.pipeline.predict import Prediction, Segment, predict
from tympan.pipeline.train import train

__all__ = [
    "SCHEMA_VERSION",
    "Artifact",
    "AudioConfig",
    "DemoResult",
    "PipelineConfig",
    "Prediction",
    "Report",
    "Segment",
    "TrainConfig",
    "WindowConfig",
    "cross_validate",
    "evaluate",
    "load_artifact",
    "predict",
    "run_demo",
    "save_artifact",
    "train",
]
