"""How much of the new-speaker gap on FSDD is seed variance: several seeds of the default
recipe per held-out speaker, each alone and averaged (an ensemble of their probabilities).

For each ``--speakers`` fold (leave that speaker out) the default ``conv1d`` recipe is trained
``--seeds`` times with different seeds through the pipeline; every model predicts the held-out
speaker's 500 clips. Reported: each seed's accuracy, their mean and spread, and the accuracy of
the mean probabilities.

Run (each training about 1-2 minutes on 2 cores)::

    .venv/bin/python benchmarks/fsdd_ensemble.py --speakers george,nicolas --seeds 3
    .venv/bin/python benchmarks/fsdd_ensemble.py --speakers standard --seeds 3   # takes 0-4 test

``standard`` in ``--speakers`` is the standard split (takes 0-4 of every speaker and digit are
the test set) instead of a held-out speaker.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import tympan  # noqa: F401  (selects the default backend before keras is imported)
from tympan import data, pipeline

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--speakers", default="george,nicolas")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    dataset = data.from_regex(FSDD, data.FSDD_PATTERN)
    X, kept = data.load_clips(dataset, sr=8000, duration=1.0, progress=False)
    assert len(kept) == len(dataset)
    y, groups = dataset.targets(), dataset.groups()
    print("| held-out speaker | each seed | mean (std) | ensemble of the seeds | s |")
    print("|---|---|---:|---:|---:|")
    rows = []
    standard = data.split(dataset, method="pattern", test_pattern=r"_[0-4]\.wav$")
    for speaker in args.speakers.split(","):
        if speaker == "standard":
            test = np.zeros(len(dataset), dtype=bool)
            test[standard.test] = True
            split = standard
        else:
            test = groups == speaker
            split = data.split(dataset, method="group", test_groups=[speaker])
        probs, accs, t0 = [], [], time.perf_counter()
        for seed in range(args.seeds):
            config = pipeline.PipelineConfig(training=pipeline.TrainConfig(epochs=args.epochs, seed=seed))
            art = pipeline.train(dataset, config, split=split, verbose=0, progress=False)
            prob = art.model.predict(X[test], batch_size=256, verbose=0)
            probs.append(prob)
            accs.append(float(np.mean(prob.argmax(1) == y[test])))
        ensemble = float(np.mean(np.mean(probs, axis=0).argmax(1) == y[test]))
        seconds = time.perf_counter() - t0
        rows.append({"speaker": speaker, "seeds": accs, "ensemble": ensemble, "seconds": seconds})
        print(f"| {speaker} | {' / '.join(f'{a:.1%}' for a in accs)} | {np.mean(accs):.1%} "
              f"({np.std(accs):.1%}) | **{ensemble:.1%}** | {seconds:.0f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
