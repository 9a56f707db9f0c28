"""Structure-aware mutations of audio files for the io fuzzer (``fuzz_io.py``).

:func:`fields` finds the integer fields of a file's headers (RIFF/RF64 chunks and ``fmt ``,
AIFF ``COMM``/``SSND``, FLAC STREAMINFO and frame headers, Ogg pages and the Vorbis id header,
ID3, MPEG frame headers and Xing/Info/VBRI counts) so that a mutation can set a length, a rate
or a channel count to 0, 1, 0x7FFFFFFF or 0xFFFFFFFF instead of flipping random sample bits.
:func:`mutate` applies one to four mutations, deterministic given ``random.Random(seed)``;
:func:`fix_ogg_crc` recomputes Ogg page checksums so mutated pages reach the Vorbis decoder
instead of being dropped by libogg.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

from tympan.io.ogg_pages import page_crc

# (offset, width in bytes, "<" little or ">" big endian)
Field = tuple[int, int, str]

INTERESTING = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)


def _riff(data: bytes, out: list[Field]) -> None:
    end = ">" if data[:4] == b"RIFX" else "<"
    out.append((4, 4, end))
    p = 12
    while p + 8 <= len(data):
        cid = data[p:p + 4]
        size = struct.unpack_from(end + "I", data, p + 4)[0]
        out.append((p + 4, 4, end))
        body = p + 8
        if cid == b"fmt ":
            # format tag, channels, rate, byte rate, block align, bits, cbSize, valid bits, mask
            for off, width in ((0, 2), (2, 2), (4, 4), (8, 4), (12, 2), (14, 2), (16, 2),
                               (18, 2), (20, 4), (24, 2)):
                if body + off + width <= min(len(data), body + size):
                    out.append((body + off, width, end))
        elif cid == b"ds64":  # RF64: riff size, data size, sample count (8 bytes each), table
            for off in (0, 8, 16):
                if body + off + 8 <= len(data):
                    out.append((body + off, 8, end))
            if body + 28 <= len(data):
                out.append((body + 24, 4, end))
        elif cid == b"fact" and body + 4 <= len(data):
            out.append((body, 4, end))
        if cid == b"data" or size == 0xFFFFFFFF:
            break
        p = body + size + (size & 1)


def _aiff(data: bytes, out: list[Field]) -> None:
    out.append((4, 4, ">"))
    p = 12
    while p + 8 <= len(data):
        cid, size = data[p:p + 4], struct.unpack_from(">I", data, p + 4)[0]
        out.append((p + 4, 4, ">"))
        body = p + 8
        if cid == b"COMM":  # channels, frames, bits, 80-bit rate (exponent, mantissa)
            for off, width in ((0, 2), (2, 4), (6, 2), (8, 2), (10, 8), (10, 4)):
                if body + off + width <= len(data):
                    out.append((body + off, width, ">"))
        elif cid == b"SSND":
            for off in (0, 4):
                if body + off + 4 <= len(data):
                    out.append((body + off, 4, ">"))
            break
        p = body + size + (size & 1)


def _flac(data: bytes, out: list[Field]) -> None:
    p = 4
    while p + 4 <= len(data):
        out.append((p + 1, 3, ">"))  # block length
        kind, size = data[p] & 0x7F, int.from_bytes(data[p + 1:p + 4], "big")
        if kind == 0 and p + 4 + 18 <= len(data):
            b = p + 4  # min/max block size, min/max frame size, rate|channels|bits|total
            out += [(b, 2, ">"), (b + 2, 2, ">"), (b + 4, 3, ">"), (b + 7, 3, ">"),
                    (b + 10, 4, ">"), (b + 13, 5, ">"), (b + 10, 8, ">")]
        last = data[p] & 0x80
        p += 4 + size
        if last:
            break
    # frame headers: sync 0xFFF8/0xFFF9, then block size/rate codes and channel/bits codes
    i = data.find(b"\xff\xf8", p)
    for _ in range(8):
        if i < 0 or i + 6 > len(data):
            break
        out += [(i + 2, 1, ">"), (i + 3, 1, ">"), (i + 4, 2, ">")]
        i = data.find(b"\xff\xf8", i + 2)


def _ogg(data: bytes, out: list[Field]) -> None:
    i = data.find(b"OggS")
    while 0 <= i and i + 27 <= len(data):
        out += [(i + 6, 8, "<"), (i + 6, 4, "<"), (i + 18, 4, "<"), (i + 26, 1, "<")]
        i = data.find(b"OggS", i + 4)
    v = data.find(b"\x01vorbis")
    if v >= 0 and v + 30 <= len(data):  # version, channels, rate, 3 bitrates, block sizes
        b = v + 7
        out += [(b, 4, "<"), (b + 4, 1, "<"), (b + 5, 4, "<"), (b + 9, 4, "<"), (b + 13, 4, "<"),
                (b + 17, 4, "<"), (b + 21, 1, "<")]


def _mp3(data: bytes, out: list[Field]) -> None:
    if data[:3] == b"ID3" and len(data) >= 10:
        out += [(3, 2, ">"), (6, 4, ">")]
    for tag, offs in ((b"Xing", (4, 8, 12)), (b"Info", (4, 8, 12)), (b"VBRI", (6, 10, 14, 18))):
        t = data.find(tag)
        if t >= 0:
            out += [(t + o, 4, ">") for o in offs if t + o + 4 <= len(data)]
    start = 10 + _syncsafe(data[6:10]) if data[:3] == b"ID3" else 0
    i, n = start, 0
    while n < 6 and 0 <= i < len(data) - 4:
        if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0:
            out += [(i + 1, 1, ">"), (i + 2, 1, ">"), (i + 3, 1, ">")]
            n += 1
            i += 4
        i = data.find(b"\xff", i + 1)


def _syncsafe(b: bytes) -> int:
    return sum((x & 0x7F) << (7 * (3 - k)) for k, x in enumerate(b[:4])) if len(b) == 4 else 0


def fields(data: bytes) -> list[Field]:
    """Header integer fields of ``data`` (best effort: a broken header yields fewer)."""
    out: list[Field] = []
    head = data[:4]
    try:
        if head in (b"RIFF", b"RIFX", b"RF64", b"BW64"):
            _riff(data, out)
        elif head == b"FORM":
            _aiff(data, out)
        elif head == b"fLaC":
            _flac(data, out)
        elif head == b"OggS":
            _ogg(data, out)
        else:
            _mp3(data, out)
    except (struct.error, IndexError, ValueError):
        pass
    return [f for f in out if 0 <= f[0] and f[0] + f[1] <= len(data)]


def sniff_extension(data: bytes) -> str:
    """The extension a user would give ``data``: tympan's messages depend on it."""
    head = data[:4]
    if head in (b"RIFF", b"RIFX", b"RF64", b"BW64"):
        return ".wav"
    return {b"FORM": ".aiff", b"fLaC": ".flac", b"OggS": ".ogg"}.get(head, ".mp3")


