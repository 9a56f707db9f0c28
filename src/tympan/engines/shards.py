"""The output of a batch job: a folder of Parquet shards and a manifest, written by one piece of
code whatever engine computed the rows.

``OUT/`` holds ``part-00000.parquet``, ``part-00001.parquet``, ... (input ``i`` is a row of
shard ``i // shard_size``, shards in input order) and ``OUT/_manifest.json``.  The folder is
one table, as Spark and Ray write them: ``pyarrow.parquet.read_table(OUT)`` (or pandas,
polars, DuckDB, Spark) reads every shard; files starting with ``.`` or ``_`` are not part of
it.  Each shard is written to a temporary ``.part-*.tmp`` file and renamed into place, and the
manifest likewise, so a killed job leaves whole shards only.

Nothing tympan did not write is deleted or overwritten: a folder that exists, is not empty and
has no manifest (or a manifest tympan did not write: every field :class:`Output` writes, with
its type) is refused, and so is one where a file named as a shard is not a Parquet file
among the shards its manifest counts.  One that holds a tympan
output needs ``resume`` (shards already written with their full row count are kept, the others
redone; the job must be the same: inputs, model, options) or ``overwrite`` (the shards and
manifest are removed first; other files are left).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from tympan import __version__
from tympan.atomic import replacing, temporary_target
from tympan.errors import MissingDependencyError, ParameterError

#: Version of the manifest and of the columns; a resume refuses another one
SCHEMA_VERSION = 1
MANIFEST = "_manifest.json"
KINDS = ("predict", "features")
_PART = re.compile(r"part-(\d{5,})\.parquet")
#: The ``.NAME.HEX.tmp`` temporaries of tympan before :func:`tympan.atomic.temporary_name`
_OLD_TEMP = re.compile(r"\.(.+)\.[0-9a-f]+\.tmp")


def _is_temporary(name: str) -> bool:
    """Whether ``name`` is the temporary file of a shard or the manifest (a killed job's)."""
    match = _OLD_TEMP.fullmatch(name)
    target = temporary_target(name) or (match[1] if match else None)
    return target is not None and (target == MANIFEST or _PART.fullmatch(target) is not None)
#: What must agree for a resume to add to an output
_SAME_JOB = ("schema_version", "kind", "inputs", "inputs_sha256", "shard_size", "model_sha256", "options")


def optional(module: str):
    """The optional package ``module`` (``"ray"``, ``"pyarrow.parquet"``), imported; a clean
    error naming the extra when it is not installed."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is not installed: the Parquet output and --engine ray need the ray extra: "
            "pip install 'tympan[ray]'") from exc


def schema(kind: str):
    """The columns of a ``kind`` output (``"predict"`` or ``"features"``), as a pyarrow schema."""
    pa = optional("pyarrow")
    if kind == "predict":
        window = pa.struct([("start", pa.float64()), ("end", pa.float64()), ("label", pa.string()),
                            ("probability", pa.float32())])
        return pa.schema([("index", pa.int64()), ("source", pa.string()), ("label", pa.string()),
                          ("labels", pa.list_(pa.string())), ("probability", pa.float32()),
                          ("probabilities", pa.list_(pa.float32())), ("windows", pa.list_(window)),
                          ("duration", pa.float64()), ("flags", pa.list_(pa.string())),
                          ("error", pa.string())])
    if kind == "features":
        return pa.schema([("index", pa.int64()), ("source", pa.string()),
                          ("feature", pa.list_(pa.float32())), ("shape", pa.list_(pa.int32())),
                          ("error", pa.string())])
    raise ParameterError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def to_table(columns: dict[str, list], kind: str):
    """The rows of a batch function (a dict of columns) as a pyarrow Table of ``kind``'s schema."""
    pa = optional("pyarrow")
    return pa.Table.from_pydict(columns, schema=schema(kind))


def shard_name(k: int) -> str:
    return f"part-{k:05d}.parquet"


def shard_rows(k: int, *, inputs: int, shard_size: int) -> range:
    """The inputs (their indices) of shard ``k``."""
    return range(k * shard_size, min(inputs, (k + 1) * shard_size))


def inputs_digest(sources: list[str]) -> str:
    """The SHA-256 of the input list (in order): what a resume checks the inputs by."""
    digest = hashlib.sha256()
    for s in sources:
        digest.update(s.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def read_manifest(out: str | os.PathLike) -> dict[str, Any]:
    """The manifest of the tympan output ``out``; a ParameterError when it cannot be read or is
    not one that tympan wrote (a JSON object with ``schema_version`` and a ``kind`` of
    :data:`KINDS`)."""
    path = Path(out) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParameterError(f"cannot read the manifest '{path}': {exc}") from exc
    wrong = _manifest_fault(manifest)
    if wrong:
        raise ParameterError(f"'{path}' is not a manifest that tympan wrote ({wrong}): nothing there "
                             "is touched; give another folder")
    return manifest


#: The fields every manifest tympan writes holds, and their types (bool is no int here)
_MANIFEST_FIELDS = {"schema_version": int, "kind": str, "engine": str, "inputs": int,
                    "inputs_sha256": str, "shard_size": int, "shards": int, "shards_done": int,
                    "complete": bool, "written": str, "tympan": str}


def _manifest_fault(manifest: Any) -> str | None:
    """What makes ``manifest`` (parsed JSON) other than one :class:`Output` writes, or None."""
    if not isinstance(manifest, dict):
        return f"a JSON {type(manifest).__name__}, not an object"
    for key, kind in _MANIFEST_FIELDS.items():
        value = manifest.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"{key}: {_short(value)}" if key in manifest else f"no {key}"
    if manifest["kind"] not in KINDS:
        return f"kind {_short(manifest['kind'])}, not one of {', '.join(KINDS)}"
    if manifest["inputs"] < 0 or manifest["shard_size"] < 1 or not re.fullmatch(
            r"[0-9a-f]{64}", manifest["inputs_sha256"]):
        return "inputs, shard_size or inputs_sha256 out of range"
    if manifest["shards"] != -(-manifest["inputs"] // manifest["shard_size"]):
        return (f"shards {manifest['shards']} for {manifest['inputs']} inputs in shards of "
                f"{manifest['shard_size']}")
    return None


def _is_parquet(path: Path) -> bool:
    """Whether ``path`` is a Parquet file, or the start of one (a shard a crash cut short, which
    a resume redoes): it begins with Parquet's magic.  A file that does not was never a shard."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:  # a folder, unreadable
        return False


class Output:
    """The output folder of one job: :meth:`open` it (refusing what it must), :meth:`write`
    each shard, :meth:`finish`."""

    def __init__(self, out: str | os.PathLike, manifest: dict[str, Any]):
        self.out = Path(out)
        self.manifest = {"schema_version": SCHEMA_VERSION, **manifest}
        self.shards = -(-manifest["inputs"] // manifest["shard_size"])
        self.manifest["shards"] = self.shards

    def expected_rows(self, k: int) -> int:
        return len(shard_rows(k, inputs=self.manifest["inputs"], shard_size=self.manifest["shard_size"]))

    def check(self, *, resume: bool = False, overwrite: bool = False) -> bool:
        """Refuse what :meth:`open` would refuse, writing nothing; True when the folder holds an
        earlier job (that ``resume`` continues or ``overwrite`` replaces)."""
        if resume and overwrite:
            raise ParameterError("resume and overwrite exclude each other: give one")
        out = self.out
        if out.exists() and not out.is_dir():
            raise ParameterError(f"out '{out}' is a file; the output is a folder of Parquet shards "
                                 "(give a folder name, such as preds.parquet)")
        if not (out.is_dir() and any(out.iterdir())):
            return False
        if not (out / MANIFEST).is_file():
            raise ParameterError(f"out '{out}' is a folder that tympan did not write (it has no "
                                 f"{MANIFEST}): nothing there is touched; give another folder")
        if not (resume or overwrite):
            raise ParameterError(f"out '{out}' holds the output of an earlier job: pass resume "
                                 "(--resume) to finish it or overwrite (--overwrite) to replace it")
        old = read_manifest(out)  # tympan's own, before resume adds to it or overwrite replaces it
        if resume:
            self._check_same_job(old)
        self._check_shards_own(old)
        return True

    def _check_shards_own(self, old: dict) -> None:
        """Refuse a folder where a file named as a shard (one :meth:`open` would remove or write
        over) is not one tympan wrote: not Parquet, or beyond the old job's shards."""
        for path in sorted(self.out.iterdir()):
            match = _PART.fullmatch(path.name)
            if not match:
                continue
            k = int(match.group(1))
            if k < old["shards"] and path.is_file() and not path.is_symlink() and _is_parquet(path):
                continue
            if k >= max(old["shards"], self.shards) and not _is_parquet(path):
                continue  # neither removed nor written: left as it is
            raise ParameterError(f"'{path}' is named as a shard but is not one tympan wrote (not "
                                 f"a Parquet file, or not among the {old['shards']} shards of "
                                 f"{self.out / MANIFEST}): nothing there is touched; move it or "
                                 "give another folder")

    def open(self, *, resume: bool = False, overwrite: bool = False) -> list[int]:
        """Prepare the folder; return the shards still to write (all of them, unless resuming)."""
        done: set[int] = set()
        if self.check(resume=resume, overwrite=overwrite):
            if resume:
                done = self._complete_shards()
            self._remove_own(keep=done)
        self.out.mkdir(parents=True, exist_ok=True)
        self.manifest["shards_done"] = len(done)
        self.manifest["complete"] = len(done) == self.shards
        self._write_manifest()
        return [k for k in range(self.shards) if k not in done]

    def discard(self, *, created: bool) -> None:
        """Undo :meth:`open` after a job that failed before its first shard (a model that does
        not load, an interrupt): the manifest and temporary files it wrote are removed, and the
        folder too when the job ``created`` it and nothing else is in it; a user's file is
        never touched.  Nothing is done once a shard was written (a resume continues it)."""
        if self.manifest.get("shards_done") or not self.out.is_dir():
            return
        for path in self.out.iterdir():
            if path.name == MANIFEST or _is_temporary(path.name):
                path.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):  # not empty: something else is there
                self.out.rmdir()

    def _check_same_job(self, old: dict) -> None:
        differ = [key for key in _SAME_JOB if old.get(key) != self.manifest.get(key)]
        if differ:
            what = "; ".join(f"{key}: {_short(old.get(key))} there, {_short(self.manifest.get(key))} now"
                             for key in differ)
            raise ParameterError(f"cannot resume into '{self.out}': it holds another job ({what}); "
                                 "give another folder or overwrite")

    def _complete_shards(self) -> set[int]:
        pq = optional("pyarrow.parquet")
        done = set()
        for path in self.out.iterdir():
            match = _PART.fullmatch(path.name)
            if not match or int(match.group(1)) >= self.shards:
                continue
            k = int(match.group(1))
            try:
                rows = pq.read_metadata(path).num_rows
            except Exception:  # truncated or not Parquet: redone
                continue
            if rows == self.expected_rows(k):
                done.add(k)
        return done

    def _remove_own(self, keep: set[int]) -> None:
        """Remove the shards (but ``keep``) and temporary files that tympan wrote here (a shard
        is a Parquet file: :meth:`_check_shards_own` refused the folder otherwise)."""
        for path in self.out.iterdir():
            match = _PART.fullmatch(path.name)
            ours = match and int(match.group(1)) not in keep and _is_parquet(path)
            if ours or _is_temporary(path.name):
                path.unlink()

    def write(self, k: int, table) -> None:
        """Write shard ``k`` (a pyarrow Table of its rows in input order) atomically."""
        pq = optional("pyarrow.parquet")
        if table.num_rows != self.expected_rows(k):
            raise ParameterError(f"shard {k} has {table.num_rows} rows, expected {self.expected_rows(k)}")
        with replacing(self.out / shard_name(k)) as (tmp,):
            pq.write_table(table, tmp)
        self.manifest["shards_done"] += 1
        self.manifest["complete"] = self.manifest["shards_done"] == self.shards
        self._write_manifest()

    def _write_manifest(self) -> None:
        self.manifest["written"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.manifest["tympan"] = __version__
        text = json.dumps(self.manifest, indent=2) + "\n"
        with replacing(self.out / MANIFEST) as (tmp,):
            tmp.write_text(text, encoding="utf-8")

    def errors(self) -> int:
        """Rows with an error, over every shard of the folder."""
        pq = optional("pyarrow.parquet")
        total = 0
        for k in range(self.shards):
            column = pq.read_table(self.out / shard_name(k), columns=["error"]).column("error")
            total += len(column) - column.null_count
        return total


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = ["KINDS", "MANIFEST", "SCHEMA_VERSION", "Output", "inputs_digest", "optional",
           "read_manifest", "schema", "shard_name", "shard_rows", "to_table"]
