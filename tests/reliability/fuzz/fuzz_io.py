"""Fuzzer for ``tympan.io``: mutated WAV, FLAC, MP3, Ogg Vorbis, AIFF and RF64 files go through
``io.info``, ``io.load`` (mono and multichannel, resampled, with offset/duration) and a few blocks
of ``io.stream``.

A *finding* is any exception that is not a ``TympanError``, a property broken by a returned value
(non-finite samples, wrong shape or dtype, ``info`` or ``load`` claiming more samples than the
file's size allows), a ``MemoryError`` under the child's address-space cap (an allocation the file
cannot justify), a crash of the process (a signal from libsndfile) or a hang (per-input limit).

The mutations run in a child process (``--child``) that the parent restarts after a crash or a
hang; each distinct finding (by stage, exception type and message with numbers and paths
removed) is saved once to the findings folder with ``findings.jsonl`` describing it.  The engine is
atheris (coverage-guided over tympan.io and soundfile, with the structure-aware mutator of
``mutators.py`` alongside libFuzzer's own) when it is installed, else a seeded mutation loop.

Run it longer than ``make test`` does (60 s)::

    python tests/reliability/fuzz/fuzz_io.py --seconds 900 --findings fuzz-findings
    TYMPAN_FUZZ_SECONDS=900 python -m pytest tests/reliability/fuzz -k finds_nothing

and replay or shrink a saved input::

    python tests/reliability/fuzz/fuzz_io.py --replay fuzz-findings/*.wav
    python tests/reliability/fuzz/fuzz_io.py --minimize IN --out tests/reliability/fuzz/regressions/NAME
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import faulthandler
import hashlib
import importlib.util
import json
import math
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REGRESSIONS = HERE / "regressions"
MEMORY_CAP = 3 << 30  # address space of the child: a forged length asking for more fails
SAMPLES_PER_BYTE = 1 << 14  # more decoded frames than this per file byte is not a real file
STREAM_BLOCKS = 4


def _load_mutators():
    if "tympan_fuzz_mutators" not in sys.modules:
        spec = importlib.util.spec_from_file_location("tympan_fuzz_mutators", HERE / "mutators.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["tympan_fuzz_mutators"] = module
        spec.loader.exec_module(module)
    return sys.modules["tympan_fuzz_mutators"]


mutators = _load_mutators()


# --------------------------------------------------------------------------- seeds
SEED_FORMATS = (  # (name, format, subtype, channels)
    ("pcm8.wav", "WAV", "PCM_U8", 1), ("pcm16.wav", "WAV", "PCM_16", 1),
    ("pcm24.wav", "WAV", "PCM_24", 2), ("pcm32.wav", "WAV", "PCM_32", 1),
    ("float.wav", "WAV", "FLOAT", 1), ("double.wav", "WAV", "DOUBLE", 2),
    ("pcm16.flac", "FLAC", "PCM_16", 1), ("pcm24.flac", "FLAC", "PCM_24", 2),
    ("cbr.mp3", "MP3", "MPEG_LAYER_III", 1), ("vorbis.ogg", "OGG", "VORBIS", 1),
    ("pcm16.aiff", "AIFF", "PCM_16", 2), ("pcm16.rf64", "RF64", "PCM_16", 1),
)


def write_seeds(folder: Path, sr: int = 8000, seconds: float = 0.15) -> list[Path]:
    """Small valid files, one per format above (a 440 Hz tone with a little noise)."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(round(sr * seconds)) / sr
    noise = np.random.default_rng(0).standard_normal(t.size) * 0.01
    tone = 0.5 * np.sin(2 * np.pi * 440 * t) + noise
    paths = []
    for name, fmt, subtype, channels in SEED_FORMATS:
        y = tone if channels == 1 else np.stack([tone, -0.5 * tone], axis=1)
        sf.write(folder / name, y, sr, format=fmt, subtype=subtype)
        paths.append(folder / name)
    return paths


# --------------------------------------------------------------------------- the target
# Planted bugs for the self-test: a byte pattern that the mutator writes but no seed holds.
PLANTS = {
    "exception": b"\xff\xff\xff\x7f", "alloc": b"\x7f\xff\xff\xff", "nan": b"\xfe\xff\xff\xff",
    "segfault": b"\xff\xff\xff\xfe", "hang": b"\x80\x00\x00\x00",
}


def _planted(data: bytes, plants: tuple[str, ...]) -> str | None:
    return next((p for p in plants if PLANTS[p] in data), None)


def _run_plant(plant: str) -> str | None:
    if plant == "exception":
        raise ValueError("planted")
    if plant == "alloc":
        np.ones(1 << 40, np.uint8)
    if plant == "segfault":
        ctypes.string_at(0)
    if plant == "hang":
        time.sleep(3600)
    return _finite("plant", np.full(4, np.nan, np.float32))


