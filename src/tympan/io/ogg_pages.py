"""An Ogg file's last granule position checked against its pages (used by :mod:`tympan.io.decoding`).

libsndfile takes an Ogg stream's length from the granule position of its last page and never
decodes beyond it: a last granule forged (or damaged with its checksum fixed) to 0, to a small
number or to -1 hides most of the audio ("holds no audio", a tenth of a second of a minute).
:func:`forged_end` reads the first page's header and the last two pages (as libsndfile finds
the length; whatever the file's length) and tells when the last granule cannot be right: -1
(no packet ends there), below the page before's granule, or below what the packets of the last
page must add (each Vorbis packet gives at least half the short block,
each Opus packet at least 2.5 ms), while the page's checksum holds (a page that fails it is
corrupt, and libsndfile drops it).  :class:`EndPatched` then shows libsndfile the same file
with that granule unknown (a large value, its checksum fixed), so it decodes every page until
the data ends.  Other damage is left to libsndfile.
"""

from __future__ import annotations

import os
import struct

__all__ = ["EndPatched", "forged_end"]

_HEADER = struct.Struct("<4sBBqIII")  # capture, version, flags, granule, serial, sequence, crc
_UNKNOWN_END = 1 << 62  # the granule shown instead of a forged one: beyond any real stream


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def page_crc(page: bytes) -> int:
    """The Ogg checksum of ``page`` (its own checksum field taken as 0)."""
    c = 0
    for k, b in enumerate(page):
        c = ((c << 8) ^ _CRC[((c >> 24) & 0xFF) ^ (0 if 22 <= k < 26 else b)]) & 0xFFFFFFFF
    return c


def _min_samples_per_packet(first_body: bytes) -> int:
    if first_body[:7] == b"\x01vorbis" and len(first_body) >= 29:
        return (1 << (first_body[28] & 0x0F)) // 2  # half the short block
    if first_body[:8] == b"OpusHead":
        return 120  # 2.5 ms at 48 kHz
    return 0


_MAX_PAGE = 27 + 255 + 255 * 255  # the longest Ogg page, in bytes


def forged_end(fd: int, size: int) -> int | None:
    """The offset of the last page of the Ogg file ``fd`` when its granule position cannot be
    right (see the module docstring), else ``None`` (not Ogg, consistent, or not readable here:
    left to libsndfile).  Reads the first page's header and the last two pages' worth of bytes
    (as libsndfile finds the length), whatever the file's length."""
    try:
        return _forged_end(fd, size)
    except (OSError, ValueError, IndexError, struct.error):
        return None


def _page_at(buf: bytes, k: int) -> tuple[int, int, int, int] | None:
    """``(length, granule, serial, packets ending in it)`` of the whole page whose header starts
    at ``buf[k]``; ``None`` when there is none."""
    if buf[k:k + 4] != b"OggS" or k + _HEADER.size + 1 > len(buf) or buf[k + 4] != 0:
        return None
    nseg = buf[k + _HEADER.size]
    lacing = buf[k + _HEADER.size + 1:k + _HEADER.size + 1 + nseg]
    length = _HEADER.size + 1 + nseg + sum(lacing)
    if len(lacing) < nseg or k + length > len(buf):
        return None
    _, _, _, granule, serial, _, _ = _HEADER.unpack_from(buf, k)
    return length, granule, serial, sum(1 for v in lacing if v < 255)


def _forged_end(fd: int, size: int) -> int | None:
    head = os.pread(fd, _HEADER.size + 1, 0)
    if len(head) <= _HEADER.size or head[:4] != b"OggS" or head[4] != 0:
        return None
    serial = _HEADER.unpack_from(head)[4]
    per_packet = _min_samples_per_packet(os.pread(fd, 29, _HEADER.size + 1 + head[_HEADER.size]))
    start = max(0, size - 2 * _MAX_PAGE)
    buf = os.pread(fd, size - start, start)
    ending: dict[int, tuple[int, int, int, int]] = {}  # end -> (offset, granule, serial, packets)
    k = buf.find(b"OggS")
    while k >= 0:
        page = _page_at(buf, k)
        if page is not None:  # the first found for an end starts earliest: "OggS" in a packet
            ending.setdefault(start + k + page[0], (start + k, *page[1:]))  # starts later
        k = buf.find(b"OggS", k + 1)
    if not ending:
        return None
    # the last whole page (bytes after it, as libsndfile skips them, do not hide a forged one)
    end = max(ending)
    last = ending[end]
    if last[0] == 0 or last[2] != serial:
        return None
    offset, granule, _, packets = last
    before = ending.get(offset)
    while before is not None and before[1] == -1:  # a page where no packet ends: the one before
        before = ending.get(before[0])
    if before is None or before[2] != serial:
        return None  # nothing to compare with here
    earlier = before[1]
    if granule == -1 or granule < earlier + max(packets - 2, 0) * per_packet:
        page = buf[offset - start:end - start]
        if page_crc(page) == _HEADER.unpack_from(page)[6]:
            return offset  # its checksum holds: only the length is wrong
    return None  # (a page whose checksum fails is corrupt: libsndfile drops it, as it should)


class EndPatched:
    """A read-only file object over ``fd`` (for :class:`soundfile.SoundFile`) that shows the
    page at ``offset`` with its granule position unknown (a large value) and its checksum
    fixed: libsndfile then decodes to the end of the data."""

    def __init__(self, fd: int, size: int, offset: int):
        self.fd, self.size, self.pos = fd, size, 0
        head = os.pread(fd, _HEADER.size + 1, offset)
        lacing = os.pread(fd, head[-1], offset + _HEADER.size + 1)
        page = bytearray(os.pread(fd, _HEADER.size + 1 + len(lacing) + sum(lacing), offset))
        page[6:14] = struct.pack("<q", _UNKNOWN_END)
        page[22:26] = struct.pack("<I", page_crc(bytes(page)))
        self.start, self.patch = offset, bytes(page[:26])

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: self.size}[whence]
        self.pos = max(base + offset, 0)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n is None or n < 0 else min(n, max(self.size - self.pos, 0))
        data = bytearray(os.pread(self.fd, n, self.pos))
        a, b = max(self.pos, self.start), min(self.pos + len(data), self.start + len(self.patch))
        if a < b:  # the patched header bytes within this read
            data[a - self.pos:b - self.pos] = self.patch[a - self.start:b - self.start]
        self.pos += len(data)
        return bytes(data)
