"""Sharp motion boundaries at full resolution for flows estimated on a shrunk grid.

The intermediate flows of :mod:`.synthesis` live on a grid ``1 / flow_scale`` times coarser
than the frame (4x at the default). Upsampling them bilinearly blends the motion of the two
sides of a motion boundary (a face over its background) into a band of made-up motion a few
cells wide, and the new frame shows that band as a smeared ring around every moving object.
Where the cells around a pixel disagree, each full-size pixel instead picks, among the flows
of the 3x3 cells around the one it lies in (and the bilinear value), the one along which the
two neighbours agree best: the least colour difference
``Σ_c |I0(p + Ft0(p)) - I1(p + Ft1(p))|``, the bidirectional matching cost of
motion-compensated interpolation (e.g. Choi et al., "Motion-compensated frame interpolation
using bilateral motion estimation and adaptive overlapped block motion compensation", IEEE
TCSVT 2007), taken per pixel here as in joint upsampling (Kopf et al., "Joint bilateral
upsampling", SIGGRAPH 2007: the coarse solution, the full-size image decides). The pixel's
blending weight comes from the same cell as its flows. On the ``subject`` clip of
``benchmarks/bench_interpolate.py`` this gave +0.9 dB, on fast-object +0.6 dB; smooth motion
(camera pans) has almost no such cells. The 4x4 cells around the pixel's 2x2 block gave the
same, at twice the cost.
"""
from __future__ import annotations

import numba
import numpy as np
import torch

from ..flow import backward_warp
from framemend.kernels.sample import corners, sample

BOUNDARY_SPREAD = 2.0  # full-size pixels the flows of a 2x2 cell block must differ by
KEEP_MARGIN = 0.04  # matching cost (sum over RGB, [0, 1] units) the bilinear flow is favoured by


def sharpen_boundaries(image0: np.ndarray, image1: np.ndarray, small: np.ndarray,
                       move0: np.ndarray, move1: np.ndarray, weight: np.ndarray) -> None:
    """Per-pixel flows at motion boundaries, in place (the CPU path).

    Args:
        image0, image1: ``(H, W, 3)`` frames, uint8 (values to 255) or float (to 1); views of
            planar images do.
        small: ``(5, h, w)`` float32: the shrunk flows to frame 0 and to frame 1 (x, y each, in
            shrunk pixels) and frame 0's blending weight, of one time.
        move0, move1: ``(H, W, 2)`` float32, the flows upsampled bilinearly to full size (in
            full-size pixels); weight: ``(H, W)`` float32, the weight upsampled likewise.
    """
    unit = 255.0 if image0.dtype == np.uint8 else 1.0
    (height, width), (h, w) = weight.shape, small.shape[1:]
    _sharpen_kernel(image0, image1, small, move0, move1, weight,
                    _cells(height, h, True), _cells(width, w, True),
                    _cells(height, h, False), _cells(width, w, False),
                    BOUNDARY_SPREAD, KEEP_MARGIN * unit)


def _cells(full: int, shrunk: int, block: bool) -> np.ndarray:
    """``(full,)``: the shrunk cell each full-size position lies in, or (``block``) the first
    of the two that bilinear upsampling (pixel centres aligned) blends there."""
    if block:
        start = np.floor((np.arange(full) + 0.5) * (shrunk / full) - 0.5)
        return np.clip(start, 0, max(shrunk - 2, 0)).astype(np.int64)
    return np.minimum(np.floor((np.arange(full) + 0.5) * (shrunk / full)), shrunk - 1).astype(
        np.int64)


def _cells_torch(full: int, shrunk: int, block: bool, device) -> torch.Tensor:
    """:func:`_cells` as a ``(full,)`` int64 tensor made on ``device`` (the same float64
    arithmetic; a tensor made from the host's array would be copied to the device each call)."""
    position = (torch.arange(full, device=device, dtype=torch.float64) + 0.5) * (shrunk / full)
    if block:
        return (position - 0.5).floor().clamp(0, max(shrunk - 2, 0)).long()
    return position.floor().clamp(max=shrunk - 1).long()


