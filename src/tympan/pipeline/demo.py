"""The main job, end to end on the spoken digits bundled with the package."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tympan import data
from tympan.pipeline.artifact import Artifact
from tympan.pipeline.config import PipelineConfig, TrainConfig
from tympan.pipeline.predict import Prediction, predict
from tympan.pipeline.train import train

DEMO_TEST_SPEAKER = "theo"


@dataclass(frozen=True)
class DemoResult:
    artifact: Artifact
    held_out_file: Path
    true_label: str
    prediction: Prediction


def run_demo(out="runs/demo", *, epochs: int = 60, verbose: int = 2,
             progress: bool = True, report=None) -> DemoResult:
    """Train the default recipe on the bundled FSDD subset (600 clips, 6 speakers) with a
    speaker-disjoint split (speaker ``theo`` is never seen in training), save the artifact to
    ``out`` (replacing an earlier demo artifact there), and predict one held-out recording."""
    dataset = data.from_regex(data.demo_dir(), data.FSDD_PATTERN)
    config = PipelineConfig(training=TrainConfig(epochs=epochs))
    artifact = train(dataset, config, split="group",
                     split_options={"test_groups": [DEMO_TEST_SPEAKER]}, out=out, overwrite=True,
                     verbose=verbose, progress=progress, report=report)
    held_out = data.example_file(f"7_{DEMO_TEST_SPEAKER}_9.wav")
    (prediction,) = predict(artifact.path, held_out)
    return DemoResult(artifact, held_out, "7", prediction)
