"""Reading audio files: :func:`info` (the header), :func:`load` (whole or a part) and
:func:`stream` (blocks), all through :mod:`tympan.io.decoding` (bounded decoding)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from tympan import _validate as v
from tympan.errors import ParameterError
from tympan.io.decoding import (
    Source,
    check_samples,
    count_frames,
    iter_frames,
    known_frames,
    open_audio,
    read_frames,
    shown,
)
from tympan.io.resampling import resample


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`info` reads from a file header (samples are decoded only to count them when
    the header's length is impossible for the file's size: see below).

    ``frames`` of an MP3 is the Xing/LAME count, or without one libsndfile's estimate from the
    bitrate, and can differ from the decoded length; of an Ogg file the last granule position.
    When that count is more than a file of its size can hold (a damaged or forged header), or a
    FLAC stream does not give its length, ``frames`` is counted by decoding.  A file whose header
    declares 0 frames reports 0 (:func:`load` refuses it: it holds no audio).  ``bit_depth`` is
    ``None`` for float and lossy data.
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
            f"file:        {shown(self.path)}",
            f"format:      {self.format} ({self.subtype})",
            f"sample rate: {self.sr} Hz",
            f"channels:    {self.channels}",
            f"duration:    {self.duration:.3f} s ({self.frames} frames)",
            f"bit depth:   {depth}",
        ])


_DTYPES = ("float32", "float64", "int16", "int32")


def _dtype(dtype: Any, allowed: tuple[str, ...] = _DTYPES) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.name not in allowed:
        raise ParameterError(f"dtype must be one of {', '.join(map(repr, allowed))}, got {dtype!r}")
    return dt


def _span(src: Source, offset: Any, duration: Any) -> tuple[int, int | None]:
    """``(start, frames)`` in native samples for ``offset``/``duration`` in seconds."""
    sr, frames = src.file.samplerate, known_frames(src)
    offset = v.non_negative_number("offset", offset)
    start = round(offset * sr)
    if start > 0 and frames is not None and start >= frames:
        raise ParameterError(f"offset must be less than the duration of '{src.name}' "
                             f"({frames / sr:.3f} s), got {offset!r}")
    if duration is None:
        return start, None
    return start, round(v.non_negative_number("duration", duration) * sr)


def _to_channels_first(data: np.ndarray, mono: bool) -> np.ndarray:
    """``(frames, channels)`` from soundfile -> 1-D or ``(channels, frames)``."""
    if data.shape[1] == 1:
        return np.ascontiguousarray(data[:, 0])
    if mono and data.dtype.kind == "i":  # the mean of PCM codes, rounded
        return np.rint(data.mean(axis=1)).astype(data.dtype)
    if mono:
        return data.mean(axis=1, dtype=data.dtype)
    return np.ascontiguousarray(data.T)


# --------------------------------------------------------------------------- public API
def info(path: str | os.PathLike) -> AudioInfo:
    """Read the header of ``path``: format, subtype, ``sr``, channels, frames, duration."""
    with open_audio(path) as src:
        f = src.file
        frames = known_frames(src)
        if frames is None:
            frames = count_frames(src)
        m = re.fullmatch(r"PCM_[SU]?(\d+)", f.subtype)
        return AudioInfo(path=src.path, format=f.format, subtype=f.subtype, sr=f.samplerate,
                         channels=f.channels, frames=frames, duration=frames / f.samplerate,
                         bit_depth=int(m[1]) if m else None)


def load(path: str | os.PathLike, *, sr: int | None = None, mono: bool = True,
         offset: float = 0.0, duration: float | None = None,
         dtype: Any = "float32", for_sr: int | None = None) -> tuple[np.ndarray, int]:
    """Load an audio file as floats in [-1, 1]; returns ``(y, sr)``.

    Parameters
    ----------
    sr : target sample rate; ``None`` keeps the file's own.  Resampling uses soxr "HQ".
    mono : average the channels into one.  A mono file is always 1-D; otherwise ``y`` is
        ``(channels, samples)``.
    offset, duration : seconds; only that part of the file is read.
    dtype : ``"float32"`` or ``"float64"``; or ``"int16"``/``"int32"`` for the PCM codes as
        soundfile returns them (a float or lossy file is converted by libsndfile), never
        resampled: ``sr`` must then be ``None`` or the file's rate, and ``mono`` rounds the
        mean of the channels.
    for_sr : the rate the caller will resample the result to, itself (checked, not applied).

    A file that holds no audio (0 samples), or a part of one given by ``offset``/``duration``
    that does, and non-finite samples or samples beyond ``signal_checks.MAX_PEAK`` raise
    :class:`~tympan.errors.AudioIOError` (with the count and first position of bad samples);
    samples beyond [-1, 1] and a sample rate outside 1-768 kHz load with an
    :class:`~tympan.errors.InputWarning`.  Resampling from such a rate (``sr=``) is refused
    (AudioIOError naming file and rate: a forged 1 Hz header must not size the output);
    ``for_sr`` refuses it the same way, without the warning, for a caller that reads the file at
    its own rate to resample it to ``for_sr`` itself.  Memory is bounded by what the file holds,
    whatever its header declares.
    """
    dt = _dtype(dtype)
    target = v.optional_positive_int("sr", sr)
    later = v.optional_positive_int("for_sr", for_sr)
    with open_audio(path) as src:
        native = src.file.samplerate
        if dt.kind == "i" and target not in (None, native):
            raise ParameterError(f"sr must be None with dtype {dt.name!r} (PCM codes are not "
                                 f"resampled; load floats to resample), got {sr!r}")
        src.check_rate(stacklevel=2, target=target or later)
        start, count = _span(src, offset, duration)
        data = read_frames(src, start=start, count=count, dtype=dt.name)
        if not len(data) and start > 0:
            raise ParameterError(f"offset must be less than the duration of '{src.name}' "
                                 f"({start / native:.3f} s or less), got {offset!r}")
        if count != 0 and (dt.kind == "f" or not len(data)):
            check_samples(src, data, start=start, stacklevel=3)
    y = _to_channels_first(data, mono)
    if target is not None and target != native:
        y = resample(y, orig_sr=native, target_sr=target)
    return y, target or native


def stream(path: str | os.PathLike, *, block_length: int, hop_length: int | None = None,
           sr: int | None = None, mono: bool = True, offset: float = 0.0,
           duration: float | None = None, dtype: Any = "float32",
           fill_value: float | None = None, for_sr: int | None = None) -> Iterator[np.ndarray]:
    """Yield blocks of ``block_length`` samples every ``hop_length`` samples (default: no
    overlap) without reading the file whole.

    Lengths are in samples at the output rate (``sr``, or the file's own rate when ``None``:
    use ``round(seconds * sr)`` for seconds).  Resampling is continuous across blocks (a soxr
    stream), so the blocks agree with :func:`load` with the same ``sr``.  Blocks are shaped like
    :func:`load`'s output.  The last block is shorter, or padded with ``fill_value`` when given;
    a tail that the previous block already covered is not yielded again.  With
    ``hop_length <= block_length``, ``block[:hop_length]`` of every block but the last, then the
    whole last block, concatenate to the signal.  Arguments and the file are checked at once;
    reading happens while iterating, and raises :class:`~tympan.errors.AudioIOError` at the
    first block with non-finite samples, or at the end when the file held no audio, as
    :func:`load` does.  ``dtype`` is ``"float32"`` or ``"float64"``.  The iterator's ``sr`` is
    the blocks' sample rate; the file is opened once, and closed when the blocks end or the
    iterator is dropped (or closed: ``blocks.close()``).  ``sr`` and ``for_sr`` refuse a file
    whose own rate cannot be resampled, as :func:`load` does.
    """
    block = v.positive_int("block_length", block_length)
    hop = block if hop_length is None else v.positive_int("hop_length", hop_length)
    dt = _dtype(dtype, ("float32", "float64"))
    target = v.optional_positive_int("sr", sr)
    later = v.optional_positive_int("for_sr", for_sr)
    if fill_value is not None:
        try:
            fill_value = float(fill_value)
        except (TypeError, ValueError):
            raise ParameterError(f"fill_value must be a number or None, got {fill_value!r}") from None
    # One open serves the checks and the reading: the file stays open until the blocks are
    # consumed (or the iterator is dropped), instead of being opened again to read.
    opened = contextlib.ExitStack()
    try:
        src = opened.enter_context(open_audio(path))
        span = _span(src, offset, duration)
        src.check_rate(stacklevel=2, target=target or later)
        if known_frames(src) == 0:
            check_samples(src, np.zeros((0, src.file.channels), dt))
    except BaseException:
        opened.close()
        raise
    rate = src.file.samplerate if target is None else target
    return Blocks(_blocks(_chunks(opened, src, span, target, mono, dt), block, hop, fill_value),
                  rate, opened)


class Blocks(Iterator[np.ndarray]):
    """What :func:`stream` returns: an iterator of blocks whose ``sr`` is their sample rate
    (the file's own, or the ``sr`` asked for), known before the first block is read."""

    def __init__(self, blocks, sr: int, opened: contextlib.ExitStack):
        self._blocks, self.sr, self._opened = blocks, int(sr), opened

    def __next__(self) -> np.ndarray:
        return next(self._blocks)

    def close(self) -> None:
        """Stop reading and close the file now (as the last block, or dropping the iterator,
        does)."""
        self._blocks.close()
        self._opened.close()  # also when no block was asked for

    def __del__(self) -> None:
        self.close()


def _chunks(opened: contextlib.ExitStack, src: Source, span: tuple[int, int | None],
            target: int | None, mono: bool, dt: np.dtype) -> Iterator[np.ndarray]:
    """Consecutive ``(channels, n)`` pieces of the signal, resampled when ``target`` is set;
    ``opened`` holds ``src`` open and is closed when the pieces end."""
    start, count = span
    with opened:  # the checks in stream() read no samples: the decoder is at the first frame
        f = src.file
        rs = None
        if target is not None and target != f.samplerate:
            channels = 1 if mono else f.channels
            rs = soxr.ResampleStream(f.samplerate, target, channels, dtype=dt.name)
        pos, warn = start, True
        pieces = iter_frames(src, start=start, count=count, dtype=dt.name)
        data = next(pieces, None)
        if data is None and count != 0:
            check_samples(src, np.zeros((0, f.channels), dt))
        while data is not None:
            nxt = next(pieces, None)
            warn = "beyond_full_scale" not in check_samples(src, data, start=pos, warn=warn,
                                                            stacklevel=5) and warn
            pos += len(data)
            if mono and data.shape[1] > 1:
                data = data.mean(axis=1, keepdims=True, dtype=dt)
            if rs is not None:
                data = rs.resample_chunk(data, last=nxt is None)
            if len(data):
                yield np.ascontiguousarray(data.T)
            data = nxt


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
