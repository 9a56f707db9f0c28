"""A short tour of tympan: read audio, look at its spectrum, compute features that agree with
librosa, put the same features inside a Keras model, save it, reload it.

Run:  .venv/bin/python examples/tour.py        (every step prints what it did)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import tympan  # picks the jax backend unless you chose one (KERAS_BACKEND=torch ...)
from tympan import data, dsp, io

out = Path(tempfile.mkdtemp(prefix="tympan-tour-"))

# 1. Audio I/O: any common format in, any common format out (mp3 included).
path = data.example_file("7_jackson_0.wav")  # a bundled spoken "seven", 8 kHz
print(io.info(path))
y, sr = io.load(path)  # float32 in [-1, 1], shape (samples,)
y16 = io.resample(y, orig_sr=sr, target_sr=16000)
io.save(out / "seven.mp3", y16, 16000)
y_mp3, sr_mp3 = io.load(out / "seven.mp3")
print(f"loaded {len(y)} samples at {sr} Hz; wrote and re-read an mp3 at {sr_mp3} Hz")

# 2. The FFT of the whole recording, frequency axis in Hz.
spec = dsp.fft_spectrum(y, sr, window="hann")
print(f"strongest frequency: {spec.frequencies[spec.magnitude.argmax()]:.0f} Hz")

# 3. STFT and its exact inverse: a representation that loses nothing.
S = dsp.stft(y, n_fft=256, hop_length=64)  # complex, (129 bins, frames)
y_back = dsp.istft(S, hop_length=64, length=len(y))
snr = 10 * np.log10(np.sum(y**2) / np.sum((y - y_back) ** 2))
print(f"stft {S.shape} -> istft: {snr:.0f} dB SNR")

# 4. Features, numpy side: (feature, frames), batched over leading axes.
params = dict(sr=sr, n_fft=256, hop_length=64, n_mels=40)
log_mel = dsp.power_to_db(dsp.melspectrogram(y, **params))
mfcc = dsp.mfcc(y, n_mfcc=13, **params)
d_mfcc = dsp.delta(mfcc)
print(f"log-mel {log_mel.shape}, mfcc {mfcc.shape}, delta {d_mfcc.shape}")

# 5. The same features as Keras layers, inside the model: (batch, frames, feature).
import keras  # noqa: E402  (after tympan, so tympan's backend choice applies)

from tympan import layers  # noqa: E402

clip = np.zeros((1, sr), dtype="float32")  # one second, zero-padded
clip[0, : min(len(y), sr)] = y[:sr]
model = keras.Sequential([
    keras.Input((sr,)),
    layers.MFCC(n_mfcc=13, **params),
    layers.Delta(),
])
in_model = model.predict(clip, verbose=0)[0]
by_numpy = dsp.delta(dsp.mfcc(clip[0], n_mfcc=13, **params)).T
print(f"layer vs numpy, max difference: {np.abs(in_model - by_numpy).max():.2e} "
      f"on the {keras.backend.backend()} backend")

# 6. Save and reload: the feature layers travel inside the .keras file.
model.save(out / "features.keras")
reloaded = keras.models.load_model(out / "features.keras", safe_mode=True)
same = np.array_equal(reloaded.predict(clip, verbose=0), model.predict(clip, verbose=0))
print(f"reloaded model gives identical output: {same}")
print(f"files written under {out}")
print(f"tympan {tympan.__version__}")
