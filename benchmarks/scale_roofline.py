"""Where the time goes: stages, this machine's best, a roofline, and the cost of an archive.

Used by ``scale_throughput.py`` (run that).

* :func:`machine_best`: the best this machine does at the operations the pipeline is made of,
  measured here: real FFTs with ``scipy.fft.rfft`` (GFLOP/s counted as 2.5 N log2 N per real
  FFT of size N, float32, 1 worker and all cores), float32 matrix multiplication with numpy
  (2 M N K FLOPs; a 1024 x 1024 square and every shape the stages use, at a batch of 64 clips)
  and memory copy bandwidth (numpy ``copyto`` of 128 MB, bytes read + written).
* :func:`stages`: each stage timed over the same batch of clips (best of 3 passes): decode
  (``tympan.io.load`` at the file's own rate), resample (``tympan.io.resample``, soxr HQ, on the
  clips not at the model's rate), decode + resample as ``predict`` reads files (streamed, with
  its signal checks), log-mel features (librosa per clip, ``tympan.dsp`` on the batch, the
  model's Keras front end on batches of 64 under jax) and the classifier (``model.predict`` per
  clip, as the seed recipe calls it, and batches of 64), with the work each stage does per clip.
* The roofline: for each stage the time the machine's best would take for the same work (FFT
  FLOPs at the FFT rate, matrix FLOPs at the matmul rate for those shapes, elementwise bytes at
  the copy bandwidth; resampling's work is counted as the FFT resampler's, rfft of the input and
  irfft of the output, the least work of a band-limited resampler), and achieved / best.
* :func:`cost_model`: CPU time per clip of an archive from the measured throughput per core,
  split into the part that grows with seconds of audio (decode, resample) and the part that
  grows with model windows (features, model), scaled to the archive's clips.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

BATCH = 64  # windows per model call, as pipeline.predict batches them


def best_of(fn, repeat: int = 3) -> dict:
    """``{"wall", "cpu"}``: the least wall and the least CPU seconds (this process, every
    thread) of ``repeat`` calls after a warm-up.  CPU seconds are what a stage costs a core
    whatever else the machine runs; the roofline uses them."""
    fn()  # warm-up: caches, compilation
    wall = cpu = math.inf
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return {"wall": wall, "cpu": cpu}


def fft_flops(n: int) -> float:
    return 2.5 * n * math.log2(n)


def _threads(n: int):
    """A context limiting BLAS threads to n (threadpoolctl, which scikit-learn brings)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(n)


