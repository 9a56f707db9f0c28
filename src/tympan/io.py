"""Audio files in and out: :func:`load`, :func:`save`, :func:`info`, :func:`stream`,
:func:`resample` and :func:`to_mono`.

numpy + soundfile (libsndfile) + soxr only.  Arrays follow librosa: a mono signal is 1-D
``(samples,)``, a multichannel one is ``(channels, samples)``, samples are floats in [-1, 1].
Lengths given to :func:`stream` are in samples; offsets and durations are in seconds.

Every failure of a file (missing, a folder, empty, truncated, corrupt, a format libsndfile does
not read) raises :class:`~tympan.errors.AudioIOError` naming the path and the cause; a bad
argument raises :class:`~tympan.errors.ParameterError` naming the argument and its value.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from tympan import _validate as v
from tympan.errors import AudioIOError, ParameterError

__all__ = ["AudioInfo", "info", "load", "resample", "save", "stream", "to_mono"]

#: Format chosen by :func:`save` from the file extension.
FORMATS = {
    ".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3",
    ".aif": "AIFF", ".aiff": "AIFF", ".au": "AU", ".caf": "CAF", ".w64": "W64", ".rf64": "RF64",
}
_DEFAULT_SUBTYPE = {"OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}
_LOSSY_OR_FLOAT = {"FLOAT", "DOUBLE", "VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II",
                   "MPEG_LAYER_III"}
_NOT_LIBSNDFILE = {".m4a": "AAC/ALAC in MP4", ".mp4": "MP4", ".aac": "AAC", ".wma": "WMA",
                   ".webm": "WebM", ".mkv": "Matroska", ".amr": "AMR", ".ac3": "AC-3"}
# Sample rates LAME encodes (MPEG-1, 2 and 2.5).
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_QUALITIES = ("VHQ", "HQ", "MQ", "LQ", "QQ")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`info` reads from a file header (no samples are decoded).

    ``frames`` of an MP3 without a Xing/LAME header is libsndfile's estimate from the bitrate
    and can differ from the decoded length.  ``bit_depth`` is ``None`` for float and lossy data.
    """

    path: str
    format: str
    subtype: str
    sr: int
    channels: int
    frames: int
    duration: float
    bit_depth: int | None

    def __str__(self) -> str:
        depth = "n/a (float or lossy)" if self.bit_depth is None else f"{self.bit_depth} bit"
        return "\n".join([
            f"file:        {self.path}",
            f"format:      {self.format} ({self.subtype})",
            f"sample rate: {self.sr} Hz",
            f"channels:    {self.channels}",
            f"duration:    {self.duration:.3f} s ({self.frames} frames)",
            f"bit depth:   {depth}",
        ])