# --------------------------------------------------------------------------- mutations
def _set_field(data: bytearray, rng: random.Random) -> None:
    fs = fields(bytes(data))
    if not fs:
        return _bitflip(data, rng)
    off, width, end = rng.choice(fs)
    top = (1 << (8 * width)) - 1
    old = int.from_bytes(data[off:off + width], "little" if end == "<" else "big")
    choices: list[Callable[[], int]] = [
        lambda: rng.choice(INTERESTING), lambda: old + rng.randint(-16, 16), lambda: old * 2,
        lambda: old // 2, lambda: len(data) + rng.randint(-64, 64), lambda: rng.getrandbits(8 * width),
        lambda: old ^ (1 << rng.randrange(8 * width)), lambda: 1 << rng.randrange(8 * width),
    ]
    new = rng.choice(choices)() & top
    data[off:off + width] = new.to_bytes(width, "little" if end == "<" else "big")
    return None


def _bitflip(data: bytearray, rng: random.Random) -> None:
    if data:
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)


def _byte_set(data: bytearray, rng: random.Random) -> None:
    if data:
        data[rng.randrange(len(data))] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))


def _insert(data: bytearray, rng: random.Random) -> None:
    i = rng.randint(0, len(data))
    data[i:i] = bytes(rng.choice((0, 0xFF, rng.randrange(256))) for _ in range(rng.randint(1, 16)))


def _delete(data: bytearray, rng: random.Random) -> None:
    if len(data) > 1:
        i = rng.randrange(len(data))
        del data[i:i + rng.randint(1, min(64, len(data) - i))]


def _duplicate(data: bytearray, rng: random.Random) -> None:
    if data:
        i = rng.randrange(len(data))
        chunk = data[i:i + rng.randint(1, 512)]
        j = rng.randint(0, len(data))
        data[j:j] = chunk * rng.randint(1, 4)


def _truncate(data: bytearray, rng: random.Random) -> None:
    if len(data) > 1:
        # often right after a header: the first few hundred bytes matter most
        cut = rng.randrange(min(len(data), 512)) if rng.random() < 0.5 else rng.randrange(len(data))
        del data[cut:]


MUTATIONS = (_set_field, _set_field, _set_field, _bitflip, _byte_set, _insert, _delete,
             _duplicate, _truncate)


def splice(a: bytes, b: bytes, rng: random.Random) -> bytes:
    """A head of ``a`` followed by a tail of ``b`` (e.g. a WAV header over MP3 frames)."""
    if not a or not b:
        return a or b
    return a[:rng.randint(0, len(a))] + b[rng.randint(0, len(b) - 1):]


def mutate(data: bytes, rng: random.Random, max_size: int = 1 << 16,
           others: list[bytes] | None = None) -> bytes:
    """One to four mutations of ``data`` (a splice with one of ``others`` among them)."""
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        if others and rng.random() < 0.05:
            buf = bytearray(splice(bytes(buf), rng.choice(others), rng))
        else:
            rng.choice(MUTATIONS)(buf, rng)
    out = bytes(buf[:max_size])
    return fix_ogg_crc(out) if out[:4] == b"OggS" and rng.random() < 0.8 else out


# --------------------------------------------------------------------------- Ogg checksums
def fix_ogg_crc(data: bytes) -> bytes:
    """``data`` with the checksum of every complete Ogg page recomputed."""
    buf = bytearray(data)
    i = buf.find(b"OggS")
    while 0 <= i and i + 27 <= len(buf):
        nseg = buf[i + 26]
        end = i + 27 + nseg
        if end > len(buf):
            break
        end += sum(buf[i + 27:end])
        if end > len(buf):
            break
        buf[i + 22:i + 26] = page_crc(bytes(buf[i:end])).to_bytes(4, "little")  # (its field as 0)
        i = buf.find(b"OggS", end)
    return bytes(buf)
