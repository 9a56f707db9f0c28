"""Signals with known pauses, and the held-out EMO-DB speaker used for accuracy floors."""

from __future__ import annotations

import numpy as np
import pytest

SR = 16000


def tone_and_silence(pattern, *, sr: int = SR, freq: float = 220.0, amp: float = 0.3,
                     noise: float = 1e-4, seed: int = 0) -> np.ndarray:
    """Concatenated parts: ``("tone", 0.4)`` a sine, ``("silence", 0.3)`` faint noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for kind, sec in pattern:
        n = round(sec * sr)
        t = np.arange(n) / sr
        part = amp * np.sin(2 * np.pi * freq * t) if kind == "tone" else np.zeros(n)
        parts.append(part + noise * rng.standard_normal(n))
    return np.concatenate(parts).astype(np.float32)


@pytest.fixture(scope="session")
def held_out(shared_data):
    """Features and reference classes of 12 recordings of EMO-DB speaker 16, never used to train
    or tune the segmentation methods: ``[(features, reference, duration), ...]``."""
    from tympan import io
    from tympan.segment import frame_features, truth

    items = []
    for _, wav, lab in truth.emodb_alignments(shared_data / "emodb", speakers=("16",))[:12]:
        y, sr = io.load(wav)
        duration = y.shape[-1] / sr
        feats = frame_features(y, sr)
        segs = truth.class_intervals(truth.read_lablaut(lab, duration=duration), alphabet="emodb")
        items.append((feats, truth.frame_classes(segs, n_frames=feats.shape[1], hop_sec=0.01), duration))
    return items
