"""Identity drift: how far the subject's appearance wanders from a keyframe.

The subject's box is cropped from every frame, resized to 64x64, lightly blurred (sigma 1, so
sub-pixel placement does not count) and compared with the keyframe's crop by local SSIM (Wang
et al. 2004) over the ellipse inscribed in the box (the corners are background). The median of
the SSIM map is used, so a passing occluder covering part of the subject counts little. Drift is
``1 - median SSIM``: 0 means unchanged. Colour changes lower SSIM through the per-channel
luminance term, shape changes through the structure term.
"""
from __future__ import annotations

import cv2
import numpy as np

from ._arrays import as_float
from .reference import ssim_map

CROP = 64


def _crops(frames: np.ndarray, box) -> np.ndarray:
    t, h, w, _ = frames.shape
    if box is None:
        box = (0, 0, w - 1, h - 1)
    boxes = np.broadcast_to(np.asarray(box, np.float64), (t, 4))
    out = np.empty((t, CROP, CROP, 3), np.float32)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        x0, y0 = int(np.clip(np.floor(x0), 0, w - 2)), int(np.clip(np.floor(y0), 0, h - 2))
        x1, y1 = int(np.clip(np.ceil(x1), x0 + 1, w - 1)), int(np.clip(np.ceil(y1), y0 + 1, h - 1))
        crop = cv2.resize(frames[i, y0:y1 + 1, x0:x1 + 1], (CROP, CROP),
                          interpolation=cv2.INTER_AREA)
        out[i] = cv2.GaussianBlur(crop, (0, 0), 1.0)
    return out


def identity_drift_per_frame(frames, box=None, keyframe: int = 0) -> np.ndarray:
    """``(T,)`` ``1 - median SSIM`` of the subject crop of each frame against the keyframe's.

    ``frames``: ``(T, H, W, 3)``; ``box``: ``(T, 4)`` or ``(4,)`` x0, y0, x1, y1 (e.g.
    ``Clip.subject_box``); default the whole frame.
    """
    crops = _crops(as_float(frames), box)
    ys, xs = np.mgrid[0:CROP, 0:CROP]
    c = (CROP - 1) / 2.0
    inside = np.hypot(xs - c, ys - c) <= 0.9 * c
    return np.array([1.0 - float(np.median(ssim_map(crop, crops[keyframe])[inside]))
                     for crop in crops])


def identity_drift(frames, box=None, keyframe: int = 0) -> float:
    """Mean over frames of :func:`identity_drift_per_frame`."""
    return float(identity_drift_per_frame(frames, box, keyframe).mean())
