"""Opening and decoding audio files with bounded memory (used by :mod:`tympan.io.reading`).

A header's length field is never trusted to size an allocation.  Each format has a ceiling on the
frames a file of its size can hold (:func:`max_frames`); samples are decoded in blocks of at most
``BLOCK_SAMPLES`` and collected in a buffer that grows only with what the decoder returns.

* PCM containers (WAV, RF64, W64, AIFF, AU, ...): libsndfile counts the frames present; a header
  declaring more than the file holds is an error that says both.
* FLAC: the STREAMINFO total is exact by specification: a total beyond the ceiling, or one that
  decoding does not reach, is an error that says both; a total of 0 ("unknown") is decoded to
  its end.
* MP3 and Ogg: the length is an estimate (a Xing/LAME count, a bitrate estimate, the last granule
  position); decoding runs to the end of the data whatever it says, and :func:`count_frames`
  replaces a length beyond the ceiling by the decoded count.  An Ogg file's last granule that its
  pages contradict (:mod:`tympan.io.ogg_pages`; libsndfile stops there) is shown to libsndfile as
  unknown, with an :class:`InputWarning`, so the audio is decoded to its end.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from tympan import signal_checks
from tympan.errors import AudioIOError, InputWarning, ParameterError
from tympan.io import ogg_pages
from tympan.io.decoder_messages import mpg123_quiet

#: Format chosen by :func:`tympan.io.save` from the file extension.
FORMATS = {
    ".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3",
    ".aif": "AIFF", ".aiff": "AIFF", ".au": "AU", ".caf": "CAF", ".w64": "W64", ".rf64": "RF64",
}
NOT_LIBSNDFILE = {".m4a": "AAC/ALAC in MP4", ".mp4": "MP4", ".aac": "AAC", ".wma": "WMA",
                  ".webm": "WebM", ".mkv": "Matroska", ".amr": "AMR", ".ac3": "AC-3"}
#: Samples (frames x channels) decoded per read.
BLOCK_SAMPLES = 1 << 16
#: Sample rates outside this range load with an InputWarning (below: not audio for these models;
#: above: beyond any audio interface, usually a damaged header).
MIN_RATE, MAX_RATE = 1000, 768_000

# Bytes per sample of the fixed-size encodings: frames = data bytes / (channels * bytes).
_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
          "FLOAT": 4, "DOUBLE": 8}
# Most frames per byte of file a valid stream can reach (per channel for FLAC/Ogg): MPEG audio
# 24 (8 kbit/s at 24 kHz), FLAC about 6600 (a 65535-sample constant subframe in 10 bytes), Vorbis
# and Opus about 4000 (1-byte packets of digital silence).  ADPCM and GSM: 8 (>= 1 bit a sample).
_PER_BYTE = {"MPEG": 32, "FLAC": 8192, "VORBIS": 8192, "OPUS": 8192}
_COMPRESSED_PER_BYTE = 8


def shown(path: str) -> str:
    """``path`` as printable text: undecodable bytes of a file name become ``\\xNN``."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def fail(path: str, cause: str, verb: str = "read") -> AudioIOError:
    return AudioIOError(f"cannot {verb} audio file '{shown(path)}': {cause}")


# libsndfile's open errors that a damaged header causes, in words.
_OPEN_CAUSES = {
    "channel count is zero": "invalid header: 0 channels",
    "too many channels": "invalid header: more channels than libsndfile reads (1024)",
    "sf_info struct incomplete": "invalid header: sample rate 0 (or another field out of range)",
    "unimplemented format": "invalid or unsupported sample encoding in the header (e.g. 0 bits "
                            "per sample)",
}


