"""Self-training on the unlabelled clips of new speakers: a transductive adaptation that goes
further than normalising their features.

A model trained with ``feature_norm="group"`` predicts the new speakers' clips (each speaker
normalised by their own statistics, as :func:`tympan.pipeline.group_norm.predict_per_group`
does); the clips it is sure of (the top probability at least ``threshold``) are labelled with
its prediction, and the layers after ``feature_norm`` are fine-tuned for a few epochs on the
labelled training clips plus those.  The new speakers' clips are then predicted again, and the
round repeats, each time with the clips the fine-tuned model is sure of.

The labels of the new clips are never used.  It is the same enrolment protocol as per-speaker
normalisation (unlabelled audio of the speaker is available before predicting) and it needs
the training clips as well, so it runs where both are at hand: ``TrainConfig.self_training``
(``--self-training N``) in :func:`tympan.pipeline.train` and cross-validation, on the test part.
Measured in ``docs/results.md`` (held-out FSDD speakers).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan import data as tdata
from tympan.errors import DatasetError, ParameterError
from tympan.pipeline import driver
from tympan.pipeline.group_norm import check_group_sizes, check_groups, normalize_per_group, split_at_norm
from tympan.pipeline.sources import as_dataset


def self_train(model, X_train, y_train, g_train, X_new, g_new, *, rounds: int = 2,
               threshold: float = 0.9, epochs: int = 5, learning_rate: float = 2e-4,
               batch_size: int = 32, class_weight: bool = False, seed: int = 0,
               verbose: int = 0) -> dict:
    """Fine-tune ``model`` (trained with ``feature_norm="group"``) on its training clips plus
    the clips of ``X_new`` it labels with a probability of at least ``threshold``.

    ``X_train`` / ``y_train`` / ``g_train``: the labelled training waveforms, their class
    indices and groups; ``X_new`` / ``g_new``: the unlabelled waveforms of the new groups.
    Every group's features are standardised by that group's own statistics.  ``rounds`` times:
    predict ``X_new``, keep the sure clips, fine-tune the layers after ``feature_norm`` for
    ``epochs`` epochs (Adam at ``learning_rate``, a fresh optimiser), with the loss weighted by
    inverse class frequency if ``class_weight``.  ``model`` is changed in place (its layers
    after ``feature_norm``; the feature layers and ``feature_norm`` are not).
    Returns ``{"rounds", "threshold", "pseudo_labelled": [count per round]}``.
    """
    rounds, epochs = v.positive_int("rounds", rounds), v.positive_int("epochs", epochs)
    threshold = v.positive_number("threshold", threshold)
    if threshold > 1:
        raise ParameterError(f"threshold is a probability in (0, 1], got {threshold!r}")
    g_train, g_new = check_groups(g_train, len(X_train)), check_groups(g_new, len(X_new))
    features, body = split_at_norm(model)
    check_group_sizes(features, g_new)
    N_train = normalize_per_group(np.asarray(features.predict(X_train, batch_size=256, verbose=0)),
                                   g_train)
    N_new = normalize_per_group(np.asarray(features.predict(X_new, batch_size=256, verbose=0)),
                                 g_new)
    y_train = np.asarray(y_train)
    driver.seed_everything(seed)
    # one optimiser for every round (its state carries on), no validation: a fixed schedule
    driver.compile_model(body, optimizer="adam", learning_rate=learning_rate,
                         loss="sparse_categorical_crossentropy")
    counts = []
    for _ in range(rounds):
        probs = np.asarray(body.predict(N_new, batch_size=256, verbose=0))
        sure = probs.max(axis=1) >= threshold
        counts.append(int(sure.sum()))
        labels = np.concatenate([y_train, probs.argmax(axis=1)[sure]])
        # as in training, over the clips fitted on
        weights = driver.class_weights(labels, probs.shape[1]) if class_weight else None
        driver.fit_model(body, np.concatenate([N_train, N_new[sure]]), labels, epochs=epochs,
                   batch_size=batch_size, class_weight=weights, verbose=verbose)
    return {"rounds": rounds, "threshold": threshold, "pseudo_labelled": counts}


def check_self_training(artifact, rounds, training_data) -> None:
    """Refuse self-training an artifact that cannot take it, before anything is loaded."""
    v.positive_int("self_training", rounds)
    norm = artifact.config.training.feature_norm
    if norm != "group":
        raise ParameterError("self-training adapts models trained with --feature-norm group "
                             "(each speaker normalised by their own statistics); this one was "
                             f"trained with feature_norm={norm!r}")
    if artifact.adaptation.get("self_training"):
        raise ParameterError("this artifact was already self-trained on a speaker's clips "
                             f"(adapted {artifact.adaptation.get('created', '')}): adapt the "
                             "original artifact instead")
    if training_data is None:
        raise ParameterError("self-training fine-tunes on the labelled training clips as well "
                             "as the speaker's: pass training_data (--training-data DATA)")


def _same_files(dataset, files) -> list[int]:
    """Indices of ``dataset``'s items whose file has the same bytes as one of ``files``."""
    def digest(path: Path) -> str:
        return hashlib.sha1(path.read_bytes()).hexdigest()

    new = [Path(f) for f in files]
    sizes = {f.stat().st_size for f in new}
    hashes = {digest(f) for f in new}
    known: dict[Path, bool] = {}
    own = []
    for i, item in enumerate(dataset.items):
        path = Path(item.path)
        if path not in known:
            try:
                known[path] = path.stat().st_size in sizes and digest(path) in hashes
            except OSError:  # unreadable: load_clips reports it
                known[path] = False
        if known[path]:
            own.append(i)
    return own


