"""Prediction latency of a saved artifact.

* cold process: wall time of ``tympan predict RUN FILE`` in a fresh process (the first run
  fills the JAX compilation cache in ``~/.cache/tympan/jax``; later runs read it), median of
  ``--runs`` runs after that first one, which is reported separately;
* model call: one 1-s clip through the loaded model after warm-up, median of 200 calls, as
  ``model.predict(x)`` and as a direct ``model(x, training=False)`` call.

``--runtime onnx`` times the lean runtime side by side (``tympan predict RUN FILE --runtime
onnx``, onnxruntime without Keras; needs ``RUN/model.onnx`` from ``tympan export RUN``): the
cold processes of both runtimes alternate, and the ratio onnx / keras of their medians, the
labels both print and each process's peak memory (``ru_maxrss``) are reported.

Run (after ``make demo``, which writes runs/demo)::

    .venv/bin/python benchmarks/predict_latency.py runs/demo
    .venv/bin/python benchmarks/predict_latency.py runs/demo --runtime onnx --runs 3
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


def cold_process(run: Path, file: Path, runtime: str) -> tuple[float, float, str]:
    """``(seconds, peak MB, label)`` of one fresh ``tympan predict RUN FILE --runtime ...``,
    started from a fresh parent so that its peak RSS is its own (``ru_maxrss`` of children is
    the largest child's); the seconds are the child's alone, timed in that parent."""
    code = ("import resource, subprocess, sys, time; t0 = time.perf_counter(); "
            "done = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True); "
            "print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
            "done.stdout.strip().splitlines()[-1].split(',')[3])")
    exe = Path(sys.executable).with_name("tympan")
    out = subprocess.run([sys.executable, "-c", code, str(exe), "predict", str(run), str(file),
                          "--runtime", runtime, "--format", "csv"], check=True, capture_output=True,
                         text=True)
    seconds, peak, label = out.stdout.split()
    return float(seconds), int(peak) / 1024, label


def side_by_side(run: Path, file: Path, n: int) -> None:
    """Cold processes of both runtimes, alternating (one first run each, not counted)."""
    runs = {"keras": [], "onnx": []}
    for i in range(n + 1):
        for runtime in runs:
            result = cold_process(run, file, runtime)
            if i:
                runs[runtime].append(result)
    med = {k: statistics.median(s for s, _, _ in v) for k, v in runs.items()}
    print(f"{os.cpu_count()} cores, artifact {run}, file {file.name}, {n} cold runs each")
    print("| runtime | cold `tympan predict`, median | runs (s) | peak RSS | label |\n"
          "|---|---:|---|---:|---|")
    for k, v in runs.items():
        print(f"| {k} | {med[k]:.2f} s | {', '.join(f'{s:.2f}' for s, _, _ in v)} | "
              f"{max(m for _, m, _ in v):.0f} MB | {v[0][2]} |")
    print(f"ratio onnx / keras: {med['onnx'] / med['keras']:.2f}")


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
    p.add_argument("--runtime", choices=["keras", "onnx"], default="keras",
                   help="onnx: time the lean runtime next to the keras one (needs RUN/model.onnx)")
    args = p.parse_args(argv)
    from tympan import data

    file = args.file or data.example_file("7_theo_9.wav")
    if args.runtime == "onnx":
        side_by_side(args.run, file, args.runs)
        return 0
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
