"""Voice (speaker) recognition: the seed's FFT idea against framed features, on FSDD and EMO-DB.

Four recipes, each trained by the pipeline on waveforms (the feature layers are in the model):

- ``fft+mlp``: magnitude of the whole clip's FFT up to ``--fmax`` Hz (dB, peak at 0 dB) -> MLP
  (the seed's "give every neuron a y value");
- ``fft-framed+conv1d``: FFT magnitudes of 32 ms frames up to ``--fmax`` -> Conv1D;
- ``mel+conv1d``: 40/64 log-mel bands -> Conv1D (the pipeline's default recipe);
- ``mfcc+conv1d``: 20 MFCCs -> Conv1D.

Conv1D runs without the mel-warp augmentation (``augmentation={"freq_warp": 0}``): warping the
spectrum imitates another vocal tract, which is right for word recognition across speakers and wrong when the
speaker is the answer.  For the same reason it runs without per-example normalisation (CMVN
subtracts each clip's mean spectrum, a large part of what a voice sounds like) unless
``--per-example-norm``.

Protocols (test recordings never heard in training, the speakers all known):

- FSDD: 6 speakers; takes 0-4 of every speaker and digit are the test set (300 clips), takes
  5-49 train (``--label-pattern fsdd-speaker --split group --test-groups 0,1,2,3,4``);
- EMO-DB: 10 speakers; the 10 texts are split into 5 folds of 2 texts (``group-kfold`` on the
  text code), so each fold's test sentences are never spoken in its training data; mean of
  the folds and pooled accuracy.

Run::

    .venv/bin/python benchmarks/speakers.py                     # both corpora, every recipe
    .venv/bin/python benchmarks/speakers.py --corpus fsdd --recipes fft+mlp
    .venv/bin/python benchmarks/speakers.py --corpus emodb --only-folds 0

The FSDD rows from the command line: ``tympan train ../shared/data/fsdd/recordings
--label-pattern fsdd-speaker --split group --test-groups 0,1,2,3,4 --model mlp --features fft
--feature-param fmax=2000 --out runs/voices``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import tympan  # noqa: F401  (selects the default backend before keras is imported)
from tympan import data, pipeline

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RECIPES = ("fft+mlp", "fft-framed+conv1d", "mel+conv1d", "mfcc+conv1d")
CORPORA = {
    # name: (root, label pattern, sample rate, clip seconds)
    "fsdd": (SHARED / "fsdd" / "recordings", "fsdd-speaker", 8000, 1.0),
    "emodb": (SHARED / "emodb" / "wav", "emodb-speaker", 16000, 2.0),
}


def recipe(name: str, *, fmax: float, epochs: int, per_example_norm: bool) -> pipeline.PipelineConfig:
    conv = {"name": "conv1d", "augmentation": {"freq_warp": 0.0}, "per_example_norm": per_example_norm}
    features, model = {
        "fft+mlp": ({"kind": "fft", "fmax": fmax}, {"name": "mlp"}),
        "fft-framed+conv1d": ({"kind": "fft", "framed": True, "fmax": fmax}, conv),
        "mel+conv1d": ({"kind": "mel"}, conv),
        "mfcc+conv1d": ({"kind": "mfcc"}, conv),
    }[name]
    return pipeline.PipelineConfig(features=features, model=model,
                                   training=pipeline.TrainConfig(epochs=epochs))


def with_audio(config: pipeline.PipelineConfig, sr: int, duration: float) -> pipeline.PipelineConfig:
    return pipeline.PipelineConfig.from_dict({**config.to_dict(),
                                              "audio": {"sr": sr, "duration": duration}})


def run_fsdd(config, dataset) -> dict:
    t0 = time.perf_counter()
    artifact = pipeline.train(dataset, config, split="group",
                              split_options={"test_groups": [str(k) for k in range(5)]},
                              verbose=0, progress=False)
    test = artifact.metrics["test"]
    return {"accuracy": test["accuracy"], "macro_f1": test["macro_f1"], "n": test["n"],
            "seconds": time.perf_counter() - t0,
            "epochs": artifact.metrics.get("epochs_run")}


def run_emodb(config, dataset, only) -> dict:
    t0 = time.perf_counter()
    cv = pipeline.cross_validate(dataset, config, method="group_kfold", n_splits=5, only=only,
                                 progress=False)
    pooled = pipeline.Report.from_dict(cv["pooled"])
    return {"accuracy": pooled.accuracy, "macro_f1": pooled.macro_f1,
            "mean_accuracy": cv["mean_accuracy"], "std_accuracy": cv["std_accuracy"],
            "folds": [round(f["accuracy"], 4) for f in cv["folds"]],
            "n": int(pooled.confusion.sum()), "seconds": time.perf_counter() - t0}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", choices=[*CORPORA, "both"], default="both")
    p.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated, of " + ", ".join(RECIPES))
    p.add_argument("--fmax", type=float, default=None, help="FFT bins kept (default: 2000 Hz for "
                   "FSDD, 4000 Hz for EMO-DB)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--per-example-norm", action="store_true", help="CMVN in the Conv1D recipes")
    p.add_argument("--only-folds", default=None, help="EMO-DB folds to run, e.g. 0,3")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    names = [r for r in args.recipes.split(",") if r]
    bad = [r for r in names if r not in RECIPES]
    if bad:
        p.error(f"unknown recipe(s) {bad}; choose from {RECIPES}")
    only = None if args.only_folds is None else [int(k) for k in args.only_folds.split(",")]
    corpora = list(CORPORA) if args.corpus == "both" else [args.corpus]
    command = "python benchmarks/speakers.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"# speaker recognition; {command}\n")
    print("| corpus | recipe | accuracy | macro-F1 | per fold | n | s |\n|---|---|---:|---:|---|---:|---:|")
    results = []
    for corpus in corpora:
        root, pattern, sr, duration = CORPORA[corpus]
        dataset = data.discover(root, label_pattern=pattern)
        fmax = args.fmax or (2000.0 if corpus == "fsdd" else 4000.0)
        for name in names:
            config = with_audio(recipe(name, fmax=fmax, epochs=args.epochs,
                                         per_example_norm=args.per_example_norm), sr, duration)
            r = run_fsdd(config, dataset) if corpus == "fsdd" else run_emodb(config, dataset, only)
            results.append({"corpus": corpus, "recipe": name, "fmax": fmax, **r})
            folds = " ".join(f"{a:.3f}" for a in r.get("folds", []))
            print(f"| {corpus} | {name} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {folds} | "
                  f"{r['n']} | {r['seconds']:.0f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"command": command, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
