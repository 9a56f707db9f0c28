"""Agreement figures for tympan.dsp.descriptors / wavelets and the Scalogram layer (issue 4).

1. Each descriptor against ``librosa.feature`` (same arguments) on real recordings: 20 FSDD
   clips (8 kHz; n_fft 256, hop 80) and 10 EMO-DB clips (22.05 kHz; n_fft 2048, hop 512):
   the largest absolute difference, and relative to the largest reference value.
2. The wavelet bank, applied as a correlation, against ``pywt.cwt`` at full resolution.
3. ``layers.Scalogram`` against ``dsp.scalogram`` on the active Keras backend, per example
   relative to its peak, for a loud clip and the same clip 60 dB down; and the time of each
   for a batch of 2-s clips.

Prints Markdown; run from the project root (about a minute)::

    python benchmarks/wavelets_descriptors.py
    KERAS_BACKEND=torch python benchmarks/wavelets_descriptors.py --layer-only
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import soundfile as sf

import tympan  # noqa: F401  (selects the default backend before keras is imported)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def clips():
    fsdd = sorted((DATA / "fsdd" / "recordings").glob("*.wav"))[::150][:20]
    emodb = sorted((DATA / "emodb" / "wav").glob("*.wav"))[::53][:10]
    for path in fsdd + emodb:
        y, sr = sf.read(path, dtype="float32")
        yield path.stem, y, sr


def descriptor_table() -> None:
    import librosa

    from tympan import dsp

    worst: dict[str, list[float]] = {}
    for _, y, sr in clips():
        stft = dict(n_fft=256, hop_length=80) if sr == 8000 else dict(n_fft=2048, hop_length=512)
        frame = dict(frame_length=stft["n_fft"], hop_length=stft["hop_length"])
        bands = dict(fmin=100.0, n_bands=5) if sr == 8000 else dict(fmin=200.0, n_bands=6)
        pairs = {
            "rms": (dsp.rms(y, **frame), librosa.feature.rms(y=y, **frame)),
            "zero_crossing_rate": (dsp.zero_crossing_rate(y, **frame),
                                   librosa.feature.zero_crossing_rate(y, **frame)),
            "spectral_centroid (Hz)": (dsp.spectral_centroid(y, sr=sr, **stft),
                                       librosa.feature.spectral_centroid(y=y, sr=sr, **stft)),
            "spectral_bandwidth (Hz)": (dsp.spectral_bandwidth(y, sr=sr, **stft),
                                        librosa.feature.spectral_bandwidth(y=y, sr=sr, **stft)),
            "spectral_rolloff (Hz)": (dsp.spectral_rolloff(y, sr=sr, **stft),
                                      librosa.feature.spectral_rolloff(y=y, sr=sr, **stft)),
            "spectral_flatness": (dsp.spectral_flatness(y, **stft),
                                  librosa.feature.spectral_flatness(y=y, **stft)),
            "spectral_contrast (dB)": (dsp.spectral_contrast(y, sr=sr, **stft, **bands),
                                       librosa.feature.spectral_contrast(y=y, sr=sr, **stft, **bands)),
        }
        for name, (ours, ref) in pairs.items():
            err = np.abs(ours.astype(np.float64) - ref).max()
            rel = err / max(np.abs(ref).max(), 1e-30)
            prev = worst.setdefault(name, [0.0, 0.0])
            worst[name] = [max(prev[0], err), max(prev[1], rel)]
    print("| descriptor vs librosa | max abs difference | relative to max |")
    print("|---|---:|---:|")
    for name, (err, rel) in worst.items():
        print(f"| `{name}` | {err:.2g} | {rel:.2g} |")


def bank_check() -> None:
    import pywt

    from tympan.dsp import wavelet_bank, wavelets

    y, _ = sf.read(DATA / "fsdd" / "recordings" / "3_jackson_5.wav", dtype="float64")
    kw = dict(sr=8000, fmin=40.0, fmax=3800.0, n_bins=48)
    bank = wavelet_bank(dtype=np.complex128, **kw)
    _, _, scales, precision = wavelets._resolve(8000, 40.0, 3800.0, 48, "cmor1.5-1.0", None)
    coef, _ = pywt.cwt(y, scales, "cmor1.5-1.0", method="fft", precision=precision)
    taps = bank.shape[0]
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(y, taps // 2), taps)[: len(y)]
    err = np.abs(frames @ bank - coef.T).max() / np.abs(coef).max()
    print(f"\nwavelet_bank (sr 8000, fmin 40, 48 bins: {taps} taps, precision {precision}) "
          f"vs pywt.cwt, every sample: {err:.1e} of the peak")


def layer_check() -> None:
    import keras
    from keras import ops

    from tympan import dsp
    from tympan.layers import Scalogram

    fsdd = sf.read(DATA / "fsdd" / "recordings" / "3_jackson_5.wav", dtype="float32")[0]
    emodb = sf.read(DATA / "emodb" / "wav" / "03a01Fa.wav", dtype="float32")[0]
    cases = {
        "FSDD, sr 8000, hop 80, 40-3800 Hz, 48 bins": (fsdd, dict(sr=8000, hop_length=80, fmin=40.0,
                                                                 fmax=3800.0, n_bins=48)),
        "EMO-DB, sr 22050, hop 512, 32.7 Hz-sr/2, 84 bins": (emodb, dict(sr=22050, hop_length=512)),
    }
    print(f"\n| Scalogram layer ({keras.backend.backend()}) vs dsp.scalogram | taps | loud | 60 dB down |")
    print("|---|---:|---:|---:|")
    for name, (y, params) in cases.items():
        x = np.stack([y, y * np.float32(1e-3)])
        layer = Scalogram(**params)
        out = np.asarray(ops.convert_to_numpy(layer(x)))
        ref = np.swapaxes(dsp.scalogram(x, **params), -1, -2)
        rel = [np.abs(out[i] - ref[i]).max() / ref[i].max() for i in range(2)]
        print(f"| {name} | {layer.n_taps} | {rel[0]:.1e} | {rel[1]:.1e} |")

    # time: 16 EMO-DB clips of 2 s, default recipe (84 bins from 32.7 Hz)
    batch = np.stack([sf.read(p, dtype="float32")[0] for p in
                      sorted((DATA / "emodb" / "wav").glob("*.wav"))[:16]])
    inp = keras.Input((batch.shape[1],))
    model = keras.Model(inp, Scalogram(sr=22050, hop_length=512)(inp))
    model.predict(batch, batch_size=16, verbose=0)
    t0 = time.perf_counter()
    model.predict(batch, batch_size=16, verbose=0)
    t_layer = time.perf_counter() - t0
    t0 = time.perf_counter()
    dsp.scalogram(batch, sr=22050, hop_length=512)
    t_dsp = time.perf_counter() - t0
    audio = batch.shape[0] * batch.shape[1] / 22050
    print(f"\n16 x 2 s EMO-DB, 84 bins from 32.7 Hz: layer {audio / t_layer:.0f} s of audio per s, "
          f"dsp.scalogram {audio / t_dsp:.0f} s of audio per s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer-only", action="store_true", help="only the layer parity and timing")
    args = parser.parse_args()
    if not args.layer_only:
        descriptor_table()
        bank_check()
    layer_check()


if __name__ == "__main__":
    main()