def matmul_rate(m: int, k: int, n: int, *, threads: int | None = 1) -> dict:
    """GFLOP/s of a float32 ``(m, k) @ (k, n)``: ``"core"`` per CPU-second with ``threads``
    BLAS threads (1: one core), ``"wall"`` per wall second."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    reps = max(1, int(2e8 / (2 * m * k * n)))  # about 0.2 GFLOP per timing

    def go():
        for _ in range(reps):
            a @ b

    with _threads(threads) if threads else _threads(os.cpu_count() or 1):
        t = best_of(go, 5)
    flops = 2 * m * k * n * reps / 1e9
    return {"core": flops / t["cpu"], "wall": flops / t["wall"]}


def _jax_rfft(x: np.ndarray):
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda v: jnp.fft.rfft(v, axis=-1))
    xj = jnp.asarray(x)
    return lambda: f(xj).block_until_ready()


def machine_best(features: dict) -> dict:
    """The best rates measured now: ``"core"`` per CPU-second (what one core does, whatever
    the load), ``"wall"`` per wall second with every core."""
    import scipy.fft

    cores = os.cpu_count() or 1
    out: dict = {"cores": cores, "fft": {}}
    rows = 8192
    for n in sorted({int(features["n_fft"]), 512}):
        x = np.random.default_rng(0).standard_normal((rows, n)).astype(np.float32)
        work = rows * fft_flops(n) / 1e9
        one = best_of(lambda x=x: scipy.fft.rfft(x, axis=-1, workers=1), 5)
        every = best_of(lambda x=x: scipy.fft.rfft(x, axis=-1, workers=cores), 5)
        xla = best_of(_jax_rfft(x), 5)
        out["fft"][n] = {"scipy": {"core": work / one["cpu"], "wall": work / every["wall"]},
                         "jax": {"core": work / xla["cpu"], "wall": work / xla["wall"]}}
    out["matmul"] = {"core": matmul_rate(1024, 1024, 1024, threads=1)["core"],
                     "wall": matmul_rate(1024, 1024, 1024, threads=None)["wall"]}
    a = np.ones(32 << 20, dtype=np.float32)
    b = np.empty_like(a)
    t = best_of(lambda: np.copyto(b, a), 5)
    out["copy"] = {"core": 2 * a.nbytes / t["cpu"] / 1e9, "wall": 2 * a.nbytes / t["wall"] / 1e9}
    return out


def fft_core_rate(m: dict, n: int) -> float:
    """The best FFT rate per core at size n, GFLOP/s: scipy's or XLA's (what jax runs)."""
    return max(r["core"] for r in m["fft"][n].values())


def machine_table(m: dict) -> str:
    cores = m["cores"]
    lines = [f"This machine's best, measured in the same run: per core (work / CPU seconds, one "
             f"thread) and the whole machine (work / wall seconds, {cores} cores):", "",
             "| operation | per core | whole machine |", "|---|---:|---:|"]
    for n, r in m["fft"].items():
        lines.append(f"| `scipy.fft.rfft` n={n}, float32, 8192 rows (2.5 N log2 N) | "
                     f"{r['scipy']['core']:.1f} GFLOP/s | {r['scipy']['wall']:.1f} GFLOP/s |")
        lines.append(f"| `jax.numpy.fft.rfft` n={n} (XLA; what the Keras layers run) | "
                     f"{r['jax']['core']:.1f} GFLOP/s | {r['jax']['wall']:.1f} GFLOP/s |")
    lines.append(f"| numpy float32 matmul 1024^3 | {m['matmul']['core']:.1f} GFLOP/s | "
                 f"{m['matmul']['wall']:.1f} GFLOP/s |")
    lines.append(f"| numpy copy, 128 MB (read + write) | {m['copy']['core']:.1f} GB/s | "
                 f"{m['copy']['wall']:.1f} GB/s |")
    return "\n".join(lines)


def librosa_logmel(y: np.ndarray, features: dict, sr: int) -> np.ndarray:
    """``(frames, n_mels)`` log-mel of ``y`` with librosa and the artifact's parameters."""
    import librosa

    keys = ("n_fft", "hop_length", "win_length", "window", "center", "pad_mode", "power", "n_mels",
            "fmin", "fmax", "htk", "norm")
    S = librosa.feature.melspectrogram(y=y, sr=sr, **{k: features[k] for k in keys})
    return librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=features["top_db"]).T


# ------------------------------------------------------------------------------ work per clip
def logmel_work(features: dict, samples: int) -> dict:
    """FLOPs and elementwise bytes of one clip's log-mel; the mel projection's matmul shape."""
    n, hop, mels = int(features["n_fft"]), int(features["hop_length"]), int(features["n_mels"])
    frames = 1 + samples // hop if features.get("center", True) else 1 + (samples - n) // hop
    bins = n // 2 + 1
    return {"frames": frames, "fft": frames * fft_flops(n), "mel": 2.0 * frames * bins * mels,
            "elementwise": frames * (n + 3 * bins + mels),  # window, |X|^2, log
            "bytes": 4 * frames * (2 * n + 2 * 2 * bins + 2 * mels),  # each pass reads + writes
            "mel_shape": (BATCH * frames, bins, mels)}


