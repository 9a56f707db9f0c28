"""The tuning estimate: tympan.dsp.estimate_tuning against librosa, and the tuning a model fits.

Agreement: ``dsp.estimate_tuning`` and ``librosa.estimate_tuning`` on every EMO-DB clip (22.05
kHz), every 10th FSDD recording (8 kHz) and the readable music files of the codec vectors
(``codecs/pydub``: test1.wav, party.mp3, test2.mp3, test3.mp3, the 192 kHz FLAC; mixed to
mono), in three settings: from ``y`` (librosa's defaults), from the power spectrogram ``S``
(n_fft 512, hop 128: what ``chroma_stft`` passes) and with ``bins_per_octave=36`` (what
``chroma_cqt`` passes).  Printed: how many estimates are identical, the largest difference,
the largest tuning found, the largest difference of ``chroma_stft`` with its default tuning
(estimated on both sides) over the music files, and the wall time of both estimators.

Fitting: ``models.fit_feature_params({"kind": "chroma"}, X, sr)`` on all of FSDD (clips fitted
to 1 s) and all of EMO-DB (2 s): the recorded tuning (circular median of the per-clip
estimates), the ordinary median, the quartiles, the time it takes, and how far the chroma moves
(largest absolute difference over the first 200 clips) from A440 to the fitted tuning, and from
the fitted tuning to each clip's own estimate (librosa's per-clip default).

Run (about 1 minute on 2 cores)::

    .venv/bin/python benchmarks/tuning.py
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MUSIC = ["test1.wav", "party.mp3", "test2.mp3", "test3.mp3", "test-192khz-32bit.flac"]


def _read(path: Path) -> tuple[np.ndarray, int]:
    y, sr = sf.read(path, dtype="float32")
    return (y.mean(axis=1).astype(np.float32) if y.ndim == 2 else y), sr


def agreement() -> None:
    import librosa

    from tympan import dsp

    files = (sorted((DATA / "emodb" / "wav").glob("*.wav"))
             + sorted((DATA / "fsdd" / "recordings").glob("*.wav"))[::10]
             + [DATA / "codecs" / "pydub" / name for name in MUSIC])
    pairs: dict[str, list] = {"y": [], "S (chroma_stft)": [], "bins_per_octave=36": []}
    chroma_diff, t_ours, t_ref = 0.0, 0.0, 0.0
    for path in files:
        y, sr = _read(path)
        t = time.perf_counter()
        ours = dsp.estimate_tuning(y, sr=sr)
        t_ours += time.perf_counter() - t
        t = time.perf_counter()
        ref = librosa.estimate_tuning(y=y, sr=sr)
        t_ref += time.perf_counter() - t
        pairs["y"].append((ours, ref))
        S = np.abs(librosa.stft(y, n_fft=512, hop_length=128)) ** 2
        pairs["S (chroma_stft)"].append((dsp.estimate_tuning(S=S, sr=sr),
                                         librosa.estimate_tuning(S=S, sr=sr)))
        pairs["bins_per_octave=36"].append((dsp.estimate_tuning(y, sr=sr, bins_per_octave=36),
                                            librosa.estimate_tuning(y=y, sr=sr, bins_per_octave=36)))
        if path.parent.name == "pydub":
            diff = np.abs(dsp.chroma_stft(y, sr=sr) - librosa.feature.chroma_stft(y=y, sr=sr))
            chroma_diff = max(chroma_diff, float(diff.max()))
    print(f"estimate_tuning vs librosa on {len(files)} signals")
    print("| setting | identical | largest difference | largest tuning |")
    print("|---|---|---|---|")
    for setting, values in pairs.items():
        v = np.array(values)
        d = np.abs(v[:, 0] - v[:, 1])
        print(f"| {setting} | {(d == 0).sum()} / {len(d)} | {d.max():.2f} | {np.abs(v[:, 1]).max():.2f} |")
    print(f"chroma_stft (default tuning) vs librosa on the music files: max |diff| {chroma_diff:.1e}")
    print(f"time, from y: tympan {t_ours:.1f} s, librosa {t_ref:.1f} s")


def fitting() -> None:
    from tympan import dsp, models

    print("\n| corpus | clips | fitted tuning | median | quartiles | fit s | chroma: A440 -> fitted "
          "| fitted -> per clip |")
    print("|---|---|---|---|---|---|---|---|")
    for corpus, pattern, sr, seconds in (("FSDD", "fsdd/recordings/*.wav", 8000, 1.0),
                                         ("EMO-DB", "emodb/wav/*.wav", 22050, 2.0)):
        files = sorted(DATA.glob(pattern))
        n = int(sr * seconds)
        X = np.zeros((len(files), n), np.float32)
        for i, path in enumerate(files):
            y = _read(path)[0][:n]
            X[i, : len(y)] = y
        recipe = models.resolve_features({"kind": "chroma"}, sr=sr)
        t = time.perf_counter()
        fitted = models.fit_feature_params(recipe, X, sr=sr)["tuning"]
        dt = time.perf_counter() - t
        stft = {"n_fft": recipe["n_fft"], "hop_length": recipe["hop_length"]}
        each = dsp.estimate_tuning(S=dsp.spectrogram(X, power=2.0, **stft), sr=sr)
        head = X[:200]
        a440 = dsp.chroma_stft(head, sr=sr, tuning=0.0, **stft)
        fit = dsp.chroma_stft(head, sr=sr, tuning=fitted, **stft)
        own = dsp.chroma_stft(head, sr=sr, **stft)
        q1, q3 = np.percentile(each, [25, 75])
        print(f"| {corpus} | {len(X)} | {fitted:+.2f} | {np.median(each):+.2f} | {q1:+.2f} / {q3:+.2f} "
              f"| {dt:.1f} | {np.abs(fit - a440).max():.2f} | {np.abs(own - fit).max():.2f} |")


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # librosa's "n_fft too large" for the shortest FSDD clips
    agreement()
    fitting()