def _open_error(path: str, exc: Exception) -> AudioIOError:
    ext = Path(path).suffix.lower()
    msg = str(getattr(exc, "error_string", "") or exc).strip()
    if ext in NOT_LIBSNDFILE:
        return fail(path, f"unsupported format: libsndfile cannot decode {NOT_LIBSNDFILE[ext]} "
                          "(convert it to WAV or FLAC first, e.g. with ffmpeg)")
    low = msg.lower()
    for key, cause in _OPEN_CAUSES.items():
        if key in low:
            return fail(path, f"{cause} (libsndfile: {msg})")
    if "not recognised" in low or "does not exist" in low:  # (the file does exist)
        if ext in FORMATS:
            return fail(path, f"corrupt file: no valid {FORMATS[ext]} header found")
        return fail(path, f"unsupported or unrecognised format (libsndfile: {msg})")
    return fail(path, f"corrupt, truncated, or a codec variant libsndfile does not decode "
                      f"(libsndfile: {msg})")


# What libsndfile logs when a header declares more audio than the file holds:
# bytes of a data chunk (WAV "data", AIFF "SSND", AU "Data Size", W64 "riff") ...
_SHORT_BYTES = re.compile(r"^\s*(data|SSND|Data Size|riff)\s*:\s*(\d+)\s*\(should be (\d+)\)",
                          re.MULTILINE)
# ... or frames (RF64's ds64 chunk; its "does not match" line truncates them to 32 bits).
_DS64_FRAMES = re.compile(r"^\s*Frames\s*:\s*(\d+)\s*$", re.MULTILINE)
_UNKNOWN_FLAC = "Frames      : 0 (bumping"
_CORRUPT_OGG = re.compile(r"^.*(Corrupted bitstream|Junk after).*$", re.MULTILINE)


def max_frames(fmt: str, subtype: str, channels: int, size: int) -> int:
    """The most frames a valid file of ``size`` bytes in this format can hold."""
    if fmt == "FLAC" or subtype in ("VORBIS", "OPUS"):
        per_byte = _PER_BYTE.get(fmt if fmt == "FLAC" else subtype, 8192)
        return size * per_byte // channels
    if subtype.startswith("MPEG"):
        return size * _PER_BYTE["MPEG"]
    if subtype in _BYTES:
        return size // (channels * _BYTES[subtype])
    return size * _COMPRESSED_PER_BYTE // channels + 4096  # ADPCM, GSM, ALAC, ...


