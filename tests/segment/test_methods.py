"""Frame labelling: fcm memberships, Viterbi against brute force, accuracy floors on a held-out
EMO-DB speaker, the learned model's save/reload, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tympan import segment
from tympan.errors import ArtifactError, ParameterError
from tympan.segment import fcm, hmm, learned

from .conftest import SR, tone_and_silence

# Measured on the 12 files of the ``held_out`` fixture (speaker 16): learned 0.892, hmm 0.752,
# histogram 0.738, fcm 0.724.  The floors sit a little below.
FLOORS = {"learned": 0.86, "hmm": 0.72, "histogram": 0.70, "fcm": 0.70}


@pytest.mark.parametrize("method", list(FLOORS))
def test_accuracy_floor_on_a_held_out_speaker(held_out, method):
    pred = np.concatenate([segment.label_features(f, duration=d, method=method).labels
                           for f, _, d in held_out])
    ref = np.concatenate([r for _, r, _ in held_out])
    assert (pred == ref).mean() >= FLOORS[method]


def test_fcm_memberships_sum_to_one_and_find_clusters(rng):
    x = np.concatenate([rng.normal(0, 0.3, (50, 2)), rng.normal(5, 0.3, (40, 2)),
                        rng.normal(10, 0.3, (30, 2))])
    u, centres = fcm.fuzzy_cmeans(x, 3)
    np.testing.assert_allclose(u.sum(axis=1), 1.0, atol=1e-12)
    assert np.all((u >= 0) & (u <= 1))
    np.testing.assert_allclose(np.sort(centres[:, 0]), [0, 5, 10], atol=0.2)
    assert np.bincount(u.argmax(axis=1)).tolist() == [50, 40, 30]


def test_fcm_method_exposes_memberships():
    y = tone_and_silence([("silence", 0.3), ("tone", 0.5), ("silence", 0.3)])
    labels = segment.label_frames(y, SR, method="fcm")
    assert labels.memberships.shape == (labels.labels.size, 3)
    np.testing.assert_allclose(labels.memberships.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(labels.memberships.argmax(axis=1), labels.labels)
    assert labels.classes == segment.CLASSES
    assert segment.label_frames(y, SR, method="hmm").memberships is None


def _brute_force(scores, trans, init):
    best, path = -np.inf, None
    for states in itertools.product(range(scores.shape[1]), repeat=scores.shape[0]):
        total = init[states[0]] + scores[0, states[0]]
        total += sum(trans[a, b] + scores[t + 1, b] for t, (a, b) in enumerate(itertools.pairwise(states)))
        if total > best:
            best, path = total, states
    return list(path)


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    scores = np.log(rng.dirichlet(np.ones(3), size=7))
    trans = np.log(rng.dirichlet(np.ones(3) * 2, size=3))
    init = np.log(rng.dirichlet(np.ones(3)))
    assert hmm.viterbi(scores, trans, init).tolist() == _brute_force(scores, trans, init)


def test_sticky_transitions_smooth_a_flicker():
    p = np.array([0.9, 0.1, 0.9, 0.9, 0.1, 0.9, 0.9])  # P(state 0) per frame
    scores = np.log(np.stack([p, 1 - p], axis=1))
    assert hmm.viterbi(scores, np.log(hmm.sticky_transition(2, 0.5))).tolist() == [0, 1, 0, 0, 1, 0, 0]
    assert hmm.viterbi(scores, np.log(hmm.sticky_transition(2, 0.99))).tolist() == [0] * 7
    np.testing.assert_allclose(hmm.sticky_transition(3, 0.8).sum(axis=1), 1.0)


def test_learned_model_reloads_identically(tmp_path, held_out):
    model, meta = learned.load_frame_classifier()
    assert set(meta["test_speakers"]).isdisjoint(meta["train_speakers"] + meta["validation_speakers"])
    assert "16" in meta["test_speakers"]
    assert (learned.WEIGHTS_DIR / learned.MODEL_FILE).stat().st_size <= 2 * 1024 * 1024
    learned.save_frame_classifier(model, tmp_path, meta={"note": "copy"})
    again, _ = learned.load_frame_classifier(str(tmp_path))
    feats = held_out[0][0]
    np.testing.assert_array_equal(learned.learned_probabilities(feats, model=again),
                                  learned.learned_probabilities(feats))


def test_learned_windows_join_seamlessly(held_out, monkeypatch):
    feats = np.concatenate([f for f, _, _ in held_out[:3]], axis=1)  # 603 frames
    whole = learned.learned_probabilities(feats)
    monkeypatch.setattr(learned, "WINDOW_FRAMES", 128)
    np.testing.assert_allclose(learned.learned_probabilities(feats), whole, atol=1e-5)


def test_a_missing_model_is_an_artifact_error(tmp_path):
    with pytest.raises(ArtifactError, match="frame classifier"):
        learned.load_frame_classifier(str(tmp_path))


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(method="kmeans"), "method"),
    (dict(method="fcm", m=1.0), "m must be greater than 1"),
    (dict(method="hmm", stay=1.5), "stay"),
    (dict(method="histogram", colour=1), "unknown parameter"),
    (dict(method="fcm", hop_sec=-1), "hop_sec"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        segment.label_frames(tone_and_silence([("tone", 0.3)]), SR, **kwargs)


def test_keep_needs_vowel_labels():
    y = tone_and_silence([("silence", 0.3), ("tone", 0.5), ("silence", 0.3)])
    with pytest.raises(ParameterError, match="keep='vowels'"):
        segment.keep(y, SR, keep="vowels", method="energy")
    with pytest.raises(ParameterError, match="keep"):
        segment.keep(y, SR, keep="nasals", method="hmm")
    out, spans = segment.keep(y, SR, keep="speech", method="energy")
    assert out.size == pytest.approx(0.5 * SR, abs=0.04 * SR) and len(spans) == 1
