"""Conversions shared by the metrics: numpy ``(T, H, W, 3)`` clips <-> torch ``(T, 3, H, W)``."""
from __future__ import annotations

import numpy as np
import torch

from framemend.kernels.colour import luma_np


def as_float(frames) -> np.ndarray:
    """``(T, H, W, 3)`` uint8, uint16 or float -> float32 in [0, 1] (integers are scaled)."""
    frames = np.asarray(frames)
    if frames.dtype in (np.uint8, np.uint16):
        return frames.astype(np.float32) / np.float32(np.iinfo(frames.dtype).max)
    return frames.astype(np.float32, copy=False)


def to_torch(frames) -> torch.Tensor:
    """``(T, H, W, 3)`` numpy -> ``(T, 3, H, W)`` float32 torch tensor (CPU)."""
    return torch.from_numpy(np.ascontiguousarray(as_float(frames))).permute(0, 3, 1, 2)


def luma(frames: np.ndarray) -> np.ndarray:
    """``(T, H, W, 3)`` float RGB -> ``(T, H, W)`` BT.601 luma."""
    return luma_np(frames)


def pair_valid(count: int, cuts) -> np.ndarray:
    """``(count - 1,)`` bool: True for frame pairs (t, t+1) that do not straddle a cut."""
    valid = np.ones(max(count - 1, 0), bool)
    for c in cuts or []:
        if 0 < c < count:
            valid[c - 1] = False
    return valid
