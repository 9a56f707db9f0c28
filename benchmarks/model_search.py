"""Choose the ``conv1d`` defaults by measurement: accuracy on speakers the model never heard.

Data: the Free Spoken Digit Dataset (``../shared/data/fsdd/recordings``, 3000 WAV files,
``{digit}_{speaker}_{take}.wav``, 6 speakers x 10 digits x 50 takes), read with
``tympan.io.load`` at 8 kHz and fitted to 1.0 s (zeros padded at the end, or the centre kept).

Splits
------
* ``loso`` (leave one speaker out): each fold tests on one speaker and trains on the other
  five.  ``--folds 2`` (default, for the search) runs the first two speakers in alphabetical
  order, ``--folds all`` all six, ``--folds george,theo`` the ones named.
* ``standard``: the FSDD convention, test = takes 0-4 of every speaker, train = the rest.

In every fold 10 % of the training files (stratified by speaker and digit, seeded) are held
out for validation: early stopping on validation loss (``--patience``, best weights restored),
at most ``--epochs`` epochs, Adam at 1e-3, batch ``--batch-size``.  The model is built by
``tympan.models.build_model`` and its ``feature_norm`` adapted on the training waveforms (the
validation and test files are never seen before evaluation).

Run::

    .venv/bin/python benchmarks/model_search.py                          # every config, 2 folds
    .venv/bin/python benchmarks/model_search.py --configs baseline,cmvn --folds all
    .venv/bin/python benchmarks/model_search.py --configs default --split standard
    .venv/bin/python benchmarks/model_search.py --list                    # the candidate configs

It prints one Markdown row per configuration: accuracy per fold, mean, training seconds per
fold, epochs run; ``--json FILE`` also writes the raw results.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import tympan  # (selects the Keras backend before keras is imported)
from tympan.pipeline.schema import V1_AUGMENTATION

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "fsdd" / "recordings"
SR = 8000
SAMPLES = 8000
NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")

_PLAIN = {"batch_norm": False, "dropout": 0.0, "pooling": "flatten", "per_example_norm": False,
          "augment": False, "filters": (32, 64), "dense_units": 128}
_AUG = {"augment": True, "gain_db": 6.0, "time_shift": 0.1, "freq_masks": 2, "freq_width": 8,
        "time_masks": 2, "time_width": 10}
_WARP = {"time_stretch": 0.1, "freq_warp": 0.1}
_ONLY_WARP = {"augment": True, "gain_db": 0.0, "time_shift": 0.0, "freq_masks": 0,
              "time_masks": 0, **_WARP}
_MEL = {"kind": "mel"}

#: name -> (model, features, params).  ``default`` is whatever the registry's defaults are now.
CONFIGS: dict[str, tuple[str, dict, dict]] = {
    "baseline": ("conv1d", _MEL, {**_PLAIN}),
    "cmvn": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True}),
    "cmvn_bn_drop": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True, "batch_norm": True,
                                      "dropout": 0.3}),
    "cmvn_bn_gap3": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True, "batch_norm": True,
                                      "dropout": 0.3, "pooling": "global_avg",
                                      "filters": (32, 64, 128)}),
    "cmvn_aug": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True, **_AUG}),
    "cmvn_bn_drop_aug": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True, "batch_norm": True,
                                          "dropout": 0.3, **_AUG}),
    "cmvn_bn_gap3_aug": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True, "batch_norm": True,
                                          "dropout": 0.3, "pooling": "global_avg",
                                          "filters": (32, 64, 128), **_AUG}),
    "cmvn_bn_drop_aug_warp": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True,
                                               "batch_norm": True, "dropout": 0.3, **_AUG,
                                               **_WARP}),
    "cmvn_bn_gap3_aug_warp": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True,
                                               "batch_norm": True, "dropout": 0.3,
                                               "pooling": "global_avg", "filters": (32, 64, 128),
                                               **_AUG, **_WARP}),
    "cmvn_warp": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True, **_ONLY_WARP}),
    "cmvn_warp20": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True, **_ONLY_WARP,
                                     "time_stretch": 0.2, "freq_warp": 0.2}),
    "cmvn_warp_light_aug": ("conv1d", _MEL, {**_PLAIN, "per_example_norm": True, **_ONLY_WARP,
                                             "time_shift": 0.1, "freq_masks": 1, "freq_width": 4,
                                             "time_masks": 1, "time_width": 8}),
    "mfcc_cmvn": ("conv1d", {"kind": "mfcc"}, {**_PLAIN, "per_example_norm": True}),
    "mfcc_cmvn_stretch": ("conv1d", {"kind": "mfcc"}, {**_PLAIN, "per_example_norm": True,
                                                     **_ONLY_WARP, "freq_warp": 0.0}),
    "mfcc_cmvn_bn_drop_aug": ("conv1d", {"kind": "mfcc"},
                              {**_PLAIN, "per_example_norm": True, "batch_norm": True,
                               "dropout": 0.3, **_AUG}),
    "mlp": ("mlp", {"kind": "mean_mfcc"}, {}),
    "waveform": ("waveform", {"kind": "waveform"}, {}),
    "default": ("conv1d", _MEL, {}),
    "conv2d": ("conv2d", _MEL, {}),
    "c1_gap": ("conv1d", _MEL, {"filters": (64, 128, 128), "batch_norm": True, "dropout": 0.3,
                                "pooling": "global_avg", "time_shift": 0.15, "gain_db": 6.0}),
    "conv2d_plain": ("conv2d", _MEL, {"augment": False}),
    "conv2d_wide": ("conv2d", _MEL, {"filters": (32, 64, 128, 256)}),
    "conv2d_mel64": ("conv2d", {"kind": "mel", "n_mels": 64}, {}),
}


def _nested(params: dict) -> dict:
    """The table's flat augmentation settings (``augment``, ``gain_db``, ...) as the models take
    them: ``augmentation={"enabled": ..., "gain_db": ...}``."""
    out = {k: val for k, val in params.items() if k not in V1_AUGMENTATION}
    augmentation = {V1_AUGMENTATION[k]: val for k, val in params.items() if k in V1_AUGMENTATION}
    return {**out, "augmentation": augmentation} if augmentation else out


CONFIGS = {name: (model, features, _nested(params)) for name, (model, features, params) in CONFIGS.items()}


def fit_length(y: np.ndarray, n: int = SAMPLES) -> np.ndarray:
    """Pad zeros at the end, or keep the centre ``n`` samples."""
    if len(y) >= n:
        start = (len(y) - n) // 2
        return y[start : start + n]
    return np.pad(y, (0, n - len(y)))


def load_fsdd(folder: Path, cache: Path | None) -> dict[str, np.ndarray]:
    if cache is not None and cache.is_file():
        with np.load(cache) as data:
            return {k: data[k] for k in data.files}
    from tympan import io

    files = sorted(p for p in folder.glob("*.wav") if NAME.match(p.name))
    if not files:
        sys.exit(f"no FSDD recordings found in {folder}")
    x = np.stack([fit_length(io.load(p, sr=SR)[0]) for p in files]).astype("float32")
    parts = [NAME.match(p.name).groups() for p in files]
    data = {"x": x, "digit": np.array([int(d) for d, _, _ in parts]),
            "speaker": np.array([s for _, s, _ in parts]), "take": np.array([int(t) for *_, t in parts])}
    if cache is not None:
        np.savez(cache, **data)
    return data


def validation_mask(data: dict, train: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A stratified (speaker, digit) ``fraction`` of ``train`` as validation."""
    rng = np.random.default_rng(seed)
    val = np.zeros_like(train)
    for spk in np.unique(data["speaker"][train]):
        for digit in range(10):
            idx = np.flatnonzero(train & (data["speaker"] == spk) & (data["digit"] == digit))
            k = max(1, round(fraction * len(idx)))
            val[rng.choice(idx, size=k, replace=False)] = True
    return val


