"""Self-training on the unlabelled clips of new speakers: a transductive adaptation that goes
further than normalising their features.

A model trained with ``feature_norm="group"`` predicts the new speakers' clips (each speaker
normalised by their own statistics, as :func:`tympan.pipeline.adaptation.predict_per_group`
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

import numpy as np

from tympan.errors import ParameterError


def self_train(model, X_train, y_train, g_train, X_new, g_new, *, rounds: int = 2,
               threshold: float = 0.9, epochs: int = 5, learning_rate: float = 2e-4,
               batch_size: int = 32, seed: int = 0, verbose: int = 0) -> dict:
    """Fine-tune ``model`` (trained with ``feature_norm="group"``) on its training clips plus
    the clips of ``X_new`` it labels with a probability of at least ``threshold``.

    ``X_train`` / ``y_train`` / ``g_train``: the labelled training waveforms, their class
    indices and groups; ``X_new`` / ``g_new``: the unlabelled waveforms of the new groups.
    Every group's features are standardised by that group's own statistics.  ``rounds`` times:
    predict ``X_new``, keep the sure clips, fine-tune the layers after ``feature_norm`` for
    ``epochs`` epochs (Adam at ``learning_rate``, a fresh optimiser).  ``model`` is changed in
    place (its layers after ``feature_norm``; the feature layers and ``feature_norm`` are not).
    Returns ``{"rounds", "threshold", "pseudo_labelled": [count per round]}``.
    """
    import keras

    from tympan import _validate as v
    from tympan.pipeline.adaptation import _check_groups, _normalize_per_group, _split

    rounds, epochs = v.positive_int("rounds", rounds), v.positive_int("epochs", epochs)
    threshold = v.positive_number("threshold", threshold)
    if threshold > 1:
        raise ParameterError(f"threshold is a probability in (0, 1], got {threshold!r}")
    g_train, g_new = _check_groups(g_train, len(X_train)), _check_groups(g_new, len(X_new))
    features, body = _split(model)
    N_train = _normalize_per_group(np.asarray(features.predict(X_train, batch_size=256, verbose=0)),
                                   g_train)
    N_new = _normalize_per_group(np.asarray(features.predict(X_new, batch_size=256, verbose=0)),
                                 g_new)
    y_train = np.asarray(y_train)
    keras.utils.set_random_seed(seed)
    body.compile(optimizer=keras.optimizers.Adam(learning_rate),
                 loss="sparse_categorical_crossentropy")
    counts = []
    for _ in range(rounds):
        probs = np.asarray(body.predict(N_new, batch_size=256, verbose=0))
        sure = probs.max(axis=1) >= threshold
        counts.append(int(sure.sum()))
        body.fit(np.concatenate([N_train, N_new[sure]]),
                 np.concatenate([y_train, probs.argmax(axis=1)[sure]]),
                 epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    return {"rounds": rounds, "threshold": threshold, "pseudo_labelled": counts}


__all__ = ["self_train"]
