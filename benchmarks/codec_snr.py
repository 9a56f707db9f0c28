"""How faithfully does ``tympan.io`` (libsndfile + mpg123/LAME) decode and encode MP3?

1. Decoding: each MPEG conformance bitstream in ``../shared/data/codecs/minimp3`` (``.bit``)
   against its reference decode (``.pcm``, 16-bit little-endian interleaved), and pydub's
   ``test1.mp3`` against ``test1.wav``.
2. Encoding: ``save`` -> ``load`` round trips of a real FSDD recording (8 kHz) and an EMO-DB
   recording (22.05 kHz) as MP3 at several constant bitrates and VBR levels, and as Ogg Vorbis.

Decoders may disagree by a delay (encoder delay / padding), so the two signals are aligned by
cross-correlation (lags up to +-4096 samples) before the SNR is taken over their overlap.
LAME scales constant-bitrate output by about 0.95 (-0.45 dB of headroom), which caps the plain
SNR near 26 dB; the round-trip table also gives the gain and the SNR after matching it.
Prints Markdown tables (pasted into docs/io.md).  Run from the project root::

    python benchmarks/codec_snr.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from tympan import io
from tympan.dsp.metrics import align, snr_db
from tympan.errors import AudioIOError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def as_2d(y: np.ndarray) -> np.ndarray:
    return y[None, :] if y.ndim == 1 else y


def reference_rows() -> list[tuple]:
    rows = []
    for bit in sorted((DATA / "codecs" / "minimp3").glob("*.bit")):
        try:
            meta = io.info(bit)
            y, sr = io.load(bit, mono=False, dtype="float64")
        except AudioIOError as exc:
            rows.append((bit.name, "-", "-", "-", "-", "-", "-", f"not decoded: {exc}"))
            continue
        y = as_2d(y)
        pcm = np.fromfile(bit.with_suffix(".pcm"), dtype="<i2").astype(np.float64) / 32768
        ref = pcm.reshape(-1, y.shape[0]).T
        lag, r, e = align(ref, y)
        cover = e.shape[1] / ref.shape[1]
        rows.append((bit.name, meta.subtype.replace("MPEG_", ""), sr, y.shape[0],
                     f"{y.shape[1]} / {ref.shape[1]}", lag, f"{snr_db(r, e):.1f}",
                     "" if cover > 0.99 else f"decoding stops at {100 * cover:.0f} %"))
    mp3, wav = DATA / "codecs" / "pydub" / "test1.mp3", DATA / "codecs" / "pydub" / "test1.wav"
    y, sr = io.load(mp3, mono=False, dtype="float64")
    ref, _ = io.load(wav, mono=False, dtype="float64")
    lag, r, e = align(as_2d(ref), as_2d(y))
    rows.append(("pydub test1.mp3 vs test1.wav", "LAYER_III", sr, as_2d(y).shape[0],
                 f"{as_2d(y).shape[1]} / {as_2d(ref).shape[1]}", lag, f"{snr_db(r, e):.1f}", ""))
    return rows


def roundtrip_rows() -> list[tuple]:
    cases = [
        (DATA / "fsdd" / "recordings" / "3_jackson_0.wav",
         [("mp3", {"bitrate": b}) for b in (16, 32, 64)]
         + [("mp3", {"compression_level": c}) for c in (0.0, 0.5)]
         + [("ogg", {"compression_level": c}) for c in (0.0, 0.5, 1.0)]),
        (DATA / "emodb" / "wav" / "03a01Nc.wav",
         [("mp3", {"bitrate": b}) for b in (32, 64, 128, 160)]
         + [("mp3", {"compression_level": c}) for c in (0.0, 0.5)]
         + [("ogg", {"compression_level": c}) for c in (0.0, 0.5, 1.0)]),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, settings in cases:
            x, sr = io.load(path, dtype="float64")
            for ext, kw in settings:
                out = Path(tmp) / f"rt.{ext}"
                io.save(out, x, sr, **kw)
                y, _ = io.load(out, dtype="float64")
                lag, r, e = align(as_2d(x), as_2d(y))
                gain = float(np.sum(r * e) / np.sum(r * r))
                kbps = out.stat().st_size * 8 / (len(x) / sr) / 1000
                setting = ", ".join(f"{k}={val}" for k, val in kw.items())
                rows.append((f"{path.parent.parent.name}/{path.name}", sr, ext.upper(), setting,
                             f"{kbps:.0f}", f"{len(y)} / {len(x)}", lag, f"{snr_db(r, e):.1f}", f"{gain:.3f}",
                             f"{snr_db(gain * r, e):.1f}"))
    return rows


def table(header: tuple, rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    print("## MP3 decoding vs reference decodes\n")
    print(table(("file", "layer", "sr", "channels", "frames (ours / ref)", "lag", "SNR dB",
                 "note"), reference_rows()))
    print("\n## Write -> read round trips\n")
    print(table(("recording", "sr", "format", "setting", "kbit/s (file)", "frames (out / in)",
                 "lag", "SNR dB", "gain", "SNR dB, gain-matched"), roundtrip_rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
