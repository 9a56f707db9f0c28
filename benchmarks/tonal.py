"""Chroma and constant-Q speed and agreement: librosa vs tympan.dsp vs the tympan layers.

Workload (speed): 64 clips x 4 s of real speech at 22.05 kHz (pairs of EMO-DB recordings joined
end to end, ``features.load_clips``), with librosa's defaults: ``chroma_stft`` (n_fft 2048, hop
512, 12 chroma) and ``cqt`` (hop 512, 84 bins from C1, 12 per octave); both are called with
``tuning=0`` (the layers' fixed A440; the estimate is measured by ``benchmarks/tuning.py``).
The figure is seconds of audio per second of wall time (best of ``--repeat`` runs after a
warm-up, the contenders interleaved round-robin so that load from elsewhere falls on all
alike); ratios are to the librosa per-clip loop and to librosa
on the whole batch.

Contenders: librosa per clip; librosa on the (64, samples) batch; ``tympan.dsp`` on the batch
(``cqt`` returns the complex CQT, as librosa); tympan layers ``Chroma`` / ``CQT`` (magnitude)
in a ``keras.Sequential`` run with ``model.predict(batch_size=32)`` on the Keras backend in use
(jax unless ``KERAS_BACKEND`` says otherwise; compiled by XLA).

Agreement (printed after the speed table): ``chroma_stft`` max abs difference, and for the CQT
``amplitude_to_db(|C|, ref=np.max)`` (top_db 80, per clip) max abs difference in dB, its 99th
percentile, and the Pearson correlation of the two dB arrays, on: the 64 EMO-DB clips; 60 FSDD
recordings (every 50th file, 8 kHz, 72 bins from C1, hop 64); a synthetic music-like recording
(harmonic notes with vibrato and decays, 4 s at 22.05 kHz; no music is among the shared data).

Run (about 2 minutes on 2 cores; nothing else heavy should run meanwhile)::

    .venv/bin/python benchmarks/tonal.py
    .venv/bin/python benchmarks/tonal.py --clips 8 --repeat 1   # quick check
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backends import _processor, _version
from features import load_clips

os.environ.setdefault("KERAS_BACKEND", "jax")  # as `import tympan` does, before keras loads
SR, N_FFT, HOP, N_BINS = 22050, 2048, 512, 84
FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"
FSDD_CQT = dict(sr=8000, hop_length=64, n_bins=72)


def music_like(sr: int = SR, seconds: float = 4.0) -> np.ndarray:
    """Overlapping harmonic notes (8 partials at 1/h) with 5.5 Hz vibrato and exponential decays."""
    t = np.arange(int(sr * seconds)) / sr
    y = np.zeros_like(t)
    notes = [(0.0, 110.0, 2.0), (0.5, 220.0, 1.2), (1.0, 277.18, 1.0), (1.5, 329.63, 1.5),
             (2.0, 440.0, 1.0), (2.5, 554.37, 1.2), (3.0, 659.26, 0.8)]  # start s, Hz, decay s
    for start, f0, decay in notes:
        on = t >= start
        tt = t[on] - start
        phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.004 * np.sin(2 * np.pi * 5.5 * tt))) / sr
        env = np.exp(-tt / decay) * np.minimum(1.0, tt / 0.01)
        for h in range(1, 9):
            if f0 * h < sr / 2 - 500:
                y[on] += env * np.sin(h * phase) / h
    return (0.1 * y).astype(np.float32)


def best_times(runs: dict[str, dict[str, object]], repeat: int) -> dict[str, dict[str, float]]:
    """Best wall time of each run, the contenders interleaved round-robin after one warm-up each,
    so that a burst of load from elsewhere falls on all of them alike."""
    for kinds in runs.values():
        for fn in kinds.values():
            fn()
    best = {name: dict.fromkeys(kinds, float("inf")) for name, kinds in runs.items()}
    for _ in range(repeat):
        for name, kinds in runs.items():
            for kind, fn in kinds.items():
                t0 = time.perf_counter()
                fn()
                best[name][kind] = min(best[name][kind], time.perf_counter() - t0)
    return best


def contenders(clips: np.ndarray) -> dict[str, dict[str, object]]:
    import keras
    import librosa

    from tympan import dsp, layers

    kw = dict(sr=SR, hop_length=HOP)
    n = clips.shape[1]
    chroma_model = keras.Sequential([keras.Input((n,)), layers.Chroma(n_fft=N_FFT, **kw)])
    cqt_model = keras.Sequential([keras.Input((n,)), layers.CQT(n_bins=N_BINS, **kw)])
    return {
        "librosa loop": {
            "chroma": lambda: [librosa.feature.chroma_stft(y=c, n_fft=N_FFT, tuning=0.0, **kw)
                               for c in clips],
            "cqt": lambda: [librosa.cqt(c, n_bins=N_BINS, tuning=0.0, **kw) for c in clips],
        },
        "librosa batched": {
            "chroma": lambda: librosa.feature.chroma_stft(y=clips, n_fft=N_FFT, tuning=0.0, **kw),
            "cqt": lambda: librosa.cqt(clips, n_bins=N_BINS, tuning=0.0, **kw),
        },
        "tympan.dsp": {
            "chroma": lambda: dsp.chroma_stft(clips, n_fft=N_FFT, tuning=0.0, **kw),
            "cqt": lambda: dsp.cqt(clips, n_bins=N_BINS, **kw),
        },
        f"tympan layers ({keras.backend.backend()})": {
            "chroma": lambda: chroma_model.predict(clips, batch_size=32, verbose=0),
            "cqt": lambda: cqt_model.predict(clips, batch_size=32, verbose=0),
        },
    }


def cqt_agreement(signals, **kw) -> tuple[float, float, float]:
    """(max |dB difference|, 99th percentile, min Pearson correlation) over ``signals``."""
    import librosa

    from tympan import dsp

    errs, corrs = [], []
    for y in signals:
        ours = dsp.amplitude_to_db(np.abs(dsp.cqt(y, **kw)), ref=np.max)
        ref = librosa.amplitude_to_db(np.abs(librosa.cqt(y, tuning=0.0, **kw)), ref=np.max)
        errs.append(np.abs(ours - ref).ravel())
        corrs.append(np.corrcoef(ours.ravel(), ref.ravel())[0, 1])
    err = np.concatenate(errs)
    return float(err.max()), float(np.percentile(err, 99)), float(min(corrs))


def agreement(clips: np.ndarray) -> list[tuple[str, str]]:
    import librosa
    import soundfile as sf

    from tympan import dsp

    chroma = dsp.chroma_stft(clips, sr=SR, n_fft=N_FFT, hop_length=HOP, tuning=0.0)
    ref = librosa.feature.chroma_stft(y=clips, sr=SR, n_fft=N_FFT, hop_length=HOP, tuning=0.0)
    fsdd = [sf.read(f, dtype="float32")[0] for f in sorted(FSDD.glob("*.wav"))[::50]]
    rows = [("chroma_stft, EMO-DB batch: max abs difference", f"{np.abs(chroma - ref).max():.1e}")]
    for label, signals, kw in [
        (f"cqt, EMO-DB ({len(clips)} clips, 84 bins, hop 512)", clips, dict(sr=SR, hop_length=HOP)),
        (f"cqt, FSDD ({len(fsdd)} files, 72 bins, hop 64)", fsdd, FSDD_CQT),
        ("cqt, music-like synthetic (84 bins, hop 512)", [music_like()], dict(sr=SR, hop_length=HOP)),
    ]:
        worst, p99, corr = cqt_agreement(signals, **kw)
        rows.append((f"{label}: max / 99th pct dB difference, min correlation",
                     f"{worst:.2f} / {p99:.2f} dB, {corr:.4f}"))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clips", type=int, default=64)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore", message="n_fft=.*too large")  # librosa, short FSDD files
    clips = load_clips(args.clips)
    seconds = clips.size / SR
    results = best_times(contenders(clips), args.repeat)
    loop, batched = results["librosa loop"], results["librosa batched"]
    print(f"{_dt.date.today()} | {_processor()}, {os.cpu_count()} cores | python "
          f"{sys.version.split()[0]}, librosa {_version('librosa')}, keras {_version('keras')}, "
          f"jax {_version('jax')}")
    blas = os.environ.get("OPENBLAS_NUM_THREADS")
    print(f"command: {f'OPENBLAS_NUM_THREADS={blas} ' if blas else ''}python benchmarks/tonal.py "
          f"{' '.join(argv or sys.argv[1:])}".rstrip())
    print(f"workload: {args.clips} clips x 4 s at {SR} Hz = {seconds:.0f} s of audio; chroma_stft "
          f"n_fft {N_FFT}, hop {HOP}; cqt {N_BINS} bins, hop {HOP}\n")
    print("| contender | chroma audio s/s | x loop | x batched | CQT audio s/s | x loop | x batched |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        cells = []
        for kind in ("chroma", "cqt"):
            t = r[kind]
            cells += [f"{seconds / t:,.0f}", f"{loop[kind] / t:.2f}", f"{batched[kind] / t:.2f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| agreement with librosa (tuning=0) | value |\n|---|---|")
    for label, value in agreement(clips):
        print(f"| {label} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
