"""Writing audio files: :func:`save` (atomic: a temporary file renamed over the target)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from tympan import _validate as v
from tympan.atomic import replacing
from tympan.errors import ParameterError
from tympan.io.decoding import FORMATS, fail, fspath

_DEFAULT_SUBTYPE = {"OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}
_LOSSY_OR_FLOAT = {"FLOAT", "DOUBLE", "VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II",
                   "MPEG_LAYER_III"}
# Sample rates LAME encodes (MPEG-1, 2 and 2.5).
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def save(path: str | os.PathLike, y: np.ndarray, sr: int, *, format: str | None = None,
         subtype: str | None = None, bitrate: int | None = None,
         compression_level: float | None = None, clip: bool = False) -> None:
    """Write ``y`` (float, ``(samples,)`` or ``(channels, samples)``) to ``path`` atomically.

    The data go to a temporary file in the same folder, renamed over ``path`` only when
    complete, so an existing file is never left half-written.

    Parameters
    ----------
    format : libsndfile format ("WAV", "FLAC", "OGG", "MP3", ...); by default from the
        extension (.wav .flac .ogg/.oga (Vorbis) .opus .mp3 .aif/.aiff .au .caf .w64 .rf64).
    subtype : the sample encoding, soundfile's names: "PCM_16" (default for WAV/FLAC/AIFF),
        "PCM_24", "PCM_32", "FLOAT", "DOUBLE"; "VORBIS"/"OPUS" for Ogg; MP3 is "MPEG_LAYER_III".
    bitrate : MP3 only, constant bitrate in kbit/s: 32-320 at 32-48 kHz, 8-160 at 16-24 kHz,
        8-64 below 16 kHz (LAME rounds to the nearest standard rate).
    compression_level : 0.0 (best quality, largest) to 1.0 (smallest) for MP3 (variable
        bitrate), Ogg Vorbis/Opus and FLAC (effort only; FLAC stays lossless).
    clip : integer encodings (PCM, u-law, ...) cannot hold values beyond [-1, 1]: by default
        such data raise ParameterError naming the peak; ``clip=True`` clips them instead.

    Integer arrays are refused: convert PCM codes to floats first (``y / 2**(bits - 1)``, which
    round-trips bit-exactly through PCM_16 and PCM_24).
    """
    p = fspath(path)
    sr = v.positive_int("sr", sr)
    y = v.valid_audio(y)
    if y.ndim > 2:
        raise ParameterError(f"y must be (samples,) or (channels, samples), got shape {y.shape}")
    if y.ndim == 2 and y.shape[0] > y.shape[1]:
        raise ParameterError(f"y has more channels ({y.shape[0]}) than samples ({y.shape[1]}); "
                             "pass (channels, samples), e.g. y.T")
    if format is None:
        ext = Path(p).suffix.lower()
        if ext not in FORMATS:
            raise fail(p, f"unsupported extension {ext!r} (supported: "
                           f"{', '.join(sorted(FORMATS))}); or pass format=", "write")
        fmt = FORMATS[ext]
        if ext == ".opus" and subtype is None:
            subtype = "OPUS"
    else:
        fmt = v.choice("format", str(format).upper(), sorted(sf.available_formats()))
    subtype = str(subtype).upper() if subtype is not None else _DEFAULT_SUBTYPE.get(fmt, "PCM_16")
    v.choice("subtype", subtype, sorted(sf.available_subtypes(fmt)))
    if not sf.check_format(fmt, subtype):
        raise ParameterError(f"subtype {subtype!r} cannot be written in format {fmt!r}")
    if fmt == "MP3" and y.ndim == 2 and y.shape[0] > 2:
        raise ParameterError(f"y must have 1 or 2 channels for MP3, got {y.shape[0]}")
    if y.dtype not in (np.float32, np.float64):  # float16, longdouble: what libsndfile takes
        y = y.astype(np.float64)
    kwargs = _lossy_options(fmt, subtype, sr, bitrate, compression_level)
    if subtype not in _LOSSY_OR_FLOAT and y.size:
        peak = float(np.max(np.abs(y)))
        if peak > 1.0:
            if not clip:
                raise ParameterError(
                    f"y peaks at {peak:.6g}, beyond [-1, 1], and {subtype} would clip it: "
                    f"scale it (e.g. y / {peak:.6g}), save as subtype='FLOAT', or pass clip=True")
            y = np.clip(y, -1.0, 1.0)
    _write_atomic(p, y.T if y.ndim == 2 else y, sr, fmt, subtype, kwargs)


def _lossy_options(fmt: str, subtype: str, sr: int, bitrate: Any, level: Any) -> dict:
    if fmt == "MP3" and sr not in _MP3_RATES:
        raise ParameterError(f"sr must be one of {_MP3_RATES} for MP3, got {sr!r}")
    if bitrate is not None and level is not None:
        raise ParameterError("pass either bitrate or compression_level, not both")
    if bitrate is not None:
        if fmt != "MP3":
            raise ParameterError(f"bitrate must be None for format {fmt!r} (MP3 only), "
                                 f"got {bitrate!r}")
        lo, hi = (32, 320) if sr >= 32000 else (8, 160) if sr >= 16000 else (8, 64)
        kbps = v.positive_int("bitrate", bitrate)
        if not lo <= kbps <= hi:
            raise ParameterError(f"bitrate must be in [{lo}, {hi}] kbit/s at {sr} Hz, "
                                 f"got {bitrate!r}")
        # libsndfile maps the level linearly onto [lo, hi] and truncates: aim half a kbps above.
        level = min(max((hi - kbps - 0.5) / (hi - lo), 0.0), 1.0)
        return {"compression_level": level, "bitrate_mode": "CONSTANT"}
    if level is None:
        return {}
    level = v.non_negative_number("compression_level", level)
    if level > 1.0 or not (fmt in ("MP3", "FLAC") or subtype in ("VORBIS", "OPUS")):
        raise ParameterError(f"compression_level must be in [0, 1] and for MP3, Ogg or FLAC "
                             f"(format {fmt!r}), got {level!r}")
    if fmt == "MP3":  # LAME's VBR quality is level * 10, valid below 10
        return {"compression_level": min(level, 0.999), "bitrate_mode": "VARIABLE"}
    return {"compression_level": level}


def _write_atomic(p: str, data: np.ndarray, sr: int, fmt: str, subtype: str,
                  kwargs: dict) -> None:
    target = Path(p)
    if target.is_dir():
        raise fail(p, "it is a directory", "write")
    if not target.parent.is_dir():
        raise fail(p, f"the folder '{target.parent}' does not exist", "write")
    try:
        with replacing(target) as (tmp,):
            sf.write(tmp, data, sr, subtype=subtype, format=fmt, **kwargs)
    except (RuntimeError, OSError, ValueError) as exc:
        raise fail(p, f"{getattr(exc, 'strerror', None) or exc}", "write") from exc