@dataclass
class Source:
    """An open audio file: ``path`` (as given), ``name`` (printable), the soundfile object,
    the file size, the frames the header declares and whether that count is exact."""

    path: str
    name: str
    file: sf.SoundFile
    fd: int
    size: int
    declared: int
    exact: bool  # PCM and FLAC: the header's count must match the data
    ogg_end: int | None = None  # the offset of an Ogg last page whose granule is shown unknown

    @property
    def length_known(self) -> bool:
        """Whether ``declared`` can be reported without decoding."""
        return self.declared <= max_frames(self.file.format, self.file.subtype,
                                           self.file.channels, self.size)

    @property
    def block(self) -> int:
        return max(1, BLOCK_SAMPLES // self.file.channels)

    def reopen(self) -> None:
        """A fresh decoder on the same file (after a decoding error libsndfile cannot seek)."""
        self.file.close()
        os.lseek(self.fd, 0, os.SEEK_SET)
        with mpg123_quiet():
            self.file = _soundfile(self.fd, self.size, self.ogg_end)

    def fail(self, cause: str) -> AudioIOError:
        return fail(self.path, cause)

    def check_rate(self, stacklevel: int, *, target: int | None = None) -> None:
        """Warn about a rate outside ``MIN_RATE``-``MAX_RATE``; refuse to resample from one to
        ``target`` (1 Hz to 16 kHz would make 16000 samples of each one the file holds: a forged
        header must not size the output)."""
        sr = self.file.samplerate
        if MIN_RATE <= sr <= MAX_RATE:
            return
        check_resampling(self.path, sr, target)
        warnings.warn(f"'{self.name}' has a sample rate of {sr} Hz, outside {MIN_RATE}-"
                      f"{MAX_RATE} Hz: a damaged header or not audio", InputWarning,
                      stacklevel=stacklevel + 1)


def check_resampling(path: Any, sr: int, target: int | None) -> None:
    """Refuse to resample the file ``path`` from ``sr`` to ``target`` when ``sr`` is outside
    ``MIN_RATE``-``MAX_RATE``: such a rate is a damaged or forged header, and resampling 1 Hz to
    16 kHz would make 16000 samples of each one the file holds."""
    if target is not None and target != sr and not MIN_RATE <= sr <= MAX_RATE:
        raise fail(path, f"its sample rate of {sr} Hz is outside {MIN_RATE}-{MAX_RATE} Hz (a "
                         f"damaged header or not audio), so it is not resampled to {target} Hz; "
                         "read it at its own rate (sr=None) to see what it holds")


def fspath(path: Any) -> str:
    """``path`` as a str (``ParameterError`` for anything but a str or an os.PathLike)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return os.fspath(path)


@contextlib.contextmanager
def open_audio(path: Any) -> Iterator[Source]:
    """Open ``path`` (the file object goes to libsndfile, so any file name works) and check
    its header: a length the file cannot hold is an :class:`AudioIOError` saying both."""
    p = fspath(path)
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    try:
        fifo = stat.S_ISFIFO(os.stat(p).st_mode)
    except OSError:  # a missing file: the open below says so
        fifo = False
    if fifo:  # open() would wait for a writer, for ever
        raise fail(p, "it is a pipe (FIFO), not a file")
    try:
        fh = open(p, "rb")
    except FileNotFoundError:
        raise fail(p, "no such file") from None
    except IsADirectoryError:
        raise fail(p, "it is a directory, not a file") from None
    except OSError as exc:
        raise fail(p, exc.strerror or str(exc)) from exc
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            raise fail(p, "the file is empty (0 bytes)")
        ogg_end = ogg_pages.forged_end(fh.fileno(), size)
        try:  # libsndfile probes for MPEG audio: libmpg123 may print its notes on any bytes
            with mpg123_quiet():
                f = _soundfile(fh.fileno(), size, ogg_end)
        except (RuntimeError, OSError, ValueError) as exc:
            raise _open_error(p, exc) from exc
        src = Source(p, shown(p), f, fh.fileno(), size, f.frames,
                     exact=f.format == "FLAC" or f.subtype in _BYTES, ogg_end=ogg_end)
        if ogg_end is not None:
            warnings.warn(f"'{src.name}': the granule position of its last Ogg page contradicts its "
                          "other pages (a damaged or forged length): the audio is decoded to its "
                          "end", InputWarning, stacklevel=4)
        try:
            _check_length(src)
            yield src
        finally:
            src.file.close()


def _soundfile(fd: int, size: int, ogg_end: int | None) -> sf.SoundFile:
    if ogg_end is None:
        return sf.SoundFile(fd, closefd=False)
    return sf.SoundFile(ogg_pages.EndPatched(fd, size, ogg_end))


def _check_length(src: Source) -> None:
    f, log = src.file, src.file.extra_info
    frame_bytes = f.channels * _BYTES.get(f.subtype, 0)
    for chunk, declared, present in _SHORT_BYTES.findall(log):
        declared, present = int(declared), int(present)
        if present < declared < 0xFFFFFFFF and (chunk != "riff" or f.format == "W64"):
            if frame_bytes and chunk != "riff":
                head = 8 if chunk == "SSND" else 0  # SSND counts its offset and block size
                raise src.fail(f"truncated file: the header declares "
                               f"{(declared - head) // frame_bytes} frames ({declared} bytes) but "
                               f"the file holds {max(present - head, 0) // frame_bytes} "
                               f"({present} bytes)")
            raise src.fail(f"truncated file: the header declares {declared} bytes but the file "
                           f"holds {present}")
    for declared in _DS64_FRAMES.findall(log) if f.format == "RF64" else []:
        if int(declared) > f.frames:
            raise src.fail(f"truncated file: the header declares {declared} frames but the file "
                           f"holds {f.frames}")
    if f.format == "OGG" and src.declared == 0 and _CORRUPT_OGG.search(log):
        raise src.fail(f"corrupt Ogg stream: libsndfile finds no audio length in it "
                       f"({_CORRUPT_OGG.search(log)[0].strip()})")
    if f.format == "FLAC" and _UNKNOWN_FLAC in log:
        src.exact = False  # a stream written without seeking back: decode to the end
    elif src.exact and not src.length_known:
        raise src.fail(f"corrupt header: it declares {src.declared} frames, more than a "
                       f"{f.format} file of {src.size} bytes can hold (at most "
                       f"{max_frames(f.format, f.subtype, f.channels, src.size)})")


def known_frames(src: Source) -> int | None:
    """The file's length in frames when the header gives it within what the file can hold
    (exact for PCM and FLAC, an estimate for MP3 and Ogg), else ``None``."""
    return src.declared if src.exact or src.length_known else None


def _decode_error(src: Source, pos: int, exc: Exception) -> AudioIOError:
    of = f" of the {src.declared} the header declares" if src.exact else ""
    return src.fail(f"decoding failed at frame {pos}{of} (corrupt or truncated file: {exc})")


def _seek(src: Source, start: int) -> None:
    """Seek the freshly opened ``src`` to frame ``start``.  An Ogg file is first asked for its
    first frames: libsndfile 1.2.2 seeks in a Vorbis stream whose decoder could not start (a
    damaged setup header: reading gives nothing) by decoding with it, and crashes the process
    (a segfault the io fuzzer found); such a file is an error here instead."""
    try:
        decodes = src.file.format != "OGG" or len(_read(src, 16, "float32")) > 0
        if decodes:
            with mpg123_quiet() if src.file.subtype.startswith("MPEG") else contextlib.nullcontext():
                src.file.seek(start)
    except (RuntimeError, OSError, ValueError) as exc:
        raise src.fail(f"cannot seek to frame {start} (corrupt or truncated file: {exc})") from exc
    if not decodes:
        raise src.fail(f"cannot seek to frame {start}: the decoder gives no audio from its start "
                       "(corrupt file)")


# NumPy dtype -> C type of libsndfile's sf_readf_<type> (soundfile's own table).
_CTYPES = {"float32": "float", "float64": "double", "int16": "short", "int32": "int"}


def reads_directly(file: sf.SoundFile) -> bool:
    """Whether soundfile's own cffi handles to libsndfile (``soundfile._snd``, ``soundfile._ffi``,
    ``SoundFile._file``, unchanged from soundfile 0.10 to 0.14) are there to call ``sf_readf_*``
    directly, as :func:`iter_frames` does for MPEG audio.

    ``SoundFile.read`` seeks to the position it just reached after every read, and libsndfile's
    MPEG seek re-positions the mpg123 decoder, which drops the Layer III bit reservoir: a click at
    every block boundary of a streamed MP3.  A direct read only advances the position.  Other
    formats keep ``SoundFile.read`` (their seeks are exact, and their error handling is tuned to
    it), and so does MPEG where soundfile lacks the handles."""
    snd = getattr(sf, "_snd", None)
    return (getattr(sf, "_ffi", None) is not None and getattr(file, "_file", None) is not None
            and all(hasattr(snd, f"sf_readf_{c}") for c in _CTYPES.values())
            and hasattr(snd, "sf_error"))


def _read(src: Source, frames: int, dtype: str) -> np.ndarray:
    """Up to ``frames`` frames from the current position, ``(frames, channels)``; libsndfile
    stops at the header's length either way."""
    f = src.file
    if not f.subtype.startswith("MPEG"):
        return f.read(frames, dtype=dtype, always_2d=True)
    with mpg123_quiet():  # its notes on a damaged stream: the error says it in one line
        return _read_mpeg(f, frames, dtype)


