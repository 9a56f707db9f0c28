"""Autoencoder quality on speech never heard in training: representation x compression.

Training files: FSDD recordings of every speaker but theo (``--train-files`` of them, drawn
with a fixed seed), NOIZEUS clean sentences sp01-sp24 and, with ``--emodb-files N``, N EMO-DB
sentences (German, resampled to 8 kHz), cut into half-overlapping 1-s windows.
Test files, never trained on: the first ``--test-files`` FSDD recordings of speaker theo, and
NOIZEUS clean sp25-sp30 (whole sentences, 2-3 s, reconstructed in overlapping windows).

For each representation (``stft``, ``logmag`` with the input's phase, ``waveform``) and each
compression ratio, one model is trained (``tympan.pipeline.train_autoencoder``, Adam, ``--epochs``
epochs, no early stopping) and measured: SNR, SI-SDR and log-spectral distance (dB), means over
the files of each test set.  ``logmag`` rows count only the magnitude in the bottleneck: its phase
comes from the input (``logmag+gl`` rows use Griffin-Lim's phase instead, 64 iterations).

Run (about 2 minutes per model on 2 cores at the defaults)::

    .venv/bin/python benchmarks/autoencoder.py
    .venv/bin/python benchmarks/autoencoder.py --representations stft --compressions 8 --epochs 5

It prints a Markdown table and, with ``--json PATH``, writes every number.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

import tympan  # noqa: F401  (selects the Keras backend before keras is imported)
from tympan import pipeline
from tympan.cli._options import parse_params  # KEY=VALUE, values read as JSON

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FSDD = SHARED / "fsdd" / "recordings"
NOIZEUS = SHARED / "noizeus" / "clean"
EMODB = SHARED / "emodb" / "wav"


def files(n_train: int, n_test: int, n_emodb: int = 0, seed: int = 0):
    fsdd = sorted(FSDD.glob("*.wav"))
    theo = [p for p in fsdd if "_theo_" in p.name]
    others = [p for p in fsdd if "_theo_" not in p.name]
    rng = np.random.default_rng(seed)
    train = [others[i] for i in sorted(rng.choice(len(others), size=min(n_train, len(others)),
                                                  replace=False))]
    noizeus = sorted(NOIZEUS.glob("sp*.wav"))
    number = {p: int(re.sub(r"\D", "", p.stem)) for p in noizeus}
    train += [p for p in noizeus if number[p] <= 24]
    emodb = sorted(EMODB.glob("*.wav"))
    if n_emodb:
        train += [emodb[i] for i in sorted(rng.choice(len(emodb), size=min(n_emodb, len(emodb)),
                                                      replace=False))]
    tests = {"fsdd_theo": theo[:n_test], "noizeus_sp25_30": [p for p in noizeus if number[p] > 24]}
    return train, tests


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--representations", default="stft,logmag,waveform")
    p.add_argument("--compressions", default="2,4,8,16")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--train-files", type=int, default=1200)
    p.add_argument("--test-files", type=int, default=50)
    p.add_argument("--emodb-files", type=int, default=0,
                   help="also train on this many EMO-DB sentences (16 kHz, resampled to 8 kHz)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--model-param", action="append", metavar="KEY=JSON", default=[],
                   help="extra autoencoder parameter, e.g. width=256 (repeatable)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    extra = parse_params(tuple(args.model_param), "--model-param")
    train, tests = files(args.train_files, args.test_files, args.emodb_files)
    command = "python benchmarks/autoencoder.py " + " ".join(argv or sys.argv[1:])
    print(f"# {command}\n# {len(train)} training files; test sets: "
          + ", ".join(f"{k} ({len(v)} files)" for k, v in tests.items()))
    rows = []
    print("\n| representation | compression | test set | SNR dB | SI-SDR dB | LSD dB | train s |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for rep in args.representations.split(","):
        for comp in (float(c) for c in args.compressions.split(",")):
            cfg = pipeline.PipelineConfig(
                model={"name": "autoencoder", "representation": rep, "compression": comp, **extra},
                training=pipeline.TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                                              learning_rate=args.learning_rate,
                                              early_stopping=None, validation_size=0.0))
            t0 = time.perf_counter()
            art = pipeline.train_autoencoder(train, cfg, test_size=0.0, verbose=0, progress=False)
            seconds = time.perf_counter() - t0
            phases = ["input", "griffinlim"] if rep == "logmag" else ["input"]
            for phase in phases:
                name = rep if phase == "input" else "logmag+gl"
                for test_name, test_files in tests.items():
                    r = pipeline.evaluate_reconstruction(art, test_files, phase=phase)
                    row = {"representation": name, "compression": art.metrics["compression"],
                           "asked": comp, "test_set": test_name, "train_seconds": seconds,
                           "final_loss": art.history["loss"][-1],
                           **{k: r[k] for k in ("mean_snr_db", "mean_si_sdr_db", "mean_lsd_db")}}
                    rows.append(row)
                    print(f"| {name} | {row['compression']:.1f}x | {test_name} | "
                          f"{row['mean_snr_db']:.2f} | {row['mean_si_sdr_db']:.2f} | "
                          f"{row['mean_lsd_db']:.2f} | {seconds:.0f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"command": command, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
