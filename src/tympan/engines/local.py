"""The local engine: the batch function in this process, shard after shard."""

from __future__ import annotations

from collections.abc import Callable

from tympan.data.loading import progress_bar
from tympan.engines.shards import Output, optional, shard_rows, to_table


def run_local(make_batch: Callable, kind: str, sources: list[str], shards: list[int], output: Output,
              *, batch_size: int, progress: bool = True) -> None:
    """Compute and write ``shards`` of ``output``: ``make_batch()`` builds the batch function
    (the model is loaded once, and only when there is work), called ``batch_size`` inputs at a
    time; each shard is written as soon as its rows are done."""
    if not shards:
        return
    pa = optional("pyarrow")
    fn = make_batch()
    size = output.manifest["shard_size"]
    total = sum(len(shard_rows(k, inputs=len(sources), shard_size=size)) for k in shards)
    bar = progress_bar(total, kind) if progress else None
    try:
        for k in shards:
            rows = shard_rows(k, inputs=len(sources), shard_size=size)
            parts = []
            for start in range(rows.start, rows.stop, batch_size):
                index = list(range(start, min(rows.stop, start + batch_size)))
                parts.append(to_table(fn({"index": index, "source": [sources[i] for i in index]}), kind))
                if bar is not None:
                    bar.update(len(index))
            output.write(k, pa.concat_tables(parts))
    finally:
        if bar is not None:
            bar.close()


__all__ = ["run_local"]