def _finite(name: str, y: np.ndarray) -> str | None:
    if not np.isfinite(y).all():
        return f"{name}: {int(np.size(y) - np.isfinite(y).sum())} non-finite samples returned"
    return None


def check(path: Path, plants: tuple[str, ...] = ()) -> dict | None:
    """Run the targets on ``path``; ``None`` when all is well, else the finding as a dict."""
    from tympan import io
    from tympan.errors import TympanError

    data = path.read_bytes()
    cap = max(len(data), 1) * SAMPLES_PER_BYTE
    plant = _planted(data, plants)
    state: dict = {"frames": None, "channels": None, "sr": None}

    def info() -> str | None:
        a = io.info(path)
        state.update(frames=a.frames, channels=a.channels, sr=a.sr)
        if not (isinstance(a.sr, int) and a.sr > 0 and a.channels >= 1 and a.frames >= 0):
            return f"info: sr={a.sr} channels={a.channels} frames={a.frames}"
        if a.frames * a.channels > cap or not math.isfinite(a.duration):
            return f"info: {a.frames} frames x {a.channels} channels from a {len(data)}-byte file"
        return None

    def load_mono() -> str | None:
        y, sr = io.load(path)
        if y.ndim != 1 or y.dtype != np.float32 or sr != (state["sr"] or sr):
            return f"load: shape {y.shape} dtype {y.dtype} sr {sr} (file sr {state['sr']})"
        if y.size > cap:
            return f"load: {y.size} samples from a {len(data)}-byte file"
        return _finite("load", y)

    def load_multi() -> str | None:
        ch, native = state["channels"], state["sr"]
        target = 16000 if native != 16000 else 8000
        y, sr = io.load(path, mono=False, sr=target, dtype="float64")
        want_ndim = 1 if ch == 1 else 2
        if y.ndim != want_ndim or (ch > 1 and y.shape[0] != ch) or y.dtype != np.float64 or sr != target:
            return f"load(mono=False, sr={target}): shape {y.shape} dtype {y.dtype} ({ch} channels)"
        if y.size > cap * max(1, math.ceil(target / native)):
            return f"load(sr={target}): {y.size} samples from a {len(data)}-byte file"
        return _finite(f"load(mono=False, sr={target})", y)

    def load_part() -> str | None:
        y, _ = io.load(path, offset=0.01, duration=0.05)
        if y.ndim != 1 or y.size > round(0.05 * state["sr"]) + 1:
            return f"load(offset=0.01, duration=0.05): shape {y.shape} at sr {state['sr']}"
        return _finite("load(offset, duration)", y)

    def stream() -> str | None:
        for k, block in enumerate(io.stream(path, block_length=1024)):
            if block.ndim != 1 or block.size > 1024 or block.dtype != np.float32:
                return f"stream: block shape {block.shape} dtype {block.dtype}"
            bad = _finite("stream", block)
            if bad or k + 1 >= STREAM_BLOCKS:
                return bad
        return None

    stages = [("info", info), ("load", load_mono), ("load_multi", load_multi),
              ("load_part", load_part), ("stream", stream)]
    if plant:  # the self-test's bug comes first, so the planted input shows it whatever io does
        stages.insert(0, ("plant", lambda: _run_plant(plant)))
    for stage, fn in stages:
        if state["sr"] is None and stage in ("load_multi", "load_part"):
            continue  # info refused the file: only what needs no header facts is run
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                problem = fn()
        except TympanError:
            continue
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # every other exception is a finding
            return {"stage": stage, "kind": type(exc).__name__,
                    "message": str(exc).replace(str(path), "<file>")[:300]}
        if problem:
            return {"stage": stage, "kind": "property", "message": problem}
    return None


def signature(finding: dict) -> str:
    """Stage, type and message without numbers: one finding however many inputs show it."""
    msg = re.sub(r"0x[0-9a-fA-F]+|\d+(\.\d+)?", "N", finding.get("message", ""))
    msg = re.sub(r"'[^']*'", "'…'", msg)[:120]
    return f"{finding.get('stage', '?')}|{finding['kind']}|{msg}"


