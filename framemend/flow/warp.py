"""Backward warping and forward-backward occlusion masks."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _base_grid(h: int, w: int, device, dtype) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                            torch.arange(w, device=device, dtype=dtype), indexing="ij")
    return torch.stack([xs, ys])  # (2, H, W)


def backward_warp(image: torch.Tensor, flow: torch.Tensor, padding: str = "border") -> torch.Tensor:
    """Sample ``image`` at ``p + flow(p)`` (bilinear).

    Args:
        image: ``(T, C, H, W)``.
        flow: ``(T, 2, H, W)`` in pixels.
        padding: ``border`` repeats edge pixels outside the frame; ``zeros`` gives 0 there.
    Returns:
        ``(T, C, H, W)``.
    """
    t, _, h, w = image.shape
    pos = _base_grid(h, w, flow.device, flow.dtype) + flow
    gx = pos[:, 0] * (2.0 / max(w - 1, 1)) - 1.0
    gy = pos[:, 1] * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode=padding, align_corners=True)


def occlusion_mask(flow_fwd: torch.Tensor, flow_bwd: torch.Tensor, alpha: float = 0.01,
                   beta: float = 0.5) -> torch.Tensor:
    """Pixels whose forward flow is not undone by the backward flow (Sundaram et al. 2010).

    ``flow_fwd`` maps frame A to B, ``flow_bwd`` maps B to A, both ``(T, 2, H, W)``.
    Returns ``(T, 1, H, W)`` bool, True where the pixel of A is occluded (or its flow failed):
    ``|f + b(p+f)|² > alpha (|f|² + |b(p+f)|²) + beta``.
    """
    b_at = backward_warp(flow_bwd, flow_fwd)
    diff = (flow_fwd + b_at).pow(2).sum(1, keepdim=True)
    mag = flow_fwd.pow(2).sum(1, keepdim=True) + b_at.pow(2).sum(1, keepdim=True)
    return diff > alpha * mag + beta
