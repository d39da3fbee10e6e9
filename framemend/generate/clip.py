"""The ``Clip`` a generator returns: frames plus the ground truth they were made from."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Clip:
    """A generated clip and its ground truth.

    Attributes:
        frames: ``(T, H, W, 3)`` float32 RGB in [0, 1].
        fps: frame rate.
        flow_fwd: ``(T-1, 2, H, W)`` float32 true flow from frame t to t+1 in pixels (x, y),
            ``frames[t](p) ≈ frames[t+1](p + flow_fwd[t](p))``; zero across a cut (no
            correspondence there); None when unknown.
        camera: ``(T, 3, 3)`` homographies from frame t pixel coordinates to the coordinates of
            the reference frame (the first frame of frame t's shot).
        subject_box: ``(T, 4)`` float32 ``x0, y0, x1, y1`` of the moving subject, or None.
        cuts: indices of the frames that start a new shot (frame 0 is not listed).
        truth: for a degraded clip, the clean frames ``(T0, H, W, 3)`` it was made from (``T0``
            differs from ``T`` after dropped frames); None for a clean clip.
        shake: ``(T, 3, 3)`` homographies of the jitter applied (clean pixel -> shaken pixel),
            or None.
        occluded: ``(T-1, H, W)`` bool, True where the pixel of frame t is hidden in frame t+1
            (behind another layer, outside the frame, or across a cut); None when unknown.
    """

    frames: np.ndarray
    fps: float
    flow_fwd: np.ndarray | None
    camera: np.ndarray
    subject_box: np.ndarray | None = None
    cuts: list[int] = field(default_factory=list)
    truth: np.ndarray | None = None
    shake: np.ndarray | None = None
    occluded: np.ndarray | None = None

    def __len__(self) -> int:
        return self.frames.shape[0]
