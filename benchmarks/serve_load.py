"""Load on ``tympan serve`` over loopback, next to the server a user writes by hand today.

Starts each server in a child process on a free port of 127.0.0.1, waits for ``/readyz``, then
posts a 1-s 16-kHz clip (a real FSDD recording, resampled and padded) from 1, 8 and 32
concurrent clients (threads with keep-alive connections), ``--requests`` requests per level.
Prints p50/p95/p99 latency, requests per second, errors (any status but 200) and the server's
resident memory when ready and after each level, then the ratios of ``tympan serve`` to the
baseline measured in the same run.

The baseline (``--servers`` ``baseline``) is the endpoint written the obvious way: FastAPI and
uvicorn, the model loaded once with Keras, and per request ``librosa.load`` of the body at the
model's rate, the clip padded or cut to the model's length and ``model.predict`` on it (the
feature layers are inside tympan's models, so this is the whole front end), no batching; a
lock around ``model.predict``, without which concurrent requests fail (Keras's jax trainer
takes the variables out of the model while it predicts).

    python benchmarks/serve_load.py runs/digits                  # 2000 requests per level
    python benchmarks/serve_load.py runs/digits --requests 20000 --levels 1,8,16,32
    python benchmarks/serve_load.py runs/digits --servers baseline,tympan,tympan-onnx
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import soundfile as sf

from tympan import data
from tympan import io as tio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def clip_bytes() -> bytes:
    y, sr = tio.load(data.demo_dir() / "7_theo_3.wav")
    y = tio.resample(y, orig_sr=sr, target_sr=16000)
    y = np.pad(y, (0, max(0, 16000 - len(y))))[:16000]
    buf = io.BytesIO()
    sf.write(buf, y, 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def level(port: int, body: bytes, clients: int, requests: int) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def client():
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            t = time.perf_counter()
            try:
                conn.request("POST", "/predict", body=body,
                             headers={"Content-Type": "application/octet-stream", "X-Filename": "clip.wav"})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                errors += not ok
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {"clients": clients, "requests": len(ms), "req_s": len(ms) / wall, "errors": errors,
            "p50": np.percentile(ms, 50), "p95": np.percentile(ms, 95), "p99": np.percentile(ms, 99)}


def baseline_server(run: str, port: int) -> None:
    """The hand-written server: one endpoint, librosa + ``model.predict`` per request."""
    import librosa
    import uvicorn
    from fastapi import Body, FastAPI

    from tympan.pipeline import load_artifact

    artifact = load_artifact(run)  # model.keras with tympan's layers registered
    model, labels = artifact.model, list(artifact.labels)
    sr, n = artifact.config.audio.sr, artifact.config.audio.samples
    model.predict(np.zeros((1, n), np.float32), verbose=0)  # built and compiled before the first request
    # Keras's jax trainer takes the variables out of the model during predict: two threads of
    # uvicorn's pool in model.predict at once fail (199 of 200 requests at 8 clients), so the
    # hand-written server needs this lock
    lock = threading.Lock()
    app = FastAPI()

    @app.get("/readyz")
    def readyz() -> dict:
        return {"status": "ready"}

    @app.post("/predict")
    def predict(body: bytes = Body(..., media_type="application/octet-stream")) -> dict:
        y, _ = librosa.load(io.BytesIO(body), sr=sr, mono=True)
        y = np.pad(y, (0, max(0, n - len(y))))[:n]
        with lock:
            p = model.predict(y[None], verbose=0)[0]
        return {"label": labels[int(p.argmax())], "probability": float(p.max()),
                "probabilities": dict(zip(labels, map(float, p), strict=True))}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def measure(name: str, cmd: list[str], port: int, body: bytes, args) -> list[dict]:
    """Start ``cmd`` (a server on ``port``), wait for /readyz, run every level, stop it."""
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env={**os.environ, "TYMPAN_FAST_EXIT": "0"})
    rows = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"{name}: the server did not become ready")
            time.sleep(0.2)
        print(f"\n{name} (pid {server.pid}): RSS {rss_mb(server.pid):.0f} MB when ready")
        print(f"{'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
              f"{'errors':>6} {'RSS MB':>6}")
        for clients in map(int, args.levels.split(",")):
            r = level(port, body, clients, args.requests)
            r["rss"] = rss_mb(server.pid)
            rows.append(r)
            print(f"{r['clients']:>7} {r['requests']:>8} {r['req_s']:>7.1f} {r['p50']:>7.1f} "
                  f"{r['p95']:>7.1f} {r['p99']:>7.1f} {r['errors']:>6} {r['rss']:>6.0f}", flush=True)
    finally:
        server.terminate()
        server.wait(30)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--requests", type=int, default=2000, help="requests per concurrency level")
    ap.add_argument("--levels", default="1,8,32", help="concurrent clients, comma-separated")
    ap.add_argument("--servers", default="baseline,tympan",
                    help="which servers to measure, in order: baseline, tympan (tympan serve), "
                         "tympan-onnx (tympan serve --runtime onnx: needs RUN/model.onnx)")
    ap.add_argument("--max-batch", type=int)
    ap.add_argument("--max-wait-ms", type=float)
    ap.add_argument("--baseline-port", type=int, help=argparse.SUPPRESS)  # the baseline's own process
    args = ap.parse_args()
    if args.baseline_port:
        return baseline_server(args.run, args.baseline_port)
    body = clip_bytes()
    print(f"{args.requests} requests per level, 1-s 16-kHz WAV clips ({len(body)} bytes), "
          f"{os.cpu_count()} CPUs")
    results = {}
    for name in args.servers.split(","):
        port = free_port()
        if name == "baseline":
            cmd = [sys.executable, __file__, args.run, "--baseline-port", str(port)]
        else:
            cmd = [sys.executable, "-m", "tympan.cli.main", "serve", args.run, "--port", str(port)]
            if name == "tympan-onnx":
                cmd += ["--runtime", "onnx"]
            elif name != "tympan":
                raise SystemExit(f"unknown server {name!r}: baseline, tympan or tympan-onnx")
            for flag, value in (("--max-batch", args.max_batch), ("--max-wait-ms", args.max_wait_ms)):
                if value is not None:
                    cmd += [flag, str(value)]
        results[name] = measure(name, cmd, port, body, args)
    for name in (n for n in results if n != "baseline" and "baseline" in results):
        print(f"\n{name} / baseline, same run")
        print(f"{'clients':>7} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7}")
        for t, b in zip(results[name], results["baseline"], strict=True):
            print(f"{t['clients']:>7} {t['req_s'] / b['req_s']:>7.2f} {t['p50'] / b['p50']:>7.2f} "
                  f"{t['p95'] / b['p95']:>7.2f} {t['p99'] / b['p99']:>7.2f}")


if __name__ == "__main__":
    main()
