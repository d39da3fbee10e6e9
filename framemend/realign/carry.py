"""Carry a colour correction along the motion, from one frame to the next.

The correction of frame ``t-1`` is a field of local affine colour maps on a coarse grid
(:func:`framemend.realign.tone.fit_colour_map`). Frame ``t`` starts from that field moved along
the dense backward flow ``t -> t-1`` (each cell takes the map of the point it came from; content
entering the frame takes the map of the border it entered through), the way a low-frequency
correction is propagated along the flow in temporally consistent video processing (Bonneel et al.,
"Blind video temporal consistency", SIGGRAPH Asia 2015, propagate the output along the flow; here
it is the correction that travels, so new content is corrected too). The previous corrected
frame, warped the same way, is a reference for what both frames see.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..flow import estimate_flow, occlusion_mask

#: Flow between consecutive frames is estimated on frames at most this wide (the field is coarse).
FLOW_WIDTH = 480


def area_down(image: torch.Tensor, scale: float) -> torch.Tensor:
    """``(N, C, H, W)`` area-averaged to ``floor(H * scale)`` x ``floor(W * scale)`` (what
    ``F.interpolate(scale_factor=scale, mode="area")`` gives), but a row at least: a frame more
    than :data:`FLOW_WIDTH` times as wide as high (2000x4) lost every row, and the flow on an
    empty frame was OpenCV's assertion, a traceback."""
    h, w = image.shape[-2:]
    return F.interpolate(image, size=(max(1, math.floor(h * scale)), math.floor(w * scale)),
                         mode="area")


def consecutive_flow(previous: torch.Tensor, current: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Backward and forward flow between ``previous`` and ``current`` (both ``(1, 3, H, W)``)
    and their trust.

    Returns ``flow`` ``(1, 2, H, W)`` in pixels (``current(p) ≈ previous(p + flow(p))``) and
    ``trust`` ``(1, 1, H, W)`` in {0, 1}: the forward-backward check passes and ``p + flow(p)``
    is inside the previous frame (Sundaram et al. 2010); then the same for the forward flow
    (``previous(p) ≈ current(p + forward(p))``) and its trust.
    """
    h, w = current.shape[-2:]
    scale = min(1.0, FLOW_WIDTH / w)
    if scale < 1:
        current, previous = (area_down(x, scale) for x in (current, previous))
    bwd = estimate_flow(current, previous, quality="medium")
    fwd = estimate_flow(previous, current, quality="medium")
    trust = (~occlusion_mask(bwd, fwd)).float()
    trust_fwd = (~occlusion_mask(fwd, bwd)).float()
    if scale < 1:
        bwd = F.interpolate(bwd, size=(h, w), mode="bilinear", align_corners=False) / scale
        fwd = F.interpolate(fwd, size=(h, w), mode="bilinear", align_corners=False) / scale
        trust = F.interpolate(trust, size=(h, w), mode="bilinear", align_corners=False)
        trust_fwd = F.interpolate(trust_fwd, size=(h, w), mode="bilinear", align_corners=False)
    return bwd, trust, fwd, trust_fwd


def carry_map(coeffs: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Move the cell field ``coeffs`` ``(1, K, ch, cw)`` along ``flow`` ``(1, 2, H, W)``
    (backward, in full-frame pixels): each cell samples the field where its centre came from,
    the border's value outside."""
    _, _, ch, cw = coeffs.shape
    h, w = flow.shape[-2:]
    at_cells = F.adaptive_avg_pool2d(flow, (ch, cw))
    ys = (torch.arange(ch, device=flow.device, dtype=flow.dtype) + 0.5) * h / ch - 0.5
    xs = (torch.arange(cw, device=flow.device, dtype=flow.dtype) + 0.5) * w / cw - 0.5
    x = xs[None] + at_cells[0, 0]
    y = ys[:, None] + at_cells[0, 1]
    grid = torch.stack([2 * (x + 0.5) / w - 1, 2 * (y + 0.5) / h - 1], -1)[None]
    return F.grid_sample(coeffs, grid, mode="bilinear", padding_mode="border", align_corners=False)

