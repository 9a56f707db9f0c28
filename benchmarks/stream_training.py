"""Training throughput from the stream (:class:`tympan.pipeline.streaming.ClipStream`) against
the same training on clips loaded in memory, on a dataset that fits in memory.

What is measured
----------------
``--clips`` FSDD recordings (default 1500: every second file of ``../shared/data/fsdd``,
8 kHz, fitted to 1 s), the default ``conv1d`` classifier (log-mel front end, augmentation on,
as ``tympan train`` builds it), Adam, batch 32, one model per way, both from the same seed:

* **in memory**: :func:`tympan.data.load_clips` once (timed apart), then epochs over the array;
* **stream**: a ``ClipStream`` over the same clips, ``--workers`` threads (default 2) reading,
  decoding, resampling and fitting the next batches while the model trains, each epoch in a
  new order;
* with ``--keras-enqueuer``, the same stream fed through Keras's own enqueuer instead of its
  read-ahead (``PyDataset(workers=N)``), with threads and with processes
  (``use_multiprocessing``): the ways the stream does not take (docs/scale.md).

Each way first runs one warm-up epoch (jax compiles the step) that is not counted; then
``--epochs`` timed epochs (default 3) alternate between the two ways, so that anything else on
the machine slows both alike, each through :func:`tympan.pipeline.driver.fit_model`.
examples/s is the number of training clips over the median epoch time; the ratio is the
stream's over the in-memory one.

Run it (about five minutes on a 2-core machine)::

    nice -n 5 .venv/bin/python benchmarks/stream_training.py --keras-enqueuer
    nice -n 5 .venv/bin/python benchmarks/stream_training.py --clips 300 --epochs 2   # quicker

It prints a Markdown table: way | examples/s | median epoch s | median CPU s per epoch (the
process's, every thread) | ratio to in memory, and the CPU time of reading the clips once.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--keras-enqueuer", action="store_true")
    parser.add_argument("--data", type=Path, default=SHARED)
    args = parser.parse_args(argv)

    import tympan  # noqa: F401  (the jax backend)
    from tympan import data, models
    from tympan.data.loading import load_clip
    from tympan.pipeline import AudioConfig, PipelineConfig, TrainConfig, driver
    from tympan.pipeline.streaming import ClipStream

    files = sorted(args.data.glob("*.wav"))[::2][: args.clips]
    dataset = data.Dataset(tuple(data.Item(p, p.stem.split("_")[0]) for p in files), args.data)
    audio = AudioConfig(sr=8000, duration=1.0)
    training = TrainConfig(batch_size=args.batch_size, seed=0)
    config = driver.resolve_config(PipelineConfig(audio=audio, model={"name": "conv1d"},
                                                  training=training))
    targets = dataset.targets()

    start = time.perf_counter()
    X, _ = data.load_clips(dataset, sr=audio.sr, duration=audio.duration, progress=False)
    load_s = time.perf_counter() - start

    def model_for(waveforms):
        model = driver.build(config, n_classes=len(dataset.labels))
        models.adapt_normalization(model, waveforms)
        driver.compile_model(model, training, loss="sparse_categorical_crossentropy",
                             metrics=["accuracy"])
        return model

    ways = {}
    memory_model = model_for(X)
    ways["in memory"] = lambda: driver.fit_model(memory_model, X, targets, epochs=1,
                                                 batch_size=args.batch_size, verbose=0)
    stream = ClipStream(dataset.items, targets, audio, batch_size=args.batch_size,
                        workers=args.workers)
    start = time.perf_counter()
    stream_model = model_for(stream.waveforms())
    adapt_s = time.perf_counter() - start
    ways[f"stream, {args.workers} threads"] = lambda: driver.fit_model(stream_model, stream,
                                                                      epochs=1, verbose=0)
    if args.keras_enqueuer:  # the stream's own read-ahead off, Keras's enqueuer on
        for name, processes in (("threads", False), ("processes", True)):
            queued = ClipStream(dataset.items, targets, audio, batch_size=args.batch_size,
                                workers=0)
            queued.workers, queued.use_multiprocessing = args.workers, processes
            queued_model = model_for(X)
            ways[f"Keras enqueuer, {args.workers} {name}"] = (
                lambda m=queued_model, q=queued: driver.fit_model(m, q, epochs=1, verbose=0))

    times = {name: [] for name in ways}
    for epoch in ways.values():  # warm-up: compilation
        epoch()
    cpu = {name: [] for name in ways}
    for _ in range(args.epochs):
        for name, epoch in ways.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            epoch()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    start = time.process_time()  # what reading the clips costs, on one thread
    for item in dataset.items:
        load_clip(item, sr=audio.sr, duration=audio.duration)
    decode_cpu = time.process_time() - start

    n = len(dataset)
    base = n / statistics.median(times["in memory"])
    print(f"# stream vs in-memory training, {n} FSDD clips of 1 s at 8 kHz, conv1d, batch "
          f"{args.batch_size}, {args.epochs} timed epochs")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; load_clips {load_s:.1f} s; the stream's "
          f"normalisation pass {adapt_s:.1f} s; command: {' '.join(sys.argv)}")
    print(f"# reading the {n} clips (load_clip, one thread): {decode_cpu:.2f} CPU s; load "
          f"average at the end {os.getloadavg()[0]:.1f}")
    print("| way | examples/s | median epoch s | median CPU s per epoch | ratio to in memory |")
    print("|---|---|---|---|---|")
    for name, ts in times.items():
        rate = n / statistics.median(ts)
        print(f"| {name} | {rate:.0f} | {statistics.median(ts):.2f} | "
              f"{statistics.median(cpu[name]):.2f} | {rate / base:.3f} |")


if __name__ == "__main__":
    main()
