"""The batch jobs: predictions or features of many files, as a folder of Parquet shards.

:func:`predict_to_parquet` and :func:`features_to_parquet` expand the sources
(:mod:`tympan.engines.inputs`), open the output folder (:class:`~tympan.engines.shards.Output`:
what a resume skips), and hand the shards still to do to an engine: ``"local"`` (this process,
:mod:`tympan.engines.local`) or ``"ray"`` (a Ray cluster, :mod:`tympan.engines.ray_engine`).
Both call the same batch function (:mod:`tympan.engines.batch`), so the rows are the same.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from tympan.artifact_files import MODEL_FILE, ONNX_FILE
from tympan.engines.batch import FeatureBatch, PredictBatch, feature_config
from tympan.engines.config import RUNTIMES, EngineConfig
from tympan.engines.inputs import input_list
from tympan.engines.shards import Output, inputs_digest, optional
from tympan.errors import ParameterError


def _engine_config(engine, shard_size, batch_size, workers) -> EngineConfig:
    given = {k: x for k, x in {"engine": engine, "shard_size": shard_size, "batch_size": batch_size,
                               "workers": workers}.items() if x is not None}
    return EngineConfig(**given)


def _model_identity(run, runtime: str = "keras") -> dict:
    """The artifact's path and the SHA-256 of the model file the runtime runs (model.keras, or
    model.onnx for ``runtime="onnx"``, which needs no model.keras): what a resume checks, the
    same model wherever it lies now."""
    from tympan.export.onnx_export import file_sha256

    folder = Path(run)
    name = ONNX_FILE if runtime == "onnx" else MODEL_FILE
    model = folder / name
    if not model.is_file():
        hint = f" (run `tympan export {folder}` first)" if runtime == "onnx" else ""
        raise ParameterError(f"'{folder}' is not an artifact folder for the {runtime} runtime: it has "
                             f"no {name}{hint}")
    return {"artifact": os.path.abspath(folder), "model_sha256": file_sha256(model)}


def _run(kind: str, make_options: dict, sources, out, config: EngineConfig, manifest: dict, *,
         address, resume, overwrite, progress) -> dict:
    started = time.perf_counter()
    optional("pyarrow")  # the extras first: a missing one makes no folder
    optional("pyarrow.parquet")
    if config.engine == "ray":
        optional("ray.data")
    inputs = input_list(sources)
    output = Output(out, {**manifest, "kind": kind, "engine": config.engine, "inputs": len(inputs),
                          "inputs_sha256": inputs_digest(inputs), "shard_size": config.shard_size})
    earlier = output.check(resume=resume, overwrite=overwrite)  # refusals before any work
    fresh = not earlier  # a folder this job makes (or an empty one): undone if it fails at once
    created = not output.out.exists()
    try:
        todo = _engine_run(kind, make_options, inputs, output, config, address=address, resume=resume,
                           overwrite=overwrite, progress=progress)
    except BaseException:
        if fresh:
            output.discard(created=created)
        raise
    size = config.shard_size
    rows = sum(min(len(inputs), (k + 1) * size) - k * size for k in todo)
    return {"out": str(out), "inputs": len(inputs), "rows_written": rows, "errors": output.errors(),
            "shards": output.shards, "shards_written": len(todo),
            "shards_skipped": output.shards - len(todo), "engine": config.engine,
            "seconds": round(time.perf_counter() - started, 3)}


def _engine_run(kind: str, make_options: dict, inputs: list[str], output: Output, config: EngineConfig,
                *, address, resume, overwrite, progress) -> list[int]:
    """Open the output and compute its shards still to do on the configured engine; those shards.
    With ``overwrite`` the model loads here first (on Ray, as a check): one that fails keeps the
    earlier job's shards, which opening the output removes."""
    factory = PredictBatch if kind == "predict" else FeatureBatch
    make = lambda: factory(**make_options)  # noqa: E731
    if overwrite:
        batch = make()
        make = lambda: batch  # noqa: E731
    if config.engine == "ray":
        from tympan.engines.ray_engine import connected, run_ray

        make = batch = None  # the check's model: the workers load their own
        with connected(address, workers=config.workers) as ray:  # before the folder is touched
            todo = output.open(resume=resume, overwrite=overwrite)
            run_ray(ray, kind, make_options, inputs, todo, output, batch_size=config.batch_size,
                    workers=config.workers, progress=progress)
    else:
        if address is not None or config.workers is not None:
            raise ParameterError("address and workers are options of the ray engine (engine='ray'), "
                                 f"got address={address!r}, workers={config.workers!r} with the local one")
        from tympan.engines.local import run_local

        todo = output.open(resume=resume, overwrite=overwrite)
        run_local(make, kind, inputs, todo, output, batch_size=config.batch_size, progress=progress)
    return todo


