"""``export_onnx``: an artifact's whole model (feature layers included) as one ONNX file.

The file takes what ``model.keras`` takes, a float32 waveform ``(batch, samples)`` at the
artifact's rate and clip length, with any batch size, and gives what it gives (probabilities,
a reconstructed waveform, or the separated sources).  Its ``metadata_props`` hold the
essentials of ``pipeline.json`` (rate, duration, labels, task, the window settings, the
versions), so onnxruntime and the file are all a runtime needs.

How: ``model.keras`` is loaded on Keras's torch backend and exported by
``torch.onnx.export(..., dynamo=True)`` (:mod:`tympan.export.onnx_graph`); no TensorFlow is
involved.  The backend must be chosen before Keras is first imported, so when this process
already runs Keras on another backend (jax, tympan's default) the export runs in a child
process with ``KERAS_BACKEND=torch`` (:mod:`tympan.export.worker`); the ``tympan export``
command always does.  Needs torch, onnx and onnxscript; the check needs onnxruntime
(``pip install "tympan[onnx]"``).

The check (on by default) loads the written graph in onnxruntime and runs it next to the Keras
model on a fixed set of test signals (:mod:`tympan.export.check_signals`) and on windows of any
files given; the file is written only if every output agrees within :data:`TOLERANCE` (of full
scale: times the output's peak where that is above 1), and at batch 1 as well as batched.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tympan import __version__, io
from tympan import errors as terrors
from tympan.artifact_files import MODEL_FILE, ONNX_FILE
from tympan.atomic import replacing
from tympan.errors import ArtifactError, MissingDependencyError, ParameterError
from tympan.pipeline.artifact import read_pipeline_json

#: Largest difference allowed between the ONNX and the Keras outputs, as a part of full scale
#: (absolute for outputs within [-1, 1], such as probabilities and waveforms).
TOLERANCE = 1e-4
INSTALL = 'pip install "tympan[onnx]"'
_EXPORT_NEEDS = ("torch", "onnx", "onnxscript")
_CHECK_NEEDS = ("onnxruntime",)


@dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_onnx` wrote.  ``os.fspath(result)`` is the file's path."""

    path: Path
    seconds: float  # the export alone (not the imports, nor the check)
    size: int  # bytes of the file
    max_abs_diff: float | None  # largest |ONNX - Keras| over the checked inputs; None: no check
    peak: float | None  # largest |Keras output| over them
    checked: int  # inputs checked (test signals + file windows)
    dft_nodes: int  # DFT nodes run in float64

    def __fspath__(self) -> str:
        return str(self.path)


def export_onnx(run, *, out=None, opset: int | None = None, check: bool = True, check_with=(),
                overwrite: bool = False) -> OnnxExport:
    """Export the artifact folder ``run`` to ONNX: ``run/model.onnx``, or the file ``out``.

    ``opset``: the ONNX opset (default :data:`~tympan.export.onnx_graph.DEFAULT_OPSET`, at
    least 18).  ``check``: compare the written graph with the Keras model in onnxruntime on
    the test signals and on the windows of the audio files ``check_with`` (a path or a list),
    and refuse to write it (:class:`~tympan.errors.ArtifactError`, giving the difference) if
    any output differs by more than :data:`TOLERANCE`.  An existing ``out`` is replaced only
    with ``overwrite=True``, and then only if tympan wrote it (its metadata says so).

    Runs in this process when Keras runs on torch here (or is not imported yet and
    ``KERAS_BACKEND=torch``), else in a child process with ``KERAS_BACKEND=torch``.
    Missing packages raise :class:`~tympan.errors.MissingDependencyError`.
    """
    from tympan.export.onnx_graph import DEFAULT_OPSET, MIN_OPSET

    opset = DEFAULT_OPSET if opset is None else opset
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < MIN_OPSET:
        raise ParameterError(f"opset must be an integer >= {MIN_OPSET}, got {opset!r}")
    run = Path(run)
    read_pipeline_json(run)  # an ArtifactError naming the folder if it is not an artifact
    require(*_EXPORT_NEEDS, *(_CHECK_NEEDS if check else ()))
    out = run / ONNX_FILE if out is None else Path(out)
    check_destination(out, overwrite=overwrite)
    files = [str(check_with)] if isinstance(check_with, (str, os.PathLike)) else [str(p) for p in check_with]
    for f in files:
        io.info(f)  # an AudioIOError naming a missing or unreadable file, before any export
    args = {"run": str(run), "out": str(out), "opset": opset, "check": bool(check),
            "check_with": files, "overwrite": bool(overwrite)}
    if _torch_here():
        return export_here(**args)
    return _export_in_child(args)


