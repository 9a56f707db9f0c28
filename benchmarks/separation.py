"""Speech/noise separation on NOIZEUS sentences never heard in training, and memory vs length.

Training (``tympan.pipeline.train_separator``): NOIZEUS sentences sp01-sp24 in all 32 noise
conditions as noisy/clean pairs (noise = noisy - clean), plus mixtures made on the fly of their
clean speech with segments of their noise (noisy - clean of the training sentences only) at a
random SNR in ``--snr`` (default -5..10 dB); ``--extra-speech fsdd/recordings --extra-speech
emodb/wav`` adds more clean speech (other speakers) to the mixtures made on the fly.  The speech
mixed on the fly is drawn in proportion to each file's length (``--by-file``: file by file) and
resampled by a random factor in ``--speed`` (default 0.85..1.15; ``1,1`` for none).  No
validation part, a fixed number of epochs (80 of 1024 one-second windows by default).
Test: sentences sp25-sp30, each of the 8 noises at each nominal input SNR 0/5/10/15 dB (192
mixtures, whole sentences in overlapping windows).  Reported per input SNR: plain SDR, SI-SDR
and SI-SDR improvement (SI-SDRi) of the speech source, means over the mixtures.

Memory: ``separate_file`` on WAV files of 1 and 10 minutes made by concatenating NOIZEUS noisy
test recordings; each run in its own process, after a warm-up on a short file: peak of Python
allocations (tracemalloc, numpy included) during the call and the process's peak RSS; the same
for ``separate`` on the whole array for comparison.

Run (about 30 minutes on 2 cores at the defaults, 28 of them training; about 11 with
``--model-param spectral=0``)::

    nice -n 10 .venv/bin/python benchmarks/separation.py
    nice -n 10 .venv/bin/python benchmarks/separation.py --extra-speech fsdd/recordings \
        --extra-speech emodb/wav
    nice -n 10 .venv/bin/python benchmarks/separation.py --epochs 2 --examples 256 --memory-minutes 1
    .venv/bin/python benchmarks/separation.py --oracle     # the ideal ratio mask, for scale

It prints Markdown tables and, with ``--json PATH``, writes every number.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tympan  # noqa: F401  (selects the Keras backend before keras is imported)
from tympan import io, pipeline
from tympan.cli._options import parse_params  # KEY=VALUE, values read as JSON

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NOIZEUS = SHARED / "noizeus"

_MEMORY_CHILD = r"""
import json, resource, sys, tracemalloc
import numpy as np
from tympan import io
from tympan.pipeline import load_artifact, separate, separate_file
run, src, warm, out, mode = sys.argv[1:6]
art = load_artifact(run)
separate_file(art, warm, out + "/warm", overwrite=True)  # compile first
tracemalloc.start()
if mode == "stream":
    separate_file(art, src, out + "/long", overwrite=True)
else:
    y, sr = io.load(src)
    separate(art, y, sr)
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"tracemalloc_mib": peak / 2**20,
                  "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def memory(run: Path, minutes: list[float]) -> list[dict]:
    """Peak memory of separating a long file, streamed and in memory, per length."""
    noisy = sorted((NOIZEUS / "noisy").glob("*/sp2[5-9]_*.wav"))
    pieces = [io.load(p)[0] for p in noisy]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.wav"
        io.save(warm, pieces[0], 8000)
        for m in minutes:
            n = round(m * 60 * 8000)
            y = np.concatenate(pieces * (n // sum(map(len, pieces)) + 1))[:n]
            src = Path(tmp) / f"long_{m:g}min.wav"
            io.save(src, y, 8000)
            for mode in ("stream", "array"):
                t0 = time.perf_counter()
                out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(run), str(src),
                                      str(warm), tmp, mode], capture_output=True, text=True,
                                     check=True)
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append({"minutes": m, "mode": mode, "wall_s": time.perf_counter() - t0,
                             **figures})
            src.unlink()
    return rows