def self_train_on_dataset(targets, artifact, X_new, new_files, *, rounds: int, training_data,
                          discovery=None, on_error: str = "raise", progress: bool = False) -> dict:
    """:func:`self_train` each of ``targets`` (the model, or an ensemble's members) on the
    clips of ``training_data`` (found with ``discovery``) plus the new speaker's waveforms
    ``X_new`` read from ``new_files``; training clips whose file is one of ``new_files``, byte
    for byte (a copy counts), are left out: the speaker's own labelled clips would make it
    supervised.  Settings (threshold,
    class weights, seed) come from the artifact's training config.  Returns the record of
    the first target, with the training data used."""
    dataset = as_dataset(training_data, discovery)
    unknown = sorted(set(dataset.labels) - set(artifact.labels))
    if unknown:
        raise DatasetError(f"the training data has labels the model does not know: {unknown[:5]} "
                           f"(it knows {list(artifact.labels)[:10]})")
    own = _same_files(dataset, new_files)
    if own:
        dataset = dataset.subset(sorted(set(range(len(dataset))) - set(own)))
    if len(dataset) == 0:
        raise DatasetError("the training data holds only the speaker's own clips: self-training "
                           "needs other speakers' labelled clips")
    groups = dataset.groups()
    if groups is None:
        raise DatasetError("self-training normalises each training speaker by their own "
                           "statistics, so the training data needs groups (e.g. --pattern fsdd)")
    audio, training = artifact.config.audio, artifact.config.training
    X, kept = tdata.load_clips(dataset, sr=audio.sr, duration=audio.duration, pad=audio.pad,
                               crop=audio.crop, on_error=on_error, progress=progress)
    index = {label: i for i, label in enumerate(artifact.labels)}
    y = np.array([index[dataset.items[i].label] for i in kept])
    g = np.asarray(groups, dtype=object)[kept]
    speaker = np.full(len(X_new), "new speaker", dtype=object)  # normalised apart from training
    records = [self_train(target, X, y, g, X_new, speaker, rounds=rounds,
                          threshold=training.pseudo_label_threshold,
                          class_weight=training.class_weight, seed=training.seed + k)
               for k, target in enumerate(targets)]
    return {**records[0], "training_data": str(dataset.root), "training_clips": len(kept),
            "left_out_own_clips": len(own)}


__all__ = ["check_self_training", "self_train", "self_train_on_dataset"]
