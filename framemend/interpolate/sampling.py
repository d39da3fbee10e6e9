"""Bilinear sampling of interleaved ``(h, w, C)`` images inside numba kernels, edges replicated
(as OpenCV's ``remap`` with ``BORDER_REPLICATE`` and torch's ``grid_sample`` with border
padding): :func:`corners` once per position, then :func:`sample` per channel."""
from __future__ import annotations

import numba


@numba.njit(cache=True, nogil=True, inline="always")
def corners(image, x, y):
    """The pixels ``(row, column)`` around ``(x, y)`` (clamped to the frame), top-left then
    bottom-right, and the bilinear fractions ``(fx, fy)``."""
    h, w = image.shape[:2]
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    x0, y0 = min(int(x), max(w - 2, 0)), min(int(y), max(h - 2, 0))
    return (y0, x0), (min(y0 + 1, h - 1), min(x0 + 1, w - 1)), x - x0, y - y0


@numba.njit(cache=True, nogil=True, inline="always")
def sample(image, top_left, bottom_right, fx, fy, c):
    """Channel ``c`` of ``image`` at the position described by :func:`corners`."""
    (y0, x0), (y1, x1) = top_left, bottom_right
    top = (1 - fx) * image[y0, x0, c] + fx * image[y0, x1, c]
    bottom = (1 - fx) * image[y1, x0, c] + fx * image[y1, x1, c]
    return (1 - fy) * top + fy * bottom
