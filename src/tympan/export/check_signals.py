"""The inputs an exported model is checked on: a fixed set of test signals, and windows of the
user's files.

An artifact holds no audio, so :func:`probe_signals` makes a deterministic set at the model's
rate and length that covers what a model meets: white, brown and very quiet noise, tones with
harmonics, linear and exponential chirps up to near Nyquist, clicks, an amplitude-modulated tone
and a clip whose first half is digital silence (as a short recording padded to the clip length);
all but the last over a noise floor 60 dB down.
:func:`file_windows` cuts files into the windows ``tympan predict`` would give the model.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import chirp

from tympan import io
from tympan.pipeline.windowing import clips


def probe_signals(sr: int, samples: int) -> tuple[list[str], np.ndarray]:
    """``(names, x)``: ten signals of ``samples`` samples at ``sr``, ``x`` ``(10, samples)``
    float32 in [-1, 1].  Always the same (seeded)."""
    rng = np.random.default_rng(20)
    t = np.arange(samples) / sr
    nyquist = sr / 2
    white = rng.standard_normal(samples)
    brown = np.cumsum(rng.standard_normal(samples))
    brown -= brown.mean()
    clicks = np.zeros(samples)
    clicks[:: max(1, sr // 10)] = 0.9
    harmonics = sum(np.sin(2 * np.pi * k * sr / 37 * t) / k for k in range(1, 5) if k * sr / 37 < nyquist)
    onset = np.where(t >= t[-1] / 2, 0.4 * np.sin(2 * np.pi * 330 * t) + 0.05 * white, 0.0)
    signals = {
        "white noise": 0.1 * white,
        "quiet noise": 0.001 * white,
        "brown noise": 0.5 * brown / max(np.abs(brown).max(), 1e-9),
        "tone 440 Hz": 0.5 * np.sin(2 * np.pi * 440 * t),
        "harmonic tone": 0.3 * harmonics,
        "linear chirp": 0.5 * chirp(t, f0=50, t1=t[-1] or 1, f1=0.45 * sr, method="linear"),
        "exponential chirp": 0.5 * chirp(t, f0=100, t1=t[-1] or 1, f1=0.4 * sr, method="logarithmic"),
        "clicks": clicks,
        "modulated tone": 0.5 * np.sin(2 * np.pi * 1000 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
        + 0.01 * white,
        "silence then tone": onset,
    }
    # a noise floor about 60 dB down, as in any recording: without one, the bins a pure tone
    # leaves empty hold only rounding noise, which per-bin normalisation can blow up until two
    # Keras backends disagree by 1e-3 (measured on a separator); "silence then tone" keeps its
    # digital silence (a short recording padded to the clip length)
    floor = 1e-3 * rng.standard_normal(samples)
    x = np.stack([np.clip(s + (0.0 if name == "silence then tone" else floor), -1.0, 1.0)
                  for name, s in signals.items()]).astype(np.float32)
    return list(signals), x


def file_windows(paths, *, sr: int, samples: int) -> tuple[list[str], np.ndarray]:
    """``(names, x)``: each file read at ``sr`` (mono) and cut into windows of ``samples``
    every half window, the last one zero-padded (:func:`tympan.pipeline.windowing.clips`).
    A file that cannot be read raises :class:`~tympan.errors.AudioIOError` naming it."""
    names, parts = [], []
    for path in paths:
        y, _ = io.load(path, sr=sr, mono=True)
        windows = clips(y, samples)
        names += [f"{path} window {i + 1}" for i in range(len(windows))]
        parts.append(windows)
    if not parts:
        return [], np.zeros((0, samples), np.float32)
    return names, np.concatenate(parts).astype(np.float32)
