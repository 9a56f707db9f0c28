"""Feature extraction speed: librosa vs tympan.dsp vs tympan layers vs Keras's MelSpectrogram.

Workload: 256 clips x 4 s of real speech at 22.05 kHz (pairs of EMO-DB recordings from
``../shared/data/emodb/wav`` joined end to end), log-mel (128 mels) and MFCC (20) with librosa's
defaults (n_fft 2048, hop 512, Slaney mel, top_db 80).  The figure is seconds of audio processed
per second of wall time (best of ``--repeat`` runs after a warm-up); ratios are to the librosa
per-clip loop.

Contenders
* librosa loop: ``power_to_db(melspectrogram(y=clip))`` / ``mfcc(y=clip)`` per clip;
* librosa batched: the same on the (256, samples) array at once;
* ``tympan.dsp``: the same on the batch;
* tympan layers, per Keras backend: ``Sequential([MelSpectrogram, PowerToDb])`` /
  ``Sequential([MFCC])`` run with ``model.predict(batch_size=32)`` (compiled by XLA on jax;
  eager on torch);
* Keras ``layers.MelSpectrogram(power_to_db=True)`` likewise (no MFCC layer in Keras).
Each backend runs in its own subprocess (the backend is fixed when Keras is imported).

Run (about 3 minutes on 2 cores; nothing else heavy should run meanwhile)::

    .venv/bin/python benchmarks/features.py
    .venv/bin/python benchmarks/features.py --clips 32 --repeat 1   # quick check
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backends import _processor, _version

SR, N_FFT, HOP, N_MELS, N_MFCC = 22050, 2048, 512, 128, 20
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "emodb" / "wav"


def load_clips(n_clips: int) -> np.ndarray:
    import soundfile as sf

    files = sorted(DATA.glob("*.wav"))
    if not files:
        raise SystemExit(f"no EMO-DB recordings under {DATA}")
    takes = [sf.read(f, dtype="float32")[0] for f in files[: 2 * n_clips]]
    clips = [np.concatenate([takes[i % len(takes)], takes[(i + 1) % len(takes)]])[: 4 * SR]
             for i in range(0, 2 * n_clips, 2)]
    return np.stack([np.pad(c, (0, 4 * SR - len(c))) for c in clips])


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up: caches, JIT compilation
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def numpy_contenders(clips: np.ndarray, repeat: int) -> dict[str, dict[str, float]]:
    import librosa

    from tympan import dsp

    kw = dict(sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    runs = {
        "librosa loop": (
            lambda: [librosa.power_to_db(librosa.feature.melspectrogram(y=c, **kw)) for c in clips],
            lambda: [librosa.feature.mfcc(y=c, n_mfcc=N_MFCC, **kw) for c in clips],
        ),
        "librosa batched": (
            lambda: librosa.power_to_db(librosa.feature.melspectrogram(y=clips, **kw)),
            lambda: librosa.feature.mfcc(y=clips, n_mfcc=N_MFCC, **kw),
        ),
        "tympan.dsp": (
            lambda: dsp.power_to_db(dsp.melspectrogram(clips, **kw)),
            lambda: dsp.mfcc(clips, n_mfcc=N_MFCC, **kw),
        ),
    }
    return {name: {"logmel": best_time(a, repeat), "mfcc": best_time(b, repeat)}
            for name, (a, b) in runs.items()}


def keras_worker(n_clips: int, repeat: int) -> dict[str, dict[str, float | None]]:
    import keras

    from tympan import layers

    clips = load_clips(n_clips)
    n = clips.shape[1]
    kw = dict(sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    models = {
        "logmel": keras.Sequential([keras.Input((n,)), layers.MelSpectrogram(**kw),
                                    layers.PowerToDb()]),
        "mfcc": keras.Sequential([keras.Input((n,)), layers.MFCC(n_mfcc=N_MFCC, **kw)]),
    }
    keras_mel = keras.Sequential([keras.Input((n,)), keras.layers.MelSpectrogram(
        fft_length=N_FFT, sequence_stride=HOP, sequence_length=N_FFT, sampling_rate=SR,
        num_mel_bins=N_MELS, min_freq=0.0, power_to_db=True, top_db=80.0)])
    backend = keras.backend.backend()

    def run(model):
        return lambda: model.predict(clips, batch_size=32, verbose=0)

    return {
        f"tympan layers ({backend})": {k: best_time(run(m), repeat) for k, m in models.items()},
        f"keras MelSpectrogram ({backend})": {"logmel": best_time(run(keras_mel), repeat),
                                               "mfcc": None},
    }


def spawn(backend: str, args) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend}
    cmd = [sys.executable, __file__, "--worker", "--clips", str(args.clips), "--repeat",
           str(args.repeat)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        print(f"[{backend} worker failed]\n{proc.stderr[-2000:]}", file=sys.stderr)
        return {}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clips", type=int, default=256)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--backends", default="jax,torch")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(keras_worker(args.clips, args.repeat)))
        return 0
    clips = load_clips(args.clips)
    seconds = clips.size / SR
    results = numpy_contenders(clips, args.repeat)
    for backend in filter(None, args.backends.split(",")):
        results.update(spawn(backend, args))
    base = results["librosa loop"]
    print(f"{_dt.date.today()} | {_processor()}, {os.cpu_count()} cores | python "
          f"{sys.version.split()[0]}, librosa {_version('librosa')}, keras {_version('keras')}, "
          f"jax {_version('jax')}, torch {_version('torch')}")
    print(f"command: python benchmarks/features.py {' '.join(argv or sys.argv[1:])}".rstrip())
    print(f"workload: {args.clips} clips x 4 s at {SR} Hz = {seconds:.0f} s of audio; "
          f"n_fft {N_FFT}, hop {HOP}, {N_MELS} mels, {N_MFCC} MFCC\n")
    print("| contender | log-mel audio s/s | x librosa loop | MFCC audio s/s | x librosa loop |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        cells = []
        for kind in ("logmel", "mfcc"):
            t = r.get(kind)
            cells += ["n/a", "n/a"] if t is None else [f"{seconds / t:,.0f}", f"{base[kind] / t:.2f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
