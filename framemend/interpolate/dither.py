"""Palette (GIF) dither in in-between frames: it stays on the screen, it does not move.

A GIF writer adds its dither where the pixels are, not where the content is: an ordered (Bayer)
pattern is the same at a pixel in every frame, and error diffusion of similar colours repeats
much of its pattern too (:mod:`framemend.chain.palette`). Warped along the motion and sampled
between pixels, that pattern lands shifted and averaged away, so an in-between of a GIF comes
out smooth between two dithered frames, and far from what the generator would have drawn there
(on VideoCrafter's GIF of ``shared/data/generated``, SSIM 0.26 to the dropped frames against
0.73 for a plain blend of the neighbours).

So on palette input each neighbour is split into its content ``L = dedither(I)`` and its dither
``D = I - L``; the content is warped and blended as any frame, the dither is blended where it is,
``(1 - t) D0 + t D1``. How much of the dither is screen-bound is measured per pair: if the
dithers of the in-between and of both neighbours are equally correlated, with ``rho`` the
correlation of ``D0`` and ``D1``, the least-squares weight of their mean is ``c = 2 rho / (1 +
rho)``; the in-between is ``(1 - c)`` times the plain one (all of each frame moved, for dither
that follows the content, or fine texture) plus ``c`` times the split one.
"""
from __future__ import annotations

import numpy as np
import torch

from ..chain.palette import dedither
from ..cuda import host_kernels
from .still import GATE_MAX
from .synthesis import warp_blend

_NEGLIGIBLE = 0.02  # a screen-bound share under this changes no 8-bit pixel


def screen_dither_weight(high0: torch.Tensor, high1: torch.Tensor) -> torch.Tensor:
    """``c = 2 rho / (1 + rho)`` for the correlation ``rho`` (floored at 0; 0 for a flat
    dither) of two frames' dithers ``(3, H, W)`` at the same pixels, a 0-d float64 tensor on
    their device (read on the host only by the CPU path)."""
    a, b = high0.flatten().double(), high1.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    rho = ((a @ b) / (a.norm() * b.norm())).nan_to_num(0.0, 0.0, 0.0).clamp(min=0)
    return 2 * rho / (1 + rho)


def keep_screen_dither(image0, image1, made, flow_t: torch.Tensor, weight0: torch.Tensor,
                       times: list[float], warp: str, gate_max: float = GATE_MAX):
    """In-betweens of palette frames with their dither kept on the screen (module docstring).

    Args:
        image0, image1: the neighbours, ``(H, W, 3)`` uint8 arrays or ``(3, H, W)`` tensors
            in [0, 1] (as :func:`.synthesis.warp_blend` takes them).
        made: their in-betweens from :func:`.synthesis.warp_blend` with ``flow_t``,
            ``weight0``, ``warp`` and ``gate_max``, ``(K, H, W, 3)`` uint8 or
            ``(K, 3, H, W)``, at fractional ``times``.
    Returns:
        ``made`` corrected, of the same kind and shape. On the device path nothing is read
        back to the host: a negligible share is applied as none.
    """
    u8 = isinstance(image0, np.ndarray)
    images = torch.stack([_float(image0), _float(image1)])
    low = dedither(images)
    high = images - low
    c = screen_dither_weight(high[0], high[1])
    if u8 or host_kernels(images.device):
        c = float(c)
        if c < _NEGLIGIBLE:
            return made
    else:
        c = c.float().masked_fill(c < _NEGLIGIBLE, 0.0)
    moved = warp_blend(low[0], low[1], flow_t, weight0, times, warp,
                       gate_max=gate_max).to(images.device)
    for j, t in enumerate(np.float32(times)):  # float32 numbers: no tensor copied per pair
        moved[j].add_(high[0] * float(1 - t)).add_(high[1] * float(t))
    plain = (_float(made) if u8 else made).to(images.device)
    out = plain.mul_(1 - c)
    out = (out.add_(moved, alpha=c) if isinstance(c, float) else out.add_(moved * c)).clamp_(0, 1)
    if not u8:
        return out
    return out.mul_(255).add_(0.5).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def _float(pixels) -> torch.Tensor:
    """``(..., H, W, 3)`` uint8 pixels as ``(..., 3, H, W)`` float32 in [0, 1]; tensors as
    they are."""
    if isinstance(pixels, torch.Tensor):
        return pixels
    return torch.from_numpy(pixels).movedim(-1, -3).float().div_(255)