def model_work(model) -> list[tuple[str, float, tuple[int, int, int]]]:
    """``(layer, FLOPs per clip, matmul shape at a batch of BATCH)`` of the Conv1D and Dense
    layers of ``model`` (the rest, batch norm, ReLU, pooling, is a few % of the FLOPs and left
    out)."""
    import keras

    work = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv1D):
            out_len, cout = layer.output.shape[1], layer.output.shape[2]
            kcin = layer.kernel.shape[0] * layer.kernel.shape[1]
            work.append((layer.name, 2.0 * out_len * kcin * cout, (BATCH * out_len, kcin, cout)))
        elif isinstance(layer, keras.layers.Dense):
            k, n = layer.kernel.shape
            work.append((layer.name, 2.0 * k * n, (BATCH, k, n)))
    return work


# ------------------------------------------------------------------------------ stages
def _entry(t: dict, n: int, **work) -> dict:
    """A stage's figures per clip: CPU ms (``ms``) and wall ms, and its work."""
    return {"ms": t["cpu"] / n * 1000, "wall_ms": t["wall"] / n * 1000, **work}


def stages(artifact, seed_model, files: list[str], machine: dict) -> dict:
    """Every stage timed over ``files`` (see the module doc); CPU ms per clip."""
    import keras
    import librosa  # noqa: F401  (imported before timing)
    import soundfile as sf

    from tympan import dsp, io
    from tympan.data import fit_length
    from tympan.pipeline.inputs import checked_file

    audio, features = artifact.config.audio, artifact.config.features
    sr, samples = audio.sr, audio.samples
    n = len(files)
    copy = machine["copy"]["core"] * 1e9  # bytes per CPU-second
    fft_rate = fft_core_rate(machine, int(features["n_fft"])) * 1e9
    out: dict = {"clips": n, "model_sr": sr}
    decoded = []

    def decode():
        decoded[:] = [io.load(f) for f in files]

    t = best_of(decode)
    moved = sum(os.path.getsize(f) for f in files) + 4 * sum(len(y) for y, _ in decoded)
    out["mean_rate"] = sum(len(y) for y, _ in decoded) / n / audio.duration
    out["decode"] = _entry(t, n, bytes=moved / n, best_ms=moved / copy / n * 1000)
    floor = best_of(lambda: [sf.read(f, dtype="float32") for f in files])
    out["decode_floor"] = _entry(floor, n, bytes=moved / n, best_ms=moved / copy / n * 1000)
    todo = [(y, rate) for y, rate in decoded if rate != sr]
    waves = []

    def resample():
        waves[:] = [io.resample(y, orig_sr=rate, target_sr=sr) for y, rate in todo]

    t = best_of(resample) if todo else {"cpu": 0.0, "wall": 0.0}
    moved = 4 * sum(len(y) + len(w) for (y, _), w in zip(todo, waves, strict=True))
    flops = sum(fft_flops(len(y)) + fft_flops(len(w)) for (y, _), w in zip(todo, waves, strict=True))
    out["resample"] = _entry(t, n, share=len(todo) / n, flops=flops / n, bytes=moved / n,
                             best_ms=(flops / fft_rate + moved / copy) / n * 1000,
                             ms_per_resampled_clip=t["cpu"] / max(1, len(todo)) * 1000)

    def read_as_predict():
        for f in files:
            blocks, monitor = checked_file(f, sr=sr, block_length=1 << 16)
            for _ in blocks:
                pass
            monitor.finish()

    out["read_as_predict"] = _entry(best_of(read_as_predict), n)
    it = iter(waves)
    x = np.stack([fit_length(y if rate == sr else next(it), samples) for y, rate in decoded])
    x = x.astype(np.float32)

    # features: log-mel
    w = logmel_work(features, samples)
    mel_rate = matmul_rate(*w["mel_shape"])["core"] * 1e9
    best_ms = (w["fft"] / fft_rate + w["mel"] / mel_rate + w["bytes"] / copy) * 1000
    work = {"flops": w["fft"] + w["mel"] + w["elementwise"], "bytes": w["bytes"], "best_ms": best_ms}
    keys = ("n_fft", "hop_length", "win_length", "window", "center", "pad_mode", "power", "n_mels",
            "fmin", "fmax", "htk", "norm")
    params = {k: features[k] for k in keys}
    frontend = keras.Model(artifact.model.inputs, artifact.model.get_layer("power_to_db").output)
    feats = []

    def keras_frontend():
        feats[:] = [np.asarray(frontend.predict_on_batch(x[i:i + BATCH])) for i in range(0, n, BATCH)]

    timings = {
        "librosa, per clip (seed)": best_of(lambda: [librosa_logmel(y, features, sr) for y in x]),
        "`tympan.dsp`, the whole batch": best_of(lambda: dsp.power_to_db(
            dsp.melspectrogram(y=x, sr=sr, **params), top_db=features["top_db"])),
        f"the model's front end (Keras on {keras.backend.backend()}), batches of {BATCH}":
            best_of(keras_frontend),
    }
    out["features"] = {name: _entry(t, n, **work) for name, t in timings.items()}
    out["features_work"] = {k: v for k, v in w.items() if k != "mel_shape"} | {
        "mel_matmul_gflops_per_core": mel_rate / 1e9, "fft_gflops_per_core": fft_rate / 1e9}

    # the classifier after the front end
    f = np.concatenate(feats)
    layers = model_work(seed_model)
    rates = {name: matmul_rate(*shape)["core"] * 1e9 for name, _, shape in layers}
    work = {"flops": sum(fl for _, fl, _ in layers),
            "best_ms": sum(fl / rates[name] for name, fl, _ in layers) * 1000}
    timings = {
        "`model.predict(x[None])` per clip (seed)":
            best_of(lambda: [seed_model.predict(f[i:i + 1], verbose=0) for i in range(n)], 1),
        f"the classifier, batches of {BATCH}":
            best_of(lambda: [seed_model.predict_on_batch(f[i:i + BATCH]) for i in range(0, n, BATCH)]),
    }
    out["model"] = {name: _entry(t, n, **work) for name, t in timings.items()}
    out["model_work"] = {name: {"flops": fl, "shape": shape, "gflops_per_core": rates[name] / 1e9}
                         for name, fl, shape in layers}
    fused = best_of(lambda: [artifact.model.predict_on_batch(x[i:i + BATCH]) for i in range(0, n, BATCH)])
    out["features_and_model"] = _entry(fused, n)
    return out


