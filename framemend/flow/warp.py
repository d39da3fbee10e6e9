"""Backward warping, flow resizing and occlusion masks."""
from __future__ import annotations

from framemend._torch import F, torch


def _base_grid(h: int, w: int, device, dtype) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                            torch.arange(w, device=device, dtype=dtype), indexing="ij")
    return torch.stack([xs, ys])  # (2, H, W)


def backward_warp(image: torch.Tensor, flow: torch.Tensor, padding: str = "border",
                  mode: str = "bilinear") -> torch.Tensor:
    """Sample ``image`` at ``p + flow(p)``.

    Args:
        image: ``(T, C, H, W)``.
        flow: ``(T, 2, H, W)`` in pixels.
        padding: ``border`` repeats edge pixels outside the frame; ``zeros`` gives 0 there.
        mode: ``bilinear``, or ``bicubic`` (Keys' cubic convolution with ``a = -0.75``, as
            OpenCV's ``INTER_CUBIC``; may overshoot the input's range at sharp edges).
    Returns:
        ``(T, C, H, W)``.
    """
    t, _, h, w = image.shape
    pos = _base_grid(h, w, flow.device, flow.dtype) + flow
    gx = pos[:, 0] * (2.0 / max(w - 1, 1)) - 1.0
    gy = pos[:, 1] * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(image, grid, mode=mode, padding_mode=padding, align_corners=True)


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resample a flow field to ``size = (H', W')`` and rescale its values to the new pixels.

    Bilinear (antialiased when shrinking), pixel centres aligned (``align_corners=False``);
    x values are multiplied by ``W'/W`` and y values by ``H'/H``.

    Args:
        flow: ``(T, 2, H, W)`` in pixels.
    Returns:
        ``(T, 2, H', W')`` in pixels of the new size.
    """
    h, w = flow.shape[-2:]
    if (h, w) == tuple(size):
        return flow
    shrink = size[0] < h or size[1] < w
    out = F.interpolate(flow, size=tuple(size), mode="bilinear", align_corners=False,
                        antialias=shrink)
    out[:, 0] *= size[1] / w  # Python numbers: no tensor copied to the device and waited for
    out[:, 1] *= size[0] / h
    return out


def outside_mask(flow: torch.Tensor) -> torch.Tensor:
    """``(T, 1, H, W)`` bool, True where ``p + flow(p)`` falls outside the frame."""
    h, w = flow.shape[-2:]
    pos = _base_grid(h, w, flow.device, flow.dtype) + flow
    return ((pos[:, 0:1] < 0) | (pos[:, 0:1] > w - 1) | (pos[:, 1:2] < 0) | (pos[:, 1:2] > h - 1))


def occlusion_mask(flow_fwd: torch.Tensor, flow_bwd: torch.Tensor, alpha: float = 0.01,
                   beta: float = 0.5) -> torch.Tensor:
    """Pixels whose forward flow is not undone by the backward flow (Sundaram et al. 2010).

    ``flow_fwd`` maps frame A to B, ``flow_bwd`` maps B to A, both ``(T, 2, H, W)``.
    Returns ``(T, 1, H, W)`` bool, True where the pixel of A is occluded in B, leaves B's frame
    or its flow failed: ``|f + b(p+f)|² > alpha (|f|² + |b(p+f)|²) + beta`` or ``p+f`` outside.
    """
    b_at = backward_warp(flow_bwd, flow_fwd)
    diff = (flow_fwd + b_at).pow(2).sum(1, keepdim=True)
    mag = flow_fwd.pow(2).sum(1, keepdim=True) + b_at.pow(2).sum(1, keepdim=True)
    return (diff > alpha * mag + beta) | outside_mask(flow_fwd)
