"""Frame-to-frame motion from sparse tracked features.

Shi-Tomasi corners (Shi & Tomasi, "Good Features to Track", CVPR 1994) tracked with pyramidal
Lucas-Kanade (Bouguet 2000), then a 4-DOF similarity fitted robustly with RANSAC
(``cv2.estimateAffinePartial2D``), which rejects independently moving subjects as outliers.
Motion is estimated on 8-bit luma at most ``ANALYSIS_WIDTH`` pixels wide and returned in the
pixel coordinates of the full-size frame.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

#: Frames wider than this are analysed at reduced size (the transform is rescaled).
ANALYSIS_WIDTH = 640
_MAX_CORNERS = 300
_MIN_INLIERS = 8


def analysis_luma(image: torch.Tensor) -> tuple[np.ndarray, float]:
    """``(3, H, W)`` float RGB in [0, 1] -> (uint8 luma at most ``ANALYSIS_WIDTH`` wide, scale).

    ``scale`` is full-size pixels per analysis pixel (1.0 when not reduced).
    """
    w = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype, device=image.device)
    y = (torch.einsum("chw,c->hw", image, w).clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
    width = y.shape[1]
    if width <= ANALYSIS_WIDTH:
        return y, 1.0
    scale = width / ANALYSIS_WIDTH
    small = cv2.resize(y, (ANALYSIS_WIDTH, round(y.shape[0] / scale)), interpolation=cv2.INTER_AREA)
    return small, scale


def similarity_motion(prev: np.ndarray, cur: np.ndarray, scale: float = 1.0,
                      mask: np.ndarray | None = None) -> np.ndarray | None:
    """The similarity ``M`` (3, 3) with ``cur(M p) ≈ prev(p)``: where each pixel of ``prev`` went.

    Args:
        prev, cur: ``(h, w)`` uint8 luma from :func:`analysis_luma`.
        scale: full-size pixels per analysis pixel; ``M`` is returned in full-size pixels.
        mask: optional ``(h, w)`` uint8, non-zero where features may be taken in ``prev``.
    Returns:
        ``M`` as float64 (3, 3), or None when too few features agree (flat or occluded frame).
    """
    pts = cv2.goodFeaturesToTrack(prev, _MAX_CORNERS, 0.01, 7, mask=mask, blockSize=7)
    if pts is None or len(pts) < _MIN_INLIERS:
        return None
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None, winSize=(21, 21), maxLevel=3)
    ok = status.ravel() == 1
    if ok.sum() < _MIN_INLIERS:
        return None
    m, inliers = cv2.estimateAffinePartial2D(pts[ok], nxt[ok], method=cv2.RANSAC,
                                             ransacReprojThreshold=1.0, maxIters=500,
                                             confidence=0.995, refineIters=10)
    if m is None or inliers.sum() < _MIN_INLIERS:
        return None
    m = np.vstack([m, [0.0, 0.0, 1.0]])
    if scale != 1.0:
        s = np.diag([scale, scale, 1.0])
        m = s @ m @ np.linalg.inv(s)
    return m
