"""An Ogg file's last granule position checked against its pages (used by :mod:`tympan.io.decoding`).

libsndfile takes an Ogg stream's length from the granule position of its last page and never
decodes beyond it: a last granule forged (or damaged with its checksum fixed) to 0, to a small
number or to -1 hides most of the audio ("holds no audio", a tenth of a second of a minute).
:func:`forged_end` reads the page headers (not the audio) and tells when the last granule
cannot be right: -1 (no packet ends there), below an earlier page's granule, or below what the
packets of the last page must add (each Vorbis packet gives at least half the short block,
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


def forged_end(fd: int, size: int) -> int | None:
    """The offset of the last page of the Ogg file ``fd`` when its granule position cannot be
    right (see the module docstring), else ``None`` (not Ogg, or consistent)."""
    pos, serial, earlier, per_packet = 0, None, -1, 0
    last = None  # (offset, granule, packets ending there)
    while pos + _HEADER.size + 1 <= size:
        head = os.pread(fd, _HEADER.size + 1, pos)
        if len(head) < _HEADER.size + 1 or head[:4] != b"OggS" or head[4] != 0:
            break
        _, _, _, granule, page_serial, _, _ = _HEADER.unpack_from(head)
        lacing = os.pread(fd, head[-1], pos + _HEADER.size + 1)
        end = pos + _HEADER.size + 1 + len(lacing) + sum(lacing)
        if len(lacing) < head[-1] or end > size:
            break
        if serial is None:
            serial = page_serial
            per_packet = _min_samples_per_packet(os.pread(fd, 29, end - sum(lacing)))
        if page_serial == serial:
            if last is not None and last[1] != -1:
                earlier = max(earlier, last[1])
            last = (pos, granule, sum(1 for v in lacing if v < 255))
        pos = end
    if last is None or earlier < 0:
        return None  # not Ogg, or one page: nothing to compare with
    offset, granule, packets = last
    if granule == -1 or granule < earlier + max(packets - 2, 0) * per_packet:
        page = os.pread(fd, size - offset, offset)  # (the last page: what is left of the file)
        if page_crc(page[:_page_length(page)]) == _HEADER.unpack_from(page)[6]:
            return offset  # its checksum holds: only the length is wrong
    return None  # (a page whose checksum fails is corrupt: libsndfile drops it, as it should)


def _page_length(page: bytes) -> int:
    nseg = page[_HEADER.size]
    return _HEADER.size + 1 + nseg + sum(page[_HEADER.size + 1:_HEADER.size + 1 + nseg])


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
