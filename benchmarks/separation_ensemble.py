"""SI-SDRi of separators averaged: each artifact separates the held-out NOIZEUS mixtures and
their speech estimates are averaged (the sources of the average still add back to the mixture).

Train the members with ``benchmarks/separation.py --out DIR --seed N``, then::

    nice -n 10 .venv/bin/python benchmarks/separation_ensemble.py runs/sep-seed0 runs/sep-seed1

Prints, per nominal input SNR, each member's mean SI-SDRi of the speech source and that of the
averaged estimate, on the sentences the first artifact held out (all 8 noises, 48 mixtures per
SNR for NOIZEUS sp25-sp30).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import tympan  # noqa: F401  (selects the Keras backend before keras is imported)
from tympan.data.mixing import HELD_OUT_SENTENCES, load_pair, noizeus_pairs
from tympan.dsp.metrics import si_sdr_improvement
from tympan.pipeline import load_artifact, separate

NOIZEUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "noizeus"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="separator artifacts (two or more)")
    args = p.parse_args(argv)
    arts = [load_artifact(r) for r in args.runs]
    sentences = arts[0].split.get("held_out") or HELD_OUT_SENTENCES
    gains: dict[tuple[str, float], list[float]] = {}
    for pair in noizeus_pairs(NOIZEUS, only=sentences):
        clean, noise = load_pair(pair, sr=8000)
        mixture = clean + noise
        estimates = [separate(a, mixture, 8000)[a.labels[0]] for a in arts]
        for name, est in [*((r.name, e) for r, e in zip(args.runs, estimates, strict=True)),
                          ("average", np.mean(estimates, axis=0))]:
            gains.setdefault((name, pair.snr_db), []).append(si_sdr_improvement(clean, est, mixture))
    names = [r.name for r in args.runs] + ["average"]
    snrs = sorted({snr for _, snr in gains})
    print("| input SNR | " + " | ".join(names) + " |")
    print("|---:|" + "---:|" * len(names))
    for snr in snrs:
        print(f"| {snr:g} dB | " + " | ".join(f"{np.mean(gains[(n, snr)]):.2f}" for n in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
