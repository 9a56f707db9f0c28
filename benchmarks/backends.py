"""Training throughput and inference latency of the reference model on each Keras backend.

What is measured
----------------
The reference ("Example-1") Conv1D classifier::

    Input (173, 128) float32
    Conv1D(32, 3, relu) -> MaxPool1D(2) -> Conv1D(64, 3, relu) -> MaxPool1D(2)
    -> Flatten -> Dense(128, relu) -> Dense(10, softmax)

trained with Adam (lr 1e-3), sparse categorical cross-entropy and batch size 32 on seeded
random data (2048 samples by default, random integer labels), on:

* every Keras backend (``jax``, ``torch``, ``tensorflow``); a backend whose package is not
  importable is reported as "not installed";
* an equivalent hand-written PyTorch loop (``nn.Sequential`` with channels-first ``Conv1d``,
  the input transposed per batch, ``torch.optim.Adam``, ``model.train()``,
  ``zero_grad``/``backward``/``step``, reshuffled every epoch like ``model.fit``).

Each Keras backend runs in its own subprocess, because the backend is fixed when Keras is
imported: the script re-invokes itself with ``KERAS_BACKEND=<name>`` and ``--worker <name>``
and reads one JSON line from the child's stdout.  The PyTorch loop runs in a subprocess too,
so every contender starts from the same clean interpreter and the same thread settings.
Threads are *not* pinned: each library uses its defaults, and the thread counts it reports are
printed with the results.  Nothing else heavy should run on the machine during a measurement.

Methodology

* training: one warm-up epoch (tracing / compilation) that is not counted, then ``--epochs``
  epochs (default 3) of ``model.fit(..., verbose=0)`` timed per epoch with a callback;
  samples/s is the median over the timed epochs.  The PyTorch loop does the same (1 warm-up
  epoch, then the same number of timed epochs over the same number of samples).
* ``predict()`` latency: after a few warm-up calls, the median of 50 calls of
  ``model.predict(x1, verbose=0)`` with ``x1`` of shape (1, 173, 128).
* direct-call latency: the median of 200 calls of ``model(x1, training=False)``, each result
  converted to NumPy so that asynchronous backends (JAX) are timed to completion.  For the
  PyTorch loop the "direct call" is ``net(x1)`` under ``net.eval()`` and ``torch.no_grad()``.

Run it (takes a few minutes on a 2-core machine)::

    .venv/bin/python benchmarks/backends.py
    .venv/bin/python benchmarks/backends.py --json results.json   # also write the results
    .venv/bin/python benchmarks/backends.py --quick                 # smoke run, seconds

It prints a Markdown table: backend | train samples/s | ratio to the PyTorch loop |
predict() ms | direct call ms, below a header with the date, machine, versions and command.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

KERAS_BACKENDS = ("jax", "torch", "tensorflow")
TORCH_LOOP = "torch-loop"
RESULT_PREFIX = "TYMPAN_BENCH_RESULT "

INPUT_SHAPE = (173, 128)
NUM_CLASSES = 10
LEARNING_RATE = 1e-3
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "XLA_FLAGS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


# --------------------------------------------------------------------------- helpers


def _make_data(n_samples: int, seed: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, *INPUT_SHAPE), dtype=np.float32)
    y = rng.integers(0, NUM_CLASSES, size=n_samples).astype(np.int32)
    return x, y


def _median_ms(fn: Any, calls: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _thread_info() -> dict[str, Any]:
    info: dict[str, Any] = {k: os.environ[k] for k in THREAD_ENV_VARS if k in os.environ}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["torch_num_threads"] = torch.get_num_threads()
        info["torch_num_interop_threads"] = torch.get_num_interop_threads()
    return info


def _emit(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- workers


def _worker_keras(name: str, args: argparse.Namespace) -> dict[str, Any]:
    import keras

    actual = keras.backend.backend()
    if actual != name:
        raise RuntimeError(f"asked for backend {name!r} but Keras loaded {actual!r}")
    keras.utils.set_random_seed(args.seed)
    x, y = _make_data(args.samples, args.seed)

    model = keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            keras.layers.Conv1D(32, 3, activation="relu"),
            keras.layers.MaxPooling1D(2),
            keras.layers.Conv1D(64, 3, activation="relu"),
            keras.layers.MaxPooling1D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
    )

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []
            self._t0 = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.times.append(time.perf_counter() - self._t0)

    fit_kwargs = {"batch_size": args.batch_size, "verbose": 0}
    model.fit(x, y, epochs=1, **fit_kwargs)  # warm-up: tracing / compilation
    timer = EpochTimer()
    history = model.fit(x, y, epochs=args.epochs, callbacks=[timer], **fit_kwargs)
    samples_per_s = [args.samples / t for t in timer.times]

    x1 = x[:1]
    predict_ms = _median_ms(lambda: model.predict(x1, verbose=0), args.predict_calls, warmup=5)
    direct_ms = _median_ms(
        lambda: keras.ops.convert_to_numpy(model(x1, training=False)),
        args.direct_calls,
        warmup=10,
    )
    return {
        "status": "ok",
        "backend": name,
        "library_version": importlib.metadata.version(
            {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow"}[name]
        ),
        "params": model.count_params(),
        "epoch_seconds": timer.times,
        "samples_per_s": statistics.median(samples_per_s),
        "final_loss": float(history.history["loss"][-1]),
        "predict_ms": predict_ms,
        "direct_ms": direct_ms,
        "jit_compile": getattr(model, "jit_compile", None),
        "threads": _thread_info(),
    }


def _worker_torch_loop(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from torch import nn

    torch.manual_seed(args.seed)
    x_np, y_np = _make_data(args.samples, args.seed)
    x = torch.from_numpy(x_np)  # (N, 173, 128): channels-last like the Keras input
    y = torch.from_numpy(y_np).long()

    steps_after_convs = ((INPUT_SHAPE[0] - 2) // 2 - 2) // 2  # 41
    net = nn.Sequential(
        nn.Conv1d(INPUT_SHAPE[1], 32, 3),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Flatten(),
        nn.Linear(64 * steps_after_convs, 128),
        nn.ReLU(),
        nn.Linear(128, NUM_CLASSES),  # logits: softmax is folded into the loss
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed)

    def run_epoch() -> float:
        net.train()
        order = torch.randperm(args.samples, generator=generator)
        total = 0.0
        for start in range(0, args.samples, args.batch_size):
            idx = order[start : start + args.batch_size]
            xb = x[idx].transpose(1, 2)  # (B, 128, 173): channels-first for Conv1d
            yb = y[idx]
            optimizer.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        return total / args.samples

    run_epoch()  # warm-up
    times = []
    loss = float("nan")
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        loss = run_epoch()
        times.append(time.perf_counter() - t0)

    net.eval()
    x1 = x[:1].transpose(1, 2)

    def direct() -> Any:
        with torch.no_grad():
            return net(x1).numpy()

    direct_ms = _median_ms(direct, args.direct_calls, warmup=10)
    return {
        "status": "ok",
        "backend": TORCH_LOOP,
        "library_version": torch.__version__,
        "params": sum(p.numel() for p in net.parameters()),
        "epoch_seconds": times,
        "samples_per_s": statistics.median(args.samples / t for t in times),
        "final_loss": loss,
        "predict_ms": None,
        "direct_ms": direct_ms,
        "threads": _thread_info(),
    }


def _run_worker(name: str, args: argparse.Namespace) -> int:
    if name == TORCH_LOOP:
        result = _worker_torch_loop(args)
    else:
        result = _worker_keras(name, args)
    _emit(result)
    return 0


# --------------------------------------------------------------------------- driver


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _processor() -> str:
    proc = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return proc or platform.machine()


def _spawn(name: str, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ)
    if name != TORCH_LOOP:
        env["KERAS_BACKEND"] = name
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        name,
        "--samples",
        str(args.samples),
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--predict-calls",
        str(args.predict_calls),
        "--direct-calls",
        str(args.direct_calls),
        "--seed",
        str(args.seed),
    ]
    print(f"[{name}] running ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {args.timeout} s", "backend": name}
    wall = time.perf_counter() - t0
    stderr_lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    for ln in stderr_lines:
        print(f"[{name}] {ln}", file=sys.stderr)
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
    if proc.returncode != 0 or result is None:
        return {
            "status": f"failed (exit code {proc.returncode})",
            "backend": name,
            "stderr_tail": stderr_lines[-20:],
        }
    result["worker_wall_s"] = wall
    result["stderr"] = stderr_lines
    print(f"[{name}] done in {wall:.1f} s", file=sys.stderr, flush=True)
    return result


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _table(results: dict[str, dict[str, Any]]) -> str:
    ref = results.get(TORCH_LOOP, {})
    ref_rate = ref.get("samples_per_s") if ref.get("status") == "ok" else None
    rows = [
        "| backend | train samples/s | ratio to PyTorch loop | predict() ms | direct call ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        label = "PyTorch loop (hand-written)" if name == TORCH_LOOP else f"keras[{name}]"
        if r.get("status") != "ok":
            rows.append(f"| {label} | {r.get('status')} | — | — | — |")
            continue
        rate = r["samples_per_s"]
        ratio = rate / ref_rate if ref_rate else None
        rows.append(
            f"| {label} | {rate:.0f} | {_fmt(ratio, '.2f')} | "
            f"{_fmt(r['predict_ms'], '.2f')} | {_fmt(r['direct_ms'], '.2f')} |"
        )
    return "\n".join(rows)


def _header(args: argparse.Namespace, argv: list[str]) -> tuple[str, dict[str, Any]]:
    meta = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": _processor(),
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "keras": _version("keras"),
        "jax": _version("jax"),
        "jaxlib": _version("jaxlib"),
        "torch": _version("torch"),
        "tensorflow": _version("tensorflow"),
        "command": shlex.join(["python", "benchmarks/backends.py", *argv]),
        "samples": args.samples,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "predict_calls": args.predict_calls,
        "direct_calls": args.direct_calls,
        "seed": args.seed,
        "thread_env": {k: os.environ[k] for k in THREAD_ENV_VARS if k in os.environ},
    }
    lines = [
        f"{meta['date']} — {meta['machine']} ({meta['nproc']} CPUs, {meta['platform']}) — "
        f"Python {meta['python']}, keras {meta['keras']}, jax {meta['jax']}, "
        f"torch {meta['torch']}, tensorflow {meta['tensorflow']}",
        f"command: `{meta['command']}` — {args.samples} samples, batch {args.batch_size}, "
        f"1 warm-up + {args.epochs} timed epoch(s) (median), predict() median of "
        f"{args.predict_calls}, direct call median of {args.direct_calls}",
    ]
    return "\n".join(lines), meta


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=2048, help="training samples (default 2048)")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (default 3)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--predict-calls", type=int, default=50)
    p.add_argument("--direct-calls", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=1800.0, help="per worker, seconds")
    p.add_argument(
        "--backends",
        default=",".join((*KERAS_BACKENDS, TORCH_LOOP)),
        help="comma-separated subset of jax,torch,tensorflow,torch-loop",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 128 samples, 1 epoch, few calls"
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.samples, args.epochs, args.predict_calls, args.direct_calls = 128, 1, 5, 10
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    if args.worker:
        return _run_worker(args.worker, args)

    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    unknown = set(names) - {*KERAS_BACKENDS, TORCH_LOOP}
    if unknown:
        raise SystemExit(f"unknown backend(s): {', '.join(sorted(unknown))}")
    header, meta = _header(args, argv)
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        package = "torch" if name == TORCH_LOOP else name
        if importlib.util.find_spec(package) is None:
            results[name] = {"status": "not installed", "backend": name}
            continue
        results[name] = _spawn(name, args)

    threads = {
        n: r["threads"] for n, r in results.items() if r.get("status") == "ok" and r["threads"]
    }
    print()
    print(header)
    print()
    print(_table(results))
    print()
    print(
        "threads: not pinned (library defaults)"
        + "".join(f"; {n}: {t}" for n, t in threads.items())
    )
    ok = {n: r for n, r in results.items() if r.get("status") == "ok"}
    keras_ok = {n: r for n, r in ok.items() if n != TORCH_LOOP}
    if keras_ok:
        best = max(keras_ok, key=lambda n: keras_ok[n]["samples_per_s"])
        print(f"fastest Keras backend for training: {best}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"meta": meta, "results": results}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
