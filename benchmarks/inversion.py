"""How much of a recording comes back from each spectral representation, tympan vs librosa.

Real speech at 8 kHz: six FSDD digits (one per speaker) and six NOIZEUS clean sentences, all
of each file.  Every representation is computed from the recording with ``n_fft``/``hop_length``
(default 256 / 64: 32 ms Hann windows, 8 ms hop) and inverted:

* ``istft``: the complex STFT, inverted exactly (``tympan.dsp.istft`` / ``librosa.istft``);
* ``griffinlim``: the magnitude ``|STFT|`` only, 32 and 100 iterations of fast Griffin-Lim
  (momentum 0.99) from random phases;
* ``mel_to_audio``: the mel power spectrogram (40, 80, 128 bands), non-negative least squares
  back to a magnitude, then Griffin-Lim (32 iterations);
* ``mfcc_to_audio``: 13, 20 and 40 MFCCs of an 80-band log-mel (top_db 80), inverse DCT, then as
  above.

librosa runs the same steps in the same process: ``librosa.griffinlim``; for the mel and MFCC
rows, the two steps of ``librosa.feature.inverse.mel_to_audio`` / ``mfcc_to_audio``
(``mfcc_to_mel``, ``mel_to_stft``, ``griffinlim``) called one by one, because those wrappers
draw their random phases from an unseeded generator.  Both libraries start each Griffin-Lim
from the same phases (a ``numpy.random.default_rng(seed)`` per file and row).

Measures, each averaged over the files of a corpus:
* spectral convergence ``||S - |STFT(y_hat)| ||_F / ||S||_F`` in dB (S the recording's STFT
  magnitude), the quantity Griffin-Lim minimises;
* log-spectral distance (dB, per-frame RMS of the log-magnitude difference, amin 1e-5);
* SNR and SI-SDR of the waveform.  For every phase-less method these are near or below 0 dB,
  as expected: Griffin-Lim finds *a* phase consistent with the magnitude, not the recording's,
  so the waveform differs sample by sample even when it sounds and looks alike.
* wall time of the inversion, summed over the corpus (after one untimed warm-up call).

Run from the project root (about two minutes on 2 cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/inversion.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/inversion.py --json inversion.json

``OMP_NUM_THREADS=1`` keeps OpenBLAS to one thread: on a busy machine its threads made the
small matrix products of both libraries' mel inversions 10-40x slower.  The quality figures do
not depend on it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from tympan import dsp
from tympan.dsp.metrics import log_spectral_distance, si_sdr, snr_db, spectral_convergence

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CORPORA = {
    "FSDD": [DATA / "fsdd" / "recordings" / f"{name}.wav" for name in
             ("0_george_0", "1_jackson_1", "2_lucas_2", "3_nicolas_3", "4_theo_4", "5_yweweler_5")],
    "NOIZEUS clean": [DATA / "noizeus" / "clean" / f"sp{k:02d}.wav" for k in (1, 6, 11, 16, 21, 26)],
}
SR = 8000
MFCC_MELS = 80


def rows(n_fft: int, hop: int):
    """(label, tympan function, librosa function), each function mapping (y, seed) -> y_hat."""
    stft_kw = dict(n_fft=n_fft, hop_length=hop)

    def rng(seed):
        return np.random.default_rng(seed)

    out = [("istft (complex STFT, exact)",
            lambda y, s: dsp.istft(dsp.stft(y, **stft_kw), **stft_kw, length=len(y)),
            lambda y, s: librosa.istft(librosa.stft(y, **stft_kw), **stft_kw, length=len(y)))]
    for n_iter in (32, 100):
        out.append((f"griffinlim, {n_iter} iterations",
                    lambda y, s, n=n_iter: dsp.griffinlim(np.abs(dsp.stft(y, **stft_kw)), n_iter=n, **stft_kw,
                                                          length=len(y), random_state=rng(s)),
                    lambda y, s, n=n_iter: librosa.griffinlim(np.abs(librosa.stft(y, **stft_kw)), n_iter=n,
                                                              **stft_kw, length=len(y), random_state=rng(s))))
    for n_mels in (40, 80, 128):
        p = dict(sr=SR, n_mels=n_mels, **stft_kw)

        def ours(y, s, p=p):
            return dsp.mel_to_audio(dsp.melspectrogram(y, **p), **p, length=len(y), random_state=rng(s))

        def theirs(y, s, p=p):
            M = librosa.feature.melspectrogram(y=y, **p)
            S = librosa.feature.inverse.mel_to_stft(M, sr=SR, n_fft=n_fft)
            return librosa.griffinlim(S, **stft_kw, length=len(y), random_state=rng(s))

        out.append((f"mel_to_audio, {n_mels} mels", ours, theirs))
    for n_mfcc in (13, 20, 40):
        p = dict(sr=SR, n_mfcc=n_mfcc, n_mels=MFCC_MELS, **stft_kw)

        def ours(y, s, p=p):
            return dsp.mfcc_to_audio(dsp.mfcc(y, **p), **p, length=len(y), random_state=rng(s))

        def theirs(y, s, p=p):
            M = librosa.feature.inverse.mfcc_to_mel(librosa.feature.mfcc(y=y, **p), n_mels=MFCC_MELS)
            S = librosa.feature.inverse.mel_to_stft(M, sr=SR, n_fft=n_fft)
            return librosa.griffinlim(S, **stft_kw, length=len(y), random_state=rng(s))

        out.append((f"mfcc_to_audio, {n_mfcc} MFCC ({MFCC_MELS} mels)", ours, theirs))
    return out


def measure(y: np.ndarray, y_hat: np.ndarray, n_fft: int, hop: int) -> dict:
    S = np.abs(dsp.stft(y, n_fft=n_fft, hop_length=hop))
    S_hat = np.abs(dsp.stft(y_hat, n_fft=n_fft, hop_length=hop))
    return {"sc_db": 20 * np.log10(max(spectral_convergence(S, S_hat), 1e-15)),
            "lsd_db": log_spectral_distance(S, S_hat), "snr_db": snr_db(y, y_hat),
            "si_sdr_db": si_sdr(y, y_hat)}


def run(n_fft: int, hop: int) -> dict:
    results = {}
    for corpus, files in CORPORA.items():
        clips = []
        for f in files:
            y, sr = sf.read(f, dtype="float32")
            assert sr == SR, f"{f} is not {SR} Hz"
            clips.append(y)
        for label, ours, theirs in rows(n_fft, hop):
            for who, fn in (("tympan", ours), ("librosa", theirs)):
                fn(clips[0], 0)  # warm-up (librosa's first calls compile with numba), not timed
                scores, seconds = [], 0.0
                for seed, y in enumerate(clips):
                    t0 = time.perf_counter()
                    y_hat = fn(y, seed)
                    seconds += time.perf_counter() - t0
                    assert y_hat.shape == y.shape and y_hat.dtype == np.float32, (label, who, y_hat.dtype)
                    scores.append(measure(y, y_hat, n_fft, hop))
                summary = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
                summary["worst_sc_db"] = float(max(s["sc_db"] for s in scores))
                summary["seconds"] = seconds
                results.setdefault(corpus, {}).setdefault(label, {})[who] = summary
            print(f"  done: {corpus} / {label}", file=sys.stderr)
    return results


def table(corpus: str, res: dict) -> str:
    seconds = sum(sf.info(f).duration for f in CORPORA[corpus])
    lines = [f"**{corpus}** ({len(CORPORA[corpus])} files, {seconds:.1f} s of audio); tympan / librosa:", "",
             "| representation inverted | spectral convergence dB | worst file | log-spectral distance dB "
             "| SNR dB | SI-SDR dB | time s |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    def pair(row, key, fmt):
        return f"{fmt.format(row['tympan'][key])} / {fmt.format(row['librosa'][key])}"

    for label, row in res.items():
        lines.append(f"| {label} | {pair(row, 'sc_db', '{:.1f}')} | {pair(row, 'worst_sc_db', '{:.1f}')} "
                     f"| {pair(row, 'lsd_db', '{:.2f}')} | {pair(row, 'snr_db', '{:.1f}')} "
                     f"| {pair(row, 'si_sdr_db', '{:.1f}')} | {pair(row, 'seconds', '{:.2f}')} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-fft", type=int, default=256)
    parser.add_argument("--hop-length", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    results = run(args.n_fft, args.hop_length)
    print(f"# Inversion quality, {_dt.date.today()}: n_fft {args.n_fft}, hop_length {args.hop_length}, "
          f"sr {SR}; numpy {np.__version__}, librosa {librosa.__version__}")
    print(f"# command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    for corpus, res in results.items():
        print(table(corpus, res), end="\n\n")
    if args.json:
        args.json.write_text(json.dumps({"n_fft": args.n_fft, "hop_length": args.hop_length,
                                         "results": results}, indent=2))


if __name__ == "__main__":
    main()
