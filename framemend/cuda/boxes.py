"""Deflicker's box comparisons as one kernel launch per frame.

:func:`framemend.deflicker.motion.box_differences` compares each cell's box with the box its
content moved to in each of ``k`` neighbours, through ``k`` rounds of about twenty small torch
operations (box bounds, a ``grid_sample`` of the four corners of every box in both summed-area
tables, the differences): on a GPU the cell grids are small (about 24 x 43 cells) and the
launches cost more than the arithmetic. :func:`_box_differences` does every neighbour, cell and
channel at once, one thread per neighbour and cell.
"""
from __future__ import annotations

import numpy as np
import torch
from numba import cuda, float32

from .launch import BLOCK, bilinear, greater, grid, lesser, on_device, stream_of, view


@cuda.jit(device=True, inline=True)
def _box_sum(table, c, x0, y0, x1, y1):
    """Sum of ``table[c]``'s image over the box ``[x0, x1) x [y0, y1)`` (fractional corners,
    the summed-area table read bilinearly)."""
    return (bilinear(table, c, x1, y1) - bilinear(table, c, x0, y1) - bilinear(table, c, x1, y0)
            + bilinear(table, c, x0, y0))


@cuda.jit
def _box_differences(tables, own, shifts, cell, out):
    """``out[j, c, gy, gx]``: the mean of ``tables[j]`` over cell ``(gy, gx)``'s box moved by
    ``shifts[j, :, gy, gx]`` cells minus ``own``'s mean over the box, both boxes cut to the
    content inside both frames."""
    gx, gy, j = cuda.grid(3)
    k, gh, gw = shifts.shape[0], shifts.shape[2], shifts.shape[3]
    if gx >= gw or gy >= gh or j >= k:
        return
    h1, w1 = own.shape[1], own.shape[2]
    px, py = shifts[j, 0, gy, gx] * cell, shifts[j, 1, gy, gx] * cell
    left, top = float32(gx) * cell, float32(gy) * cell
    x0 = greater(left, -px)
    x1 = lesser(lesser(left + cell, float32(w1 - 1)), float32(w1 - 1) - px)
    y0 = greater(top, -py)
    y1 = lesser(lesser(top + cell, float32(h1 - 1)), float32(h1 - 1) - py)
    x1, y1 = greater(x1, x0), greater(y1, y0)
    area = greater((x1 - x0) * (y1 - y0), float32(1e-6))
    for c in range(own.shape[0]):
        moved = _box_sum(tables[j], c, x0 + px, y0 + py, x1 + px, y1 + py)
        out[j, c, gy, gx] = (moved - _box_sum(own, c, x0, y0, x1, y1)) / area


def box_differences(tables: list[torch.Tensor], own: torch.Tensor, shifts: torch.Tensor,
                    cell: int) -> torch.Tensor:
    """:func:`framemend.deflicker.motion.box_differences` in one launch: ``k`` summed-area
    ``tables`` ``(C, h + 1, w + 1)``, ``own`` the same, ``shifts`` ``(k, 2, gh, gw)`` in cells;
    returns ``(k, C, gh, gw)``."""
    stacked = torch.stack([t.float() for t in tables]).contiguous()
    own, shifts = own.float().contiguous(), shifts.float().contiguous()
    k, _, gh, gw = shifts.shape
    out = torch.empty((k, own.shape[0], gh, gw), dtype=torch.float32, device=own.device)
    with on_device(own):
        _box_differences[grid(gw, gh, k), BLOCK, stream_of(own)](
            view(stacked), view(own), view(shifts), np.float32(cell), view(out))
    return out