def run_fold(config: str, data: dict, train: np.ndarray, test: np.ndarray, args) -> dict[str, Any]:
    import keras

    from tympan.models import adapt_normalization, build_model

    model_name, features, params = CONFIGS[config]
    keras.utils.set_random_seed(args.seed)
    val = validation_mask(data, train, 0.1, args.seed)
    fit = train & ~val
    x, y = data["x"], data["digit"]
    model = build_model(model_name, input_samples=SAMPLES, sr=SR, n_classes=10, features=features,
                        **params)
    t0 = time.perf_counter()
    adapt_normalization(model, x[fit])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience,
                                         restore_best_weights=True)
    history = model.fit(x[fit], y[fit], validation_data=(x[val], y[val]), epochs=args.epochs,
                        batch_size=args.batch_size, callbacks=[stop], verbose=0)
    seconds = time.perf_counter() - t0
    pred = np.argmax(model.predict(x[test], batch_size=256, verbose=0), axis=-1)
    return {"accuracy": float(np.mean(pred == y[test])), "seconds": seconds,
            "epochs": len(history.history["loss"]),
            "best_val_accuracy": float(max(history.history["val_accuracy"]))}


def folds(data: dict, split: str, which: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    if split == "standard":
        test = data["take"] <= 4
        return [("takes 0-4", ~test, test)]
    speakers = sorted(np.unique(data["speaker"]).tolist())
    if which == "all":
        chosen = speakers
    elif which.isdigit():
        chosen = speakers[: int(which)]
    else:
        chosen = which.split(",")
        bad = sorted(set(chosen) - set(speakers))
        if bad:
            sys.exit(f"unknown speaker(s) {bad}; speakers: {speakers}")
    return [(s, data["speaker"] != s, data["speaker"] == s) for s in chosen]


def header(args) -> str:
    import keras

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"# {_dt.datetime.now().isoformat(timespec='seconds')}  {cpu}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()}, Keras {keras.__version__} "
            f"({keras.backend.backend()}), tympan {tympan.__version__}\n"
            f"# command: {shlex.join([Path(sys.executable).name, *sys.argv])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--configs", default=",".join(c for c in CONFIGS if c != "default"))
    parser.add_argument("--split", choices=("loso", "standard"), default="loso")
    parser.add_argument("--folds", default="2", help="'all', a count, or speaker names a,b")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None, help="npz cache of the decoded clips")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--list", action="store_true", help="print the candidate configs and exit")
    args = parser.parse_args(argv)

    if args.list:
        for name, (model, features, params) in CONFIGS.items():
            print(f"{name}: {model} {features} {params}")
        return 0
    configs = args.configs.split(",")
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")

    data = load_fsdd(args.data, args.cache)
    splits = folds(data, args.split, args.folds)
    print(header(args), flush=True)
    names = [f for f, _, _ in splits]
    print(f"| config | {' | '.join(names)} | mean | train s / fold | epochs |", flush=True)
    print("|---" * (len(names) + 4) + "|", flush=True)
    results = []
    for config in configs:
        rows = [run_fold(config, data, train, test, args) for _, train, test in splits]
        accs = [r["accuracy"] for r in rows]
        print(f"| {config} | {' | '.join(f'{a:.1%}' for a in accs)} | **{np.mean(accs):.1%}** | "
              f"{np.mean([r['seconds'] for r in rows]):.0f} | "
              f"{'/'.join(str(r['epochs']) for r in rows)} |", flush=True)
        results.append({"config": config, "model": CONFIGS[config][0],
                        "features": CONFIGS[config][1], "params": CONFIGS[config][2],
                        "folds": dict(zip(names, rows, strict=True)), "mean_accuracy": float(np.mean(accs))})
    if args.json:
        args.json.write_text(json.dumps({"header": header(args), "results": results}, indent=2,
                                        default=list))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
