"""Identity drift: how far the subject's appearance wanders from a keyframe.

The subject's box is cropped from every frame, resized to 64x64 and lightly blurred (sigma 1).
Each crop is aligned to the keyframe's by a rigid (rotation + translation) ECC fit (Evangelidis
and Psarakis, "Parametric Image Alignment Using Enhanced Correlation Coefficient Maximization",
TPAMI 2008), so head turns within the box and box placement do not count while colour and
shape changes (stretch, scale) do. The aligned crops are compared by local SSIM (Wang et al.
2004) over the ellipse inscribed in the box (the corners are background), taking the median so
that an occluder covering part of the subject counts little. Drift is ``1 - median SSIM``: 0
means unchanged.
"""
from __future__ import annotations

import cv2
import numpy as np

from ._arrays import as_clip
from .reference import ssim_map

CROP = 64
_ys, _xs = np.mgrid[0:CROP, 0:CROP]
_INSIDE = np.hypot(_xs - (CROP - 1) / 2, _ys - (CROP - 1) / 2) <= 0.9 * (CROP - 1) / 2


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


def _aligned(crop: np.ndarray, key_grey: np.ndarray) -> np.ndarray:
    """``crop`` warped onto the keyframe crop by a rigid ECC fit (unchanged if it fails)."""
    warp = np.eye(2, 3, dtype=np.float32)
    try:
        _, warp = cv2.findTransformECC(key_grey, cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), warp,
                                       cv2.MOTION_EUCLIDEAN,
                                       (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4),
                                       _INSIDE.astype(np.uint8), 1)
    except cv2.error:  # no convergence (e.g. a flat crop): compare as placed
        return crop
    return cv2.warpAffine(crop, warp, (CROP, CROP), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def identity_drift_per_frame(frames, box=None, keyframe: int = 0) -> np.ndarray:
    """``(T,)`` ``1 - median SSIM`` of each frame's aligned subject crop against the keyframe's.

    ``frames``: ``(T, H, W, 3)``; ``box``: ``(T, 4)`` or ``(4,)`` x0, y0, x1, y1 (e.g.
    ``Clip.subject_box``); default the whole frame.
    """
    crops = _crops(as_clip(frames), box)
    key = crops[keyframe]
    key_grey = cv2.cvtColor(key, cv2.COLOR_RGB2GRAY)
    return np.array([1.0 - float(np.median(ssim_map(_aligned(c, key_grey), key)[_INSIDE]))
                     for c in crops])


def identity_drift(frames, box=None, keyframe: int = 0) -> float:
    """Mean over frames of :func:`identity_drift_per_frame`."""
    return float(identity_drift_per_frame(frames, box, keyframe).mean())
