"""The frame-labelling task trained through the driver: a separable toy problem is learned,
early stopping keeps the best epoch, ``init`` continues from a model, results serialise."""

from __future__ import annotations

import csv
import io as _io

import numpy as np
import pytest

from tympan.errors import ParameterError
from tympan.pipeline import get_task
from tympan.segment import learned
from tympan.segment.features import FEATURE_NAMES


def _recordings(rng, n: int = 4, frames: int = 300):
    """Features whose first row tells the class (0, 1, 2 in blocks of 50 frames)."""
    feats, labels = [], []
    for _ in range(n):
        y = np.repeat(np.arange(frames // 50) % 3, 50)
        f = rng.standard_normal((len(FEATURE_NAMES), frames)).astype(np.float32) * 0.1
        f[0] = y * 2.0 + rng.standard_normal(frames) * 0.05
        feats.append(f)
        labels.append(y)
    return feats, labels


def test_train_frame_classifier_learns_and_continues(rng):
    feats, labels = _recordings(rng)
    arch = {"width": 8, "dilations": (1, 2), "dropout": 0.0}
    model, history = learned.train_frame_classifier(
        feats, labels, validation=(feats[:1], labels[:1]), epochs=30, batch_size=4,
        learning_rate=1e-2, chunk_frames=100, patience=3, **arch)
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    classes, _ = learned.learned_labels(feats[0], model=model, stay=None)
    assert (classes == labels[0]).mean() >= 0.9
    # init: the same weights to start from, a tiny rate: the model barely moves
    again, more = learned.train_frame_classifier(feats, labels, epochs=1, batch_size=4,
                                                 learning_rate=1e-9, chunk_frames=100,
                                                 init=model, **arch)
    assert "val_loss" not in more
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_frame_labelling_is_a_registered_task_whose_rows_are_frames():
    task = get_task("frame_labelling")
    assert task is learned.FRAME_LABELLING and task.output == "frames"
    prob = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1]], np.float32)
    rows = list(csv.DictReader(_io.StringIO(task.serialise([(np.array([0, 1]), prob)], "csv"))))
    assert rows == [{"frame": "0", "class": "0", "probability": "0.800000011920929"},
                    {"frame": "1", "class": "1", "probability": "0.699999988079071"}]


def test_examples_pad_the_last_chunk_with_zero_weight(rng):
    feats, labels = _recordings(rng, n=1, frames=250)
    x, y, w = learned.FRAME_LABELLING.examples((feats, labels), None, chunk_frames=100)
    assert x.shape == (3, 100, len(FEATURE_NAMES)) and y.shape == (3, 100)
    assert w[:2].all() and w[2, :50].all() and not w[2, 50:].any()
    with pytest.raises(ParameterError, match="features of 250 frames came with 3 labels"):
        learned.FRAME_LABELLING.examples((feats, [np.zeros(3)]), None)
