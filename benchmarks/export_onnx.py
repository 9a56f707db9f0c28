"""ONNX export of a trained FSDD artifact: export time, file sizes, and how far onnxruntime's
outputs are from the Keras model's (the artifact's own backend, jax) on real recordings.

* trains a digit classifier on FSDD (``--recipe``: ``default``, the recipe chosen from the data,
  or ``mel``, conv1d on log-mels with FSDD's n_fft 256 / hop 80), unless ``--run`` names an
  artifact;
* exports it with :func:`tympan.export.export_onnx` (a child process on Keras's torch backend;
  the wall time includes starting it, the export time printed is the exporter's alone);
* runs ``model.onnx`` in onnxruntime and the Keras model on the held-out speaker's clips at batch
  ``--batch`` and 1, and prints the largest absolute difference, whether the labels agree, and
  the time of one batch in each.

Run (needs torch and ``pip install "tympan[onnx]"``)::

    .venv/bin/python benchmarks/export_onnx.py --recipe mel --epochs 3
    .venv/bin/python benchmarks/export_onnx.py --run runs/demo
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FSDD = ROOT.parent / "shared" / "data" / "fsdd" / "recordings"


def train(recipe: str, epochs: int, out: Path) -> Path:
    import tympan  # noqa: F401
    from tympan import pipeline

    config = None
    if recipe == "mel":
        config = pipeline.PipelineConfig(model={"name": "conv1d"}, features={"kind": "mel"},
                                         training=pipeline.TrainConfig(epochs=epochs))
    dataset = out.parent / "fsdd"
    dataset.mkdir()
    for path in sorted(FSDD.glob("*.wav")):
        _, speaker, take = path.stem.split("_")
        if speaker in ("jackson", "nicolas", "theo") and int(take) < 10:
            shutil.copy(path, dataset / path.name)
    pipeline.train(dataset, config, discovery={"labels_from": "regex", "pattern": "fsdd"},
                   split="group", split_options={"test_groups": ["theo"]}, out=out, verbose=0,
                   progress=False)
    return out


def timed(fn, repeats: int = 20) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="An artifact to export (default: train one).")
    parser.add_argument("--recipe", choices=["default", "mel"], default="default")
    parser.add_argument("--epochs", type=int, default=3, help="For --recipe mel.")
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()

    import numpy as np
    import onnxruntime as ort

    import tympan  # noqa: F401
    from tympan import io, pipeline
    from tympan.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            t0 = time.perf_counter()
            run = train(args.recipe, args.epochs, Path(tmp) / "run")
            print(f"trained {args.recipe} in {time.perf_counter() - t0:.1f} s")
        out = Path(tmp) / "model.onnx"
        t0 = time.perf_counter()
        result = export_onnx(run, out=out)
        wall = time.perf_counter() - t0
        artifact = pipeline.load_artifact(run)
        print(f"model: {artifact.config.model['name']} on {artifact.config.features['kind']}")
        print(f"export: {result.seconds:.1f} s in the exporter, {wall:.1f} s wall (child process, "
              f"load, check); {result.dft_nodes} DFT node(s) in float64")
        print(f"size: model.keras {(Path(run) / 'model.keras').stat().st_size / 1e6:.3f} MB, "
              f"model.onnx {result.size / 1e6:.3f} MB")
        print(f"check: max |onnx - keras(torch)| {result.max_abs_diff:.3g} on {result.checked} inputs")

        n, sr = artifact.config.audio.samples, artifact.config.audio.sr
        files = sorted(FSDD.glob("*_theo_4*.wav"))[: args.batch]
        x = np.zeros((len(files), n), np.float32)
        for i, f in enumerate(files):
            y = io.load(f, sr=sr)[0][:n]
            x[i, : len(y)] = y
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        keras_out = np.asarray(artifact.model.predict(x, verbose=0))
        for b in (len(x), 1):
            got = session.run(None, {"waveform": x[:b]})[0]
            diff = float(np.abs(got - keras_out[:b]).max())
            same = bool((got.argmax(-1) == keras_out[:b].argmax(-1)).all())
            print(f"batch {b:3d}: max |onnx - keras({artifact.info.get('backend', '?')})| {diff:.3g}, "
                  f"labels equal: {same}")
        ms_onnx = timed(lambda: session.run(None, {"waveform": x}))
        ms_keras = timed(lambda: artifact.model.predict(x, verbose=0))
        print(f"one batch of {len(x)}: onnxruntime {ms_onnx:.1f} ms, keras predict {ms_keras:.1f} ms")


if __name__ == "__main__":
    main()
