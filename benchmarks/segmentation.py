"""Vowel / consonant / pause segmentation measured against real phone alignments.

EMO-DB (``../shared/data/emodb``, 10 speakers) is split by speaker: the learned frame
classifier trains on speakers 03-13 (``--train``), speaker 14 drives its early stopping, and
every method is measured on speakers 15 and 16, never used to train or tune anything.  The
English fixtures (``../shared/data/phones``: CMU ARCTIC with an HTS alignment, three praatIO
TextGrids) are measured too.  Phones become pause / consonant / vowel by
``tympan.segment.truth.PHONE_CLASSES``; a frame's reference class is the one at its centre.

Reported per method: 3-class frame accuracy (pooled over frames), recall per class, boundary
precision / recall / F1 (a class change within +-20 ms of a reference one, pooled over files);
for the pause detectors (``energy``, ``histogram``): pause-vs-speech frame accuracy and pause F1.

Run::

    nice -n 10 .venv/bin/python benchmarks/segmentation.py --train   # retrain and ship weights
    .venv/bin/python benchmarks/segmentation.py                      # measure (about a minute)
    .venv/bin/python benchmarks/segmentation.py --json seg.json

``--train`` writes ``src/tympan/segment/weights/`` (or ``--weights DIR``); training takes
about two minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import tympan  # noqa: F401  (selects the Keras backend before keras is imported)
from tympan import io, segment
from tympan.segment import learned, metrics, truth
from tympan.segment.pauses import pause_frames

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TRAIN_SPEAKERS = ("03", "08", "09", "10", "11", "12", "13")
VALIDATION_SPEAKERS = ("14",)
TEST_SPEAKERS = ("15", "16")
#: (row name, method, parameters) of the tables.
METHODS = (("learned", "learned", {}), ("learned, stay=None (no Viterbi pass)", "learned", {"stay": None}),
           ("hmm", "hmm", {}), ("fcm", "fcm", {}), ("histogram", "histogram", {}))
HOP_SEC = 0.010


def _load(wav, *, band_limit: bool = False):
    y, sr = io.load(wav)
    if band_limit:  # what a telephone-band (8 kHz) recording looks like
        y, sr = io.resample(y, orig_sr=sr, target_sr=8000), 8000
    return y, sr


def emodb(speakers, *, band_limit: bool = False):
    """``[(name, features, reference classes, reference segments, duration), ...]``."""
    out = []
    for name, wav, lab in truth.emodb_alignments(SHARED / "emodb", speakers=speakers):
        y, sr = _load(wav, band_limit=band_limit)
        duration = y.shape[-1] / sr
        segs = truth.class_intervals(truth.read_lablaut(lab, duration=duration), alphabet="emodb")
        feats = segment.frame_features(y, sr, hop_sec=HOP_SEC)
        out.append((name, feats, truth.frame_classes(segs, n_frames=feats.shape[1], hop_sec=HOP_SEC),
                    segs, duration))
    return out


def english():
    out = []
    for name, wav, phones, alphabet in truth.english_alignments(SHARED / "phones"):
        y, sr = io.load(wav)
        duration = y.shape[-1] / sr
        segs = truth.class_intervals(phones, alphabet=alphabet)
        feats = segment.frame_features(y, sr, hop_sec=HOP_SEC)
        out.append((name, feats, truth.frame_classes(segs, n_frames=feats.shape[1], hop_sec=HOP_SEC),
                    segs, duration))
    return out


def score(items, method: str, **params) -> dict:
    preds, refs, bounds = [], [], {"hits": 0, "n_reference": 0, "n_estimate": 0}
    t0 = time.perf_counter()
    for _, feats, ref, segs, duration in items:
        lab = segment.label_features(feats, duration=duration, method=method, hop_sec=HOP_SEC,
                                        **params)
        preds.append(lab.labels)
        refs.append(ref)
        b = metrics.boundary_scores(metrics.boundaries(segs, duration=duration),
                                    metrics.boundaries(lab.segments(), duration=duration))
        for k in bounds:
            bounds[k] += b[k]
    seconds = time.perf_counter() - t0
    p = bounds["hits"] / max(bounds["n_estimate"], 1)
    r = bounds["hits"] / max(bounds["n_reference"], 1)
    report = metrics.frame_report(np.concatenate(refs), np.concatenate(preds))
    out = metrics.summary(report, {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-12)})
    return {**out, "files": len(items), "seconds": seconds}


def pause_scores(items, method: str) -> dict:
    tp = fp = fn = correct = total = 0
    for _, feats, ref, _, _ in items:
        pred = pause_frames(feats[0], hop_sec=HOP_SEC, method=method)
        is_pause = ref == 0
        tp += int((pred & is_pause).sum())
        fp += int((pred & ~is_pause).sum())
        fn += int((~pred & is_pause).sum())
        correct += int((pred == is_pause).sum())
        total += ref.size
    return {"accuracy": correct / total, "pause_f1": 2 * tp / max(2 * tp + fp + fn, 1)}


def train(weights: Path, *, augment: bool, epochs: int, seed: int) -> dict:
    t0 = time.perf_counter()
    items = emodb(TRAIN_SPEAKERS)
    if augment:
        items += emodb(TRAIN_SPEAKERS, band_limit=True)
    val = emodb(VALIDATION_SPEAKERS)
    t1 = time.perf_counter()
    model, history = learned.train_frame_classifier(
        [f for _, f, *_ in items], [r for _, _, r, *_ in items],
        validation=([f for _, f, *_ in val], [r for _, _, r, *_ in val]), epochs=epochs, seed=seed)
    meta = {"classes": list(truth.CLASSES), "frame_sec": 0.025, "hop_sec": HOP_SEC,
            "train_speakers": list(TRAIN_SPEAKERS), "validation_speakers": list(VALIDATION_SPEAKERS),
            "test_speakers": list(TEST_SPEAKERS), "band_limited_copies": augment,
            "epochs_run": len(history["loss"]), "seed": seed,
            "val_accuracy": max(history.get("val_accuracy", [float("nan")])),
            "params": int(model.count_params())}
    learned.save_frame_classifier(model, weights, meta=meta)
    learned.load_frame_classifier.cache_clear()
    size = (weights / learned.MODEL_FILE).stat().st_size
    print(f"trained on {len(items)} recordings in {time.perf_counter() - t1:.0f} s (features "
          f"{t1 - t0:.0f} s), {meta['epochs_run']} epochs, {meta['params']} parameters, "
          f"{size / 1024:.0f} KiB; best validation accuracy {meta['val_accuracy']:.4f}")
    return meta


def _row(name, r):
    return (f"| {name} | {r['accuracy']:.3f} | {r['recall_pause']:.3f} | {r['recall_consonant']:.3f} | "
            f"{r['recall_vowel']:.3f} | {r['boundary_f1']:.3f} | {r['frames']} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", action="store_true", help="retrain the learned classifier first")
    p.add_argument("--weights", type=Path, default=learned.WEIGHTS_DIR)
    p.add_argument("--no-augment", action="store_true", help="no band-limited (8 kHz) training copies")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if not SHARED.is_dir():
        print(f"shared data not found at {SHARED}", file=sys.stderr)
        return 1
    command = "python benchmarks/segmentation.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"# Segmentation: {command}\n# {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}")
    results: dict = {"command": command}
    if args.train:
        results["training"] = train(args.weights, augment=not args.no_augment, epochs=args.epochs,
                                    seed=args.seed)
    extra = {}
    if args.weights != learned.WEIGHTS_DIR:
        extra["model"] = learned.load_frame_classifier(str(args.weights))[0]
    sets = {"EMO-DB speakers 15, 16": emodb(TEST_SPEAKERS),
            "EMO-DB 15, 16 at 8 kHz": emodb(TEST_SPEAKERS, band_limit=True),
            "English fixtures": english()}
    head = ("| method | accuracy | recall pause | recall consonant | recall vowel | boundary F1 (±20 ms) "
            "| frames |\n|---|---:|---:|---:|---:|---:|---:|")
    for title, items in sets.items():
        print(f"\n## {title} ({len(items)} recordings)\n\n{head}")
        results[title] = {}
        for name, method, params in METHODS:
            r = score(items, method, **params, **(extra if method == "learned" else {}))
            results[title][name] = r
            print(_row(name, r), flush=True)
        print("\n| pause detector | pause-vs-speech accuracy | pause F1 |\n|---|---:|---:|")
        for method in segment.PAUSE_METHODS:
            r = pause_scores(items, method)
            results[title][f"pauses_{method}"] = r
            print(f"| {method} | {r['accuracy']:.3f} | {r['pause_f1']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
