"""Camera path and jitter estimated from the frames alone.

Between consecutive frames, dense DIS flow is sampled on a grid (every 8 px, 4 % border left
out) and a similarity transform (translation, rotation, scale) is fitted robustly with RANSAC
(``cv2.estimateAffinePartial2D``, 1 px threshold), so a moving subject does not pull the
camera. Chaining the transforms gives the path of the frame centre in the coordinates of the
shot's first frame; jitter is the RMS of its second difference (px/frame²): zero for a camera
at rest or moving at constant speed, large for shake.
"""
from __future__ import annotations

import cv2
import numpy as np

from framemend.flow import estimate_flow

from ._arrays import pair_valid, to_torch


def frame_motions(frames, quality: str = "medium", step: int = 8) -> np.ndarray:
    """``(T-1, 3, 3)`` similarity transforms from frame t pixels to frame t+1 pixels."""
    x = to_torch(frames)
    _, _, h, w = x.shape
    flow = estimate_flow(x[:-1], x[1:], quality=quality).numpy()
    by, bx = max(1, int(0.04 * h)), max(1, int(0.04 * w))
    ys, xs = np.mgrid[by:h - by:step, bx:w - bx:step]
    src = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    out = np.tile(np.eye(3), (flow.shape[0], 1, 1))
    for t, f in enumerate(flow):
        dst = src + f[:, ys.ravel(), xs.ravel()].T
        a, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                           ransacReprojThreshold=1.0, maxIters=2000,
                                           confidence=0.999, refineIters=20)
        if a is not None:
            out[t, :2] = a
    return out


def camera_path(frames, cuts=None, quality: str = "medium") -> np.ndarray:
    """``(T, 2)`` position of the frame centre in the coordinates of its shot's first frame."""
    frames = np.asarray(frames)
    t_count, h, w = frames.shape[:3]
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0, 1.0])
    motions = frame_motions(frames, quality)
    valid = pair_valid(t_count, cuts)
    to_ref = np.eye(3)
    path = np.empty((t_count, 2))
    path[0] = centre[:2]
    for t in range(1, t_count):
        to_ref = to_ref @ np.linalg.inv(motions[t - 1]) if valid[t - 1] else np.eye(3)
        p = to_ref @ centre
        path[t] = p[:2] / p[2]
    return path


def path_acceleration(path: np.ndarray, cuts=None) -> np.ndarray:
    """``(T-2,)`` magnitude of the second difference of a path ``(T, 2)``; NaN across cuts."""
    acc = np.linalg.norm(path[2:] - 2 * path[1:-1] + path[:-2], axis=1)
    ok = pair_valid(len(path), cuts)
    acc[~(ok[:-1] & ok[1:])] = np.nan
    return acc


def jitter_per_frame(frames, cuts=None, quality: str = "medium") -> np.ndarray:
    """``(T-2,)`` acceleration of the estimated camera path at frames 1 .. T-2 (px/frame²)."""
    return path_acceleration(camera_path(frames, cuts, quality), cuts)


def jitter(frames, cuts=None, quality: str = "medium") -> float:
    """RMS acceleration of the estimated camera path (px/frame²)."""
    acc = jitter_per_frame(frames, cuts, quality)
    return float(np.sqrt(np.nanmean(acc ** 2)))
