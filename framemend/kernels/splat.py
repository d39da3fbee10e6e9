"""Forward splatting: push each source pixel to ``p + flow(p)`` (for frame interpolation).

Summation, average and softmax splatting after Niklaus & Liu, "Softmax Splatting for Video
Frame Interpolation", CVPR 2020: each source pixel is spread over the 4 target pixels around
``p + flow(p)`` with bilinear weights. Where several pixels land on one target, average
splatting blends them equally, softmax splatting weighs each by ``exp(metric)`` so that the
pixel with the larger importance (nearer, more confident) wins.

:func:`splat_sum` is the torch path; :func:`splat_add` the same sum inside numba loops (what
frame interpolation's CPU kernels call).
"""
from __future__ import annotations

import numba
import numpy as np

from framemend._torch import torch


def splat_sum(values: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Summation splatting: ``out(q) = Σ_p b(q - p - f(p)) values(p)``, ``b`` bilinear.

    Mass is conserved: the sum of ``out`` equals the sum of ``values`` over the pixels whose
    target lies inside the frame (the bilinear weights of each source pixel sum to 1).

    Args:
        values: ``(T, C, H, W)``.
        flow: ``(T, 2, H, W)`` in pixels.
    Returns:
        ``(T, C, H, W)``.
    """
    t, c, h, w = values.shape
    dev, dt = values.device, values.dtype
    ys, xs = torch.meshgrid(torch.arange(h, device=dev, dtype=dt),
                            torch.arange(w, device=dev, dtype=dt), indexing="ij")
    x = (xs + flow[:, 0]).reshape(t, -1)
    y = (ys + flow[:, 1]).reshape(t, -1)
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = x - x0, y - y0
    x0, y0 = x0.long(), y0.long()
    src = values.reshape(t, c, -1)
    out = torch.zeros(t, c, h * w + 1, device=dev, dtype=dt)  # last slot collects outsiders
    for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                        (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        idx = torch.where(inside, yi * w + xi, torch.full_like(xi, h * w))
        out.scatter_add_(2, idx.unsqueeze(1).expand(t, c, -1), src * wgt.unsqueeze(1))
    return out[:, :, :-1].reshape(t, c, h, w)


def forward_splat(image: torch.Tensor, flow: torch.Tensor, metric: torch.Tensor | None = None,
                  mode: str = "average", eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Average or softmax splatting of ``image`` along ``flow``.

    ``average``: ``Σ b·I / Σ b``; ``softmax``: ``Σ b·exp(Z)·I / Σ b·exp(Z)`` with importance
    ``Z = metric`` (e.g. ``-alpha·photometric error`` or inverse depth); ``Z`` is shifted by
    its per-frame maximum first, which leaves the result unchanged and avoids overflow.

    Args:
        image: ``(T, C, H, W)``.
        flow: ``(T, 2, H, W)`` in pixels, from ``image``'s pixels to the target frame.
        metric: ``(T, 1, H, W)`` importance, required for ``softmax``.
        mode: ``average`` | ``softmax``.
    Returns:
        ``(splatted, mass)``: ``(T, C, H, W)`` with 0 where nothing landed (holes), and the
        ``(T, 1, H, W)`` splatted weight (``mass < eps`` marks holes).
    """
    if mode == "average":
        weight = torch.ones_like(image[:, :1])
    elif mode == "softmax":
        if metric is None:
            raise ValueError("softmax splatting needs a metric (T, 1, H, W)")
        z = metric - metric.amax(dim=(1, 2, 3), keepdim=True)
        weight = torch.exp(z)
    else:
        raise ValueError(f"unknown splatting mode '{mode}'; choose average or softmax")
    acc = splat_sum(torch.cat([image * weight, weight], 1), flow)
    num, mass = acc[:, :-1], acc[:, -1:]
    return torch.where(mass > eps, num / mass.clamp_min(eps), torch.zeros_like(num)), mass


@numba.njit(cache=True, nogil=True)
def splat_add(values, flow, reach, acc):
    """:func:`splat_sum` of ``values`` ``(C, h, w)`` along ``reach`` times ``flow``
    ``(2, h, w)``, added into ``acc`` ``(C, h, w)``: each pixel ``p`` adds ``b values(p)`` at
    the four pixels around ``p + reach flow(p)`` with bilinear shares ``b`` (those outside the
    frame are dropped)."""
    channels, h, w = values.shape
    for y in range(h):
        for x in range(w):
            tx, ty = x + reach * flow[0, y, x], y + reach * flow[1, y, x]
            x0, y0 = np.floor(tx), np.floor(ty)
            fx, fy = tx - x0, ty - y0
            for dy in range(2):
                yi = int(y0) + dy
                if yi < 0 or yi >= h:
                    continue
                for dx in range(2):
                    xi = int(x0) + dx
                    if xi < 0 or xi >= w:
                        continue
                    share = (fy if dy else 1 - fy) * (fx if dx else 1 - fx)
                    for c in range(channels):
                        acc[c, yi, xi] += values[c, y, x] * share
