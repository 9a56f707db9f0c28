"""Peak memory and time of ``pipeline.predict`` on one file of 1 s, 1 min, 10 min and 1 h.

The files are real speech (the NOIZEUS clean sentences end to end, resampled to 16 kHz and
repeated to the length), written as 16 kHz 16-bit WAV to a temporary folder.  Each length is
predicted in a fresh process, which reports its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``), its wall time from start to exit and the time
of the ``predict`` call itself.  The artifact is the one given, or a small one trained first
(the default recipe, 3 epochs on the digits bundled with tympan, 8 kHz: the 16 kHz files are
resampled while they are read).

Run (about 3 minutes on 2 cores, most of it the 1-hour file)::

    nice -n 5 .venv/bin/python benchmarks/predict_memory.py              # trains a small artifact
    nice -n 5 .venv/bin/python benchmarks/predict_memory.py runs/demo    # or uses this one
    .venv/bin/python benchmarks/predict_memory.py --lengths 1,60         # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SR = 16000

_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from tympan import pipeline
run, path = sys.argv[1:3]
artifact = pipeline.load_artifact(run)
t1 = time.perf_counter()
(p,) = pipeline.predict(artifact, path)
t2 = time.perf_counter()
print(json.dumps({"windows": len(p.segments), "duration": p.duration, "load_s": t1 - t0,
                  "predict_s": t2 - t1,
                  "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def speech_file(path: Path, seconds: float) -> None:
    """``seconds`` of real speech at 16 kHz, written block by block (never held whole)."""
    import soundfile as sf

    from tympan import io

    clean = sorted((SHARED / "noizeus" / "clean").glob("*.wav"))
    base = np.concatenate([io.load(p, sr=SR)[0] for p in clean])  # about 80 s
    left = round(seconds * SR)
    with sf.SoundFile(path, "w", samplerate=SR, channels=1, subtype="PCM_16") as f:
        while left > 0:
            f.write(base[:left])
            left -= min(left, len(base))


def small_artifact(folder: Path) -> Path:
    from tympan import data, pipeline

    out = folder / "run"
    config = pipeline.PipelineConfig(training=pipeline.TrainConfig(epochs=3))
    pipeline.train(data.demo_dir(), config, discovery={"labels_from": "regex", "pattern": "fsdd"},
                   split="group", split_options={"test_groups": ["theo"]}, out=out, verbose=0,
                   progress=False)
    return out


def measure(run: Path, path: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(run), str(path)], check=True,
                          capture_output=True, text=True)
    return {**json.loads(proc.stdout.strip().splitlines()[-1]),
            "wall_s": time.perf_counter() - t0}


def _label(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else (
        f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path, nargs="?", help="an artifact folder (default: train one)")
    p.add_argument("--lengths", default="1,60,600,3600", help="file lengths in seconds")
    p.add_argument("--json", type=Path, help="also write the raw figures here")
    args = p.parse_args(argv)
    lengths = [float(s) for s in args.lengths.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run or small_artifact(tmp)
        measure(run, SHARED / "noizeus" / "clean" / "sp01.wav")  # a first run: disk caches warm
        for seconds in lengths:
            path = tmp / f"speech_{seconds:g}s.wav"
            speech_file(path, seconds)
            rows.append({"seconds": seconds, "file_mib": path.stat().st_size / 2**20,
                         **measure(run, path)})
            path.unlink()
    base = rows[0]
    print(f"{os.cpu_count()} cores, artifact {args.run or 'small (trained here)'}, 16 kHz WAV files")
    print("| file | windows | peak RSS MiB | over the first | process s | x first | predict s "
          "| audio s per s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {_label(r['seconds'])} | {r['windows']} | {r['max_rss_mib']:.0f} | "
              f"{r['max_rss_mib'] - base['max_rss_mib']:+.0f} | {r['wall_s']:.1f} | "
              f"{r['wall_s'] / base['wall_s']:.2f} | {r['predict_s']:.2f} | "
              f"{r['seconds'] / r['predict_s']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
