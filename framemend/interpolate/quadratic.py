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

A jerk (a handheld camera's speed changing at once, as on bike-packing) in a neighbouring pair
shows in one side's acceleration only: ``a1`` reads ``F12``, so a camera that jerks after frame
1 gives ``a1`` a bend that the pair itself never made, and side 1's in-between lands off side
0's (a torn double image; on bike-packing 4x pair 32-36, frames 34-35 lost 2.2 / 0.9 dB to
minterpolate). Where one side's common acceleration (its median per axis over the checked
pixels) is, along an axis, more than :data:`JERK` times both the other side's along that axis
and the pair's common motion (the length of the median of ``F01``: the velocity more than
tripled or reversed within one pair), that side's common part along that axis is replaced by
the other's; each pixel keeps its own departure from it (a subject's own bend). Per axis, not
the whole vector: a camera that jerks across the pair's motion after frame 1 while slowing
along it (bike-packing 4x pair 40-44, flow pixels: ``a1`` (1.75, -5.17), ``a0`` (-0.24, 0.28),
the motion 2.19 long) keeps side 1's slowing along x, which side 0 does not see (its frame 43
-0.84 -> +0.63 dB over minterpolate; BENCHMARKS.md, stop 45, interp13). Both sides'
accelerations are still each side's own otherwise: the mean of the two (a cubic through the
four frames), a per-pixel minmod or a gate on ``|a0 - a1|`` lost on real footage
(BENCHMARKS.md, issue 16, the first branch interp12), and one common minmod for both sides
lost too (stop 44, interp12): a jerk inside the pair shows in both.

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
        return _one_camera(flows, bend, hidden)
    out = torch.zeros_like(flows)
    out[pick] = bend
    return out


JERK = 2.0  # a side's common acceleration over the other's and the pair's motion: a jerk
SAMPLE = 4  # the medians read every SAMPLE-th flow pixel across and down (every 16th at 1/4)


def _one_camera(flows: torch.Tensor, bend: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """``bend`` ``(2, 2, h, w)`` (``a0``, ``a1``) with the common part of a side that sees a
    jerk the other does not, along an axis, replaced there by the other side's (module
    docstring). A side's common part: its median per axis over the pixels that pass their check
    (``hidden`` ``(2, 1, h, w)``: those that fail), on a grid of every :data:`SAMPLE`-th pixel
    (a camera's motion is common to most of them: 0.2 ms a pair at 640x360 under load, 1.5 ms
    with every pixel, some 7 % of the CPU path). No read-back: the device path runs it too."""
    grid = (slice(None), slice(None), slice(None, None, SAMPLE), slice(None, None, SAMPLE))
    common = torch.nanmedian(torch.where(hidden[grid], torch.nan, bend[grid]).flatten(2),
                             dim=2).values.nan_to_num(0.0)  # (2, 2): 0 where none is checked
    size = common.abs()  # (2, 2): side, axis
    motion = flows[0][grid[1:]].flatten(1).median(dim=1).values.norm()
    jerks = size > JERK * torch.maximum(size.flip(0), motion)  # one side an axis: JERK > 1
    shift = torch.where(jerks, common.flip(0) - common, 0.0)
    return torch.where(hidden, 0.0, bend + shift[:, :, None, None])
