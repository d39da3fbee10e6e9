"""Synthesis of in-between frames from two neighbours with bidirectional optical flow.

Method (classical, after Niklaus & Liu, "Softmax Splatting for Video Frame Interpolation",
CVPR 2020, with the flow reversal of Xu et al., "Quadratic Video Interpolation", NeurIPS 2019):

1. Flow both ways, ``F01`` and ``F10``, on copies shrunk by ``flow_scale`` (DIS, coarse to fine,
   so large motion stays within reach and the cost stays small).
2. Flow at the intermediate time by forward splatting: every pixel ``p`` of frame 0 moves to
   ``p + t F01(p)`` and deposits the backward flow ``-t F01(p)`` there (likewise frame 1 with
   ``(1 - t) F10``). Softmax splatting with ``Z = -alpha * |I0(p) - I1(p + F01(p))|`` decides
   collisions: the pixel that is still visible in the other frame (the one in front) wins.
3. Holes (nothing landed) take the flow of the other side scaled for linear motion; where both
   sides are empty, the linear blend of the neighbours' flows at ``p`` (Jiang et al.,
   "Super SloMo", CVPR 2018, eq. 4).
4. The intermediate flows and the splat coverage (how much of each side landed: its
   visibility) are upsampled to full resolution; each neighbour is backward-warped to time ``t``
   and the two are blended with weights ``(1 - t) V0`` and ``t V1``, so a region hidden in one
   neighbour comes from the other.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..flow import backward_warp, estimate_flow, resize_flow, splat_sum

_LUMA = (0.299, 0.587, 0.114)


def interpolate_pair(image0: torch.Tensor, image1: torch.Tensor, times: list[float],
                     flow_scale: float = 0.5, flow_quality: str = "medium",
                     alpha: float = 20.0) -> torch.Tensor:
    """Frames at fractional ``times`` between ``image0`` (time 0) and ``image1`` (time 1).

    Args:
        image0, image1: ``(3, H, W)`` float RGB in [0, 1], same device.
        times: ``K`` values in (0, 1).
        flow_scale: flow is estimated at ``flow_scale`` times the frame size.
        flow_quality: DIS preset (``ultrafast`` | ``fast`` | ``medium``).
        alpha: sharpness of the softmax splatting importance (per unit of luma error).
    Returns:
        ``(K, 3, H, W)`` on the device of ``image0``.
    """
    _, height, width = image0.shape
    pair = torch.stack([image0, image1])
    small = _shrink(pair, flow_scale)
    h, w = small.shape[-2:]
    flows = estimate_flow(small, small.flip(0), quality=flow_quality)  # F01, F10
    luma = torch.einsum("tchw,c->thw", small,
                        small.new_tensor(_LUMA)).unsqueeze(1)
    importance = -alpha * (luma - backward_warp(luma.flip(0), flows)).abs()

    k = len(times)
    tau = small.new_tensor(times).view(k, 1, 1, 1)
    reach = torch.cat([tau, 1 - tau])                          # (2K,1,1,1): side 0 then side 1
    side_flow = flows.repeat_interleave(k, 0) * reach          # where each pixel moves by time t
    weight = torch.exp(importance).repeat_interleave(k, 0)
    ones = torch.ones_like(weight)
    acc = splat_sum(torch.cat([-side_flow * weight, weight, ones], 1), side_flow)
    flow_t = acc[:, :2] / acc[:, 2:3].clamp_min(1e-8)          # time t -> frame 0 | frame 1
    confidence = (acc[:, 2:3] / acc[:, 3:4].clamp_min(1e-8)) * acc[:, 3:4].clamp(0, 1)
    flow_t = _fill_holes(flow_t, acc[:, 2:3] > 1e-6, flows, tau)

    flow_up = resize_flow(flow_t, (height, width))
    vis_up = F.interpolate(confidence, size=(height, width), mode="bilinear", align_corners=False)
    warped = backward_warp(pair.repeat_interleave(k, 0), flow_up)
    blend = vis_up * reach
    blend0, blend1 = blend[:k], blend[k:]
    total = blend0 + blend1
    out = (warped[:k] * blend0 + warped[k:] * blend1) / total.clamp_min(1e-6)
    linear = warped[:k] * (1 - tau) + warped[k:] * tau
    return torch.where(total > 1e-3, out, linear)


def _shrink(images: torch.Tensor, scale: float) -> torch.Tensor:
    """``(T, C, H, W)`` resized by ``scale`` (area average), at least 16 pixels a side."""
    if scale >= 1:
        return images
    h, w = images.shape[-2:]
    size = (max(16, round(h * scale)), max(16, round(w * scale)))
    return F.interpolate(images, size=size, mode="area")


def _fill_holes(flow_t: torch.Tensor, landed: torch.Tensor, flows: torch.Tensor,
                tau: torch.Tensor) -> torch.Tensor:
    """Fill intermediate-flow holes (``landed`` False) of ``flow_t`` ``(2K, 2, h, w)``.

    A hole on side 0 takes side 1's flow scaled by ``-t / (1 - t)`` (linear motion), and vice
    versa; where both are holes, Super SloMo's blend of ``F01`` and ``F10`` at the pixel.
    """
    k = tau.shape[0]
    f0, f1 = flow_t[:k], flow_t[k:]
    l0, l1 = landed[:k], landed[k:]
    f01, f10 = flows[0:1], flows[1:2]
    guess0 = -(1 - tau) * tau * f01 + tau * tau * f10
    guess1 = (1 - tau) ** 2 * f01 - tau * (1 - tau) * f10
    from1 = f1 * (-tau / (1 - tau))
    from0 = f0 * (-(1 - tau) / tau)
    f0_new = torch.where(l0, f0, torch.where(l1, from1, guess0))
    f1_new = torch.where(l1, f1, torch.where(l0, from0, guess1))
    return torch.cat([f0_new, f1_new])
