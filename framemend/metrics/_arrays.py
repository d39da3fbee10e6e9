"""Conversions shared by the metrics: numpy ``(T, H, W, 3)`` clips <-> torch ``(T, 3, H, W)``."""
from __future__ import annotations

import numpy as np
import torch

from framemend.float_range import check_float_range
from framemend.kernels.colour import luma_np


def as_float(frames) -> np.ndarray:
    """``(T, H, W, 3)`` uint8, uint16 or float -> float32 in [0, 1] (integers are scaled); any
    shape is taken (PSNR of a set of pixels). ValueError for floats on another scale, as the
    filters give (:func:`~framemend.float_range.check_float_range`)."""
    frames = np.asarray(frames)
    if frames.dtype in (np.uint8, np.uint16):
        return frames.astype(np.float32) / np.float32(np.iinfo(frames.dtype).max)
    frames = frames.astype(np.float32, copy=False)
    if frames.size:  # 0-255 floats were scored as if in [0, 1]; the filters refuse them
        check_float_range(float(frames.min()), float(frames.max()))
    return frames


def as_clip(frames, min_frames: int = 1) -> np.ndarray:
    """:func:`as_float` of a clip ``(T, H, W, 3)`` or grey ``(T, H, W, 1)``; ValueError for
    another layout or fewer than ``min_frames`` frames (a torch ``(T, C, H, W)`` clip met
    OpenCV's "invalid count" of channels, a ``(T, H, W)`` one torch's permute error, and one
    frame gave NaN with numpy's "Mean of empty slice")."""
    frames = np.asarray(frames)
    shape = frames.shape
    if len(shape) != 4 or shape[-1] not in (1, 3):
        hint = ""
        if len(shape) == 4 and shape[1] in (1, 3):
            hint = (": move the channels last (tensor.permute(0, 2, 3, 1), "
                    "array.transpose(0, 2, 3, 1))")
        elif len(shape) == 3:
            hint = (": for grey frames (T, H, W), give frames[..., None]; for one picture "
                    "(H, W, 3), frames[None]")
        raise ValueError("the metrics take clips (T, H, W, 3), or (T, H, W, 1) for grey, got "
                         f"{shape}{hint}")
    if shape[0] < min_frames:
        raise ValueError(f"no frames to score: the clip has shape {shape}" if not shape[0] else
                         f"this metric compares frames: it needs {min_frames} or more, got "
                         f"{shape[0]}")
    return as_float(frames)


def to_torch(frames, min_frames: int = 1) -> torch.Tensor:
    """``(T, H, W, 3)`` numpy -> ``(T, 3, H, W)`` float32 torch tensor (CPU), checked as
    :func:`as_clip` checks it."""
    return torch.from_numpy(np.ascontiguousarray(as_clip(frames, min_frames))).permute(0, 3, 1, 2)


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
