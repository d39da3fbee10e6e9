"""Bilinear sampling inside numba kernels, the position clamped to the frame (as OpenCV's
``remap`` with ``BORDER_REPLICATE`` and torch's ``grid_sample`` with border padding and
``align_corners=True``): :func:`corners` (or :func:`inner_corners` well inside the frame) once
per position, then :func:`sample` (interleaved ``(h, w, C)`` images) or :func:`sample_planar`
(``(C, h, w)``) per channel. The device path's twin is :func:`framemend.cuda.launch.bilinear`."""
from __future__ import annotations

import numba


@numba.njit(cache=True, nogil=True, inline="always")
def corners(h, w, x, y):
    """The pixels ``(row, column)`` around ``(x, y)`` in an ``h`` x ``w`` frame (clamped to
    it), top-left then bottom-right, and the bilinear fractions ``(fx, fy)``."""
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    x0, y0 = min(int(x), max(w - 2, 0)), min(int(y), max(h - 2, 0))
    return (y0, x0), (min(y0 + 1, h - 1), min(x0 + 1, w - 1)), x - x0, y - y0


@numba.njit(cache=True, nogil=True, inline="always")
def inner_corners(x, y):
    """:func:`corners` (the same values) of an ``(x, y)`` known to lie in ``[0, w - 2]`` x
    ``[0, h - 2]``, where none of its clamps acts."""
    x0, y0 = int(x), int(y)
    return (y0, x0), (y0 + 1, x0 + 1), x - x0, y - y0


@numba.njit(cache=True, nogil=True, inline="always")
def _blend(top_left, top_right, bottom_left, bottom_right, fx, fy):
    top = (1 - fx) * top_left + fx * top_right
    return (1 - fy) * top + fy * ((1 - fx) * bottom_left + fx * bottom_right)


@numba.njit(cache=True, nogil=True, inline="always")
def sample(image, top_left, bottom_right, fx, fy, c):
    """Channel ``c`` of an ``(h, w, C)`` ``image`` at the position described by
    :func:`corners`."""
    (y0, x0), (y1, x1) = top_left, bottom_right
    return _blend(image[y0, x0, c], image[y0, x1, c], image[y1, x0, c], image[y1, x1, c], fx, fy)


@numba.njit(cache=True, nogil=True, inline="always")
def sample_planar(image, c, top_left, bottom_right, fx, fy):
    """Channel ``c`` of a ``(C, h, w)`` ``image`` at the position described by
    :func:`corners`."""
    (y0, x0), (y1, x1) = top_left, bottom_right
    return _blend(image[c, y0, x0], image[c, y0, x1], image[c, y1, x0], image[c, y1, x1], fx, fy)
