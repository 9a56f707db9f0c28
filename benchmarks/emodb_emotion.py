"""Speaker-independent speech emotion recognition on EMO-DB (535 utterances, 10 speakers,
7 emotions) with ``conv1d_lstm`` on MFCCs and class weights.

Cross-validation by speaker: ``--cv group-kfold`` (default: 5 folds of 2 speakers each) or
``--cv leave-one-group-out`` (10 folds, one speaker each); no speaker is ever in both the
training and the test part of a fold.  Reports accuracy, UAR (unweighted average recall, the
usual figure for this unbalanced corpus) and macro-F1 per fold, their mean, and the pooled
figures over every fold's test predictions, with training times.

Run (``--only-folds`` for a subset; time one fold first)::

    .venv/bin/python benchmarks/emodb_emotion.py                              # 5 speaker folds
    .venv/bin/python benchmarks/emodb_emotion.py --only-folds 0               # one fold
    .venv/bin/python benchmarks/emodb_emotion.py --cv leave-one-group-out --features mfcc+delta
    .venv/bin/python benchmarks/emodb_emotion.py --model-param pool_size=2 --json out.json

The same run from the command line: ``tympan evaluate --cv group-kfold --folds 5
../shared/data/emodb/wav --pattern emodb --model conv1d_lstm --features mfcc --sr 16000
--duration 2.0 --epochs 60 --class-weight``.  Prints Markdown tables; ``--json PATH`` writes
every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import tympan  # noqa: F401  (selects the default backend before keras is imported)
from tympan import data, pipeline
from tympan.cli._options import parse_params  # KEY=VALUE, values read as JSON
from tympan.pipeline.train import resolve_config

EMODB = Path(__file__).resolve().parents[2] / "shared" / "data" / "emodb"


def _params(pairs):
    return parse_params(tuple(pairs or ()), "--model-param")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cv", choices=["group-kfold", "leave-one-group-out"], default="group-kfold")
    p.add_argument("--folds", type=int, default=5, help="folds for group-kfold")
    p.add_argument("--only-folds", default=None, help="e.g. 0,3")
    p.add_argument("--model", default="conv1d_lstm")
    p.add_argument("--model-param", action="append", metavar="KEY=JSON")
    p.add_argument("--features", default="mfcc")
    p.add_argument("--feature-param", action="append", metavar="KEY=JSON")
    p.add_argument("--sr", type=int, default=16000)
    p.add_argument("--duration", type=float, default=2.0, help="the shared copies are 2.0 s long")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--no-class-weight", action="store_true")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--validation-size", type=float, default=0.15,
                   help="0: no validation part, no early stopping, every epoch is run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--feature-norm", choices=["dataset", "group"], default="dataset",
                   help="group: each speaker normalised by their own statistics; each test "
                   "speaker is adapted on their own (unlabelled) clips")
    p.add_argument("--reference", action="store_true",
                   help="only the reference: logistic regression on MFCC statistics (scikit-learn)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    dataset = data.from_emodb(EMODB)
    if args.reference:
        return reference(dataset, args)
    config = pipeline.PipelineConfig(
        audio=pipeline.AudioConfig(sr=args.sr, duration=args.duration),
        features={"kind": args.features, **_params(args.feature_param)},
        model={"name": args.model, **_params(args.model_param)},
        training=pipeline.TrainConfig(epochs=args.epochs, class_weight=not args.no_class_weight,
                                      learning_rate=args.learning_rate, seed=args.seed,
                                      batch_size=args.batch_size,
                                      validation_size=args.validation_size,
                                      feature_norm=args.feature_norm))
    only = None if args.only_folds is None else [int(k) for k in args.only_folds.split(",")]
    command = "python benchmarks/emodb_emotion.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"# EMO-DB emotions: {len(dataset)} utterances, {len(dataset.labels)} emotions; {command}")
    print("\n| fold | held-out speakers | n | accuracy | UAR | macro-F1 | epochs | train s |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")

    def row(fold):
        speakers = ",".join(fold["split"]["params"]["test_groups"])
        print(f"| {fold['fold']} | {speakers} | {fold['n']} | {fold['accuracy']:.4f} | "
              f"{fold['uar']:.4f} | {fold['macro_f1']:.4f} | {fold['epochs_run']} | "
              f"{fold['train_seconds']:.0f} |", flush=True)

    t0 = time.perf_counter()
    cv = pipeline.cross_validate(dataset, config, method=args.cv.replace("-", "_"),
                                 n_splits=args.folds, only=only, on_fold=row, progress=False)
    seconds = time.perf_counter() - t0
    pooled = pipeline.Report.from_dict(cv["pooled"])
    print(f"| **pooled** | | {pooled.confusion.sum()} | **{pooled.accuracy:.4f}** | "
          f"**{pooled.uar:.4f}** | {pooled.macro_f1:.4f} | | |")
    print(f"| **mean of folds** | | | {cv['mean_accuracy']:.4f} (std {cv['std_accuracy']:.4f}) | "
          f"{cv['mean_uar']:.4f} (std {cv['std_uar']:.4f}) | {cv['mean_macro_f1']:.4f} | | |")
    print(f"\nwall time {seconds:.0f} s (loading, then every fold)\n")
    print("| emotion | recall | precision | support |\n|---|---:|---:|---:|")
    for label, r, pr, s in zip(pooled.labels, pooled.recall, pooled.precision, pooled.support,
                               strict=True):
        print(f"| {label} | {r:.3f} | {pr:.3f} | {int(s)} |")
    print("\npooled confusion matrix (rows: true, columns: predicted)\n")
    print(pooled.format().split("confusion matrix (rows: true, columns: predicted)\n")[1])
    if args.json:
        args.json.write_text(json.dumps({"command": command,
                                         "config": resolve_config(config).to_dict(),
                                         "seconds": seconds, **cv}, indent=2, default=str))
    return 0


def reference(dataset, args) -> int:
    """Utterance statistics (mean, std, 10th and 90th percentile over frames of 20 MFCCs and their
    deltas: 160 numbers) -> standardised -> logistic regression (C=0.1, balanced class weights),
    on the same speaker folds; once as is, once with every feature z-normalised per speaker
    (which uses the test speaker's unlabelled utterances: a different, easier protocol)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tympan import dsp
    from tympan.models.frontend import default_n_fft

    X, _ = data.load_clips(dataset, sr=args.sr, duration=args.duration, progress=False)
    y, groups = dataset.targets(), dataset.groups()
    mfcc = dsp.mfcc(X, sr=args.sr, n_mfcc=20, n_fft=default_n_fft(args.sr),
                    hop_length=round(0.010 * args.sr))
    parts = (mfcc, dsp.delta(mfcc, axis=-1))
    stats = np.concatenate([f for m in parts for f in (m.mean(-1), m.std(-1),
                            np.percentile(m, 10, axis=-1), np.percentile(m, 90, axis=-1))], axis=1)
    folds = data.cross_validation(dataset, method=args.cv.replace("-", "_"), n_splits=args.folds)
    print("\n| reference | per-fold UAR | pooled accuracy | pooled UAR |\n|---|---|---:|---:|")
    for per_speaker in (False, True):
        z = stats.copy()
        if per_speaker:
            for g in np.unique(groups):
                m = groups == g
                z[m] = (z[m] - z[m].mean(0)) / (z[m].std(0) + 1e-6)
        pooled, uars = np.zeros((len(dataset.labels),) * 2, dtype=np.int64), []
        for f in folds:
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000,
                                                                     class_weight="balanced"))
            clf.fit(z[f.train], y[f.train])
            r = pipeline.Report.from_predictions(y[f.test], clf.predict(z[f.test]), dataset.labels)
            uars.append(f"{r.uar:.3f}")
            pooled += r.confusion
        total = pipeline.Report(dataset.labels, pooled)
        name = "MFCC statistics + logistic regression" + (", per-speaker z-norm" if per_speaker else "")
        print(f"| {name} | {' '.join(uars)} | {total.accuracy:.4f} | {total.uar:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