def _read_mpeg(f: sf.SoundFile, frames: int, dtype: str) -> np.ndarray:
    if not reads_directly(f):
        return f.read(frames, dtype=dtype, always_2d=True)
    if f.closed:
        raise sf.SoundFileRuntimeError("I/O operation on closed file")
    snd, ffi = sf._snd, sf._ffi
    out = np.empty((frames, f.channels), dtype)
    ctype = _CTYPES[out.dtype.name]
    n = getattr(snd, f"sf_readf_{ctype}")(f._file, ffi.cast(f"{ctype} *", out.ctypes.data), frames)
    err = snd.sf_error(f._file)
    if err:
        raise sf.LibsndfileError(err)
    return out[:n]


def iter_frames(src: Source, *, start: int, count: int | None, dtype: str) -> Iterator[np.ndarray]:
    """``(frames, channels)`` blocks from frame ``start``, ``count`` frames (``None``: to the end
    of the data).  A decoding error is located exactly (libsndfile cannot seek after one: the
    file is reopened and read in halving blocks); the data before it are kept when the header
    gives no length (a FLAC stream), else it is an AudioIOError naming both lengths."""
    pos, block = start, src.block
    if start:
        _seek(src, start)
    error: Exception | None = None
    while count is None or pos - start < count:
        k = block if count is None else min(block, count - (pos - start))
        try:
            data = _read(src, k, dtype)
        except (RuntimeError, OSError, ValueError) as exc:
            error = error or exc
            if block == 1:
                break
            block //= 2
            try:
                src.reopen()
                src.file.seek(pos)
            except (RuntimeError, OSError, ValueError):
                break
            continue
        pos += len(data)
        if len(data):
            yield data
        if len(data) < k:
            break
    if error is not None and src.exact:
        if src.declared > pos:
            raise src.fail(f"decoding failed at frame {pos}, but the header declares "
                           f"{src.declared} frames (corrupt or truncated file)")
        raise _decode_error(src, pos, error)
    if error is not None and src.file.format != "FLAC":
        raise _decode_error(src, pos, error)
    if count is None and src.exact and error is None and pos < src.declared:
        raise src.fail(f"the header declares {src.declared} frames but the file holds {pos} "
                       "(truncated file)")


