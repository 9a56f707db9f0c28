"""Past one machine: files/s of the seed recipe, tympan local, Ray, and where the time goes.

Side by side in one run, on a corpus of 1-s clips cut from ``../shared/data``
(``scale_corpus.py``: 8, 16 and 22.05 kHz 16-bit WAV; 20,000 clips by default), with the
default FSDD classifier (``conv1d`` on 40 log-mels at 8 kHz; trained for a few epochs, or
``--run``):

* **seed recipe**: per file ``librosa.load(path, sr=8000)``, fitted to 1 s, log-mel with
  librosa (``melspectrogram`` + ``power_to_db`` with the artifact's parameters), then
  ``model.predict(x[None])`` on a Keras model of the artifact's own layers after its log-mel
  front end (the same weights: the two differ only in how the work is organised).  It is slow,
  so it runs on the first ``--seed-clips`` clips (1,000 by default);
* **tympan local**: ``tympan.pipeline.predict(artifact, files, on_error="skip")`` in this
  process, and ``tympan predict RUN FOLDERS --format csv`` as a fresh process (its start and
  model load included);
* **engines** (``tympan.engines``): ``predict_to_parquet`` with ``engine="local"`` and
  ``engine="ray"`` with 1 and 2 workers, and ``features_to_parquet`` (log-mel) local; rows
  marked TODO when the package does not have them yet.

Every mode is timed in wall seconds and in CPU seconds (its process, every thread; for a
child process its rusage), so files per CPU-second is the throughput per core whatever the
machine's load.  ``--tympan-clips`` sets how many clips the tympan modes read (all of them by
default; the same ones for every mode).

Then (``scale_roofline.py``) a per-stage breakdown (decode, resample, features, model) on a
batch of clips, the machine's best FFT, matrix-multiply and memory throughput measured here,
a roofline table for log-mel and for predict, and (``--archive-*``) a cost model: machines and
hours to label an AudioSet-size archive on a Ray cluster.

Run (the figures in ``docs/results.md``, "Past one machine")::

    .venv/bin/python benchmarks/scale_throughput.py                      # 20,000 clips
    .venv/bin/python benchmarks/scale_throughput.py --clips 4000 --json scale.json
    .venv/bin/python benchmarks/scale_throughput.py --run runs/digits --corpus /data/scale

The corpus and the model are cached in a temporary folder (``--corpus``), never in the
repository.  It prints Markdown tables; ``--json OUT`` writes every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_corpus
import scale_roofline
import tympan  # noqa: F401  (selects the default Keras backend before keras is imported)

CACHE = Path(tempfile.gettempdir()) / "tympan-scale-bench"


def _load() -> float:
    return round(os.getloadavg()[0], 2)


class DescendantCPU:
    """CPU seconds of this process's descendants (Ray's raylet and workers), sampled from
    /proc every ``every`` seconds in a thread: rusage counts only children already waited for.
    A process that ends between two samples loses at most ``every`` seconds of its CPU."""

    def __init__(self, every: float = 0.25):
        import threading

        self.every, self.seen, self.base = every, {}, {}
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> dict[int, float]:
        parent, cpu = {}, {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(d)] = int(fields[1])
            cpu[int(d)] = (int(fields[11]) + int(fields[12])) / self.tick
        me, mine = os.getpid(), {}
        for pid in cpu:
            p, hops = parent.get(pid), 0
            while p and p != me and hops < 32:
                p, hops = parent.get(p), hops + 1
            if p == me:
                mine[pid] = cpu[pid]
        return mine

    def _run(self):
        while not self.stop.wait(self.every):
            self.seen.update(self._sample())

    def __enter__(self):
        if os.path.isdir("/proc"):
            self.base = self._sample()
            self.seen = dict(self.base)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.thread.is_alive():
            self.stop.set()
            self.thread.join()
            self.seen.update(self._sample())

    @property
    def seconds(self) -> float:
        return sum(v - self.base.get(pid, 0.0) for pid, v in self.seen.items())


def timed(name: str, fn, n_files: int, *, children: bool = False, note: str = "") -> dict:
    """Run ``fn()`` once; wall and CPU seconds, files/s and files per CPU-second."""
    load0 = _load()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with DescendantCPU() if children else contextlib.nullcontext() as descendants:
        c0, t0 = time.process_time(), time.perf_counter()
        extra = fn() or {}
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    own = cpu
    if children:  # a child we waited for (the CLI): its rusage; else what /proc saw
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        waited = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        cpu += max(waited, descendants.seconds)
    row = {"mode": name, "files": n_files, "wall_s": wall, "cpu_s": cpu, "own_cpu_s": own,
           "files_per_s": n_files / wall, "files_per_cpu_s": n_files / cpu if cpu > 0 else None,
           "load_before": load0, "load_after": _load(), "note": note, **extra}
    print(f"  {name}: {n_files} files, {wall:.1f} s wall, {cpu:.1f} s CPU ({own:.1f} s this process), "
          f"{row['files_per_s']:.1f} files/s (load {load0} -> {row['load_after']})", flush=True)
    return row


# ------------------------------------------------------------------------------ the seed recipe
def seed_model(artifact):
    """A Keras model from log-mel frames to probabilities made of the artifact's own layers
    after its front end (``power_to_db``): the classifier the seed recipe feeds with librosa's
    features."""
    import keras

    layers = artifact.model.layers
    names = [layer.name for layer in layers]
    if "power_to_db" not in names:
        raise SystemExit(f"the artifact's model has no power_to_db layer (a log-mel front end): {names}")
    after = layers[names.index("power_to_db") + 1:]
    x = inputs = keras.Input(tuple(artifact.model.get_layer("power_to_db").output.shape[1:]))
    for layer in after:
        x = layer(x)
    return keras.Model(inputs, x, name="seed_classifier")


def seed_recipe(files, model, features: dict, sr: int, samples: int) -> list[np.ndarray]:
    import librosa

    out = []
    for f in files:
        y, _ = librosa.load(f, sr=sr)
        y = librosa.util.fix_length(y, size=samples)
        x = scale_roofline.librosa_logmel(y, features, sr)
        out.append(model.predict(x[None], verbose=0)[0])
    return out


# ------------------------------------------------------------------------------ tympan modes
def cli_predict(run: Path, sources: list[str]) -> dict:
    exe = Path(sys.executable).with_name("tympan")
    done = subprocess.run([str(exe), "predict", str(run), *sources, "--format", "csv"],
                          capture_output=True, text=True, check=True)
    return {"rows": len(done.stdout.strip().splitlines()) - 1}


def steady_rate(out: Path, n_files: int, shard_size: int = 256) -> float | None:
    """Files/s between the first and the last shard written (their mtimes): the job's rate
    once its workers run, without their start and the model load."""
    times = sorted((p.stat().st_mtime, int(p.stem.split("-")[1])) for p in out.glob("part-*.parquet"))
    if len(times) < 3 or times[-1][0] <= times[0][0]:
        return None
    rows = sum(min(shard_size, n_files - k * shard_size) for _, k in times[1:])
    return rows / (times[-1][0] - times[0][0])


def engine_modes(run: Path, files: list[str], work: Path, workers: list[int]) -> list[dict]:
    """The ``tympan.engines`` rows; a TODO row for each when the package lacks them.  The Ray
    rows share one local Ray instance started here (its start timed on its own), so each row
    times the job: its actor pool starting, loading the model, and the files."""
    wanted = [("predict_to_parquet, engine local", "local", None)]
    wanted += [(f"predict_to_parquet, engine ray, {w} worker{'s' * (w > 1)}", "ray", w) for w in workers]
    try:
        from tympan import engines
        predict_to_parquet = engines.predict_to_parquet
    except (ImportError, AttributeError) as exc:
        return [{"mode": name, "todo": f"tympan.engines.predict_to_parquet not available ({exc})"}
                for name, _, _ in wanted]
    rows, ray = [], None
    for name, engine, w in wanted:
        out = work / f"preds-{engine}-{w or 0}"
        if engine == "ray" and ray is None:
            import ray

            t0 = time.perf_counter()
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
            rows.append({"mode": "(ray.init: a local Ray instance, not counted in the rows)",
                         "seconds": time.perf_counter() - t0})

        def go(engine=engine, w=w, out=out):
            summary = predict_to_parquet(run, files, out=out, engine=engine, workers=w,
                                         overwrite=True, progress=False)
            return {"summary": summary, "steady_files_per_s": steady_rate(out, len(files))}

        try:
            rows.append(timed(name, go, len(files), children=engine == "ray"))
        except Exception as exc:  # a benchmark row, not a library
            rows.append({"mode": name, "todo": f"failed: {type(exc).__name__}: {exc}"})
    if ray is not None:
        ray.shutdown()
    return rows


def features_mode(files: list[str], work: Path) -> list[dict]:
    name = "features_to_parquet logmel, engine local"
    try:
        from tympan import engines
        features_to_parquet = engines.features_to_parquet
    except (ImportError, AttributeError) as exc:
        return [{"mode": name, "todo": f"tympan.engines.features_to_parquet not available ({exc})"}]
    try:
        return [timed(name, lambda: {"summary": features_to_parquet(
            files, out=work / "features", kind="logmel", engine="local", overwrite=True,
            progress=False)}, len(files))]
    except Exception as exc:
        return [{"mode": name, "todo": f"failed: {type(exc).__name__}: {exc}"}]


# ------------------------------------------------------------------------------ report
def throughput_table(rows: list[dict], seed: dict) -> str:
    lines = ["| mode | files | wall s | files/s | steady files/s | x seed (wall) | CPU s | files per CPU-s "
             "| x seed per core | load avg |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        if "todo" in r:
            lines.append(f"| {r['mode']} | TODO: {r['todo']} | | | | | | | | |")
            continue
        if "files" not in r:
            lines.append(f"| {r['mode']} | | {r['seconds']:.1f} | | | | | | | |")
            continue
        per_core = r["files_per_cpu_s"]
        steady = f"{r['steady_files_per_s']:.1f}" if r.get("steady_files_per_s") else ""
        lines.append(
            f"| {r['mode']} | {r['files']} | {r['wall_s']:.1f} | {r['files_per_s']:.1f} | {steady} | "
            f"{r['files_per_s'] / seed['files_per_s']:.1f} | {r['cpu_s']:.1f} | "
            f"{per_core:.1f} | {per_core / seed['files_per_cpu_s']:.1f} | "
            f"{r['load_before']}-{r['load_after']} |")
    return "\n".join(lines)


def scaling(rows: list[dict]) -> dict | None:
    ray = {r["mode"]: r for r in rows if "ray" in r["mode"] and "files_per_s" in r}
    one = next((r for m, r in ray.items() if m.endswith(" 1 worker")), None)
    two = next((r for m, r in ray.items() if m.endswith(" 2 workers")), None)
    if not one or not two:
        return None
    steady = (two["steady_files_per_s"] / (2 * one["steady_files_per_s"])
              if one.get("steady_files_per_s") and two.get("steady_files_per_s") else None)
    return {"files_per_s_1": one["files_per_s"], "files_per_s_2": two["files_per_s"],
            "efficiency": two["files_per_s"] / (2 * one["files_per_s"]), "steady_efficiency": steady,
            "cpu_efficiency": two["files_per_cpu_s"] / one["files_per_cpu_s"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clips", type=int, default=20000, help="clips in the corpus (default 20000)")
    p.add_argument("--seed-clips", type=int, default=1000, help="clips the seed recipe reads")
    p.add_argument("--tympan-clips", type=int, default=None,
                   help="clips every tympan mode reads (default: all)")
    p.add_argument("--corpus", type=Path, default=None, help=f"cache folder (default {CACHE})")
    p.add_argument("--run", type=Path, default=None, help="a classifier artifact (default: "
                   "train the FSDD default recipe into the cache folder)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--workers", default="1,2", help="Ray worker counts, comma-separated")
    p.add_argument("--skip", default="", help="comma-separated: seed,local,cli,engines,features,"
                   "stages")
    p.add_argument("--feature-clips", type=int, default=None,
                   help="clips features_to_parquet reads (default: as --tympan-clips)")
    p.add_argument("--stage-clips", type=int, default=256, help="clips for the stage breakdown")
    p.add_argument("--archive-clips", type=float, default=2.0e6, help="clips in the archive "
                   "of the cost model (AudioSet: about 2 M clips of 10 s)")
    p.add_argument("--archive-sample", type=int, default=32, help="10-s 44.1 kHz clips measured")
    p.add_argument("--cores-per-machine", type=int, default=32)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    cache = args.corpus or CACHE
    started = _dt.datetime.now(_dt.UTC)
    results: dict = {"command": "python benchmarks/scale_throughput.py " + " ".join(argv or sys.argv[1:]),
                     "date": started.isoformat(timespec="seconds"), "cores": os.cpu_count(),
                     "cpu": platform.processor() or platform.machine(), "python": platform.python_version()}
    print(f"# Past one machine: {results['command']}  ({results['date']}, {os.cpu_count()} cores)")
    corpus = scale_corpus.build_corpus(cache / "corpus", args.clips)
    files = corpus["files"]
    results["corpus"] = {k: v for k, v in corpus.items() if k != "files"}
    results["corpus"]["folder"] = str(cache / "corpus")

    import keras

    from tympan import pipeline

    versions = {}
    for name in ("keras", "jax", "ray", "librosa", "soxr", "soundfile", "numpy", "scipy"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    results["versions"] = versions
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    run = args.run or scale_corpus.train_classifier(cache / "run", epochs=args.epochs)
    t0 = time.perf_counter()
    artifact = pipeline.load_artifact(run)
    results["model"] = {"run": str(run), "load_s": time.perf_counter() - t0,
                        "params": int(artifact.model.count_params()),
                        "config": artifact.config.to_dict(), "backend": keras.backend.backend()}
    audio, features = artifact.config.audio, artifact.config.features
    n_tympan = len(files) if args.tympan_clips is None else min(args.tympan_clips, len(files))
    tympan_files = files[:n_tympan]
    seed_files = files[:min(args.seed_clips, len(files))]
    # the CLI's arguments: the whole folders of 1000 clips, then the clips left one by one
    whole = n_tympan // scale_corpus.PER_FOLDER * scale_corpus.PER_FOLDER
    cli_args = sorted({str(Path(f).parent) for f in tympan_files[:whole]}) + tympan_files[whole:]
    print(f"model {run} ({results['model']['params']} parameters, {keras.backend.backend()}), "
          f"seed recipe on {len(seed_files)} clips, tympan modes on {n_tympan}")
    workdir = tempfile.TemporaryDirectory(prefix="out-", dir=cache)  # removed at the end
    work = Path(workdir.name)
    rows = []
    if "seed" not in skip:
        model = seed_model(artifact)
        seed_recipe(seed_files[:3], model, features, audio.sr, audio.samples)  # warm-up
        rows.append(timed("seed recipe: librosa.load + librosa log-mel + model.predict per file",
                          lambda: {"_probs": seed_recipe(seed_files, model, features, audio.sr,
                                                         audio.samples)}, len(seed_files)))
    if "local" not in skip:
        # warm-up: compiles the model for a full batch and for the last one (its own shape)
        pipeline.predict(artifact, files[:64 + n_tympan % 64], on_error="skip")
        rows.append(timed("tympan local: pipeline.predict(on_error='skip')",
                          lambda: {"_preds": pipeline.predict(artifact, tympan_files, on_error="skip")},
                          n_tympan))
    if "cli" not in skip:
        rows.append(timed("`tympan predict RUN FOLDERS` (fresh process, start and load included)",
                          lambda: cli_predict(run, cli_args), n_tympan, children=True))
        if rows[-1]["rows"] != n_tympan:
            print(f"  (!) `tympan predict` printed {rows[-1]['rows']} rows for {n_tympan} files")
    if "engines" not in skip:
        workers = [int(w) for w in args.workers.split(",") if w]
        rows += engine_modes(run, tympan_files, work, workers)
    if "features" not in skip:
        rows += features_mode(tympan_files[:args.feature_clips or n_tympan], work)
    seed = rows[0] if rows and rows[0]["mode"].startswith("seed") else None
    if seed and len(rows) > 1 and "_preds" in rows[1]:
        seed_labels = [artifact.labels[int(q.argmax())] for q in seed.pop("_probs")]
        preds = rows[1].pop("_preds")[:len(seed_labels)]
        agree = sum(a == b.label for a, b in zip(seed_labels, preds, strict=True))
        results["seed_vs_tympan_label_agreement"] = agree / len(seed_labels)
        print(f"seed recipe and tympan agree on {agree} of {len(seed_labels)} labels")
    for r in rows:
        r.pop("_probs", None)
        r.pop("_preds", None)
    results["modes"] = rows
    if seed:
        print()
        print(throughput_table(rows, seed))
        results["scaling"] = scaling(rows)
        if results["scaling"]:
            sc = results["scaling"]
            steady = f"{sc['steady_efficiency']:.0%}" if sc["steady_efficiency"] else "n/a"
            print(f"\nRay scaling 1 -> 2 workers (goal >= 80 %): {sc['efficiency']:.0%} in files/s of "
                  f"the whole job, {steady} once the workers run (steady files/s); files per "
                  f"CPU-second with 2 workers {sc['cpu_efficiency']:.0%} of those with 1")
        local = next((r for r in rows if r["mode"].startswith("`tympan predict`")), None)
        if local:
            ratio = local["files_per_cpu_s"] / seed["files_per_cpu_s"]
            results["cli_per_core_vs_seed"] = ratio
            print(f"`tympan predict` per core: {ratio:.1f}x the seed recipe (goal >= 10x)")
    if "stages" not in skip:
        stage_files = files[:args.stage_clips]
        results["machine"] = scale_roofline.machine_best(features)
        results["stages"] = scale_roofline.stages(artifact, seed_model(artifact), stage_files,
                                                  results["machine"])
        print()
        print(scale_roofline.machine_table(results["machine"]))
        print()
        print(scale_roofline.roofline_table(results["stages"]))
        st = results["stages"]
        floor = st["decode_floor"]["ms"] + st["resample"]["ms"] + st["features_and_model"]["ms"]
        now = st["read_as_predict"]["ms"] + st["features_and_model"]["ms"]
        results["floor_ms_per_clip"] = floor
        if seed:
            seed_ms = 1000 / seed["files_per_cpu_s"]
            results["floor_vs_seed"] = seed_ms / floor
            print(f"\nPer clip, CPU: the seed recipe {seed_ms:.2f} ms; predict's stages as they are "
                  f"(read as predict reads + the whole model) {now:.2f} ms ({seed_ms / now:.1f}x); "
                  f"their floor (soundfile.read + soxr + the whole model) {floor:.2f} ms: at most "
                  f"{seed_ms / floor:.1f}x the seed per core with this model")
        archive = scale_corpus.build_archive_clips(cache / "archive", args.archive_sample)
        results["archive_clips"] = scale_roofline.archive_clips_cost(artifact, archive)
        local = next((r for r in rows if r["mode"].endswith("engine local")), None)
        ray_one = next((r for r in rows if r["mode"].endswith("ray, 1 worker")), None)
        results["cost"] = scale_roofline.cost_model(
            results["archive_clips"], local, ray_one, results.get("scaling"), clips=args.archive_clips,
            clip_sec=10.0, cores=args.cores_per_machine,
            model_gflops_per_core=next((m["flops"] / m["ms"] / 1e6 for name, m in
                                        results["stages"]["model"].items() if "batches" in name), None))
        print()
        print(scale_roofline.cost_table(results["cost"]))
    workdir.cleanup()
    results["seconds"] = (_dt.datetime.now(_dt.UTC) - started).total_seconds()
    print(f"\ntotal {results['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
