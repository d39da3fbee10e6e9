"""Quadratic motion over three frames: the in-between's motion bent by the pair's acceleration.

Linear motion puts a pixel ``p`` of frame 0 at ``p + t F01(p)`` at time ``t``. With the flow
to the frame before, ``F0,-1``, the path through the three frames is a parabola (Xu et al.,
"Quadratic Video Interpolation", NeurIPS 2019, eq. 2): velocity ``(F01 - F0,-1) / 2`` and
acceleration ``a0 = F01 + F0,-1``, so

    ``F0t = t F01 + t (t - 1) / 2 · a0``,

and likewise from frame 1 with ``a1 = F10 + F12`` over ``1 - t``:
``F1t = (1 - t) F10 - (1 - t) t / 2 · a1``. A camera that speeds up, slows down or shakes
moves the in-between's content off the midpoint of the pair; the quadratic path follows it.

``F0,-1`` is trusted only where it passes the forward-backward check of its own pair
(``|F0,-1(p) + F-1,0(p + F0,-1(p))|`` at most ``HIDDEN_MISMATCH``,
:func:`.device.hidden_mask`, as :func:`.synthesis.fill_hidden` checks the pair's own): a pixel
hidden in the frame before has no flow to it, and the error of that flow would become a false
acceleration (elsewhere the acceleration is 0, linear motion). ``F01`` itself is the pair's
flow after :func:`.synthesis.fill_hidden`, which gives a pixel hidden in frame 1 the reverse of
``F0,-1``: no acceleration either.

Measured on every other frame dropped and restored (BENCHMARKS.md, issue 16, branch interp6):
the bench's procedural renderings (``benchmarks/bench_interpolate.py``: handheld +4.5 dB, zoom
+0.6, pan +0.3, the face behind a post +0.4, the fast ball +0.15) and the generated clips of
``shared/data/generated`` (-0.04 to +0.24 dB over linear motion; half the acceleration, tried
as a shrink of its noisy estimate, gained 0.07 dB more on one generated clip and lost 0.03 to
2.0 dB on the renderings). Where a neighbouring pair is
missing (a cut, the ends of the video) or is one picture repeated (a GIF padding its frame
rate: its zero flow is no sample of the motion, :func:`.filter._repeated`), that side's motion
stays linear.
"""
from __future__ import annotations

import numpy as np
import torch

from .device import hidden_mask


def accelerations(flows: torch.Tensor, before: torch.Tensor | None,
                  after: torch.Tensor | None, checks: tuple | None = None
                  ) -> torch.Tensor | None:
    """Each side's acceleration ``a0``, ``a1`` (module docstring) ``(2, 2, h, w)``, zero on a
    side without its neighbouring pair and where the neighbouring pair's flow fails its check;
    None without either neighbour (linear motion). Torch operations on the flows' device: the
    CPU and device paths share it.

    Args:
        flows: ``(2, 2, h, w)`` ``F01``, ``F10`` of the pair (shrunk pixels), hidden pixels
            filled (:func:`.synthesis.fill_hidden`).
        before, after: the flows ``(2, 2, h, w)`` of the pairs ending at frame 0 and starting
            at frame 1 (``before``'s ``F10`` is ``F0,-1``, ``after``'s ``F01`` is ``F12``), or
            None.
        checks: where already made (the CPU path, :func:`.synthesis.hidden_pixels` of each
            neighbouring pair), the pixels of ``F0,-1`` and of ``F12`` that fail their check,
            ``(1, 1, h, w)`` bool arrays (None for a side without its pair); else None: checked
            here (:func:`.device.hidden_mask`).
    """
    if before is None and after is None:
        return None
    sides = [side for side, neighbour in ((0, before), (1, after)) if neighbour is not None]
    near = [(before, after)[side].to(flows.device) for side in sides]
    outward = torch.cat([n[1 - s:2 - s] for s, n in zip(sides, near)])  # F0,-1, F12
    back = torch.cat([n[s:s + 1] for s, n in zip(sides, near)])  # the flows that check them
    pick = slice(sides[0], sides[-1] + 1)  # the sides with a neighbour (slices: no index copy)
    # both sides in one batch: half the small torch calls of one per side, the same values
    hidden = hidden_mask(outward, back) if checks is None else \
        torch.from_numpy(np.concatenate([checks[side] for side in sides]))
    bend = torch.where(hidden, 0.0, flows[pick] + outward)
    if len(sides) == 2:
        return bend
    out = torch.zeros_like(flows)
    out[pick] = bend
    return out
