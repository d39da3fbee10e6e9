"""``kernels.relative_remap``: a four-channel float32 image sampled a row at a time gives the bits
of OpenCV's ``remap`` (``INTER_LINEAR | WARP_RELATIVE_MAP``, ``BORDER_REPLICATE``), which
denoise's CPU path used for its prediction before (its output must not move)."""
from __future__ import annotations

import cv2
import numba
import numpy as np
import pytest

from framemend.kernels.relative_remap import gather4, relative_taps


@numba.njit
def _remapped(image, flow, out):
    """``out`` ``(H, W, 4)``: ``image`` ``(H, W, 4)`` sampled along ``flow`` ``(H, W, 2)``, row
    by row as denoise's update does."""
    h, w = flow.shape[:2]
    taps = np.empty((4, w), np.int32)
    fractions = np.empty((2, w), np.float32)
    flow_x, flow_y = np.empty(w, np.float32), np.empty(w, np.float32)
    for y in range(h):
        for x in range(w):
            flow_x[x], flow_y[x] = flow[y, x, 0], flow[y, x, 1]
        relative_taps(flow_x, flow_y, y, h, w, taps, fractions)
        gather4(image, taps, fractions, out[y])


@pytest.mark.parametrize("h, w, spread", [(360, 640, 0.7), (360, 640, 6.0), (131, 97, 25.0),
                                          (1, 5, 3.0), (7, 1, 3.0), (90, 160, 1e4)])
def test_rows_sampled_as_opencvs_remap_samples_them(h, w, spread):
    """Random images (values over many octaves) along random flows, from sub-pixel moves to
    positions far outside the frame (each tap clamped to it)."""
    rng = np.random.default_rng(h * w)
    image = (rng.standard_normal((h, w, 4)) * np.exp2(rng.integers(-20, 8, (h, w, 4))))
    image = image.astype(np.float32)
    flow = (rng.standard_normal((h, w, 2)) * spread).astype(np.float32)
    flow[::7, ::5] = np.round(flow[::7, ::5])  # whole pixels: fractions of 0
    expected = cv2.remap(image, flow, None, cv2.INTER_LINEAR | cv2.WARP_RELATIVE_MAP,
                         borderMode=cv2.BORDER_REPLICATE)
    out = np.empty_like(image)
    _remapped(image, flow, out)
    assert np.array_equal(out.view(np.uint32), expected.view(np.uint32))
