"""interpolate's uint8 frames sampled through OpenCV's four-channel remap (``remap.padded``,
``remap.remap_rgb``): each channel gets the values of remapping the three-channel frame, so
the in-betweens and the smear's taps are what they were."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from framemend.interpolate.remap import RELATIVE_BICUBIC, RELATIVE_BILINEAR, padded, remap_rgb


@pytest.mark.parametrize("flags", [RELATIVE_BILINEAR, RELATIVE_BICUBIC, cv2.INTER_LINEAR])
@pytest.mark.parametrize("h, w, spread", [(360, 640, 3.0), (37, 53, 40.0), (1, 9, 2.0)])
def test_a_padded_frame_remaps_to_the_three_channel_values(flags, h, w, spread):
    image = cv2.resize(data.astronaut(), (w, h), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(h * w)
    move = rng.normal(0, spread, (h, w, 2)).astype(np.float32)
    if not flags & cv2.WARP_RELATIVE_MAP:  # an absolute map, as the smear's box takes
        move += np.dstack(np.meshgrid(np.arange(w, dtype=np.float32),
                                      np.arange(h, dtype=np.float32)))
    expected = cv2.remap(image, move, None, flags, borderMode=cv2.BORDER_REPLICATE)
    assert np.array_equal(remap_rgb(padded(image, flags), move, flags), expected)
    into = np.empty_like(image)
    remap_rgb(padded(image, flags), move, flags, into, np.empty((h, w, 4), np.uint8))
    assert np.array_equal(into, expected)
