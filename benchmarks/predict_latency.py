"""Prediction latency of a saved artifact.

* cold process: wall time of ``tympan predict RUN FILE`` in a fresh process (the first run
  fills the JAX compilation cache in ``~/.cache/tympan/jax``; later runs read it), median of
  ``--runs`` runs after that first one, which is reported separately;
* model call: one 1-s clip through the loaded model after warm-up, median of 200 calls, as
  ``model.predict(x)`` and as a direct ``model(x, training=False)`` call.

Run (after ``make demo``, which writes runs/demo)::

    .venv/bin/python benchmarks/predict_latency.py runs/demo
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cold_runs(run: Path, file: Path, n: int) -> list[float]:
    exe = Path(sys.executable).with_name("tympan")
    times = []
    for _ in range(n + 1):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "predict", str(run), str(file)], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def warm_calls(run: Path, calls: int) -> dict[str, float]:
    import numpy as np

    import tympan  # noqa: F401
    from tympan import pipeline

    artifact = pipeline.load_artifact(run)
    x = np.zeros((1, artifact.config.audio.samples), dtype="float32")
    x[0, :] = np.random.default_rng(0).standard_normal(x.shape[1]) * 0.1
    out = {}
    for name, fn in {"predict": lambda: artifact.model.predict(x, verbose=0),
                     "direct": lambda: np.asarray(artifact.model(x, training=False))}.items():
        for _ in range(5):
            fn()
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        out[name] = statistics.median(samples) * 1000
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path, nargs="?", default=ROOT / "runs" / "demo")
    p.add_argument("--file", type=Path, default=None)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--calls", type=int, default=200)
    args = p.parse_args(argv)
    from tympan import data

    file = args.file or data.example_file("7_theo_9.wav")
    import keras

    cold = cold_runs(args.run, file, args.runs)
    warm = warm_calls(args.run, args.calls)
    print(f"backend {keras.backend.backend()}, {os.cpu_count()} cores, artifact {args.run}")
    print("| measure | value |\n|---|---:|")
    print(f"| `tympan predict` cold process, first run (empty compile cache) | {cold[0]:.2f} s |")
    print(f"| `tympan predict` cold process, median of {args.runs} | {statistics.median(cold[1:]):.2f} s |")
    print(f"| `model.predict` one 1-s clip, median of {args.calls} | {warm['predict']:.2f} ms |")
    print(f"| `model(x)` direct call, one 1-s clip, median of {args.calls} | {warm['direct']:.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
