"""Noise that follows the camera: ``integral_noise(shape, steps, generator)``.

The integral noise of Chang et al., "How I Warped Your Noise: a Temporally-Correlated Noise
Prior for Diffusion Models" (ICLR 2024), for a camera known as homographies: white Gaussian
noise on a grid ``FINE`` times finer than the frame's, fixed to the first frame's pixels (the
scene); a frame pixel's noise is the sum of the fine cells its footprint covers, each cell
counted once, over the square root of their number. Every frame's noise is therefore white unit
Gaussian (what a per-frame model was trained on: no variance lost, as bilinear warping loses it,
no repeated values, as nearest warping repeats them), and the noise moves with the camera. The
footprint is approximated by ``FINE x FINE`` sub-points of the pixel carried to the first frame.
"""
from __future__ import annotations

import torch

#: Fine noise cells per frame pixel, along each axis.
FINE = 8


def to_first(steps: torch.Tensor) -> torch.Tensor:
    """``(T, 3, 3)`` float64 homographies frame t pixel -> frame 0 pixel from the camera steps
    ``(T-1, 3, 3)`` (frame t+1 pixel -> frame t pixel)."""
    out = [torch.eye(3, dtype=torch.float64)]
    for step in steps.double():
        out.append((out[-1][:, :, None] * step[None]).sum(1))  # no BLAS: the same rounding everywhere
    return torch.stack(out)


def _sub_points(count: int) -> torch.Tensor:
    """``(count * FINE,)`` float64 sub-point coordinates of ``count`` pixels along one axis."""
    sub = (torch.arange(FINE, dtype=torch.float64) + 0.5) / FINE - 0.5
    return (torch.arange(count, dtype=torch.float64)[:, None] + sub[None]).reshape(-1)


def _cells(to_first_t: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fine-cell coordinates ``(x, y)`` int64 of the points ``(xs, ys)`` (any one shape) carried
    to the first frame."""
    h = to_first_t.tolist()
    qx, qy, qw = (h[i][0] * xs + h[i][1] * ys + h[i][2] for i in range(3))
    return torch.floor((qx / qw + 0.5) * FINE).long(), torch.floor((qy / qw + 0.5) * FINE).long()


def _fine_cells(to_first_t: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fine-cell coordinates ``(x, y)``, each ``(H * W, FINE * FINE)`` int64, of one frame's
    pixel sub-points carried to the first frame (pixel centres at integer coordinates)."""
    ys = _sub_points(height).reshape(height, 1, FINE, 1)
    xs = _sub_points(width).reshape(1, width, 1, FINE)
    cx, cy = _cells(to_first_t, *torch.broadcast_tensors(xs, ys))  # (H, W, FINE, FINE)
    return cx.reshape(height * width, -1), cy.reshape(height * width, -1)


def _border_cells(to_first_t: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fine-cell coordinates ``(x, y)`` of the frame's outermost sub-points only: a homography
    keeps the frame convex, so these hold every sub-point's extreme cells (the interior ones lie
    a sub-point's spacing inside), at a ``FINE * min(H, W) / 4``-th of the cost."""
    xs, ys = _sub_points(width), _sub_points(height)
    edge_x = torch.cat([xs, xs, xs[:1].expand(len(ys)), xs[-1:].expand(len(ys))])
    edge_y = torch.cat([ys[:1].expand(len(xs)), ys[-1:].expand(len(xs)), ys, ys])
    return _cells(to_first_t, edge_x, edge_y)


def integral_noise(shape: tuple, steps: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Noise ``(T, C, H, W)`` float32 for frames moved by ``steps`` ``(T-1, 3, 3)`` (frame t+1
    pixel -> frame t pixel); deterministic by ``generator``'s state."""
    _, channels, height, width = shape
    homs = to_first(steps)
    bounds = torch.tensor([[c.min(), c.max()] for h in homs for c in _border_cells(h, height, width)])
    x0, y0 = int(bounds[0::2, 0].min()), int(bounds[1::2, 0].min())
    span, rows = int(bounds[0::2, 1].max()) - x0 + 1, int(bounds[1::2, 1].max()) - y0 + 1
    field = torch.randn((channels, rows * span), generator=generator)
    frames = []
    for h in homs:  # the cells again, frame by frame: a long clip's would not fit in memory
        cx, cy = _fine_cells(h, height, width)
        index, _ = ((cy - y0) * span + (cx - x0)).sort(-1)
        once = torch.ones_like(index, dtype=torch.bool)
        once[:, 1:] = index[:, 1:] != index[:, :-1]
        summed = (field[:, index] * once).sum(-1)  # (C, H * W)
        frames.append((summed / once.sum(-1).float().sqrt()).reshape(channels, height, width))
    return torch.stack(frames)
