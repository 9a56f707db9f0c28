"""The bad-audio table, measured: for every damaged or forged file of
``tests/reliability/test_bad_audio.py`` (its ``BAD`` rows), the time and peak Python allocation
of ``tympan.io.load`` in this process, and a cold ``tympan predict RUN FILE`` (exit status,
stderr lines, wall time), against a valid file first (the baseline).  Issue 18 asks for a clean
error line, "under a few seconds, bounded memory" for each.

    python benchmarks/bad_input.py [RUN]        # RUN: a classifier run folder (default runs/demo)
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tests" / "reliability" / "test_bad_audio.py"


def _rows():
    """The baseline (a valid 0.25 s WAV, the table's own) first, then every bad file."""
    spec = importlib.util.spec_from_file_location("bad_audio_table", TABLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [("valid.wav", module.WAV)] + [(name, content) for name, content, *_ in module.BAD]


def _load(path: Path) -> tuple[str, float, float]:
    from tympan import io
    from tympan.errors import TympanError

    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        y, _ = io.load(path)
        outcome = f"{y.shape[-1]} samples"
    except TympanError as exc:
        outcome = type(exc).__name__
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return outcome, seconds, peak


def _predict(run: Path, path: Path) -> tuple[int, int, float, str]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tympan.cli.main", "predict", str(run), str(path)],
                          capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - t0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return done.returncode, len(lines), seconds, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", nargs="?", default=str(ROOT / "runs" / "demo"))
    args = parser.parse_args()
    run = Path(args.run)
    if not (run / "pipeline.json").is_file():
        sys.exit(f"error: {run} is not a run folder (train one: tympan demo)")
    import warnings

    warnings.simplefilter("ignore")
    print("| file | bytes | io.load | ms | peak MiB | predict exit | stderr lines | predict s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    worst = {"ms": 0.0, "mib": 0.0, "s": 0.0}
    baseline = None  # the valid file's cold predict: the bad files' times are given against it
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in _rows():
            path = Path(tmp) / name
            path.write_bytes(content)
            outcome, seconds, peak = _load(path)
            rc, n_lines, wall, last = _predict(run, path)
            if baseline is None:
                baseline = wall
                print(f"| {name} (baseline) | {len(content)} | {outcome} | {seconds * 1e3:.1f} | "
                      f"{peak:.2f} | {rc} | {n_lines} | {wall:.2f} |", flush=True)
                continue
            worst = {"ms": max(worst["ms"], seconds * 1e3), "mib": max(worst["mib"], peak),
                     "s": max(worst["s"], wall)}
            print(f"| {name} | {len(content)} | {outcome} | {seconds * 1e3:.1f} | {peak:.2f} | {rc} "
                  f"| {n_lines} | {wall:.2f} |", flush=True)
            if rc not in (0, 1) or n_lines != 1 or (rc == 1 and name not in last):
                print(f"  ^ not one clean line naming the file: {last!r}", flush=True)
    print(f"\nworst bad file: io.load {worst['ms']:.1f} ms, {worst['mib']:.2f} MiB; cold predict "
          f"{worst['s']:.2f} s = {worst['s'] / baseline:.2f}x the valid file's {baseline:.2f} s")


if __name__ == "__main__":
    main()
