"""The denoise recursion step (warp + confidence + update) as three fused kernels.

The same arithmetic as :func:`framemend.denoise.recursive.recursive_step_reference`, which
takes about twenty torch operations over full frames (two ``grid_sample`` warps, the residual,
its power, a 3x3 pool, the outside mask, the gain and the update, each reading and writing
whole planes). Here:

1. :func:`_predict`: per pixel, the bilinear sample at ``p + f(p)`` (border clamped, as
   ``grid_sample(padding_mode="border", align_corners=True)``) of the estimate's three channels
   and its variance, into a ``(4, H, W)`` scratch tensor;
2. :func:`_sharpen`: per pixel, the prediction sharpened as
   :func:`framemend.denoise.recursive.sharpen_reference` does (from the 3x3 neighbourhood of
   the first scratch) and the residual's mean square over the channels of the (sheared)
   opponent basis (each in units of its noise variance), into a second ``(4, H, W)`` one;
3. :func:`_update`: per pixel, the in-frame 3x3 mean of that power, the raised prediction
   variance (``FRESH`` where ``p + f`` left the frame), the gain and the new estimate.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from numba import cuda, float32

from framemend.denoise.recursive import FRESH, SOFT
from framemend.denoise.spatial import sheared_basis

from .launch import BLOCK, bilinear, greater, grid, on_device, stream_of, view


@cuda.jit
def _predict(estimate, variance, flow, scratch):
    """``scratch[0:3]`` the warped estimate, ``[3]`` the warped variance; ``flow``
    ``(2, H, W)``."""
    x, y = cuda.grid(2)
    h, w = scratch.shape[1], scratch.shape[2]
    if x >= w or y >= h:
        return
    sx, sy = float32(x) + flow[0, y, x], float32(y) + flow[1, y, x]
    for c in range(3):
        scratch[c, y, x] = bilinear(estimate, c, sx, sy)
    scratch[3, y, x] = bilinear(variance, 0, sx, sy)


@cuda.jit
def _sharpen(scratch, frame, flow, inv_var, basis, sharp):
    """``sharp[0:3]`` the warped estimate of ``scratch`` sharpened (module docstring), ``[3]``
    the residual power ``mean_o (O (frame - sharpened))²_o / σ²_o`` in the basis ``O``
    (``basis`` ``(3, 3)``, rows: channels); ``inv_var`` ``(3,)`` 1 / σ² of each channel."""
    x, y = cuda.grid(2)
    h, w = frame.shape[1], frame.shape[2]
    if x >= w or y >= h:
        return
    fx, fy = flow[0, y, x], flow[1, y, x]
    tx, ty = fx - float32(math.floor(fx)), fy - float32(math.floor(fy))
    wx, wy = float32(0.5) * tx * (float32(1.0) - tx), float32(0.5) * ty * (float32(1.0) - ty)
    left, right = x - 1 if x > 0 else x, x + 1 if x < w - 1 else x
    up, down = y - 1 if y > 0 else y, y + 1 if y < h - 1 else y
    for c in range(3):
        m = scratch[c, y, x]
        sharp[c, y, x] = (m - wx * (scratch[c, y, left] - float32(2.0) * m + scratch[c, y, right])
                          - wy * (scratch[c, up, x] - float32(2.0) * m + scratch[c, down, x]))
    p0, p1, p2 = sharp[0, y, x], sharp[1, y, x], sharp[2, y, x]
    r0, r1, r2 = frame[0, y, x] - p0, frame[1, y, x] - p1, frame[2, y, x] - p2
    o0 = basis[0, 0] * r0 + basis[0, 1] * r1 + basis[0, 2] * r2
    o1 = basis[1, 0] * r0 + basis[1, 1] * r1 + basis[1, 2] * r2
    o2 = basis[2, 0] * r0 + basis[2, 1] * r1 + basis[2, 2] * r2
    sharp[3, y, x] = (o0 * o0 * inv_var[0] + o1 * o1 * inv_var[1]
                      + o2 * o2 * inv_var[2]) / float32(3.0)


@cuda.jit
def _update(scratch, sharp, frame, flow, min_gain, soft, fresh, estimate, variance):
    """The new ``estimate`` ``(3, H, W)`` and ``variance`` ``(1, H, W)`` from the scratches of
    :func:`_predict` (the variance) and :func:`_sharpen`."""
    x, y = cuda.grid(2)
    h, w = frame.shape[1], frame.shape[2]
    if x >= w or y >= h:
        return
    total = float32(0.0)
    count = float32(0.0)
    for yy in range(y - 1, y + 2):
        for xx in range(x - 1, x + 2):
            if 0 <= yy < h and 0 <= xx < w:
                total += sharp[3, yy, xx]
                count += float32(1.0)
    pred_var = scratch[3, y, x]
    excess = total / count - float32(1.0) - pred_var
    pred_var += soft * greater(excess, float32(0.0))
    tx, ty = float32(x) + flow[0, y, x], float32(y) + flow[1, y, x]
    if tx < float32(0.0) or tx > float32(w - 1) or ty < float32(0.0) or ty > float32(h - 1):
        pred_var = fresh
    gain = greater(pred_var / (pred_var + float32(1.0)), min_gain)
    for c in range(3):
        p = sharp[c, y, x]
        estimate[c, y, x] = p + gain * (frame[c, y, x] - p)
    variance[0, y, x] = gain


def recursive_step(estimate: torch.Tensor, variance: torch.Tensor, frame: torch.Tensor,
                   flow: torch.Tensor, noise_var: torch.Tensor, memory: int,
                   soft: float = SOFT, shear: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`framemend.denoise.recursive.recursive_step_reference` in two kernel launches:
    same arguments (``(3, H, W)`` estimate and frame, ``(1, H, W)`` variance, ``(2, H, W)``
    flow, ``(3,)`` σ² per channel, ``(2,)`` shear or None, all float32 on one device), same
    results."""
    estimate, variance, frame, flow = (t.float().contiguous()
                                       for t in (estimate, variance, frame, flow))
    _, h, w = frame.shape
    scratch = torch.empty((4, h, w), dtype=torch.float32, device=frame.device)
    sharp = torch.empty_like(scratch)
    new_estimate, new_variance = torch.empty_like(frame), torch.empty_like(variance)
    inverse = (1.0 / noise_var).float().contiguous()
    basis = sheared_basis(shear, frame).contiguous()
    with on_device(frame):
        blocks, stream = grid(w, h)[:2], stream_of(frame)
        _predict[blocks, BLOCK[:2], stream](view(estimate), view(variance), view(flow),
                                            view(scratch))
        _sharpen[blocks, BLOCK[:2], stream](view(scratch), view(frame), view(flow),
                                            view(inverse), view(basis), view(sharp))
        _update[blocks, BLOCK[:2], stream](
            view(scratch), view(sharp), view(frame), view(flow), np.float32(1.0 / memory),
            np.float32(soft), np.float32(FRESH),
            view(new_estimate), view(new_variance))
    return new_estimate, new_variance