# --------------------------------------------------------------------------- helpers
def _fspath(path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return os.fspath(path)


def _float_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.name not in ("float32", "float64"):
        raise ParameterError(f"dtype must be one of 'float32', 'float64', got {dtype!r}")
    return dt


def _fail(path: str, cause: str, verb: str = "read") -> AudioIOError:
    return AudioIOError(f"cannot {verb} audio file '{path}': {cause}")


def _open_error(path: str, exc: Exception) -> AudioIOError:
    ext = Path(path).suffix.lower()
    msg = str(getattr(exc, "error_string", "") or exc).strip()
    if ext in _NOT_LIBSNDFILE:
        return _fail(path, f"unsupported format: libsndfile cannot decode {_NOT_LIBSNDFILE[ext]} "
                           "(convert it to WAV or FLAC first, e.g. with ffmpeg)")
    if "not recognised" in msg.lower() or "does not exist" in msg:  # (the file does exist)
        if ext in FORMATS:
            return _fail(path, f"corrupt file: no valid {FORMATS[ext]} header found")
        return _fail(path, f"unsupported or unrecognised format (libsndfile: {msg})")
    return _fail(path, f"corrupt, truncated, or a codec variant libsndfile does not decode "
                       f"(libsndfile: {msg})")


# libsndfile logs "data : <declared> (should be <present>)" when a chunk runs past the end.
_SHORT_CHUNK = re.compile(r"^(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


@contextlib.contextmanager
def _open(path: Any) -> Iterator[tuple[str, sf.SoundFile]]:
    p = _fspath(path)
    try:
        with open(p, "rb") as fh:
            empty = os.fstat(fh.fileno()).st_size == 0
    except FileNotFoundError:
        raise _fail(p, "no such file") from None
    except IsADirectoryError:
        raise _fail(p, "it is a directory, not a file") from None
    except OSError as exc:
        raise _fail(p, exc.strerror or str(exc)) from exc
    if empty:
        raise _fail(p, "the file is empty (0 bytes)")
    try:
        f = sf.SoundFile(p)
    except (RuntimeError, OSError, ValueError) as exc:
        raise _open_error(p, exc) from exc
    with f:
        for _, declared, present in _SHORT_CHUNK.findall(f.extra_info):
            if int(present) < int(declared) < 0xFFFFFFFF:
                raise _fail(p, f"truncated file: the header declares {declared} bytes of audio "
                               f"but only {present} are present")
        yield p, f


def _read(p: str, f: sf.SoundFile, frames: int, dtype: np.dtype) -> np.ndarray:
    try:
        return f.read(frames, dtype=dtype.name, always_2d=True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise _fail(p, f"decoding failed near frame {f.tell()} (corrupt or truncated file: "
                       f"{exc})") from exc


def _seek(p: str, f: sf.SoundFile, start: int) -> None:
    try:
        f.seek(start)
    except (RuntimeError, OSError, ValueError) as exc:
        raise _fail(p, f"cannot seek to frame {start} (corrupt or truncated file: {exc})") from exc


def _span(p: str, f: sf.SoundFile, offset: Any, duration: Any) -> tuple[int, int]:
    """``(start, frames)`` in native samples for ``offset``/``duration`` in seconds."""
    offset = v.non_negative_number("offset", offset)
    start = round(offset * f.samplerate)
    if start > 0 and start >= f.frames:
        raise ParameterError(f"offset must be less than the duration of '{p}' "
                             f"({f.frames / f.samplerate:.3f} s), got {offset!r}")
    if duration is None:
        return start, -1
    return start, round(v.non_negative_number("duration", duration) * f.samplerate)


def _to_channels_first(data: np.ndarray, mono: bool) -> np.ndarray:
    """``(frames, channels)`` from soundfile -> 1-D or ``(channels, frames)``."""
    if data.shape[1] == 1:
        return np.ascontiguousarray(data[:, 0])
    if mono:
        return data.mean(axis=1, dtype=data.dtype)
    return np.ascontiguousarray(data.T)


# --------------------------------------------------------------------------- public API
def info(path: str | os.PathLike) -> AudioInfo:
    """Read the header of ``path``: format, subtype, ``sr``, channels, frames, duration."""
    with _open(path) as (p, f):
        m = re.fullmatch(r"PCM_[SU]?(\d+)", f.subtype)
        return AudioInfo(path=p, format=f.format, subtype=f.subtype, sr=f.samplerate,
                         channels=f.channels, frames=f.frames,
                         duration=f.frames / f.samplerate, bit_depth=int(m[1]) if m else None)


def load(path: str | os.PathLike, *, sr: int | None = None, mono: bool = True,
         offset: float = 0.0, duration: float | None = None,
         dtype: Any = "float32") -> tuple[np.ndarray, int]:
    """Load an audio file as floats in [-1, 1]; returns ``(y, sr)``.

    Parameters
    ----------
    sr : target sample rate; ``None`` keeps the file's own.  Resampling uses soxr "HQ".
    mono : average the channels into one.  A mono file is always 1-D; otherwise ``y`` is
        ``(channels, samples)``.
    offset, duration : seconds; only that part of the file is read.
    dtype : ``"float32"`` or ``"float64"``.
    """
    dt = _float_dtype(dtype)
    target = v.optional_positive_int("sr", sr)
    with _open(path) as (p, f):
        start, frames = _span(p, f, offset, duration)
        native = f.samplerate
        if start:
            _seek(p, f, start)
        data = _read(p, f, frames, dt)
    y = _to_channels_first(data, mono)
    if target is not None and target != native:
        y = resample(y, orig_sr=native, target_sr=target)
    return y, target or native


def resample(y: np.ndarray, *, orig_sr: float, target_sr: float,
             quality: str = "HQ") -> np.ndarray:
    """Resample along the last axis with soxr; any leading axes (channels, batch) are kept.

    ``quality`` is one of soxr's "VHQ", "HQ", "MQ", "LQ", "QQ".  The output has
    ``round(n * target_sr / orig_sr)`` samples and the input's dtype (float32 stays float32;
    other float types become float32).  The same rate returns a copy.
    """
    y = v.valid_audio(y)
    orig = v.positive_number("orig_sr", orig_sr)
    target = v.positive_number("target_sr", target_sr)
    quality = v.choice("quality", str(quality).upper(), _QUALITIES)
    if y.dtype not in (np.float32, np.float64):
        y = y.astype(np.float32)
    if orig == target:
        return y.copy()
    n = y.shape[-1]
    flat = np.ascontiguousarray(y.reshape(-1, n).T)  # (samples, channels) for soxr
    out = soxr.resample(flat, orig, target, quality=quality)
    return np.ascontiguousarray(out.T).reshape((*y.shape[:-1], out.shape[0]))


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average the channels of a ``(channels, samples)`` array; a 1-D array is returned as is."""
    y = v.valid_audio(y)
    if y.ndim == 1:
        return y
    if y.ndim != 2:
        raise ParameterError(f"y must be (samples,) or (channels, samples), got shape {y.shape}")
    return y.mean(axis=0, dtype=y.dtype)


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
    p = _fspath(path)
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
            raise _fail(p, f"unsupported extension {ext!r} (supported: "
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
        raise _fail(p, "it is a directory", "write")
    if not target.parent.is_dir():
        raise _fail(p, f"the folder '{target.parent}' does not exist", "write")
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # umask applies
        sf.write(tmp, data, sr, subtype=subtype, format=fmt, **kwargs)
        os.replace(tmp, target)
    except (RuntimeError, OSError, ValueError) as exc:
        raise _fail(p, f"{getattr(exc, 'strerror', None) or exc}", "write") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def stream(path: str | os.PathLike, *, block_length: int, hop_length: int | None = None,
           sr: int | None = None, mono: bool = True, offset: float = 0.0,
           duration: float | None = None, dtype: Any = "float32",
           fill_value: float | None = None) -> Iterator[np.ndarray]:
    """Yield blocks of ``block_length`` samples every ``hop_length`` samples (default: no
    overlap) without reading the file whole.

    Lengths are in samples at the output rate (``sr``, or the file's own rate when ``None``:
    use ``round(seconds * sr)`` for seconds).  Resampling is continuous across blocks (a soxr
    stream), so the blocks agree with :func:`load` with the same ``sr``.  Blocks are shaped like
    :func:`load`'s output.  The last block is shorter, or padded with ``fill_value`` when given;
    a tail that the previous block already covered is not yielded again.  With
    ``hop_length <= block_length``, ``block[:hop_length]`` of every block but the last, then the
    whole last block, concatenate to the signal.  Arguments and the file are checked at once;
    reading happens while iterating.
    """
    block = v.positive_int("block_length", block_length)
    hop = block if hop_length is None else v.positive_int("hop_length", hop_length)
    dt = _float_dtype(dtype)
    target = v.optional_positive_int("sr", sr)
    if fill_value is not None:
        try:
            fill_value = float(fill_value)
        except (TypeError, ValueError):
            raise ParameterError(f"fill_value must be a number or None, got {fill_value!r}") from None
    with _open(path) as (p, f):
        span = _span(p, f, offset, duration)
    return _blocks(_chunks(p, span, target, mono, dt), block, hop, fill_value)


def _chunks(p: str, span: tuple[int, int], target: int | None, mono: bool,
            dt: np.dtype) -> Iterator[np.ndarray]:
    """Consecutive ``(channels, n)`` pieces of the signal, resampled when ``target`` is set."""
    start, left = span
    with _open(p) as (_, f):
        if start:
            _seek(p, f, start)
        rs = None
        if target is not None and target != f.samplerate:
            channels = 1 if mono else f.channels
            rs = soxr.ResampleStream(f.samplerate, target, channels, dtype=dt.name)
        while True:
            n = _CHUNK if left < 0 else min(_CHUNK, left)
            data = _read(p, f, n, dt) if n else np.zeros((0, f.channels), dt)
            if mono and data.shape[1] > 1:
                data = data.mean(axis=1, keepdims=True, dtype=dt)
            last = len(data) < n or n == 0 or len(data) == left
            left -= len(data)
            if rs is not None:
                data = rs.resample_chunk(data, last=last)
            if len(data):
                yield np.ascontiguousarray(data.T)
            if last:
                return


def _blocks(chunks: Iterator[np.ndarray], block: int, hop: int,
            fill_value: float | None) -> Iterator[np.ndarray]:
    buf: np.ndarray | None = None
    buf_start = 0  # sample index of buf[:, 0]
    start = 0  # start of the next block
    covered = 0  # end of the last block yielded

    def shape(b: np.ndarray) -> np.ndarray:
        return b[0].copy() if b.shape[0] == 1 else b.copy()

    for chunk in chunks:
        buf = chunk if buf is None else np.concatenate([buf, chunk], axis=1)
        while True:
            drop = min(start - buf_start, buf.shape[1])
            buf, buf_start = buf[:, drop:], buf_start + drop
            if buf_start < start or buf.shape[1] < block:
                break
            yield shape(buf[:, :block])
            covered, start = start + block, start + hop
    if buf is None:
        return
    drop = min(start - buf_start, buf.shape[1])
    buf, buf_start = buf[:, drop:], buf_start + drop
    if buf.shape[1] and buf_start + buf.shape[1] > covered:
        if fill_value is not None:
            pad = np.full((buf.shape[0], block - buf.shape[1]), fill_value, buf.dtype)
            buf = np.concatenate([buf, pad], axis=1)
        yield shape(buf)
