"""Where a separator's generalisation gap lies: unheard speech, or unheard noise?

Mixes clean NOIZEUS sentences with ``noisy - clean`` noise segments of other NOIZEUS
recordings at exactly 0 and 5 dB SNR, in the four combinations of speech from training
sentences (sp01, sp07, sp13, sp19, sp22, sp24) or held-out ones (sp25-sp30) and noise from the
recordings of either set (a random recording of each of the 8 noises, a random segment of it,
seeded).  Prints the mean SI-SDRi of the speech source per combination and SNR (48 mixtures
each)::

    nice -n 10 .venv/bin/python benchmarks/separation_gap.py runs/sep
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import tympan  # noqa: F401  (selects the Keras backend before keras is imported)
from tympan import pipeline
from tympan.data.mixing import load_pair, mix_at_snr, noizeus_pairs, random_segment
from tympan.dsp.metrics import si_sdr_improvement

NOIZEUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "noizeus"
TRAINING = ["sp01", "sp07", "sp13", "sp19", "sp22", "sp24"]
HELD_OUT = [f"sp{i}" for i in range(25, 31)]


def material(sentences: list[str]) -> tuple[dict, dict]:
    """``{sentence: clean}`` and ``{noise name: [noise of each recording]}``."""
    clean, noise = {}, {}
    for pair in noizeus_pairs(NOIZEUS, only=sentences):
        c, n = load_pair(pair, sr=8000)
        clean[pair.sentence] = c
        noise.setdefault(pair.noise, []).append(n)
    return clean, noise


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path, help="a separator artifact trained with sp25-sp30 held out")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    art = pipeline.load_artifact(args.run)
    trained = set(art.split.get("train_sentences") or [])
    if not set(TRAINING) <= trained or trained & set(HELD_OUT):
        raise SystemExit(f"{args.run} must have trained on {TRAINING} and held out {HELD_OUT}")
    (c_train, n_train), (c_held, n_held) = material(TRAINING), material(HELD_OUT)
    rng = np.random.default_rng(args.seed)
    print("| speech | noise | 0 dB | 5 dB |\n|---|---|---:|---:|")
    for speech_name, clean in (("training sentences", c_train), ("held-out sentences", c_held)):
        for noise_name, noise in (("training recordings", n_train), ("held-out recordings", n_held)):
            gains = []
            for snr in (0.0, 5.0):
                g = []
                for c in clean.values():
                    for recordings in noise.values():
                        n = recordings[int(rng.integers(len(recordings)))]
                        mixture, _ = mix_at_snr(c, random_segment(n, len(c), rng), snr)
                        est = pipeline.separate(art, mixture, 8000)[art.labels[0]]
                        g.append(si_sdr_improvement(c, est, mixture))
                gains.append(float(np.mean(g)))
            print(f"| {speech_name} | {noise_name} | {gains[0]:.2f} | {gains[1]:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
