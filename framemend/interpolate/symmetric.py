"""A pair's two flows averaged with each other where they agree: two estimates of one motion.

DIS estimates ``F01`` and ``F10`` independently, each from its own patches (those of frame 0,
those of frame 1), so where both see the same motion they are two estimates of it with
errors of their own: ``F01(p)`` and ``-F10(p + F01(p))``. Their mean is the better estimate,
and it makes the pair's flows consistent with each other, as a symmetric estimate of the
motion would be (Alvarez et al., "Symmetrical dense optical flow estimation with occlusions
detection", IJCV 2007, who add the forward-backward consistency to the energy; here one step
after the estimate):

    ``F01'(p) = (F01(p) - F10(p + F01(p))) / 2``  where  ``|F01(p) + F10(p + F01(p))| < AGREE``,

and likewise ``F10'``; both from the flows as estimated. A pixel whose two estimates disagree
by more (hidden in the other frame, or one of them wrong) keeps its own flow, so the hidden
pixels' check of :func:`.synthesis.fill_hidden` still finds it.

Measured on every other frame of the six generated clips of ``shared/data/generated`` dropped
and restored (BENCHMARKS.md, issue 16, branch interp9): every clip closer to the dropped
frames, +0.01 to +0.15 dB (median over minterpolate +0.791 -> +0.804, worst +0.219 ->
+0.299); ``AGREE`` 0.75 / 2 / 4 / unbounded, the averaging tried on the pair's flows only
(not on those its neighbouring pairs lend): median +0.794 / +0.802 / +0.803 / +0.807, worst
+0.242 / +0.284 / +0.291 / +0.292; the two estimates weighted by their luma errors instead
of halves: within 0.02 dB. The bench's procedural clips gain up to 0.9 dB (a handheld
camera), the real footage 0.03 to 0.22 dB.
"""
from __future__ import annotations

import cv2
import numba
import numpy as np

from framemend._torch import torch
from framemend.flow import backward_warp
from framemend.interpolate.remap import RELATIVE_BILINEAR, relative_map
from framemend.kernels.sample import corners, sample_planar

AGREE = 2.0  # flow pixels: forward-backward mismatch under which both flows are averaged


def average_both_ways(flows: np.ndarray) -> np.ndarray:
    """``flows`` ``(2, 2, h, w)`` float32 (``F01``, ``F10`` in flow pixels) with each flow
    averaged with the reverse of the other where they agree (module docstring): a new array.
    ``F10(p + F01(p))`` is sampled bilinearly, edges replicated (OpenCV's remap)."""
    out = flows.copy()
    for side in range(2):
        own = relative_map(flows[side])
        other = cv2.remap(relative_map(flows[1 - side]), own, None, RELATIVE_BILINEAR,
                          borderMode=cv2.BORDER_REPLICATE)  # (h, w, 2)
        agree = np.hypot(*cv2.split(own + other)) < AGREE
        mean = (own - other) * np.float32(0.5)
        out[side] = np.where(agree, mean.transpose(2, 0, 1), flows[side])
    return out


def disagreeing_share(flows: np.ndarray) -> float:
    """The share of the pixels of ``flows`` ``(2, 2, h, w)`` float32 (``F01``, ``F10``) whose
    two estimates disagree by :data:`AGREE` or more, ``|F01(p) + F10(p + F01(p))|`` and back:
    those :func:`average_both_ways` leaves alone (here sampled bilinearly in numba, in one pass
    without remap's 1/32-pixel grid, for a quarter of its CPU). :func:`.synthesis.pair_flows`
    runs DIS with denser patches on a pair above a share."""
    return _count_disagreeing(flows, AGREE) / (2 * flows[0, 0].size)


@numba.njit(cache=True, nogil=True)
def _count_disagreeing(flows, agree):
    """The number of pixels ``p`` of both flows of ``flows`` ``(2, 2, h, w)`` whose mismatch
    ``|F01(p) + F10(p + F01(p))|`` (and back) is ``agree`` or more, the other flow sampled
    bilinearly, positions clamped to the frame (:mod:`framemend.kernels.sample`)."""
    h, w = flows.shape[-2:]
    count = 0
    for side in range(2):
        own, other = flows[side], flows[1 - side]
        for y in range(h):
            for x in range(w):
                fx, fy = own[0, y, x], own[1, y, x]
                top_left, bottom_right, ax, ay = corners(h, w, x + fx, y + fy)
                dx = fx + sample_planar(other, 0, top_left, bottom_right, ax, ay)
                dy = fy + sample_planar(other, 1, top_left, bottom_right, ax, ay)
                count += dx * dx + dy * dy >= agree * agree
    return count


def average_both_ways_torch(flows: torch.Tensor) -> torch.Tensor:
    """The torch twin of :func:`average_both_ways` (the device path): ``(2, 2, h, w)`` on
    the flows' device, ``F10(p + F01(p))`` by :func:`framemend.flow.backward_warp`."""
    other = backward_warp(flows.flip(0), flows)  # F10(p + F01(p)), F01(p + F10(p))
    agree = (flows + other).square().sum(1, keepdim=True).sqrt() < AGREE
    return torch.where(agree, (flows - other) * 0.5, flows)
