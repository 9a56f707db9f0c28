"""The default command on data laid out as users have it: `tympan train DIR --out RUN`, no flags.

Two datasets are built in a temporary folder from ../shared/data, then trained with nothing but
``--out`` (audio settings, model and split all chosen from the data) and the test report read
back from ``pipeline.json``:

* ``fsdd``: the 3000 FSDD digits in ten class folders, file names without the speaker (so the
  speakers are unknown and the split is stratified: the test clips' speakers were heard);
* ``emodb``: the 535 EMO-DB clips in seven emotion folders, resampled to 44.1 kHz stereo WAV
  (the chosen rate is then 16 kHz; the split stratified, the speakers unknown).

Run (each dataset a few minutes on 2 cores)::

    .venv/bin/python benchmarks/user_layouts.py                 # both
    .venv/bin/python benchmarks/user_layouts.py --only fsdd --epochs 5

It prints a Markdown table; ``--json PATH`` writes every number.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tympan import data, io

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TYMPAN = Path(sys.executable).with_name("tympan")


def build_fsdd(root: Path) -> Path:
    """Ten digit folders, ``<digit>/clip_<n>.wav``: no speaker anywhere."""
    folder = root / "fsdd_folders"
    for i, path in enumerate(sorted((SHARED / "fsdd" / "recordings").glob("*.wav"))):
        digit = path.name.split("_")[0]
        (folder / digit).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / digit / f"clip_{i:04d}.wav")
    return folder


def build_emodb(root: Path) -> Path:
    """Seven emotion folders of 44.1 kHz stereo WAV (the two channels differ slightly)."""
    folder = root / "emodb_folders"
    emo = data.from_emodb(SHARED / "emodb" / "wav")
    for i, item in enumerate(emo):
        y, sr = io.load(item.path, sr=44100)
        stereo = np.stack([y, 0.9 * y]).astype(np.float32)
        stereo /= max(1.0, float(np.abs(stereo).max()))  # resampling can overshoot 1.0 a little
        (folder / item.label).mkdir(parents=True, exist_ok=True)
        io.save(folder / item.label / f"take_{i:03d}.wav", stereo, sr)
    return folder


def run(name: str, folder: Path, out: Path, epochs: int | None) -> dict:
    cmd = [str(TYMPAN), "train", str(folder), "--out", str(out), "--quiet"]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{name}: {' '.join(cmd)} failed:\n{proc.stderr}")
    meta = json.loads((out / "pipeline.json").read_text())
    test = meta["metrics"]["test"]
    return {"dataset": name, "seconds": seconds, "accuracy": test["accuracy"], "uar": test["uar"],
            "n_test": meta["split"]["sizes"]["test"], "split": meta["split"]["method"],
            "sr": meta["audio"]["sr"], "duration": meta["audio"]["duration"],
            "model": meta["model"]["name"], "chosen": meta.get("chosen", {}),
            "epochs_run": meta["metrics"]["epochs_run"],
            "printed": [line for line in proc.stdout.splitlines()
                        if line.startswith(("audio:", "recipe:", "split:"))]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=["fsdd", "emodb"])
    p.add_argument("--epochs", type=int, default=None, help="default: the pipeline's")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    builders = {"fsdd": build_fsdd, "emodb": build_emodb}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, build in builders.items():
            if args.only and name != args.only:
                continue
            folder = build(root)
            results.append(run(name, folder, root / f"run_{name}", args.epochs))
            r = results[-1]
            print("\n".join(r["printed"]), flush=True)
    print("\n| data | chosen audio | model | split | test clips | accuracy | UAR | epochs | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['dataset']} | {r['sr']} Hz, {r['duration']:g} s | {r['model']} | {r['split']} | "
              f"{r['n_test']} | {r['accuracy']:.1%} | {r['uar']:.1%} | {r['epochs_run']} | "
              f"{r['seconds']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
