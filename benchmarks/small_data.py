"""Candidate recipes on small datasets (about 8 clips per class), against a linear baseline.

Tympan issue 17: on a small environmental-sound set the default ``conv1d`` recipe lost to a
logistic regression on MFCC statistics.  This script builds stand-ins for such data from
``../shared/data`` and cross-validates candidate recipes on them with the same folds:

* ``noise``: NOIZEUS noise types, ``noise = noisy - clean`` (``noisy/<noise>_<snr>dB/
  spNN_<noise>_sn<snr>.wav`` minus ``clean/spNN.wav``; the files are sample-aligned),
  8 classes (airport, babble, car, exhibition, restaurant, station, street, train), written as
  WAV files to a temporary folder; 8 kHz, 2.5 s (the sentences last 2.1-3.5 s);
* ``fsdd``: a per-class subset of the Free Spoken Digit Dataset (10 digits), 8 kHz, 1 s;
* ``emodb``: a per-class subset of EMO-DB (7 emotions), 16 kHz, 2 s.

Each subset draws ``--per-class`` clips of every class at random (``--seeds``: one draw
each).  Every recipe is run through :func:`tympan.pipeline.cross_validate` with stratified
5-fold cross-validation (``method="kfold"``: the folds of :func:`tympan.data.cross_validation`
with the same seed), with the pipeline's training defaults unless the candidate says otherwise.
The reference is a logistic regression (scikit-learn, standardised features, ``C=1``) on the
mean and standard deviation over frames of 20 MFCCs (``tympan.dsp.mfcc`` with librosa's
defaults but tympan's 25 ms window and 10 ms hop: 128 mel bands, where tympan's models use 40
at 8 kHz) of the same clips, on the same folds: what a user would compute with librosa.  The
recipe :func:`tympan.pipeline.recipes.choose_recipe` picks for each dataset is always run and
marked in the table.

Run (``nice -n 5``: the CPU is shared)::

    .venv/bin/python benchmarks/small_data.py                       # 3 datasets, every candidate
    .venv/bin/python benchmarks/small_data.py --quick               # smoke run: 2 folds, 3 epochs
    .venv/bin/python benchmarks/small_data.py --seeds 0,1,2 --candidates conv1d  # 3 draws
    .venv/bin/python benchmarks/small_data.py --datasets fsdd --per-class 32 \\
        --candidates conv1d,mlp-stats
    .venv/bin/python benchmarks/small_data.py --json small.json

Prints a Markdown table (pooled accuracy over every fold's test predictions, the per-fold
range, epochs run and training time); ``--json PATH`` writes every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

import tympan  # noqa: F401  (selects the default backend before keras is imported)
from tympan import data, pipeline
from tympan.pipeline.recipes import choose_recipe

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NOIZEUS = SHARED / "noizeus"
SNRS = (0, 5, 10, 15)

FULL_BATCH = {"epochs": 100, "batch_size": 512, "learning_rate": 0.05, "validation_size": 0.0}
#: name -> (model, features, training overrides)
CANDIDATES = {
    "conv1d": ({"name": "conv1d"}, {}, {}),
    "conv1d-small": ({"name": "conv1d", "filters": [16, 32], "dense_units": 32, "dropout": 0.5},
                     {}, {}),
    "conv1d-no-bn": ({"name": "conv1d", "batch_norm": False}, {}, {}),
    "mlp-stats": ({"name": "mlp", "pooling": "stats"}, {"kind": "mfcc+delta"}, {}),
    "mlp-stats-mfcc": ({"name": "mlp", "pooling": "stats"}, {"kind": "mfcc"}, {}),
    "mlp-stats-64": ({"name": "mlp", "pooling": "stats", "hidden_units": [64], "dropout": 0.3},
                     {"kind": "mfcc+delta"}, {}),
    "linear-stats": ({"name": "mlp", "pooling": "stats", "hidden_units": [], "dropout": 0.0},
                     {"kind": "mfcc+delta"}, {}),
    "conv1d-no-cmvn": ({"name": "conv1d", "per_example_norm": False}, {}, {}),
    # trained to convergence: full batch, no validation part (nothing held back, no early stop)
    "linear-stats-full": ({"name": "mlp", "pooling": "stats", "hidden_units": [], "dropout": 0.0,
                           "l2": 0.01}, {"kind": "mfcc+delta"}, FULL_BATCH),
    "linear-meanstd-full": ({"name": "mlp", "pooling": "stats", "stats": ["mean", "std"],
                             "hidden_units": [], "dropout": 0.0, "l2": 0.01}, {"kind": "mfcc"},
                            FULL_BATCH),
    "mlp64-stats-full": ({"name": "mlp", "pooling": "stats", "hidden_units": [64], "dropout": 0.5,
                        "l2": 0.001}, {"kind": "mfcc+delta"}, FULL_BATCH),
}


# --------------------------------------------------------------------------- the datasets
def noise_dataset(folder: Path, per_class: int, seed: int) -> data.Dataset:
    """``per_class`` NOIZEUS noise clips of each of the 8 noises, ``noisy - clean`` of distinct
    sentences at SNRs drawn from 0/5/10/15 dB, written as float WAV under ``folder/<noise>/``."""
    rng = np.random.default_rng(seed)
    clean = sorted((NOIZEUS / "clean").glob("sp*.wav"))
    noises = sorted({d.name.rsplit("_", 1)[0] for d in (NOIZEUS / "noisy").iterdir() if d.is_dir()})
    if per_class > len(clean):
        raise SystemExit(f"--per-class {per_class}: NOIZEUS has {len(clean)} sentences per noise")
    for noise in noises:
        (folder / noise).mkdir(parents=True)
        for k in rng.choice(len(clean), size=per_class, replace=False):
            snr = int(rng.choice(SNRS))
            s, sr = sf.read(clean[k], dtype="float32")
            noisy = NOIZEUS / "noisy" / f"{noise}_{snr}dB" / f"{clean[k].stem}_{noise}_sn{snr}.wav"
            x, sr_x = sf.read(noisy, dtype="float32")
            assert sr == sr_x and len(s) == len(x), clean[k]
            sf.write(folder / noise / f"{clean[k].stem}_{snr}dB.wav", x - s, sr, subtype="FLOAT")
    return data.from_folders(folder)


def per_class_subset(dataset: data.Dataset, per_class: int, seed: int) -> data.Dataset:
    """``per_class`` items of every class drawn at random (all of a class if it has fewer)."""
    rng = np.random.default_rng(seed)
    y = dataset.targets()
    picked = [rng.choice(np.flatnonzero(y == c), size=min(per_class, int(np.sum(y == c))),
                         replace=False) for c in range(len(dataset.labels))]
    return dataset.subset(np.sort(np.concatenate(picked)))


def datasets(names, per_class: int, seed: int, tmp: Path) -> dict:
    """name -> (Dataset, AudioConfig): the audio settings given by hand, as in the issue."""
    out = {}
    for name in names:
        if name == "noise":
            ds = noise_dataset(tmp / "noise", per_class, seed)
            audio = pipeline.AudioConfig(8000, duration=2.5)
        elif name == "fsdd":
            ds = per_class_subset(data.from_regex(SHARED / "fsdd" / "recordings", data.FSDD_PATTERN),
                                  per_class, seed)
            audio = pipeline.AudioConfig(8000, duration=1.0)
        else:
            ds = per_class_subset(data.from_emodb(SHARED / "emodb"), per_class, seed)
            audio = pipeline.AudioConfig(16000, duration=2.0)
        out[name] = (ds, audio)
    return out


# --------------------------------------------------------------------------- the runs
def reference(dataset, audio, folds) -> dict:
    """Logistic regression on the mean and standard deviation of 20 MFCCs over frames."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tympan import dsp
    from tympan.models.frontend import default_n_fft

    t0 = time.perf_counter()
    X, _ = data.load_clips(dataset, sr=audio.sr, duration=audio.duration, pad=audio.pad,
                           crop=audio.crop, progress=False)
    m = dsp.mfcc(X, sr=audio.sr, n_mfcc=20, n_fft=default_n_fft(audio.sr),
                 hop_length=round(0.010 * audio.sr))
    stats = np.concatenate([m.mean(-1), m.std(-1)], axis=1)
    y = dataset.targets()
    pooled, accs = np.zeros((len(dataset.labels),) * 2, dtype=np.int64), []
    for f in folds:
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
        clf.fit(stats[f.train], y[f.train])
        r = pipeline.Report.from_predictions(y[f.test], clf.predict(stats[f.test]), dataset.labels)
        accs.append(r.accuracy)
        pooled += r.confusion
    return {"pooled": pipeline.Report(dataset.labels, pooled).accuracy, "folds": accs,
            "epochs": [], "seconds": time.perf_counter() - t0}


