"""The corpus and the classifier of ``scale_throughput.py``: 1-s clips cut from ``../shared/data``.

:func:`build_corpus` cuts the real recordings into N one-second 16-bit WAV clips at the rates
real corpora mix: FSDD digits (8 kHz, each speaker's takes back to back), NOIZEUS sentences
(the clean ones and the 0/5 dB mixtures at their own 8 kHz, the 10/15 dB mixtures written at
16 kHz, resampled up with soxr as a 16 kHz source would be) and EMO-DB (22.05 kHz).  Each source
is one long stream per speaker or noise condition, cut at 1-s steps; further passes cut the same
streams at other offsets (0.5, 0.25, 0.75 s, ...) until there are N clips, so a pass gives about
4,900 clips and 20,000 take five passes.  The clips are shuffled (seeded) so that every prefix
mixes the sources, and written in folders of 1,000 (``clips/000/000000.wav``).  The folder
(a temporary one unless given) is reused when its ``corpus.json`` says it holds the same recipe
and at least N clips.

:func:`train_classifier` trains the default FSDD recipe (``conv1d`` on 40 log-mels of 8 kHz
audio, 1-s clips) for a few epochs: its accuracy does not matter here, only that the model is
the one the pipeline builds for that data.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RECIPE = 1  # bump when the way clips are cut changes: a cached corpus is then rebuilt
PER_FOLDER = 1000


def _streams(data: Path) -> list[tuple[str, int, int, np.ndarray]]:
    """``(name, native rate, written rate, samples)`` of every source stream."""
    import soundfile as sf

    def joined(files):
        return np.concatenate([sf.read(f, dtype="int16")[0] for f in files])

    streams = []
    fsdd = sorted((data / "fsdd" / "recordings").glob("*.wav"))
    for speaker in sorted({f.stem.split("_")[1] for f in fsdd}):
        streams.append((f"fsdd/{speaker}", 8000, 8000,
                        joined([f for f in fsdd if f.stem.split("_")[1] == speaker])))
    noizeus = data / "noizeus"
    streams.append(("noizeus/clean", 8000, 8000, joined(sorted((noizeus / "clean").glob("*.wav")))))
    for cond in sorted(p for p in (noizeus / "noisy").iterdir() if p.is_dir()):
        snr = int(cond.name.rsplit("_", 1)[1].removesuffix("dB"))
        streams.append((f"noizeus/{cond.name}", 8000, 16000 if snr >= 10 else 8000,
                        joined(sorted(cond.glob("*.wav")))))
    emodb = sorted((data / "emodb" / "wav").glob("*.wav"))
    for speaker in sorted({f.stem[:2] for f in emodb}):
        takes = [f for f in emodb if f.stem[:2] == speaker]
        streams.append((f"emodb/{speaker}", 22050, 22050, joined(takes)))
    if not fsdd or not emodb:
        raise SystemExit(f"the FSDD and EMO-DB recordings are missing under {data}")
    return streams


def _offsets():
    """0, 0.5, 0.25, 0.75, 0.125, ... (van der Corput): each pass cuts between the last ones."""
    k = 0
    while True:
        x, denom, n = 0.0, 1.0, k
        while n:
            denom *= 2
            n, bit = divmod(n, 2)
            x += bit / denom
        yield x
        k += 1


def _plan(streams, n: int, seed: int) -> list[tuple[int, int]]:
    """``(stream index, start sample)`` of n clips, pass by pass, each pass shuffled."""
    rng = np.random.default_rng(seed)
    plan: list[tuple[int, int]] = []
    for offset in _offsets():
        cuts = [(i, round((offset + k) * rate))
                for i, (_, rate, _, y) in enumerate(streams)
                for k in range(int(len(y) / rate - offset))]
        order = rng.permutation(len(cuts))
        plan.extend(cuts[j] for j in order)
        if len(plan) >= n:
            return plan[:n]


def corpus_files(folder: Path, n: int) -> list[Path]:
    return [folder / "clips" / f"{i // PER_FOLDER:03d}" / f"{i:06d}.wav" for i in range(n)]


def build_corpus(folder: Path, n: int, *, data: Path = DATA, seed: int = 0, log=print) -> dict:
    """The manifest of a corpus of at least ``n`` clips in ``folder`` (built unless cached);
    ``manifest["files"]`` lists the first ``n``."""
    import soundfile as sf
    import soxr

    folder = Path(folder)
    manifest_path = folder / "corpus.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("recipe") == RECIPE and manifest.get("seed") == seed and manifest["clips"] >= n:
            log(f"corpus: reusing {manifest['clips']} clips in {folder}")
            return manifest | {"files": [str(p) for p in corpus_files(folder, n)], "cached": True}
    elif folder.exists() and any(folder.iterdir()):
        raise SystemExit(f"--corpus {folder} exists and holds no corpus.json of this benchmark: "
                         "give an empty or new folder")
    t0 = time.perf_counter()
    streams = _streams(data)
    plan = _plan(streams, n, seed)
    rates: dict[str, int] = {}
    sources: dict[str, int] = {}
    for i, ((s, start), path) in enumerate(zip(plan, corpus_files(folder, n), strict=True)):
        name, rate, written, y = streams[s]
        clip = y[start:start + rate]
        if written != rate:
            clip = soxr.resample(clip, rate, written, quality="HQ")  # int16 in, int16 out
        if i % PER_FOLDER == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, clip, written, subtype="PCM_16")
        rates[str(written)] = rates.get(str(written), 0) + 1
        sources[name.split("/")[0]] = sources.get(name.split("/")[0], 0) + 1
    manifest = {"recipe": RECIPE, "seed": seed, "clips": n, "rates": rates, "sources": sources,
                "seconds_to_build": round(time.perf_counter() - t0, 1)}
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, manifest_path)
    log(f"corpus: wrote {n} clips to {folder} in {manifest['seconds_to_build']} s")
    return manifest | {"files": [str(p) for p in corpus_files(folder, n)], "cached": False}


def train_classifier(out: Path, *, data: Path = DATA, epochs: int = 3, log=print) -> Path:
    """``out`` holding the default FSDD classifier on 1-s clips (trained unless there)."""
    from tympan import data as tdata
    from tympan import pipeline

    if (Path(out) / "pipeline.json").exists():
        log(f"model: reusing {out}")
        return Path(out)
    t0 = time.perf_counter()
    dataset = tdata.from_regex(data / "fsdd" / "recordings", tdata.FSDD_PATTERN)
    config = pipeline.PipelineConfig(audio=pipeline.AudioConfig(duration=1.0),
                                     training=pipeline.TrainConfig(epochs=epochs))
    art = pipeline.train(dataset, config, out=out, verbose=0, progress=False)
    log(f"model: trained {art.config.model['name']} on FSDD, {epochs} epochs, "
        f"{time.perf_counter() - t0:.0f} s, test accuracy {art.metrics['test']['accuracy']:.3f}")
    return Path(out)


def build_archive_clips(folder: Path, n: int = 32, *, seconds: float = 10.0, rate: int = 44100,
                        data: Path = DATA, log=print) -> dict[str, list[str]]:
    """``{"wav": [...], "flac": [...]}``: n clips of ``seconds`` at ``rate`` (mono 16-bit; WAV
    and the same audio as FLAC), as an AudioSet-like archive holds them: 10-s pieces of the
    NOIZEUS and EMO-DB streams, resampled up to 44.1 kHz with soxr (the audio is band-limited to
    its own rate; decoding and resampling cost the same)."""
    import soundfile as sf
    import soxr

    folder = Path(folder)
    names = [folder / f"{i:03d}" for i in range(n)]
    out = {ext: [str(p.with_suffix(f".{ext}")) for p in names] for ext in ("wav", "flac")}
    stamp = folder / "archive.json"
    want = {"recipe": RECIPE, "clips": n, "seconds": seconds, "rate": rate}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return out
    folder.mkdir(parents=True, exist_ok=True)
    streams = [s for s in _streams(data) if not s[0].startswith("fsdd")]
    cuts = [(s, k) for k in range(64) for s in range(len(streams))
            if (k + 1) * seconds * streams[s][1] <= len(streams[s][3])]
    for path, (s, k) in zip(names, cuts, strict=False):
        _, native, _, y = streams[s]
        clip = y[round(k * seconds * native):round((k + 1) * seconds * native)]
        clip = soxr.resample(clip, native, rate, quality="HQ")
        for ext in ("wav", "flac"):
            sf.write(path.with_suffix(f".{ext}"), clip, rate, subtype="PCM_16")
    stamp.write_text(json.dumps(want))
    log(f"archive-like clips: wrote {n} x {seconds:g} s at {rate} Hz (WAV and FLAC) to {folder}")
    return out
