"""The ``learned`` method: a small Conv1D frame classifier over the standardised frame features.

The network (:func:`build_frame_classifier`) is a stack of dilated ``same``-padded Conv1D
layers, so each frame's class depends on about 0.6 s around it, ending in a per-frame softmax
over pause / consonant / vowel; :func:`learned_labels` smooths its output with a Viterbi pass
(:mod:`tympan.segment.hmm`).  The shipped weights (``weights/frame_classifier.keras``, with
``frame_classifier.json`` recording the feature names, frame settings and the training
speakers) were trained by ``benchmarks/segmentation.py --train`` with
:func:`train_frame_classifier` on EMO-DB speakers never used to measure it.  They load lazily,
in Keras safe mode, on first use.

:data:`FRAME_LABELLING` is the frame-labelling task (:mod:`tympan.pipeline.task`): its
objectives, examples (standardised feature chunks with 0/1 weights on padding) and how it runs;
training goes through the one driver (:mod:`tympan.pipeline.driver`).  The task lives here,
above ``pipeline``, because its input is the segmenter's frame features, not waveforms; its
weights are saved in their own two files (not an artifact folder: the model takes features).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan.errors import ArtifactError, ParameterError
from tympan.pipeline import driver
from tympan.pipeline.task import Task, register_task
from tympan.segment.features import FEATURE_NAMES, standardize

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MODEL_FILE = "frame_classifier.keras"
META_FILE = "frame_classifier.json"
#: Frames per call of the network (the last window is zero-padded, so one compiled shape
#: serves every length) and frames of context added on each side of a window.
WINDOW_FRAMES, CONTEXT_FRAMES = 2048, 64


def build_frame_classifier(n_features: int = len(FEATURE_NAMES), *, width: int = 64,
                           kernel_size: int = 5, dilations=(1, 2, 4, 8), dropout: float = 0.1,
                           n_classes: int = 3):
    """``keras.Model``: ``(batch, frames, n_features)`` -> ``(batch, frames, n_classes)``
    softmax; the receptive field is ``1 + (kernel_size - 1) * sum(dilations)`` frames."""
    import keras

    inputs = keras.Input((None, v.positive_int("n_features", n_features)), name="features")
    h = inputs
    for d in dilations:
        h = keras.layers.Conv1D(v.positive_int("width", width), v.positive_int("kernel_size", kernel_size),
                                padding="same", dilation_rate=v.positive_int("dilation", d),
                                activation="relu")(h)
        h = keras.layers.Dropout(dropout)(h)
    outputs = keras.layers.Conv1D(n_classes, 1, activation="softmax", name="classes")(h)
    return keras.Model(inputs, outputs, name="frame_classifier")


def _chunks(features, labels, chunk: int):
    """Standardised ``(chunk, feature)`` pieces, their labels and 0/1 weights (0 on padding)."""
    xs, ys, ws = [], [], []
    for f, y in zip(features, labels, strict=True):
        x = standardize(f).T
        y = np.asarray(y, dtype=np.int64)
        if x.shape[0] != y.shape[0]:
            raise ParameterError(f"features of {x.shape[0]} frames came with {y.shape[0]} labels")
        for s in range(0, x.shape[0], chunk):
            n = min(chunk, x.shape[0] - s)
            xp, yp, wp = np.zeros((chunk, x.shape[1]), np.float32), np.zeros(chunk, np.int64), np.zeros(chunk)
            xp[:n], yp[:n], wp[:n] = x[s : s + n], y[s : s + n], 1.0
            xs.append(xp)
            ys.append(yp)
            ws.append(wp)
    return np.stack(xs), np.stack(ys), np.stack(ws).astype(np.float32)


def train_frame_classifier(features, labels, *, validation=None, epochs: int = 40,
                           batch_size: int = 16, learning_rate: float = 2e-3, chunk_frames: int = 256,
                           patience: int = 6, seed: int = 0, verbose: int = 0, init=None,
                           **architecture):
    """Fit :func:`build_frame_classifier` on recordings: ``features`` a list of
    ``(n_features, frames)`` matrices (:func:`frame_features`), ``labels`` the matching class
    indices per frame.  ``validation`` (a ``(features, labels)`` pair) drives early stopping
    with ``patience`` epochs, keeping the best weights.  ``init`` (a frame classifier, or a
    folder written by :func:`save_frame_classifier`) continues from its weights.  Returns
    ``(model, history dict)``."""
    driver.seed_everything(int(seed))
    x, y, w = FRAME_LABELLING.examples((features, labels), None,
                                       chunk_frames=v.positive_int("chunk_frames", chunk_frames))
    model = build_frame_classifier(x.shape[-1], **architecture)
    if init is not None:
        start = init if hasattr(init, "get_weights") else load_frame_classifier(str(init))[0]
        model.set_weights(start.get_weights())
    driver.compile_model(model, optimizer="adam", loss=FRAME_LABELLING.loss(None),
                         learning_rate=v.positive_number("learning_rate", learning_rate),
                         weighted_metrics=FRAME_LABELLING.weighted_metrics(None))
    val = None if validation is None else _chunks(*validation, chunk_frames)
    history = driver.fit_model(model, x, y, sample_weight=w, validation=val,
                               patience=patience if val is not None else None,
                               epochs=v.positive_int("epochs", epochs),
                               batch_size=v.positive_int("batch_size", batch_size), verbose=verbose)
    return model, history


def save_frame_classifier(model, folder, *, meta: dict) -> None:
    """Write ``model`` and its ``meta`` (JSON) as the files :func:`load_frame_classifier` reads."""
    import keras

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bare = keras.Model.from_config(model.get_config())  # uncompiled: no optimizer state in the file
    bare.set_weights(model.get_weights())
    bare.save(folder / MODEL_FILE)
    meta = {"feature_names": list(FEATURE_NAMES), **meta}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


@functools.lru_cache(maxsize=4)
def load_frame_classifier(folder: str | None = None):
    """``(model, meta)`` from ``folder`` (default: the shipped weights), loaded once."""
    import keras

    folder = WEIGHTS_DIR if folder is None else Path(folder)
    try:
        meta = json.loads((folder / META_FILE).read_text())
        model = keras.saving.load_model(folder / MODEL_FILE, safe_mode=True)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot load the frame classifier from '{folder}': {exc}") from None
    if meta.get("feature_names") != list(FEATURE_NAMES):
        raise ArtifactError(f"the frame classifier in '{folder}' was trained on features "
                            f"{meta.get('feature_names')}, not tympan's {list(FEATURE_NAMES)}")
    return model, meta


def learned_probabilities(features, *, model=None) -> np.ndarray:
    """Class probabilities ``(n_frames, 3)`` (pause, consonant, vowel) of the shipped classifier
    (or ``model``) for one recording's feature matrix, in windows of :data:`WINDOW_FRAMES`
    frames with :data:`CONTEXT_FRAMES` of context on each side (beyond the network's reach,
    so the windows join seamlessly)."""
    import keras

    if model is None:
        model, _ = load_frame_classifier()
    x = standardize(features).T
    n, c = x.shape[0], CONTEXT_FRAMES
    padded = np.zeros((n + 2 * c + WINDOW_FRAMES, x.shape[1]), np.float32)
    padded[c : c + n] = x
    out = []
    for s in range(0, n, WINDOW_FRAMES):
        window = padded[s : s + WINDOW_FRAMES + 2 * c][None]
        prob = keras.ops.convert_to_numpy(model(window, training=False))[0]
        out.append(prob[c : c + min(WINDOW_FRAMES, n - s)])
    return np.concatenate(out).astype(np.float32)


def learned_labels(features, *, model=None, stay: float | None = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``(class per frame, probabilities (n_frames, 3))``: the Viterbi path through the
    classifier's log-probabilities under a sticky transition matrix (``stay`` on the diagonal;
    ``None``: each frame's most probable class).  On EMO-DB's held-out speakers ``stay=0.5``
    keeps the frame accuracy and raises the boundary F1 from 0.81 to 0.85 (fewer one-frame flips)."""
    from tympan.segment import hmm

    prob = learned_probabilities(features, model=model)
    if stay is None:
        return prob.argmax(axis=1), prob
    return hmm.viterbi(np.log(np.maximum(prob, 1e-6)), np.log(hmm.sticky_transition(3, stay))), prob