def oracle(n_fft: int = 256, hop_length: int = 64) -> dict[str, float]:
    """SI-SDRi of the ideal ratio mask |S| / (|S| + |N|) on the mixture's STFT (its phase kept)
    per nominal input SNR on the test mixtures: the ceiling of a magnitude mask."""
    from tympan import dsp
    from tympan.data.mixing import HELD_OUT_SENTENCES, load_pair, noizeus_pairs
    from tympan.dsp.metrics import si_sdr_improvement

    gains: dict[str, list[float]] = {}
    for pair in noizeus_pairs(NOIZEUS, only=HELD_OUT_SENTENCES):
        clean, noise = load_pair(pair, sr=8000)
        S, N, M = (dsp.stft(x, n_fft=n_fft, hop_length=hop_length) for x in (clean, noise, clean + noise))
        est = dsp.istft(np.abs(S) / (np.abs(S) + np.abs(N) + 1e-9) * M, hop_length=hop_length,
                        length=len(clean))
        gains.setdefault(str(pair.snr_db), []).append(si_sdr_improvement(clean, est, clean + noise))
    return {snr: float(np.mean(g)) for snr, g in sorted(gains.items(), key=lambda kv: float(kv[0]))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=80)
    p.add_argument("--examples", type=int, default=1024, help="training windows per epoch")
    p.add_argument("--duration", type=float, default=1.0, help="window length in seconds")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0, help="weights and mixtures (default 0)")
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--snr", default="-5,10", help="SNR range of the on-the-fly mixtures, dB")
    p.add_argument("--pair-fraction", type=float, default=0.5)
    p.add_argument("--by-file", action="store_true", help="draw the speech mixed on the fly "
                   "file by file (default: in proportion to each file's length)")
    p.add_argument("--speed", default="0.85,1.15", help="speed perturbation range of the speech "
                   "mixed on the fly (default 0.85,1.15; 1,1 for none)")
    p.add_argument("--pair-speed", action="store_true", help="speed-perturb the pairs' windows "
                   "too (speech and noise by the same factor)")
    p.add_argument("--extra-speech", action="append", default=[], metavar="FOLDER",
                   help="also mix this clean speech (relative to ../shared/data, e.g. "
                   "fsdd/recordings or emodb/wav) with the training noise (repeatable)")
    p.add_argument("--model-param", action="append", metavar="KEY=JSON", default=[],
                   help="separator parameter, e.g. filters=64 (repeatable)")
    p.add_argument("--memory-minutes", default="1,10", help="file lengths for the memory figure "
                   "('' to skip)")
    p.add_argument("--init", type=Path, metavar="RUN", help="continue training the separator RUN "
                   "(its model; --epochs more epochs on new mixtures) instead of a new one")
    p.add_argument("--ensemble", type=int, default=1, metavar="N",
                   help="train N separators (seeds SEED..SEED+N-1) averaged into one")
    p.add_argument("--out", type=Path, help="keep the artifact here (default: a temporary folder)")
    p.add_argument("--oracle", action="store_true",
                   help="only print the ideal ratio mask's SI-SDRi on the test mixtures (no training)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.oracle:
        print("| input SNR (nominal) | ideal ratio mask SI-SDRi dB |\n|---:|---:|")
        for snr, gain in oracle().items():
            print(f"| {float(snr):g} dB | {gain:.2f} |")
        return 0
    command = "python benchmarks/separation.py " + " ".join(argv or sys.argv[1:])
    print(f"# {command}", flush=True)
    model = {"name": "separator", **parse_params(tuple(args.model_param), "--model-param")}
    cfg = pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=8000, duration=args.duration), model=model,
        training=pipeline.TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                                      learning_rate=args.learning_rate, early_stopping=None,
                                      validation_size=0.0, seed=args.seed,
                                      ensemble=args.ensemble))
    tmp = tempfile.TemporaryDirectory()
    run = args.out or Path(tmp.name) / "separator"
    t0 = time.perf_counter()
    speech = [NOIZEUS / "clean", *(SHARED / f for f in args.extra_speech)] if args.extra_speech else None
    art = pipeline.train_separator(pairs=NOIZEUS, speech=speech, config=cfg,
                                   examples_per_epoch=args.examples,
                                   snr_db=tuple(float(x) for x in args.snr.split(",")),
                                   pair_fraction=args.pair_fraction,
                                   speed=tuple(float(x) for x in args.speed.split(",")),
                                   by_length=not args.by_file, pair_speed=args.pair_speed,
                                   init=args.init, out=run,
                                   overwrite=True,
                                   verbose=2, progress=False)
    train_s = time.perf_counter() - t0
    test = art.metrics["test"]
    epochs = art.metrics.get("epochs_total", "?")
    print(f"\n{art.model.count_params():,} parameters; training {art.metrics['train_seconds']:.0f} s "
          f"(fit), {train_s:.0f} s with loading and the held-out evaluation; {epochs} epochs in "
          f"all; final loss {art.history['loss'][-1]:.2f}\n")
    print("| input SNR (nominal) | mixtures | input SI-SDR dB | SDR dB | SI-SDR dB | SI-SDRi dB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for snr, r in [*test["by_snr"].items(), ("all", test["mean"])]:
        label = snr if snr == "all" else f"{float(snr):g} dB"
        print(f"| {label} | {r['n']} | {r['input_si_sdr_db']:.2f} | {r['sdr_db']:.2f} | "
              f"{r['si_sdr_db']:.2f} | **{r['si_sdri_db']:.2f}** |")
    print("\n| noise | SI-SDRi dB (mean over 0-15 dB) |\n|---|---:|")
    for noise, r in test["by_noise"].items():
        print(f"| {noise} | {r['si_sdri_db']:.2f} |")
    mem = []
    if args.memory_minutes:
        mem = memory(run, [float(m) for m in args.memory_minutes.split(",")])
        print("\n| file | path | Python peak (tracemalloc) MiB | process peak RSS MiB | wall s |")
        print("|---|---|---:|---:|---:|")
        for r in mem:
            path = "separate_file (streamed)" if r["mode"] == "stream" else "separate (whole array)"
            print(f"| {r['minutes']:g} min | {path} | {r['tracemalloc_mib']:.1f} | "
                  f"{r['max_rss_mib']:.0f} | {r['wall_s']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps({"command": command, "train_seconds": art.metrics["train_seconds"],
                                         "parameters": art.model.count_params(), "test": test,
                                         "history": art.history, "memory": mem}, indent=2))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
