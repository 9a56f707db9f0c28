"""Spoken-digit accuracy on the full FSDD (3000 clips, 6 speakers) with tympan's default recipe.

Two figures, each with its training time:
* standard split: takes 0-4 of every speaker and digit are the test set (the usual FSDD split);
* leave-one-speaker-out: six folds, each tests on a speaker never heard in training.

Run (about 10-15 minutes on 2 cores)::

    .venv/bin/python benchmarks/fsdd_accuracy.py                  # both
    .venv/bin/python benchmarks/fsdd_accuracy.py --only standard  # or --only loso
    .venv/bin/python benchmarks/fsdd_accuracy.py --model-param pooling='"global_avg"'

It prints Markdown tables and, with ``--json PATH``, writes every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import tympan  # noqa: F401  (selects the default backend before keras is imported)
from tympan import data, pipeline
from tympan.cli._options import parse_params  # KEY=VALUE, values read as JSON

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"


def _params(pairs):
    return parse_params(tuple(pairs or ()), "--model-param")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=["standard", "loso"])
    p.add_argument("--epochs", type=int, default=None, help="default: the pipeline's")
    p.add_argument("--model", default="conv1d")
    p.add_argument("--model-param", action="append", metavar="KEY=JSON")
    p.add_argument("--features", default=None)
    p.add_argument("--speakers", default=None, help="LOSO on these speakers only, e.g. george,nicolas")
    p.add_argument("--feature-norm", choices=["dataset", "group"], default="dataset",
                   help="group: each speaker normalised by their own statistics; the held-out "
                   "speaker is adapted on their own (unlabelled) test clips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ensemble", type=int, default=1,
                   help="train N models (seeds seed..seed+N-1) and average their probabilities")
    p.add_argument("--self-training", type=int, default=0, metavar="ROUNDS",
                   help="with --feature-norm group: self-train on the unlabelled test clips")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    dataset = data.from_regex(FSDD, data.FSDD_PATTERN)
    training = pipeline.TrainConfig(feature_norm=args.feature_norm, seed=args.seed,
                                    ensemble=args.ensemble, self_training=args.self_training,
                                    **({} if args.epochs is None else {"epochs": args.epochs}))
    config = pipeline.PipelineConfig(
        features={"kind": args.features} if args.features else {},
        model={"name": args.model, **_params(args.model_param)}, training=training)
    results = {"command": "python benchmarks/fsdd_accuracy.py " + " ".join(argv or sys.argv[1:])}
    print(f"# FSDD accuracy: {len(dataset)} clips; {results['command']}")
    if args.only in (None, "standard"):
        t0 = time.perf_counter()
        art = pipeline.train(dataset, config, split="pattern",
                             split_options={"test_pattern": r"_[0-4]\.wav$"}, verbose=0)
        seconds = time.perf_counter() - t0
        test = art.metrics["test"]
        results["standard"] = {"accuracy": test["accuracy"], "macro_f1": test["macro_f1"],
                               "n_test": art.metrics["n_test"], "train_seconds": seconds,
                               "epochs_run": art.metrics["epochs_run"]}
        print("\n| split | test clips | accuracy | macro-F1 | epochs | train+eval s |")
        print("|---|---:|---:|---:|---:|---:|")
        print(f"| standard (takes 0-4 test) | {art.metrics['n_test']} | {test['accuracy']:.4f} | "
              f"{test['macro_f1']:.4f} | {art.metrics['epochs_run']} | {seconds:.0f} |")
        results["config"] = art.config.to_dict()
    if args.only in (None, "loso"):
        t0 = time.perf_counter()
        only = None
        if args.speakers:
            speakers = sorted({item.group for item in dataset.items})
            only = [speakers.index(s) for s in args.speakers.split(",")]
        print("\n| held-out speaker | accuracy | macro-F1 | epochs | train s |\n|---|---:|---:|---:|---:|")

        def row(fold):
            speaker = ",".join(fold["split"]["params"].get("test_groups", [])) or fold["fold"]
            print(f"| {speaker} | {fold['accuracy']:.4f} | {fold['macro_f1']:.4f} | "
                  f"{fold['epochs_run']} | {fold['train_seconds']:.0f} |", flush=True)

        cv = pipeline.cross_validate(dataset, config, method="leave_one_group_out", only=only,
                                     on_fold=row, progress=False)
        results["loso"] = cv | {"seconds": time.perf_counter() - t0}
        print(f"| **mean** | **{cv['mean_accuracy']:.4f}** (std {cv['std_accuracy']:.4f}) | | | |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