def read_frames(src: Source, *, start: int, count: int | None, dtype: str) -> np.ndarray:
    """The ``(frames, channels)`` array of :func:`iter_frames`, in one buffer that grows with the
    decoded data (it starts at the header's length only as far as the file size allows).

    MPEG audio is read in one call of a bounded length instead (a length beyond what the file
    can hold is first replaced by a decoded count): exact even where soundfile's ``read``, which
    seeks after every read, must be used (see :func:`reads_directly`)."""
    f, ch = src.file, src.file.channels
    bound = max_frames(f.format, f.subtype, ch, src.size)
    if f.subtype.startswith("MPEG"):
        total = src.declared if src.declared <= bound else count_frames(src)
        want = max(total - start, 0) if count is None else min(count, max(total - start, 0))
        if src.declared > bound:
            src.reopen()
        if start:
            _seek(src, start)
        try:
            return _read(src, want, dtype)
        except (RuntimeError, OSError, ValueError) as exc:  # one read: no frame to name
            raise src.fail(f"decoding failed (corrupt or truncated MPEG stream: {exc})") from exc
    want = max(src.declared - start, 0) if count is None else count
    cap = min(want, bound, max(1 << 18, 16 * src.size // ch))
    buf = np.empty((cap, ch), dtype)
    n = 0
    for data in iter_frames(src, start=start, count=count, dtype=dtype):
        if n + len(data) > len(buf):
            grown = np.empty((max(2 * len(buf), n + len(data)), ch), dtype)
            grown[:n] = buf[:n]
            buf = grown
        buf[n:n + len(data)] = data
        n += len(data)
    return buf[:n].copy() if n < 3 * len(buf) // 4 else buf[:n]


def count_frames(src: Source) -> int:
    """Decode the whole file, keeping nothing, and return its number of frames."""
    return sum(len(d) for d in iter_frames(src, start=0, count=None, dtype="float32"))


def check_samples(src: Source, data: np.ndarray, *, start: int = 0, warn: bool = True,
                  stacklevel: int = 2) -> list[str]:
    """The shared signal policy on decoded ``(frames, channels)`` float data: non-finite samples
    and peaks beyond ``MAX_PEAK`` raise, peaks beyond full scale warn (silence does not: that is
    the pipeline's concern).  Returns the signal's flags."""
    return signal_checks.check_signal(data.T, sr=src.file.samplerate, source=src.name, from_file=True,
                               offset=start, warn=("beyond_full_scale",) if warn else False,
                               stacklevel=stacklevel + 1)
