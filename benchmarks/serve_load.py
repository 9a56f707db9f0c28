"""Load on ``tympan serve`` over loopback: latency percentiles, requests per second, errors, RSS.

Starts ``tympan serve RUN`` in a child process on a free port of 127.0.0.1, waits for
``/readyz``, then posts a 1-s 16-kHz clip (a real FSDD recording, resampled and padded) from 1,
8 and 32 concurrent clients (threads with keep-alive connections), ``--requests`` requests per
level.  Prints p50/p95/p99 latency, requests per second, errors (any status but 200) and the
server's resident memory before and after.

    python benchmarks/serve_load.py runs/digits                  # 2000 requests per level
    python benchmarks/serve_load.py runs/digits --requests 20000 --levels 1,8,16,32
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--requests", type=int, default=2000, help="requests per concurrency level")
    ap.add_argument("--levels", default="1,8,32", help="concurrent clients, comma-separated")
    ap.add_argument("--max-batch", type=int)
    ap.add_argument("--max-wait-ms", type=float)
    args = ap.parse_args()
    port = free_port()
    cmd = [sys.executable, "-m", "tympan.cli.main", "serve", args.run, "--port", str(port)]
    for flag, value in (("--max-batch", args.max_batch), ("--max-wait-ms", args.max_wait_ms)):
        if value is not None:
            cmd += [flag, str(value)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env={**os.environ, "TYMPAN_FAST_EXIT": "0"})
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
                raise SystemExit("the server did not become ready")
            time.sleep(0.2)
        body = clip_bytes()
        print(f"server pid {server.pid}: RSS {rss_mb(server.pid):.0f} MB when ready; "
              f"{args.requests} requests per level, 1-s 16-kHz WAV clips ({len(body)} bytes)")
        print(f"{'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
              f"{'errors':>6} {'RSS MB':>6}")
        for clients in map(int, args.levels.split(",")):
            r = level(port, body, clients, args.requests)
            print(f"{r['clients']:>7} {r['requests']:>8} {r['req_s']:>7.1f} {r['p50']:>7.1f} "
                  f"{r['p95']:>7.1f} {r['p99']:>7.1f} {r['errors']:>6} {rss_mb(server.pid):>6.0f}")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
