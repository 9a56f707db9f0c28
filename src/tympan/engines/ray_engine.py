"""The Ray engine: the batch function in a pool of Ray actors, rows streamed back to the driver.

``ray.data.from_items`` holds the inputs still to do (``index``, ``source``);
``map_batches`` runs :class:`ArrowBatch` (a callable class: each actor builds the batch function
once, so the model is loaded once per actor) over an actor pool of ``workers`` actors, one CPU
each (default: one per CPU of the cluster); the driver takes the rows as they come
(``iter_batches``), gathers them per shard and writes each shard with the local engine's writer
(:class:`tympan.engines.shards.Output`) as soon as all its rows are in.  So the rows, the files
and the resume logic are those of the local engine.

The workers read the files themselves: on a cluster of several machines every path must be
readable on every node (a shared filesystem, or the same mount everywhere), and tympan
installed on each.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import numpy as np

from tympan.data.loading import progress_bar
from tympan.engines.shards import Output, optional, schema, shard_rows, to_table
from tympan.errors import ParameterError, TympanError

#: Restarts of a worker that died (a decoder crash, out of memory) and retries of its batch.
#: Ray Data's default is without limit (-1), which loops for ever on a file that kills every
#: worker that reads it; past this the job stops, keeping the shards written.
RETRIES = 2


class ArrowBatch:
    """The batch function of ``kind`` (``"predict"``: :class:`~tympan.engines.batch.PredictBatch`,
    ``"features"``: :class:`~tympan.engines.batch.FeatureBatch`) built with ``options``, taking
    and giving pyarrow Tables (the output in the schema of :func:`tympan.engines.shards.schema`)."""

    def __init__(self, kind: str, options: dict):
        from tympan.engines.batch import FeatureBatch, PredictBatch

        self.kind = kind
        self.fn = PredictBatch(**options) if kind == "predict" else FeatureBatch(**options)

    def __call__(self, table):
        return to_table(self.fn(table.to_pydict()), self.kind)


def cluster_cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _blocks(pa, index: np.ndarray, sources: list[str], *, pool: int, batch_size: int) -> list:
    """The inputs to do as Arrow tables (``index``, ``source``): Ray's blocks.  Enough of them for
    every actor to start at once (a block is one actor's work at a time), at most 1000 (each
    block is a task to schedule), none empty."""
    n = min(len(index), max(2 * pool, min(-(-len(index) // batch_size), 1000)))
    return [pa.table({"index": part, "source": [sources[i] for i in part]})
            for part in np.array_split(index, n)]


def _reachable(address: str | None, timeout: float = 5.0) -> None:
    """Refuse at once a ``HOST:PORT`` where nothing listens (Ray itself retries for minutes)."""
    host, sep, port = (address or "").rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # None, "auto", "ray://...": Ray's to resolve
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ParameterError(f"cannot join the Ray cluster at address={address!r}: nothing answers "
                             f"there ({exc}); start it with `ray start --head` and give the address "
                             "it prints") from exc


@contextlib.contextmanager
def connected(address: str | None = None, *, workers: int | None = None) -> Iterator:
    """Ray, connected for a job.  A process already connected (``ray.init``) keeps that
    connection (``address`` is then not used); else this joins ``address`` (``None``: the cluster
    ``ray start`` runs on this machine, else a local one started here) and disconnects (stopping
    a local one) at the end.  ``workers`` more than the cluster's CPUs is refused (the actor pool
    would wait for CPUs that never come)."""
    ray = optional("ray")
    optional("ray.data")
    started = not ray.is_initialized()
    if started:
        _reachable(address)
        try:
            ray.init(address=address or None, include_dashboard=False, ignore_reinit_error=True,
                     log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:  # no cluster there, a bad address
            raise ParameterError(f"cannot join the Ray cluster at address={address!r}: {exc}") from exc
    try:
        cpus = cluster_cpus(ray)
        if workers is not None and workers > cpus:
            raise ParameterError(f"workers={workers} but the Ray cluster has {cpus} CPU(s): each "
                                 "worker takes one; give at most that many or add nodes")
        yield ray
    finally:
        if started:
            ray.shutdown()


def run_ray(ray, kind: str, options: dict, sources: list[str], shards: list[int], output: Output, *,
            batch_size: int, workers: int | None = None, progress: bool = True) -> None:
    """Compute and write ``shards`` of ``output`` on the cluster ``ray`` is connected to
    (:func:`connected`)."""
    if not shards:
        return
    pa = optional("pyarrow")
    context = ray.data.DataContext.get_current()
    shown = context.enable_progress_bars
    context.enable_progress_bars = False  # the driver's own bar counts the rows
    try:
        size = output.manifest["shard_size"]
        todo = {k: shard_rows(k, inputs=len(sources), shard_size=size) for k in shards}
        index = np.fromiter((i for rows in todo.values() for i in rows), np.int64)
        pool = workers or cluster_cpus(ray)
        ds = ray.data.from_arrow(_blocks(pa, index, sources, pool=pool, batch_size=batch_size))
        ds = ds.map_batches(ArrowBatch, fn_constructor_kwargs={"kind": kind, "options": options},
                            batch_size=batch_size, batch_format="pyarrow",
                            compute=ray.data.ActorPoolStrategy(size=pool), num_cpus=1,
                            max_restarts=RETRIES, max_task_retries=RETRIES)
        target = schema(kind)
        columns = target.names
        pending: dict[int, list] = {k: [] for k in todo}
        counts = dict.fromkeys(todo, 0)
        bar = progress_bar(len(index), kind) if progress else None
        try:
            batches = ds.iter_batches(batch_size=None, batch_format="pyarrow")
            for table in _worker_failures(ray, batches, output):
                shard = np.asarray(table.column("index")) // size
                for k in np.unique(shard):
                    k = int(k)
                    part = table.filter(pa.array(shard == k))
                    pending[k].append(part)
                    counts[k] += part.num_rows
                    if counts[k] == len(todo[k]):  # every row of shard k is in: write it
                        parts = [t.select(columns).cast(target) for t in pending.pop(k)]
                        output.write(k, pa.concat_tables(parts).sort_by("index"))
                if bar is not None:
                    bar.update(table.num_rows)
        finally:
            if bar is not None:
                bar.close()
        if pending:  # cannot happen unless Ray lost rows: say so rather than leave a gap
            raise TympanError(f"the Ray job ended without every row of shards {sorted(pending)} "
                              f"of {output.out}: run it again with --resume")
    finally:
        context.enable_progress_bars = shown


def _worker_failures(ray, batches, output: Output):
    """``batches``, with a job that Ray gave up on (a worker died ``RETRIES + 1`` times on one
    batch) turned into one TympanError saying what is kept and how to go on."""
    try:
        yield from batches
    except ray.exceptions.RayError as exc:
        cause = " ".join(str(exc).split())[:300]
        raise TympanError(f"the Ray job stopped: a worker failed {RETRIES + 1} times on one batch "
                          f"(a file that crashes its reader, or memory): {cause}. The shards "
                          f"written are kept in {output.out}; --resume redoes the others") from None


__all__ = ["ArrowBatch", "cluster_cpus", "connected", "run_ray"]
