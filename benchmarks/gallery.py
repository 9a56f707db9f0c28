"""Draw the figures of ``docs/gallery.md`` from the real recordings in ``../shared/data``.

    .venv/bin/python benchmarks/gallery.py            # writes docs/gallery/*.png
    .venv/bin/python benchmarks/gallery.py --out /tmp/gallery

The classifier figures (training curves, confusion matrix, prediction timeline) come from
``runs/demo`` when it exists (``tympan demo`` writes it) and otherwise from a small run trained
here on the bundled FSDD digits for a few epochs.  PNGs are written at 90 dpi (68 for the noisy
spectrograms), each under 150 KB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from tympan import data, io
from tympan import plot as tplot

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DPI = 90
WINDOW, HOP = 0.75, 0.25  # the prediction timeline's windows (s)


def _demo_run(work: Path) -> Path:
    """``runs/demo``, or a small classifier trained here (speaker theo held out, 4 epochs)."""
    demo = ROOT / "runs" / "demo"
    if (demo / "pipeline.json").is_file():
        return demo
    from tympan import pipeline

    config = pipeline.PipelineConfig(training=pipeline.TrainConfig(epochs=4))
    out = work / "gallery-run"
    pipeline.train(data.demo_dir(), config, discovery={"labels_from": "regex", "pattern": "fsdd"},
                   split_options={"test_groups": ["theo"]}, out=out, overwrite=True, verbose=0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "gallery")
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def save(fig, name: str, dpi: float = DPI) -> None:
        path = tplot.save_figure(fig, out / name, overwrite=True, dpi=dpi)
        print(f"{path}  {path.stat().st_size / 1024:.0f} KB")

    # one spoken digit (FSDD, 8 kHz)
    digit, sr = io.load(SHARED / "fsdd" / "recordings" / "7_jackson_0.wav")
    save(tplot.plot_waveform(digit, sr, title="FSDD '7' (jackson): waveform"), "digit_waveform.png")
    save(tplot.plot_spectrum(digit, sr, scale="log", title="FSDD '7': FFT magnitude, log frequency"),
         "digit_spectrum.png")
    save(tplot.plot_spectrogram(digit, sr, title="FSDD '7': spectrogram"), "digit_spectrogram.png")
    save(tplot.plot_mel(digit, sr, n_mels=40, title="FSDD '7': mel spectrogram"), "digit_mel.png")
    save(tplot.plot_mfcc(digit, sr, n_mfcc=13, n_mels=40, title="FSDD '7': MFCC"), "digit_mfcc.png")
    save(tplot.plot_scalogram(digit, sr, n_bins=48, fmin=60.0, title="FSDD '7': Morlet scalogram"),
         "digit_scalogram.png")

    # an EMO-DB sentence (22.05 kHz) with its phone alignment as vowel / consonant / pause
    from tympan.segment.truth import class_intervals, read_lablaut

    speech, sr_e = io.load(SHARED / "emodb" / "wav" / "03a01Fa.wav")
    save(tplot.plot_cqt(speech, sr_e, title="EMO-DB 03a01Fa (happy): constant-Q transform"),
         "emodb_cqt.png")
    save(tplot.plot_chroma(speech, sr_e, title="EMO-DB 03a01Fa: chroma"), "emodb_chroma.png")
    phones = read_lablaut(SHARED / "emodb" / "lablaut" / "03a01Faxx.lablaut",
                          duration=len(speech) / sr_e)
    classes = class_intervals(phones, alphabet="emodb")
    classes.insert(0, (0.0, classes[0][0], "pause"))  # before the first label: silence
    save(tplot.plot_segments(speech, sr_e, classes,
                             title="EMO-DB 03a01Fa: vowels, consonants, pauses (hand alignment)"),
         "emodb_segments_waveform.png")
    save(tplot.plot_segments(speech, sr_e, classes, on="spectrogram",
                             title="EMO-DB 03a01Fa: the same segments over the spectrogram"),
         "emodb_segments_spectrogram.png")

    # a NOIZEUS sentence, clean and in babble noise at 5 dB SNR, on shared axes
    from matplotlib.figure import Figure

    clean, sr_n = io.load(SHARED / "noizeus" / "clean" / "sp01.wav")
    noisy, _ = io.load(SHARED / "noizeus" / "noisy" / "babble_5dB" / "sp01_babble_sn5.wav")
    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    tplot.plot_spectrogram(clean, sr_n, hop_length=128, ax=top, title="NOIZEUS sp01, clean")
    tplot.plot_spectrogram(noisy, sr_n, hop_length=128, ax=bottom,
                           title="NOIZEUS sp01, babble noise at 5 dB SNR")
    top.set_xlabel("")
    save(fig, "noizeus_clean_vs_noisy.png", dpi=68)  # noise compresses badly: keep it < 150 KB
    fig = Figure(figsize=(8.0, 4.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, sharey=True)
    tplot.plot_waveform(clean, sr_n, ax=top, title="NOIZEUS sp01, clean (min/max envelope)")
    tplot.plot_waveform(noisy, sr_n, ax=bottom, title="babble noise at 5 dB SNR")
    top.set_xlabel("")
    save(fig, "noizeus_waveforms.png")

    # the classifier: training curves, confusion matrix, a prediction timeline
    import tempfile

    from tympan import pipeline

    with tempfile.TemporaryDirectory() as work:
        run = _demo_run(Path(work))
        print(f"classifier: {run}")
        save(tplot.plot_history(run), "run_curves.png")
        save(tplot.plot_confusion(run), "run_confusion.png")
        # five digits of a speaker the demo model never heard, 0.4 s apart
        names = ["3_theo_40.wav", "1_theo_41.wav", "4_theo_42.wav", "1_theo_43.wav", "5_theo_44.wav"]
        pause = np.zeros(int(0.4 * 8000), dtype=np.float32)
        parts = []
        for name in names:
            y, _ = io.load(SHARED / "fsdd" / "recordings" / name, sr=8000)
            parts += [y, pause]
        long = np.concatenate(parts)
        prediction = pipeline.predict(run, long, sr=8000, window_sec=WINDOW, hop_sec=HOP)[0]
        save(tplot.plot_prediction(long, 8000, prediction,
                                   title=f"digits 3 1 4 1 5 (theo, held out): {WINDOW} s windows "
                                         f"every {HOP} s"),
             "run_timeline.png")
    print(f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
