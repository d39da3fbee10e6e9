"""Motion-compensated brightness differences between frames, on a coarse grid of cells.

Deflicker needs, for each cell of frame ``t``, how much brighter the same scene content is in a
neighbour ``s``. Flow runs on small "analysis" images (about 160 pixels wide, DIS medium)
between consecutive frames only. For each consecutive pair the later frame is warped onto the
earlier one (and back) at analysis resolution, and the masked local means of the two are
compared per cell; pixels failing the forward-backward check (Sundaram et al., "Dense point
trajectories by GPU-accelerated large displacement optical flow", ECCV 2010) or leaving the frame
are left out, and so are pixels whose flicker-invariant appearance (luma over its local mean)
does not match after warping: flow that is consistent but wrong (a fast object) is not trusted.
A difference to a frame ``k`` steps away is the sum of the ``k`` consecutive
differences carried along the chained cell-resolution flow, so each frame is warped once, not
once per window position. On CPU the per-pixel comparison and the chaining run as numba loops
(:mod:`._cpu`); the torch functions here are the reference and run elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from framemend.flow import backward_warp, estimate_flow, occlusion_mask

ANALYSIS_WIDTH = 160
MISMATCH = 0.08  # flicker-invariant difference beyond which a warped pixel is not the same content
FLOW_QUALITY = "medium"  # DIS preset on the analysis images


def analysis_factor(width: int) -> int:
    """Integer downscale factor that brings ``width`` close to :data:`ANALYSIS_WIDTH` pixels."""
    return max(1, round(width / ANALYSIS_WIDTH))


def downscale(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Area-average ``(C, H, W)`` by ``factor`` to ``(C, H // factor, W // factor)``.

    OpenCV's area resize on CPU, ``avg_pool2d`` elsewhere (the same result).
    """
    if factor == 1:
        return image
    c, h, w = image.shape
    size = (w // factor, h // factor)
    if image.device.type == "cpu":
        out = torch.empty((c, size[1], size[0]), dtype=image.dtype)
        planes, small = image.contiguous().numpy(), out.numpy()
        for i in range(c):
            cv2.resize(planes[i], size, dst=small[i], interpolation=cv2.INTER_AREA)
        return out
    return F.avg_pool2d(image[None], factor)[0]


@dataclass
class Step:
    """Motion and brightness change from one frame to an adjacent one, per cell.

    ``flow`` ``(2, gh, gw)`` in cells; ``diff`` ``(C, gh, gw)`` mean of the adjacent frame minus
    mean of this frame over the same scene content; ``cover`` ``(1, gh, gw)`` fraction of the
    cell's pixels where that comparison was reliable.
    """

    flow: torch.Tensor
    diff: torch.Tensor
    cover: torch.Tensor


def cell_means(images: torch.Tensor, masks: torch.Tensor, cell: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked means ``(N, C, gh, gw)`` over ``cell``-pixel cells and the mask's mean ``(N, 1, gh, gw)``.

    ``images`` ``(N, C, h, w)``, ``masks`` ``(N, 1, h, w)`` in [0, 1]; partial edge cells count.
    """
    pooled = F.avg_pool2d(torch.cat([images * masks, masks], dim=1), cell, ceil_mode=True)
    sums, coverage = pooled[:, :-1], pooled[:, -1:]
    return sums / coverage.clamp_min(1e-6), coverage


def analysis_image(image: torch.Tensor, factor: int) -> torch.Tensor:
    """``(3, H, W)`` frame -> ``(4, H // factor, W // factor)``: the area-averaged RGB and, as a
    fourth channel, its :func:`flicker_invariant` grey (what flow is computed on)."""
    small = downscale(image, factor)
    return torch.cat([small, flicker_invariant(small)])


def flicker_invariant(image: torch.Tensor, sigma: float = 2.5) -> torch.Tensor:
    """Luma divided by its local mean, ``(3, h, w)`` -> ``(1, h, w)`` in [0, 1].

    A gain field that is smooth at the scale ``sigma`` (pixels) cancels, so flow between
    flickering frames follows the content rather than the flicker.
    """
    luma = (image * image.new_tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0)[None, None]
    radius = int(3 * sigma)
    x = torch.arange(-radius, radius + 1, device=image.device, dtype=image.dtype)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    mean = F.pad(luma, (radius,) * 4, mode="replicate")
    mean = F.conv2d(F.conv2d(mean, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))
    return (0.5 * luma / (mean + 0.02)).clamp(0.0, 1.0)[0]


def adjacent_steps(a: torch.Tensor, b: torch.Tensor, cell: int) -> tuple[Step, Step]:
    """The :class:`Step` from analysis frame ``a`` to ``b`` and from ``b`` to ``a``.

    ``a``, ``b``: ``(4, h, w)`` :func:`analysis_image` of consecutive frames of one shot.
    """
    src = torch.stack([a, b])
    grey = src[:, 3:].expand(-1, 3, -1, -1)
    flows = estimate_flow(grey, grey.flip(0), quality=FLOW_QUALITY, threads=1)
    if flows.device.type == "cpu":
        from . import _cpu  # noqa: PLC0415
        diff, cover, cell_flow = _cpu.compared_cells(src, flows, cell, MISMATCH)
    else:
        diff, cover, cell_flow = compared_cells(src, flows, cell)
    return (Step(cell_flow[0], diff[0], cover[0]), Step(cell_flow[1], diff[1], cover[1]))


def compared_cells(src: torch.Tensor, flows: torch.Tensor, cell: int
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per cell, each frame of a pair compared with the other warped onto it.

    Args:
        src: ``(2, 4, h, w)`` the pair's analysis images; ``flows`` ``(2, 2, h, w)`` from each
            to the other.
    Returns:
        ``diff`` ``(2, 3, gh, gw)`` warped minus own masked means, ``cover`` ``(2, 1, gh, gw)``
        the reliable fraction, ``cell_flow`` ``(2, 2, gh, gw)`` mean flow in cells. The torch
        reference; CPU tensors take the numba loop of :mod:`._cpu`.
    """
    warped = backward_warp(src.flip(0), flows)
    mismatch = (warped[:, 3:] - src[:, 3:]).abs() > MISMATCH
    warped, src = warped[:, :3], src[:, :3]
    valid = (~(occlusion_mask(flows, flows.flip(0)) | mismatch)).float()  # outside included
    means, cover = cell_means(torch.cat([warped, src]), valid.repeat(2, 1, 1, 1), cell)
    ones = torch.ones_like(flows[:, :1])
    return means[:2] - means[2:], cover[:2], cell_means(flows, ones, cell)[0] / cell


def chain_steps(steps: list[Step]) -> tuple[torch.Tensor, torch.Tensor]:
    """Brightness differences from the first frame of a chain to each later one.

    The composed flow ``D_j = sum_{i<j} f_i(x + D_i)`` is found in two batched passes (first
    with every ``f_i`` read at ``x``, then at the first pass's positions), exact to second
    order for the smooth cell-resolution flows, instead of ``k`` sequential warps.

    Args:
        steps: ``k`` steps, ``steps[j]`` from frame ``j`` of the chain to frame ``j + 1``.
    Returns:
        ``diffs`` ``(k, C, gh, gw)``: frame ``j + 1`` minus frame 0 over the content of each cell
        of frame 0 (step differences summed along the composed flow); ``covers``
        ``(k, 1, gh, gw)``: the smallest reliability met along the way (0 once content leaves).
        CPU tensors take the numba loop of :mod:`._cpu`, others :func:`chain_maps`.
    """
    maps = torch.stack([torch.cat([s.flow, s.diff, s.cover]) for s in steps])  # (k, C+3, gh, gw)
    if maps.device.type == "cpu":
        from . import _cpu  # noqa: PLC0415
        return _cpu.chain_maps(maps)
    return chain_maps(maps)


def chain_maps(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`chain_steps` of the steps' stacked ``(flow, diff, cover)`` maps
    ``(k, C + 3, gh, gw)``; the torch reference of :func:`._cpu.chain_maps`."""
    flows = maps[:, :2]
    reach = _exclusive_cumsum(flows)
    reach = _exclusive_cumsum(backward_warp(flows, reach))
    moved = backward_warp(maps, reach)
    inside = _inside(reach, margin=0.5).to(maps.dtype)
    diffs = moved[:, 2:-1].cumsum(0)
    covers = (moved[:, -1:] * inside).cummin(0).values
    return diffs, covers


def _inside(flow: torch.Tensor, margin: float) -> torch.Tensor:
    """``(T, 1, h, w)`` bool: ``p + flow(p)`` within ``margin`` (in grid units) of the grid of
    ``flow`` ``(T, 2, h, w)``; a cell reaches half a cell beyond its centre."""
    h, w = flow.shape[-2:]
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype) + flow[:, :1]
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype)[:, None] + flow[:, 1:]
    return ((xs >= -margin) & (xs <= w - 1 + margin) & (ys >= -margin) & (ys <= h - 1 + margin))


def _exclusive_cumsum(x: torch.Tensor) -> torch.Tensor:
    """``out[j] = sum_{i<j} x[i]`` along dim 0."""
    out = torch.zeros_like(x)
    out[1:] = x[:-1].cumsum(0)
    return out