@numba.njit(cache=True, nogil=True)
def _sharpen_kernel(image0, image1, small, move0, move1, weight, rows, cols, near_rows,
                    near_cols, spread, margin):
    """:func:`sharpen_boundaries`: the 2x2 cell blocks whose four flows differ by more than
    ``spread`` full-size pixels in any component are flagged; their pixels (the positions
    whose ``rows`` and ``cols`` name a flagged block) compare the bilinear flows (cost lowered
    by ``margin``) with those of the 3x3 cells around the cell they lie in (``near_rows``,
    ``near_cols``) and keep the cheapest (of equal costs the first tried: the bilinear flows,
    then the cells row by row). Cells and blocks per position: :func:`_cells`."""
    height, width = weight.shape
    h, w = small.shape[1:]
    sx, sy = width / w, height / h
    scale = np.array([sx, sy, sx, sy, 1.0])
    flagged = np.zeros((max(h - 1, 1), max(w - 1, 1)), np.bool_)
    for by in range(h - 1):
        for bx in range(w - 1):
            for c in range(4):
                a, b = small[c, by, bx], small[c, by, bx + 1]
                d, e = small[c, by + 1, bx], small[c, by + 1, bx + 1]
                if (max(max(a, b), max(d, e)) - min(min(a, b), min(d, e))) * scale[c] > spread:
                    flagged[by, bx] = True
                    break
    candidate = np.empty(5)
    for y in range(height):
        by = rows[y]
        for x in range(width):
            bx = cols[x]
            if not flagged[by, bx]:
                continue
            best = _matching_cost(image0, image1, x, y, move0[y, x, 0], move0[y, x, 1],
                                  move1[y, x, 0], move1[y, x, 1]) - margin
            for dy in range(-1, 2):
                cy = min(max(near_rows[y] + dy, 0), h - 1)
                for dx in range(-1, 2):
                    cx = min(max(near_cols[x] + dx, 0), w - 1)
                    for c in range(5):
                        candidate[c] = small[c, cy, cx] * scale[c]
                    cost = _matching_cost(image0, image1, x, y, candidate[0], candidate[1],
                                          candidate[2], candidate[3])
                    if cost < best:
                        best = cost
                        move0[y, x, 0], move0[y, x, 1] = candidate[0], candidate[1]
                        move1[y, x, 0], move1[y, x, 1] = candidate[2], candidate[3]
                        weight[y, x] = candidate[4]


@numba.njit(cache=True, nogil=True, inline="always")
def _matching_cost(image0, image1, x, y, fx0, fy0, fx1, fy1):
    """``Σ_c |I0(p + F0) - I1(p + F1)|`` at ``p = (x, y)``, bilinear, edges replicated."""
    a0, a1, ax, ay = corners(image0.shape[0], image0.shape[1], x + fx0, y + fy0)
    b0, b1, bx, by = corners(image1.shape[0], image1.shape[1], x + fx1, y + fy1)
    cost = 0.0
    for c in range(3):
        cost += abs(sample(image0, a0, a1, ax, ay, c) - sample(image1, b0, b1, bx, by, c))
    return cost


def sharpen_boundaries_torch(images: torch.Tensor, small: torch.Tensor, flows: torch.Tensor,
                             weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference (and CUDA) path of :func:`sharpen_boundaries`, for ``K`` times at once.

    Args:
        images: ``(2, 3, H, W)`` frames 0 and 1 in [0, 1].
        small: ``(K, 5, h, w)`` shrunk flows to frames 0 and 1 and weights (as in
            :func:`sharpen_boundaries`).
        flows: ``(2K, 2, H, W)`` bilinearly upsampled flows (``K`` to frame 0, then ``K`` to
            frame 1) in full-size pixels; weight: ``(K, 1, H, W)``.
    Returns:
        ``flows`` and ``weight`` with the boundary pixels' values chosen.
    """
    k = small.shape[0]
    height, width = weight.shape[-2:]
    h, w = small.shape[-2:]
    device = small.device
    scale = (width / w, height / h, width / w, height / h, 1.0)  # numbers: no copy to the device
    scaled = torch.cat([small[:, c:c + 1] * scale[c] for c in range(5)], 1)

    def at(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:  # (K, 5, H, W) of the cells
        return scaled[:, :, rows.clamp(0, h - 1)][..., cols.clamp(0, w - 1)]

    rows, cols = _cells_torch(height, h, True, device), _cells_torch(width, w, True, device)
    block = torch.stack([at(rows + dy, cols + dx) for dy in (0, 1) for dx in (0, 1)])[:, :, :4]
    flagged = (block.amax(0) - block.amin(0)).amax(1, keepdim=True) > BOUNDARY_SPREAD
    rows, cols = _cells_torch(height, h, False, device), _cells_torch(width, w, False, device)
    current = torch.cat([flows[:k], flows[k:], weight], 1)  # (K, 5, H, W)
    frames = images.repeat_interleave(k, 0)

    def cost(values: torch.Tensor) -> torch.Tensor:  # (K, 1, H, W)
        warped = backward_warp(frames, torch.cat([values[:, :2], values[:, 2:4]]))
        return (warped[:k] - warped[k:]).abs().sum(1, keepdim=True)

    chosen, best = current, cost(current) - KEEP_MARGIN
    for dy in (-1, 0, 1):  # a running minimum: the first of equal costs stays
        for dx in (-1, 0, 1):
            values = at(rows + dy, cols + dx)
            value_cost = cost(values)
            better = flagged & (value_cost < best)
            chosen = torch.where(better, values, chosen)
            best = torch.where(better, value_cost, best)
    return torch.cat([chosen[:, :2], chosen[:, 2:4]]), chosen[:, 4:]
