"""Planar YUV pictures as arrays: their layout, where their chroma samples sit, views of their
planes, and new pictures of the same kind to write into.

What :mod:`.colour` converts and what a filter reading the decoded planes themselves
(``Filter.reads_yuv``) takes. Nothing here imports PyAV until a new picture is made: the
pictures are given.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import av


def planar_yuv_bits(fmt: av.VideoFormat) -> int | None:
    """Bits per sample of a planar 8-16 bit YUV format (None otherwise)."""
    name = fmt.name
    if not name.startswith(("yuv4", "yuvj4")) or len(fmt.components) != 3:
        return None
    if not name.endswith(("p", "le")):
        return None  # big-endian or packed variants go through swscale
    return fmt.components[0].bits


def subsampling(picture: av.VideoFrame) -> tuple[int, int] | None:
    """``(sx, sy)``, luma pixels per chroma sample across and down, of a planar YUV picture
    (:func:`planar_yuv_bits`) whose chroma is 4:4:4 ``(1, 1)``, 4:2:2 ``(2, 1)`` or 4:2:0
    ``(2, 2)``; None for any other picture (4:1:1, 4:4:0, RGB, palettes)."""
    if planar_yuv_bits(picture.format) is None:
        return None
    luma, chroma = picture.planes[0], picture.planes[1]
    sx, sy = (-(-luma.width // chroma.width), -(-luma.height // chroma.height))
    return (sx, sy) if sx in (1, 2) and sy <= sx else None


def chroma_origin(picture: av.VideoFrame, sx: int, sy: int) -> tuple[float, float]:
    """Where chroma sample ``(0, 0)`` sits, in luma pixels ``(x, y)``: chroma sample ``(i, j)``
    is at ``(sx i + x, sy j + y)``. MPEG-2's siting (H.264, H.265: chroma_sample_loc_type 0,
    co-sited with the even luma columns, between two rows in 4:2:0) for ``yuv`` formats, JPEG's
    (centred both ways) for ``yuvj`` ones: PyAV does not give a frame's own chroma location."""
    centred = picture.format.name.startswith("yuvj")
    return ((sx - 1) / 2 if centred else 0.0, (sy - 1) / 2)


def full_range(picture: av.VideoFrame) -> bool:
    """Whether a YUV picture's values span the full range (JPEG's) rather than the limited
    (16-235 at 8 bits)."""
    return picture.color_range == 2 or picture.format.name.startswith("yuvj")


def sample_type(picture: av.VideoFrame) -> type:
    """The array type of a planar YUV picture's samples: uint8 at 8 bits, else uint16."""
    return np.uint8 if planar_yuv_bits(picture.format) <= 8 else np.uint16


def plane(picture: av.VideoFrame, index: int, dtype) -> np.ndarray:
    """Plane ``index`` of ``picture`` as an ``(h, w)`` view of ``dtype`` (:func:`sample_type`),
    without the rows' padding; writable when the picture is (:func:`blank_like`)."""
    p = picture.planes[index]
    row = p.line_size // np.dtype(dtype).itemsize
    return np.frombuffer(p, dtype).reshape(p.height, row)[:, :p.width]


def blank_like(picture: av.VideoFrame) -> av.VideoFrame:
    """A new picture of ``picture``'s size, format and colour tags, its pixels to be written."""
    import av

    out = av.VideoFrame(picture.width, picture.height, picture.format.name)
    for tag in ("color_range", "colorspace", "color_primaries", "color_trc"):
        setattr(out, tag, getattr(picture, tag))
    return out