# --------------------------------------------------------------------------- child: the loop
class Recorder:
    """Saves the first input of each signature; counts the rest."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.seen: dict[str, int] = {}
        for line in self._lines():
            self.seen[line["signature"]] = line.get("count", 1)

    def _lines(self) -> list[dict]:
        log = self.folder / "findings.jsonl"
        return [json.loads(s) for s in log.read_text().splitlines() if s] if log.exists() else []

    def planted(self) -> int:
        return sum(sig.startswith("plant|") for sig in self.seen)

    def record(self, finding: dict, data: bytes, ext: str) -> None:
        sig = signature(finding)
        if sig in self.seen:
            self.seen[sig] += 1
            return
        self.seen[sig] = 1
        name = f"{finding['stage']}-{finding['kind']}-{hashlib.sha1(data).hexdigest()[:10]}{ext}"
        (self.folder / name).write_bytes(data)
        line = dict(finding, signature=sig, file=name, size=len(data))
        with open(self.folder / "findings.jsonl", "a") as fh:
            fh.write(json.dumps(line) + "\n")
        print(f"FINDING {name}: {finding['stage']} {finding['kind']}: {finding['message']}",
              file=sys.stderr, flush=True)


def _child(args: argparse.Namespace) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    findings = Path(args.findings)
    work = Path(args.work)
    recorder = Recorder(findings)
    plants = tuple(args.plant)
    seeds = [p.read_bytes() for p in sorted(Path(args.seeds).iterdir())]
    current = work / "current"

    def one(data: bytes) -> None:
        ext = mutators.sniff_extension(data)
        path = current.with_suffix(ext)
        for old in work.glob("current.*"):
            old.unlink()
        path.write_bytes(data)
        finding = check(path, plants)
        if finding:
            recorder.record(finding, data, ext)
            if plants and recorder.planted() >= len(plants):
                os._exit(3)  # the self-test is over

    engine = args.engine
    if engine == "atheris":
        import atheris

        with atheris.instrument_imports(include=["tympan.io", "tympan._validate", "tympan.signal_checks",
                                                "soundfile"]):
            from tympan import io  # noqa: F401

        def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
            rng = random.Random(seed)
            if not data or rng.random() < 0.1:
                data = rng.choice(seeds)
            if rng.random() < 0.3:
                return atheris.Mutate(data, max_size)
            return mutators.mutate(data, rng, max_size, seeds)

        corpus = work / "corpus"
        corpus.mkdir(exist_ok=True)
        argv = [sys.argv[0], f"-max_total_time={args.seconds}", f"-timeout={args.timeout}",
                f"-seed={args.seed}", "-max_len=16384", "-rss_limit_mb=0", "-print_final_stats=0",
                f"-artifact_prefix={findings}/", str(corpus), str(args.seeds)]
        atheris.Setup(argv, one, custom_mutator=custom_mutator)
        atheris.Fuzz()
        return
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.seconds
    pool = list(seeds)
    while time.monotonic() < deadline:
        data = mutators.mutate(rng.choice(pool), rng, 1 << 14, seeds)
        faulthandler.dump_traceback_later(args.timeout, exit=True)
        one(data)
        faulthandler.cancel_dump_traceback_later()
        if rng.random() < 0.02:  # keep some mutants to stack mutations on
            pool.append(data) if len(pool) < 200 else pool.__setitem__(rng.randrange(len(seeds), 200), data)


# --------------------------------------------------------------------------- parent: restarts
def default_engine() -> str:
    """``TYMPAN_FUZZ_ENGINE``, else atheris when it imports, else the seeded loop ("random")."""
    if os.environ.get("TYMPAN_FUZZ_ENGINE"):
        return os.environ["TYMPAN_FUZZ_ENGINE"]
    return "atheris" if importlib.util.find_spec("atheris") else "random"


_FRAME = re.compile(r'File "([^"]+)", line (\d+) in (\w+)')
_STAGES = {"_run_plant": "plant", "info": "info", "load_mono": "load", "load_multi": "load_multi",
           "load_part": "load_part", "stream": "stream"}


def _plant_args(plants: tuple[str, ...]) -> list[str]:
    return [arg for p in plants for arg in ("--plant", p)]


def _replay_in_child(path: Path, timeout: float, plants: tuple[str, ...]) -> tuple[int, str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--replay", str(path),
           "--timeout", str(timeout), *_plant_args(plants)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        return -9, "replay did not end"
    return proc.returncode, proc.stdout + proc.stderr


def _death(rc: int, log: str, data: bytes, timeout: float, plants: tuple[str, ...],
           work: Path) -> dict:
    """Describe a child that died on ``data``: replayed alone, its Python stack names the stage."""
    hang = "libFuzzer: timeout" in log or "Timeout (" in log
    path = work / f"replay{mutators.sniff_extension(data)}"
    path.write_bytes(data)
    rrc, out = _replay_in_child(path, timeout, plants)
    frames = _FRAME.findall(out)
    stage = next((_STAGES[f[2]] for f in frames if f[2] in _STAGES), "?")
    where = " < ".join(f"{Path(f[0]).name}:{f[2]}" for f in reversed(frames[-8:])
                       if "fuzz_io" not in f[0])
    if hang:
        kind = "hang"
    else:
        sig = -rrc if rrc < 0 else -rc if rc < 0 else None
        kind = f"crash ({_signame(sig)})" if sig else f"crash (exit {rc})"
    return {"stage": stage, "kind": kind, "message": where or out.strip()[-200:]}


def _signame(sig: int) -> str:
    import signal

    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def run(seconds: float, findings: Path, *, engine: str | None = None, seed: int = 0,
        timeout: float = 5.0, plants: tuple[str, ...] = (), verbose: bool = False) -> list[dict]:
    """Fuzz for ``seconds``; returns the distinct findings saved in ``findings`` (with counts)."""
    engine = engine or default_engine()
    findings = Path(findings)
    findings.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + seconds
    with tempfile.TemporaryDirectory(prefix="tympan-fuzz-") as tmp:
        seeds_dir = Path(tmp) / "seeds"
        write_seeds(seeds_dir)
        work = Path(tmp) / "work"
        work.mkdir()
        while (left := deadline - time.monotonic()) >= 1:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--engine", engine,
                   "--seconds", str(max(1, int(left))), "--seed", str(seed), "--timeout", str(timeout),
                   "--findings", str(findings.resolve()), "--work", str(work), "--seeds", str(seeds_dir),
                   *_plant_args(plants)]
            with open(work / "log", "w+") as log:
                rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
                log.seek(0)
                text = log.read()
            if verbose:
                sys.stderr.write(text[-3000:])
            if rc in (0, 3):
                break
            written = re.findall(r"Test unit written to (\S+)", text)
            current = sorted(work.glob("current.*"))
            if written and Path(written[-1]).exists():
                data = Path(written[-1]).read_bytes()
                Path(written[-1]).unlink()
            elif current:
                data = current[0].read_bytes()
            else:
                raise RuntimeError(f"fuzz child exited {rc} without an input to blame:\n{text[-3000:]}")
            finding = _death(rc, text, data, timeout, plants, work)
            recorder = Recorder(findings)
            recorder.record(finding, data, mutators.sniff_extension(data))
            if plants and recorder.planted() >= len(plants):
                break
            seed += 1
    return Recorder(findings)._lines()


# --------------------------------------------------------------------------- replay, minimise
def replay(paths: list[Path], timeout: float, plants: tuple[str, ...] = ()) -> int:
    faulthandler.enable()
    bad = 0
    for p in paths:
        faulthandler.dump_traceback_later(timeout, exit=True)
        finding = check(Path(p), plants)
        faulthandler.cancel_dump_traceback_later()
        print(json.dumps({"file": str(p), "finding": finding}))
        bad += finding is not None
    return 1 if bad else 0


def minimize(src: Path, out: Path, seconds: float = 60.0) -> dict | None:
    """Shrink ``src`` while its finding keeps its signature (Python-level findings only)."""
    data = src.read_bytes()
    finding = check(src)
    if finding is None:
        return None
    want = signature(finding)
    deadline = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / f"probe{src.suffix}"

        def same(candidate: bytes) -> bool:
            probe.write_bytes(candidate)
            f = check(probe)
            return f is not None and signature(f) == want

        chunk = max(1, len(data) // 2)
        while chunk >= 1 and time.monotonic() < deadline:
            i, shrunk = 0, False
            while i < len(data) and time.monotonic() < deadline:
                candidate = data[:i] + data[i + chunk:]
                if candidate and same(candidate):
                    data, shrunk = candidate, True
                else:
                    i += chunk
            if not shrunk:
                chunk //= 2
    out.write_bytes(data)
    return finding


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("TYMPAN_FUZZ_SECONDS", 60)))
    ap.add_argument("--findings", default="fuzz-findings")
    ap.add_argument("--engine", choices=("atheris", "random"), default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per input before a hang")
    ap.add_argument("--plant", action="append", default=[], choices=sorted(PLANTS))
    ap.add_argument("--replay", nargs="+", type=Path)
    ap.add_argument("--minimize", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--seeds", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    if args.replay:
        return replay(args.replay, args.timeout, tuple(args.plant))
    if args.minimize:
        finding = minimize(args.minimize, args.out or args.minimize.with_name("min-" + args.minimize.name))
        print(json.dumps(finding))
        return 0
    found = run(args.seconds, Path(args.findings), engine=args.engine, seed=args.seed,
                timeout=args.timeout, plants=tuple(args.plant))
    for f in found:
        print(f"{args.findings}/{f['file']}: {f['stage']} {f['kind']}: {f['message']}")
    print(f"{len(found)} distinct findings")
    return 1 if found else 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
