"""Red-black SOR sweeps of the torch flow solver as one kernel launch per half sweep.

:func:`framemend.flow.torchflow.sor_sweeps_reference` updates the flow of every pixel of one
colour from its four neighbours with about fifteen torch operations over whole frames per half
sweep (a padded copy, the weighted neighbour sum, the 2x2 solve, the over-relaxed blend with a
colour mask that leaves the other half unchanged). :func:`_half_sweep` does one half sweep in
place, one thread per pixel of the colour: a pixel of one colour reads only neighbours of the
other (or itself, at a replicated border), so updating in place gives exactly the reference's
simultaneous update.
"""
from __future__ import annotations

import numpy as np
import torch
from numba import cuda

from .launch import BLOCK, grid, on_device, stream_of, view


@cuda.jit
def _half_sweep(u, edges, q, inverse, parity, omega):
    """Over-relaxed update of the pixels with ``(x + y) % 2 == parity`` of ``u``
    ``(N, 2, H, W)``: ``u += omega (B (Σ_n w_n u(n) + q) - u)``, ``edges`` ``(N, 4, H, W)``
    the E, W, S, N weights, ``inverse`` ``(N, 3, H, W)`` the symmetric 2x2 ``B``."""
    i, y, n = cuda.grid(3)
    h, w = u.shape[2], u.shape[3]
    x = 2 * i + (parity + y) % 2
    if x >= w or y >= h or n >= u.shape[0]:
        return
    xe = x + 1 if x + 1 < w else x  # replicate borders
    xw = x - 1 if x > 0 else x
    ys = y + 1 if y + 1 < h else y
    yn = y - 1 if y > 0 else y
    we, ww, ws, wn = edges[n, 0, y, x], edges[n, 1, y, x], edges[n, 2, y, x], edges[n, 3, y, x]
    r0 = (we * u[n, 0, y, xe] + ww * u[n, 0, y, xw] + ws * u[n, 0, ys, x] + wn * u[n, 0, yn, x]
          + q[n, 0, y, x])
    r1 = (we * u[n, 1, y, xe] + ww * u[n, 1, y, xw] + ws * u[n, 1, ys, x] + wn * u[n, 1, yn, x]
          + q[n, 1, y, x])
    b11, b12, b22 = inverse[n, 0, y, x], inverse[n, 1, y, x], inverse[n, 2, y, x]
    u0, u1 = u[n, 0, y, x], u[n, 1, y, x]
    u[n, 0, y, x] = u0 + omega * (b11 * r0 + b12 * r1 - u0)
    u[n, 1, y, x] = u1 + omega * (b12 * r0 + b22 * r1 - u1)


def sor_sweeps(flow: torch.Tensor, edges: torch.Tensor, q: torch.Tensor, inverse: torch.Tensor,
               iterations: int, omega: float) -> torch.Tensor:
    """:func:`framemend.flow.torchflow.sor_sweeps_reference` with ``2 * iterations`` launches of
    :func:`_half_sweep` (red, then black) on a copy of ``flow``; same arguments and result."""
    u = flow.float().contiguous().clone()
    edges, q, inverse = (t.float().contiguous() for t in (edges, q, inverse))
    n, _, h, w = u.shape
    with on_device(u):
        launch = _half_sweep[grid((w + 1) // 2, h, n), BLOCK, stream_of(u)]  # configured once
        args = (view(u), view(edges), view(q), view(inverse))
        step = np.float32(omega)
        for _ in range(iterations):
            for parity in (0, 1):
                launch(*args, parity, step)
    return u
