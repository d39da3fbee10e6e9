"""BT.601 luma, the grey that flow, scene cuts, metrics and the passes read.

``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601), on RGB in [0, 1]: the weights are written
here once (:data:`LUMA`); :mod:`framemend.video.colour` takes its BT.601 matrix from them too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # no torch import here: scene cuts and the YUV matrices read LUMA too
    import torch

LUMA = (0.299, 0.587, 0.114)  # BT.601 weights of R, G, B


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB -> ``(N, 1, H, W)`` luma; ``(N, 1, H, W)`` is returned as it is.
    The weights are Python numbers: a weight tensor would be copied to the GPU (and waited
    for)."""
    if rgb.shape[1] == 1:
        return rgb
    return LUMA[0] * rgb[:, 0:1] + LUMA[1] * rgb[:, 1:2] + LUMA[2] * rgb[:, 2:3]


def luma_np(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` channels-last float RGB -> ``(...)`` float32 luma."""
    return rgb @ np.array(LUMA, np.float32)


def luma_u8(batch: torch.Tensor) -> np.ndarray:
    """``(T, 3, H, W)`` float RGB (or ``(T, 1, H, W)`` luma) in [0, 1] on any device ->
    ``(T, H, W)`` uint8 luma on the CPU (rounded, saturated)."""
    return (luma(batch)[:, 0].clamp(0, 1) * 255 + 0.5).byte().cpu().numpy()


def luma_u8_planes(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Float32 planes ``(H, W)`` of R, G, B in [0, 1] -> ``(H, W)`` uint8 luma, in OpenCV
    (rounded, saturated; no copy of planar frames)."""
    y = cv2.scaleAdd(b, LUMA[2], cv2.addWeighted(r, LUMA[0], g, LUMA[1], 0.0))
    return cv2.convertScaleAbs(cv2.max(y, 0.0), alpha=255.0)


def luma_u8_hwc(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float32 RGB in [0, 1] -> ``(H, W)`` uint8 luma, in OpenCV (rounded,
    saturated; ``COLOR_RGB2GRAY`` applies the BT.601 weights)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if grey.size == 1:  # OpenCV reads a 1x1 array beside a number as a Scalar: (4, 1) back
        return cv2.convertScaleAbs(np.fmax(grey, 0.0), alpha=255.0)
    return cv2.convertScaleAbs(cv2.max(grey, 0.0, dst=grey), alpha=255.0)
