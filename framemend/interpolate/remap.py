"""OpenCV remap flags for sampling at ``p + map(p)``: the map is a motion added to each pixel's
own position (``WARP_RELATIVE_MAP``), as the flows here are, so no pixel grid is made."""
from __future__ import annotations

import cv2

RELATIVE_BILINEAR = cv2.INTER_LINEAR | cv2.WARP_RELATIVE_MAP  # bilinear at p + map(p)
RELATIVE_BICUBIC = cv2.INTER_CUBIC | cv2.WARP_RELATIVE_MAP  # bicubic (Keys, a = -0.75) there