def run_recipe(dataset, audio, model, features, training, n_splits, only) -> dict:
    config = pipeline.PipelineConfig(audio=audio, model=model, features=features,
                                     training=pipeline.TrainConfig(**training))
    t0 = time.perf_counter()
    cv = pipeline.cross_validate(dataset, config, method="kfold", n_splits=n_splits, only=only,
                                 progress=False)
    return {"pooled": cv["pooled"]["accuracy"], "folds": [f["accuracy"] for f in cv["folds"]],
            "epochs": [f["epochs_run"] for f in cv["folds"]], "seconds": time.perf_counter() - t0}


def chosen(dataset, audio) -> tuple[str, tuple, str]:
    """The name of the candidate :func:`choose_recipe` picks for ``dataset`` ("chosen" when it
    is none of them), its (model, features, training) and the reason."""
    choice = choose_recipe(n_clips=len(dataset), n_classes=len(dataset.labels),
                           duration=audio.duration, sr=audio.sr)
    recipe = (choice.model, choice.features, choice.training)
    name = next((n for n, c in CANDIDATES.items() if c == recipe), "chosen")
    return name, recipe, choice.reason


REFERENCE = "logistic regression (MFCC mean+std)"
QUICK = ("conv1d",)


def _row(label: str, recipe: str, r: dict) -> str:
    return (f"| {label} | {recipe} | {r['pooled']:.3f} | {min(r['folds']):.2f}-{max(r['folds']):.2f} "
            f"| {','.join(map(str, r['epochs']))} | {r['seconds']:.0f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default="noise,fsdd,emodb")
    p.add_argument("--candidates", default=None,
                   help=f"comma-separated, of {', '.join(CANDIDATES)} (default: all; with --quick "
                   f"{', '.join(QUICK)}); the recipe choose_recipe picks is always run")
    p.add_argument("--per-class", type=int, default=8)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=None, help="default: each recipe's")
    p.add_argument("--seeds", default="0", help="subset draws (and training seeds), e.g. 0,1,2")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 folds of 5, 3 epochs")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    names = args.datasets.split(",")
    picked = (args.candidates or ",".join(QUICK if args.quick else CANDIDATES)).split(",")
    seeds = [int(x) for x in args.seeds.split(",")]
    unknown = [n for n in names if n not in ("noise", "fsdd", "emodb")] + \
              [c for c in picked if c not in CANDIDATES]
    if unknown:
        p.error(f"unknown dataset or candidate: {unknown}")
    only = [0, 1] if args.quick else None
    epochs = 3 if args.quick else args.epochs
    command = "python benchmarks/small_data.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results = {"command": command, "runs": []}
    print(f"# Small data: {args.per_class} clips per class, stratified {args.folds}-fold CV"
          f"{' (quick: folds 0-1, 3 epochs)' if args.quick else ''}; {command}")
    print("\n| dataset | recipe | pooled accuracy | fold range | epochs run | seconds |")
    print("|---|---|---:|---|---|---:|")
    summary: dict = {}
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="tympan-small-") as tmp:
            for name, (dataset, audio) in datasets(names, args.per_class, seed, Path(tmp)).items():
                folds = data.cross_validation(dataset, method="kfold", n_splits=args.folds, seed=seed)
                folds = folds if only is None else [folds[k] for k in only]
                choice_name, choice, reason = chosen(dataset, audio)
                label = (f"{name} ({len(dataset)} clips, {len(dataset.labels)} classes"
                         f"{f', seed {seed}' if len(seeds) > 1 else ''})")
                todo = {c: CANDIDATES[c] for c in picked} | {choice_name: choice}
                rows = {}
                for cand, (model, features, training) in todo.items():
                    training = {"seed": seed, **training,
                                **({"epochs": epochs} if epochs is not None else {})}
                    rows[cand] = run_recipe(dataset, audio, model, features, training, args.folds,
                                            only)
                    mark = " **(chosen)**" if cand == choice_name else ""
                    print(_row(label, cand + mark, rows[cand]), flush=True)
                rows[REFERENCE] = reference(dataset, audio, folds)
                print(_row(label, REFERENCE, rows[REFERENCE]), flush=True)
                print(f"| | choose_recipe: {reason} | | | | |", flush=True)
                for cand, r in rows.items():
                    summary.setdefault((name, cand + (" (chosen)" if cand == choice_name else "")),
                                       []).append(r["pooled"])
                results["runs"].append({"dataset": name, "seed": seed, "n_clips": len(dataset),
                                        "n_classes": len(dataset.labels), "sr": audio.sr,
                                        "duration": audio.duration, "chosen": choice_name,
                                        "reason": reason, "recipes": rows})
    if len(seeds) > 1:
        print(f"\n| dataset | recipe | mean pooled accuracy over seeds {args.seeds} | per seed |")
        print("|---|---|---:|---|")
        for (name, cand), accs in summary.items():
            print(f"| {name} | {cand} | {np.mean(accs):.3f} | {' / '.join(f'{a:.3f}' for a in accs)} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