class FrameLabellingTask(Task):
    """A class per frame (pause, consonant, vowel) from the segmenter's frame features."""

    name = "frame_labelling"
    kind = "frame classifier"
    output = "frames"
    trained_with = "tympan.segment.learned.train_frame_classifier (benchmarks/segmentation.py --train)"
    applied_with = "tympan.segment.learned.learned_labels (tympan segment --method learned)"
    noun = "a frame classifier (features in, a class per frame out)"
    needs = "labelling frames needs a frame classifier"
    supports = frozenset({"init"})

    def loss(self, config):
        return "sparse_categorical_crossentropy"

    def weighted_metrics(self, config):
        """Accuracy over the real frames (the padding of the last chunk weighs 0)."""
        return ["accuracy"]

    def examples(self, data, config, *, chunk_frames: int = 256):
        """``(chunks, labels, weights)`` of ``data = (features, labels)``: standardised
        ``(chunk_frames, feature)`` pieces of every recording, 0 weight on the padding."""
        return _chunks(*data, chunk_frames)

    def run(self, artifact, source, **options):
        """The labels and probabilities of the feature matrix ``source``
        (:func:`learned_labels`); ``artifact`` is a frame classifier or None (the shipped)."""
        return learned_labels(source, model=artifact, **options)

    def rows(self, result) -> list[dict]:
        classes, prob = result
        return [{"frame": i, "class": int(c), "probability": float(prob[i, c])}
                for i, c in enumerate(classes)]


FRAME_LABELLING = register_task(FrameLabellingTask())
