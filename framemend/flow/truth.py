"""Ground-truth flow of rigid scenes from their known camera transforms.

A generated clip that is rigid (the whole picture follows one projective camera motion)
carries ``camera`` ``(T, 3, 3)``: homographies from frame ``t`` pixel coordinates to the
reference (frame 0) coordinates. A pixel ``p`` of frame ``t`` is then at
``H = camera[t+1]⁻¹ · camera[t]`` applied to ``p`` in frame ``t+1``.
"""
from __future__ import annotations

import numpy as np

from framemend._torch import torch


def homography_flow(homographies: np.ndarray | torch.Tensor, height: int,
                    width: int) -> torch.Tensor:
    """Flow ``f(p) = H p - p`` (projective division) of each homography.

    Args:
        homographies: ``(T, 3, 3)`` mapping pixel ``(x, y, 1)`` of the source to the target.
    Returns:
        ``(T, 2, height, width)`` float32 flow in pixels.
    """
    hom = torch.as_tensor(np.asarray(homographies), dtype=torch.float64)
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float64),
                            torch.arange(width, dtype=torch.float64), indexing="ij")
    p = torch.stack([xs, ys, torch.ones_like(xs)]).reshape(3, -1)
    q = hom @ p  # (T, 3, H*W)
    q = q[:, :2] / q[:, 2:]
    return (q - p[:2]).reshape(-1, 2, height, width).float()


def camera_flow(camera: np.ndarray | torch.Tensor, height: int, width: int,
                step: int = 1) -> torch.Tensor:
    """Ground-truth flow from frame ``t`` to ``t + step`` of a rigid clip.

    Args:
        camera: ``(T, 3, 3)`` homographies from frame-``t`` pixels to reference pixels.
        step: ``1`` for forward flow to the next frame, ``-1`` for backward flow to the previous.
    Returns:
        ``(T - |step|, 2, height, width)``; for ``step=-1`` entry ``k`` is the flow of frame
        ``k + 1`` to frame ``k``.
    """
    cam = np.asarray(camera, dtype=np.float64)
    n = cam.shape[0] - abs(step)
    src = cam[:n] if step > 0 else cam[abs(step):]
    dst = cam[step:] if step > 0 else cam[:n]
    return homography_flow(np.linalg.inv(dst) @ src, height, width)