def require(*names: str) -> None:
    """Raise MissingDependencyError naming every package of ``names`` that is not installed."""
    missing = [n for n in names if not _installed(n)]
    if not missing:
        return
    hint = INSTALL
    if "torch" in missing:
        hint += ' and torch (a CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)'
    raise MissingDependencyError(f"ONNX export needs {', '.join(missing)}, not installed: {hint}")


def _installed(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_destination(out: Path, *, overwrite: bool) -> None:
    """Refuse a folder, a name without ``.onnx``, and an existing file unless ``overwrite``;
    even then, a file tympan did not write (no tympan metadata) is never replaced."""
    if out.suffix.lower() != ".onnx":
        raise ParameterError(f"out must be a .onnx file name, got {str(out)!r}")
    if out.is_dir():
        raise ArtifactError(f"{out} is a folder; give a file name such as {out / ONNX_FILE}")
    if not (out.exists() or out.is_symlink()):
        return
    if not overwrite:
        raise ArtifactError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    if not written_by_tympan(out):
        raise ArtifactError(f"{out} exists and was not written by tympan export (no tympan "
                            "metadata in it); nothing is replaced: choose another --out")


def written_by_tympan(path: Path) -> bool:
    """Whether ``path`` is an ONNX model whose metadata says tympan exported it."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # not a protobuf, unreadable, ...: not ours
        return False
    return any(p.key == "exported_by" and p.value.startswith("tympan") for p in proto.metadata_props)


def _torch_here() -> bool:
    keras = sys.modules.get("keras")
    if keras is not None:
        return keras.backend.backend() == "torch"
    return os.environ.get("KERAS_BACKEND") == "torch"


def _export_in_child(args: dict) -> OnnxExport:
    """:func:`export_here` in ``python -m tympan.export.worker`` with ``KERAS_BACKEND=torch``;
    its errors come back as the same tympan error classes."""
    import tympan

    env = dict(os.environ, KERAS_BACKEND="torch")
    src = str(Path(tympan.__file__).resolve().parents[1])  # this tympan, wherever it lies
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="tympan-export-") as tmp:
        request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request.write_text(json.dumps(args))
        proc = subprocess.run([sys.executable, "-m", "tympan.export.worker", str(request), str(result)],
                              env=env, capture_output=True, text=True, check=False)
        answer = json.loads(result.read_text()) if result.is_file() else None
    if answer is None:
        tail = " | ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-3:])
        raise ArtifactError(f"exporting {args['run']} failed: the export process ended with status "
                            f"{proc.returncode} ({tail or 'no output'})")
    if "error" in answer:
        cls = getattr(terrors, answer["error"], None)
        if isinstance(cls, type) and issubclass(cls, terrors.TympanError):
            raise cls(answer["message"])
        raise ArtifactError(f"exporting {args['run']} failed: {answer['message']}")
    return OnnxExport(**{**answer, "path": Path(answer["path"])})


def export_here(*, run: str, out: str, opset: int, check: bool, check_with: list[str],
                overwrite: bool) -> OnnxExport:
    """The export itself, in a process whose Keras backend is torch."""
    import keras

    from tympan.export import onnx_graph
    from tympan.pipeline import load_artifact

    if keras.backend.backend() != "torch":
        raise ParameterError(f"export_here needs Keras on the torch backend, this process runs "
                             f"{keras.backend.backend()!r}; call export_onnx")
    artifact = load_artifact(run)
    model = artifact.model
    samples = int(model.inputs[0].shape[1])
    start = time.perf_counter()
    try:
        proto = onnx_graph.export_model(model, samples, opset=opset)
    except Exception as exc:
        text = " ".join(str(exc).split())[:300]
        raise ArtifactError(f"cannot export {Path(run) / 'model.keras'} to ONNX: "
                            f"{type(exc).__name__}: {text}") from exc
    dft_nodes = onnx_graph.dft_in_float64(proto)
    seconds = time.perf_counter() - start
    meta = read_pipeline_json(run)
    entries = {"exported_by": f"tympan {__version__}", "tympan_version": __version__,
               "keras_version": keras.__version__, "task": meta["task"],
               "sr": str(meta["audio"]["sr"]), "duration": str(meta["audio"]["duration"]),
               "samples": str(samples), "labels": meta["labels"], "windows": meta.get("windows", {}),
               "input": "waveform: (batch, samples) float32 mono in [-1, 1] at sr",
               "output": _output_layout(meta["task"], meta["labels"]),
               "source_model_sha256": file_sha256(Path(run) / MODEL_FILE)}
    diff = peak = None
    checked = 0
    if check:
        diff, peak, checked = _compare(model, proto, meta["audio"]["sr"], samples, check_with, run)
        entries["checked_max_abs_diff"] = f"{diff:.3g}"
    onnx_graph.set_metadata(proto, entries)
    data = proto.SerializeToString()
    destination = Path(out)
    check_destination(destination, overwrite=overwrite)  # again: the export took a while
    destination.parent.mkdir(parents=True, exist_ok=True)
    with replacing(destination) as (tmp,):
        tmp.write_bytes(data)
    return OnnxExport(path=destination, seconds=round(seconds, 3), size=len(data), max_abs_diff=diff,
                      peak=peak, checked=checked, dft_nodes=dft_nodes)


def _output_layout(task: str, labels) -> str:
    if task == "classification":
        return f"output: (batch, {len(labels)}) probabilities of the labels, in order"
    if task == "tagging":
        return (f"output: (batch, {len(labels)}) independent (sigmoid) probabilities of the tags, in "
                "order; a tag is on at or above its threshold in pipeline.json metrics.thresholds")
    if task == "separation":
        return f"output: (batch, samples, {len(labels)}) the sources ({', '.join(labels)}), at sr"
    return "output: (batch, samples) the reconstructed waveform, at sr"


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file ``path``, in hex (read in 1 MiB blocks): the fingerprint of the
    ``model.keras`` an export came from, which :mod:`tympan.runtime` checks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _compare(model, proto, sr: int, samples: int, check_with: list[str], run) -> tuple[float, float, int]:
    """``(max |ONNX - Keras|, max |Keras|, inputs)`` over the test signals and the files'
    windows, batched and at batch 1; ArtifactError beyond the tolerance."""
    import numpy as np
    import onnxruntime as ort

    from tympan.export.check_signals import file_windows, probe_signals

    names, x = probe_signals(sr, samples)
    more, windows = file_windows(check_with, sr=sr, samples=samples)
    names, x = names + more, np.concatenate([x, windows])
    reference = np.asarray(model.predict(x, batch_size=32, verbose=0), dtype=np.float64)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(proto.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        got = np.concatenate([session.run(None, {"waveform": x[i : i + 32]})[0]
                              for i in range(0, len(x), 32)])
        single = session.run(None, {"waveform": x[:1]})[0]
    except Exception as exc:
        text = " ".join(str(exc).split())[:300]
        raise ArtifactError(f"the ONNX export of {run} does not run in onnxruntime "
                            f"({type(exc).__name__}: {text}); nothing was written") from exc
    diff = np.abs(got.astype(np.float64) - reference)
    per_input = diff.reshape(len(x), -1).max(axis=1)
    worst = int(per_input.argmax())
    largest = max(float(per_input.max()), float(np.abs(single - reference[:1]).max()))
    peak = float(np.abs(reference).max())
    if not np.isfinite(largest) or largest > TOLERANCE * max(1.0, peak):
        raise ArtifactError(f"the ONNX export of {run} differs from the Keras model by {largest:.3g} "
                            f"(largest on {names[worst]!r}; allowed {TOLERANCE:g}"
                            f"{f' x the output peak {peak:.3g}' if peak > 1 else ''}); nothing was "
                            "written.  A model whose output swings this far on float32 rounding "
                            "differs as much between Keras backends; check=False (--no-check) "
                            "writes it unchecked")
    return largest, peak, len(x)


def result_dict(result: OnnxExport) -> dict:
    """``result`` as JSON-ready values (the worker's answer)."""
    return {**asdict(result), "path": str(result.path)}