def _row(pipeline: str, stage: str, impl: str, r: dict) -> str:
    ms, flops, moved, best = r["ms"], r.get("flops"), r.get("bytes"), r.get("best_ms")
    achieved = (f"{flops / ms / 1e6:.2f} GFLOP/s" if flops and ms
                else f"{moved / ms / 1e6:.2f} GB/s" if moved and ms else "")
    cells = [pipeline, stage, impl, f"{ms:.3f}", f"{flops / 1e6:.2f}" if flops else "",
             f"{moved / 1024:.0f}" if moved else "", achieved, f"{best:.3f}" if best else "",
             f"{best / ms:.1%}" if best and ms else ""]
    return "| " + " | ".join(cells) + " |"


def roofline_table(s: dict) -> str:
    lines = [f"Stages over {s['clips']} clips of the corpus (mean rate {s['mean_rate'] / 1000:.1f} kHz, "
             f"{s['resample']['share']:.0%} resampled to {s['model_sr']} Hz): CPU ms per clip (all "
             "threads; least of 3 passes); best = the same work at this machine's per-core FFT, "
             "matmul (at the stage's shapes) and copy rates:", "",
             "| pipeline | stage | implementation | CPU ms per clip | MFLOP per clip | KB moved per clip "
             "| achieved per core | best per core, ms per clip | achieved / best |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    res = s["resample"]
    for pipe in ("log-mel", "predict"):
        lines.append(_row(pipe, "decode", "`tympan.io.load` (libsndfile), own rate", s["decode"]))
        lines.append(_row(pipe, "decode", "`soundfile.read` alone (no checks): the floor", s["decode_floor"]))
        lines.append(_row(pipe, "resample", f"soxr HQ: {res['ms_per_resampled_clip']:.3f} ms per "
                          f"resampled clip x {res['share']:.0%}", res))
        lines.append(_row(pipe, "decode + resample", "as `predict` reads a file (streamed, checked)",
                          s["read_as_predict"]))
        for name, r in s["features"].items():
            if pipe == "log-mel" or "front end" in name or "seed" in name:
                lines.append(_row(pipe, "log-mel", name, r))
    for name, r in s["model"].items():
        lines.append(_row("predict", "model", name, r))
    lines.append(_row("predict", "log-mel + model", f"the whole model, batches of {BATCH} (what "
                      "`predict` runs)", s["features_and_model"]))
    return "\n".join(lines)


# ------------------------------------------------------------------------------ cost model
def archive_clips_cost(artifact, clips: dict[str, list[str]]) -> dict:
    """CPU and wall seconds per clip of ``pipeline.predict`` on the archive-like clips, per
    format (least of 2 passes after a warm-up), and the windows each clip gives."""
    from tympan import pipeline

    out = {}
    for ext, files in clips.items():
        preds = []

        def go(files=files, preds=preds):
            preds[:] = pipeline.predict(artifact, files, on_error="skip")

        t = best_of(go, 2)
        out[ext] = {"clips": len(files), "cpu_s_per_clip": t["cpu"] / len(files),
                    "bytes_per_clip": sum(os.path.getsize(f) for f in files) / len(files),
                    "wall_s_per_clip": t["wall"] / len(files),
                    "windows_per_clip": sum(len(p.segments) for p in preds) / len(files),
                    "errors": sum(not p.ok for p in preds)}
    return out


def cost_model(archive: dict, local: dict | None, ray_one: dict | None, scaling: dict | None, *,
               clips: float, clip_sec: float, cores: int, model_gflops_per_core: float | None = None,
               link_gbps: float = 10.0) -> dict:
    """Core-hours, machines and hours to label ``clips`` clips of ``clip_sec`` seconds on a Ray
    cluster of ``cores``-core machines, from the measured cost of one archive-like clip."""
    per_clip = {ext: a["cpu_s_per_clip"] for ext, a in archive.items()}
    # Ray's CPU per file (its actors, raylet and GCS: /proc) against the same batch function run
    # locally, whole jobs: an upper bound, as a long job amortises the actors' start
    ray_factor = (max(1.0, local["files_per_cpu_s"] / ray_one["files_per_cpu_s"])
                  if local and ray_one and ray_one.get("files_per_cpu_s") else None)
    # a worker's share of the work, from CPU seconds (what a second worker costs in overhead):
    # on a dedicated machine each worker has its core; this one was shared (wall figure below)
    eff = min(1.0, scaling["cpu_efficiency"]) if scaling else None
    wall_eff = scaling["efficiency"] if scaling else None
    out = {"clips": clips, "clip_sec": clip_sec, "audio_hours": clips * clip_sec / 3600,
           "cpu_s_per_clip": per_clip, "windows_per_clip": next(iter(archive.values()))["windows_per_clip"],
           "ray_overhead": ray_factor, "efficiency": eff, "cores_per_machine": cores, "by_format": {},
           "wall_efficiency": wall_eff, "link_gbps": link_gbps,
           "model_gflops_per_core": model_gflops_per_core,
           "core_hours_per_extra_gflop": (clips / model_gflops_per_core / 3600
                                          if model_gflops_per_core else None)}
    for ext, c in per_clip.items():
        core_hours = clips * c * (ray_factor or 1.0) / 3600
        machine_hours = core_hours / (cores * (eff or 1.0))
        size = clips * archive[ext]["bytes_per_clip"]
        read_hours = size / (link_gbps / 8 * 1e9) / 3600
        bound = max(machine_hours, read_hours)  # CPU or reading, whichever is slower
        out["by_format"][ext] = {
            "core_hours": core_hours, "machine_hours": machine_hours,
            "machine_hours_at_wall_efficiency": core_hours / (cores * wall_eff) if wall_eff else None,
            "archive_tb": size / 1e12, "read_machine_hours": read_hours, "bound_machine_hours": bound,
            "machines_for": {h: math.ceil(bound / h) for h in (1, 8, 24)},
            "hours_on": {m: bound / m for m in (1, 10, 100)}}
    return out


def cost_table(c: dict) -> str:
    fmts = list(c["by_format"])
    ray = (f"x{c['ray_overhead']:.2f} (CPU per file, Ray 1 worker / engine local, whole jobs)"
           if c["ray_overhead"] else "x1 (not measured: no Ray figure)")
    eff = (f"{c['efficiency']:.0%} (files per CPU-second, 2 Ray workers / 1, at most 100 %; in wall "
           f"files/s on this shared machine {c['wall_efficiency']:.0%})" if c["efficiency"]
           else "100 % (assumed: no Ray figure)")
    lines = [f"Cost model: {c['clips']:,.0f} clips x {c['clip_sec']:g} s = {c['audio_hours']:,.0f} h "
             f"of audio (AudioSet size); this model; {c['windows_per_clip']:.0f} windows per clip "
             "(1 s, hop 0.5 s); per-clip cost measured on 10-s 44.1 kHz mono clips:", "",
             "| quantity | " + " | ".join(fmts) + " |", "|---|" + "---:|" * len(fmts),
             "| CPU s per clip, `pipeline.predict` | "
             + " | ".join(f"{c['cpu_s_per_clip'][f] * 1000:.0f} ms" for f in fmts) + " |",
             f"| Ray overhead per clip | {ray} |" + " |" * (len(fmts) - 1),
             "| core-hours for the archive | "
             + " | ".join(f"{c['by_format'][f]['core_hours']:,.0f}" for f in fmts) + " |",
             f"| scaling efficiency | {eff} |" + " |" * (len(fmts) - 1),
             f"| machine-hours ({c['cores_per_machine']} cores each) | "
             + " | ".join(f"{c['by_format'][f]['machine_hours']:,.1f}" for f in fmts) + " |"]
    if c["wall_efficiency"]:
        lines.append("| machine-hours if the wall efficiency measured here held | "
                     + " | ".join(f"{c['by_format'][f]['machine_hours_at_wall_efficiency']:,.1f}"
                                  for f in fmts) + " |")
    lines.append("| the archive's size (these clips' mean file size) | "
                 + " | ".join(f"{c['by_format'][f]['archive_tb']:,.2f} TB" for f in fmts) + " |")
    lines.append(f"| machine-hours to read it at {c['link_gbps']:g} Gb/s per machine | "
                 + " | ".join(f"{c['by_format'][f]['read_machine_hours']:,.1f}" for f in fmts) + " |")
    for h in (1, 8, 24):
        lines.append(f"| machines to finish in {h} h (the slower of CPU and reading) | "
                     + " | ".join(str(c["by_format"][f]["machines_for"][h]) for f in fmts) + " |")
    for m in (1, 10, 100):
        lines.append(f"| hours on {m} machine{'s' * (m > 1)} (the slower of CPU and reading) | "
                     + " | ".join(f"{c['by_format'][f]['hours_on'][m]:,.2f}" for f in fmts) + " |")
    if c["core_hours_per_extra_gflop"]:
        lines.append(f"| a bigger model: each GFLOP per clip adds (at the {c['model_gflops_per_core']:.0f} "
                     "GFLOP/s per core the batched classifier reached) | "
                     f"{c['core_hours_per_extra_gflop']:,.0f} core-hours |" + " |" * (len(fmts) - 1))
    return "\n".join(lines)
