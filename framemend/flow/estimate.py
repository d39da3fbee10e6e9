"""Dense optical flow between frame batches.

Backend ``dis``: OpenCV's DIS optical flow (Kroeger et al., "Fast Optical Flow using Dense
Inverse Search", ECCV 2016) on 8-bit luma.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

_DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


def _luma_u8(batch: torch.Tensor) -> np.ndarray:
    """``(T, 3, H, W)`` float RGB in [0, 1] -> ``(T, H, W)`` uint8 luma (BT.601 weights)."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=batch.dtype, device=batch.device)
    y = torch.einsum("tchw,c->thw", batch, w)
    return (y.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


def estimate_flow(src: torch.Tensor, dst: torch.Tensor, backend: str = "dis",
                  quality: str = "medium") -> torch.Tensor:
    """Flow from each frame of ``src`` to the matching frame of ``dst``.

    Args:
        src, dst: ``(T, 3, H, W)`` float RGB in [0, 1].
        backend: ``dis``.
        quality: DIS preset, ``ultrafast`` | ``fast`` | ``medium``.
    Returns:
        ``(T, 2, H, W)`` float32 flow in pixels on ``src``'s device, ``src(p) ≈ dst(p + f(p))``.
    """
    if backend != "dis":
        raise ValueError(f"unknown flow backend '{backend}'")
    a, b = _luma_u8(src), _luma_u8(dst)
    dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[quality])
    flows = [dis.calc(a[t], b[t], None) for t in range(a.shape[0])]
    return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).contiguous().to(src.device)
