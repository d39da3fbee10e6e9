"""The length a cut ASF (WMV, WMA) file declares, which FFmpeg does not tell.

FFmpeg's ASF demuxer takes the stream's length from the File Properties Object's play duration
only when the file's size is within 5 % of the size that object declares, so a file cut by more
than that has no declared length and reads to its cut without a word. The object is read here.

ASF layout (Microsoft's ASF specification 1.20, sections 3.1-3.2): the Header Object (GUID, 64-bit
size, 32-bit child count, two reserved bytes) holds child objects, each a GUID and a 64-bit size;
the File Properties Object's fields after its own GUID and size: file ID (16 bytes), file size,
creation date and data packets count (64-bit each), play and send durations (64-bit, 100 ns),
preroll (64-bit, ms) and flags (32-bit; bit 0 broadcast: sizes and durations unknown).
"""
from __future__ import annotations

import os
import struct
import uuid

_HEADER = uuid.UUID("75B22630-668E-11CF-A6D9-00AA0062CE6C").bytes_le
_FILE_PROPERTIES = uuid.UUID("8CABDCA1-A947-11CF-8EE4-00C00C205365").bytes_le
_LARGEST_HEADER = 1 << 20  # far more than any header's objects (codec lists, metadata)


def cut_asf_seconds(path: str) -> float | None:
    """The play duration (seconds, preroll taken off) that the ASF file at ``path`` declares,
    when it is shorter than the file size it declares (it was cut); None for a whole or
    broadcast file, or a header that cannot be read."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(30)
        if len(head) < 30 or head[:16] != _HEADER:
            return None
        header = f.read(min(struct.unpack_from("<Q", head, 16)[0], _LARGEST_HEADER) - 30)
    at = 0
    while at + 24 <= len(header):
        guid, length = header[at:at + 16], struct.unpack_from("<Q", header, at + 16)[0]
        if guid == _FILE_PROPERTIES and at + 104 <= len(header):
            declared, _, _, play, _, preroll, flags = struct.unpack_from("<QQQQQQI", header,
                                                                          at + 40)
            if flags & 1 or size >= declared:
                return None
            return max(play / 1e7 - preroll / 1e3, 0.0)
        if length < 24:
            return None
        at += length
    return None
