"""Cold start of ``tympan info FILE``: the command now, against the same command with the Keras
set-up that the ``tympan`` group used to run for every command (``import_keras_lean()`` and
``enable_compilation_cache()``, which import Keras and jax).

Each run is a fresh interpreter (``python -m tympan.cli.main info FILE``); wall time and the
child's peak resident memory (``os.wait4``) are the medians of ``--runs`` runs.

    python benchmarks/cli_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

NOW = "from tympan.cli.main import run; run()"
BEFORE = ("from tympan._backend import enable_compilation_cache, import_keras_lean; "
          "import_keras_lean(); enable_compilation_cache(); "
          "from tympan.cli.main import run; run()")


def _once(code: str, wav: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one fresh interpreter running ``code`` on ``info wav``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, "info", str(wav)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"tympan info failed with status {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "x.wav"
        sf.write(wav, 0.1 * np.sin(np.arange(8000) / 8.0), 8000)
        results = {}
        for name, code in (("with Keras set-up (before)", BEFORE), ("now", NOW)):
            runs = [_once(code, wav) for _ in range(args.runs)]
            results[name] = (statistics.median(r[0] for r in runs),
                             statistics.median(r[1] for r in runs))
            print(f"tympan info, {name:<27}: {results[name][0]:6.2f} s  {results[name][1]:6.0f} MB"
                  f"  (runs: {', '.join(f'{r[0]:.2f} s' for r in runs)})")
    (t_before, m_before), (t_now, m_now) = results.values()
    print(f"ratio before/now: time {t_before / t_now:.1f}x, peak memory {m_before / m_now:.1f}x")


if __name__ == "__main__":
    main()
