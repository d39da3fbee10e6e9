"""A pair that holds: a frame repeated in the source, seen with every other frame dropped.

A GIF pads its frame rate by repeating frames (Open-Sora's sample repeats one in five). With
every other frame kept, a repeat no longer shows as a pair of equal frames
(:func:`.filter._repeated`) but as a pair with half the motion of its neighbours: one half of
the pair's interval moved, the other held. Its dropped frame then equals one of the two kept
ones, which one the pair does not tell, and the least-squares in-between of "the one or the
other" is their plain blend, not the midpoint of the motion: such a pair lets the still blend
(:mod:`.still`) take a larger share, up to :data:`.still.GATE_MAX_HELD` instead of
:data:`.still.GATE_MAX`.

The test: the root mean square of the pair's ``F01`` over that of each neighbouring pair's
``F01`` (same shot, not itself a repeat) lies in :data:`HALF_MOTION`, the midpoints between a
hold's 0.5 and no hold's 1 or an equal pair's 0. Smooth motion does not halve within one pair
and come back in the next, so both neighbours must show it: at the ends of a shot no pair
holds (one neighbour cannot tell a hold from a slow-down). The ratio of root mean squares,
not the least-squares ratio of the two flows: the flows of two pairs do not sample one motion
at the same pixels, and their least-squares ratio shrinks with their noise (13 of
CogVideo__2's 23 pairs, of even motion, fall in the band by it, at 0.39-0.72; by the root mean
squares none, at 0.76-1.31). Measured on ``shared/data/generated`` in BENCHMARKS.md (issue 16,
branch interp11).
"""
from __future__ import annotations

import torch

from .still import GATE_MAX, GATE_MAX_HELD

HALF_MOTION = (0.25, 0.75)  # the pair's RMS motion over a neighbour's that reads as a hold


def holds(flows: torch.Tensor, before: torch.Tensor | None,
          after: torch.Tensor | None) -> torch.Tensor | bool:
    """Whether a pair with ``flows`` ``(2, 2, h, w)`` (``F01``, ``F10``) moves a fraction in
    :data:`HALF_MOTION` of each neighbouring pair's motion (``before``, ``after``: their flows
    ``(2, 2, h, w)``, or None: missing or a repeat): a 0-dim bool tensor on the flows' device
    (nothing read back), False unless both neighbours are there."""
    if before is None or after is None:
        return False
    own = flows[0].double().square().mean()
    low, high = HALF_MOTION[0] ** 2, HALF_MOTION[1] ** 2  # of the ratio of mean squares
    held = torch.ones((), dtype=torch.bool, device=flows.device)
    for other in (before, after):
        ratio = own / other[0].double().square().mean().clamp_min(1e-18)
        held = held & (ratio > low) & (ratio < high)
    return held


def still_gate_max(flows: torch.Tensor, before: torch.Tensor | None,
                   after: torch.Tensor | None, host: bool) -> float | torch.Tensor:
    """The still blend's largest gain for a pair (:func:`holds`' arguments):
    :data:`.still.GATE_MAX_HELD` where it holds, else :data:`.still.GATE_MAX`. A float on the
    ``host``; on the device path a 0-dim tensor there, so no pair waits on a read-back."""
    held = holds(flows, before, after)
    if host or held is False:
        return GATE_MAX_HELD if bool(held) else GATE_MAX
    return torch.where(held, GATE_MAX_HELD, GATE_MAX)