def predict_to_parquet(run, sources, *, out, engine: str | None = None, address: str | None = None,
                       workers: int | None = None, resume: bool = False, overwrite: bool = False,
                       runtime: str = "keras", shard_size: int | None = None,
                       window_sec: float | None = None, hop_sec: float | None = None,
                       combine: str | None = None, batch_size: int | None = None,
                       progress: bool = True) -> dict:
    """The predictions of the artifact ``run`` for every input of ``sources`` (files, folders,
    lists of paths: :func:`tympan.engines.inputs.input_list`), one row each, written to the
    folder ``out`` as Parquet shards (:mod:`tympan.engines.shards`; the columns:
    :class:`~tympan.engines.batch.PredictBatch`).

    engine ``"local"`` (default, :class:`~tympan.engines.config.EngineConfig`) or ``"ray"``: the
    Ray cluster at ``address`` (default: the one this process is connected to, else a local one
    started for the job), ``workers`` actors (default: one per CPU).  ``resume`` keeps the
    shards an earlier run of the same job wrote; ``overwrite`` replaces an earlier output.
    ``runtime``, ``window_sec``, ``hop_sec`` and ``combine`` as ``tympan predict`` takes them.

    A file that cannot be read is a row with its ``error``, never a failed job.  Returns a
    summary: ``inputs``, ``rows_written``, ``errors`` (rows with an error in the whole output),
    ``shards``, ``shards_written``, ``shards_skipped``, ``seconds``.
    """
    config = _engine_config(engine, shard_size, batch_size, workers)
    if runtime not in RUNTIMES:
        raise ParameterError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    options = {"window_sec": window_sec, "hop_sec": hop_sec, "combine": combine}
    manifest = {**_model_identity(run, runtime), "runtime": runtime, "options": options}
    make = {"run": os.path.abspath(run), "runtime": runtime, **options}
    return _run("predict", make, sources, out, config, manifest, address=address, resume=resume,
                overwrite=overwrite, progress=progress)


def features_to_parquet(sources, *, out, kind: str | None = None, engine: str | None = None,
                        embedding=None, address: str | None = None, workers: int | None = None,
                        resume: bool = False, overwrite: bool = False, shard_size: int | None = None,
                        batch_size: int | None = None, progress: bool = True,
                        **feature_options) -> dict:
    """The features of every input of ``sources`` (``kind`` and ``feature_options``:
    :class:`~tympan.engines.config.FeatureConfig`, default log-mel at 16 kHz), or with
    ``embedding=RUN`` the embedding of the classifier in ``RUN``, written to the folder ``out``
    as Parquet shards (columns: :class:`~tympan.engines.batch.FeatureBatch`).  The engines,
    ``resume``, ``overwrite`` and the summary returned: :func:`predict_to_parquet`."""
    config = _engine_config(engine, shard_size, batch_size, workers)
    options = {k: x for k, x in {"kind": kind, **feature_options}.items() if x is not None}
    if embedding is not None:
        if options:
            raise ParameterError("an embedding reads the audio as its model was trained (the "
                                 f"artifact's sr and duration); drop {sorted(options)}")
        manifest = {**_model_identity(embedding), "options": {"embedding": True}}
        make = {"embedding": os.path.abspath(embedding)}
    else:
        features = feature_config(**options)  # bad options fail here, before any folder is made
        manifest = {"model_sha256": None, "options": dataclasses.asdict(features)}
        make = options
    return _run("features", make, sources, out, config, manifest, address=address, resume=resume,
                overwrite=overwrite, progress=progress)


__all__ = ["features_to_parquet", "predict_to_parquet"]
