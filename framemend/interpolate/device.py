"""The device path of frame interpolation: a pair's flows and its in-between flows in torch,
on the frames' device, with no host copy (what CUDA runs; on the CPU inside
:func:`framemend.cuda.device_path_on_cpu`).

The method is :mod:`.synthesis`'s, step for step, each step the torch twin of the CPU path's
numba kernel or OpenCV call (``tests/test_interpolate_kernels.py`` compares them):

1. the flows both ways on the shrunk luma: the torch flow (:mod:`framemend.flow.torchflow`,
   ``medium``), both directions in one batch, instead of DIS;
2. lost motion (:func:`recover_lost_motion`): the block search of
   :func:`.synthesis._search_blocks` with every pixel searched at once (:func:`search_blocks`),
   then the neighbours' flows of :mod:`.neighbour_motion` (:func:`adopt_neighbour_flows`),
   then the two directions averaged where they agree (:mod:`.symmetric`);
3. hidden pixels take the neighbouring pairs' motion (:func:`fill_hidden`), and the flows at
   each time come from softmax splatting (:func:`intermediate_flows`, with
   :func:`framemend.kernels.splat.splat_sum`); the full-size warp, boundary choice and blend
   are :func:`.synthesis._warp_blend_torch`.

What the CPU path decides on the host (whether any pixel is lost, whether enough block
motions were found) is a mask here, so nothing waits for the device: the second flow pass,
seeded with the block motions found (the torch flow's ``init``), always runs, and each pixel
keeps whichever flow matches better. One step differs from the CPU path: lost regions get no
rigid motion (:func:`.synthesis._region_motions` labels connected regions and searches each
one on the host), so the device path loses what that step gains on spinning objects.

Shapes: ``planes`` ``(2, 4, h, w)`` luma then RGB of frames 0 and 1 at flow size
(:func:`.synthesis.flow_planes`); flows ``(2, 2, h, w)`` ``F01`` then ``F10`` in flow pixels.
"""
from __future__ import annotations

from framemend._torch import F, torch
from framemend.flow import backward_warp, outside_mask
from framemend.flow.torchflow import torch_flow
from framemend.kernels.blur import box_mean
from framemend.kernels.splat import splat_sum

from .neighbour_motion import ADOPT_GAIN, NEIGHBOUR_REACH, UNRELIABLE_ERROR, _SAME_FLOW
from .synthesis import (ALPHA, HIDDEN_MISMATCH, LOST_ERROR, SEARCH_RADIUS, _SEARCH_GAIN,
                        _SEARCH_JUMP, _SEARCH_MIN_PIXELS)
from .symmetric import average_both_ways_torch

# the torch flow's coarsest level at least this many pixels a side: at a quarter of the frame
# size its default (16) leaves 2 levels at 256x144, and the subject clip lost 2.7 dB more
# against the CPU path
FLOW_COARSEST = 8


def pair_flows(small0: torch.Tensor, small1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`.synthesis.pair_flows` on the device: ``flows`` ``(2, 2, h, w)`` and their
    ``importance`` ``(2, 1, h, w)`` (``-ALPHA`` times the luma error) from two shrunk frames
    ``(1, 4, h, w)``, on their device."""
    planes = torch.cat([small0, small1])
    flows = _flows(planes)
    flows, error = recover_lost_motion(planes, flows, warp_error(planes, flows))
    flows = average_both_ways_torch(adopt_neighbour_flows(planes[:, 1:], flows, _box3(error)))
    return flows, warp_error(planes, flows).mul_(-ALPHA)


def warp_error(planes: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
    """``(2, 1, h, w)``: ``|Y0(p) - Y1(p + F01(p))|`` and ``|Y1(p) - Y0(p + F10(p))|``
    (bilinear, edges replicated), as :func:`.synthesis._warp_error`."""
    luma = planes[:, :1]
    return (luma - backward_warp(luma.flip(0), flows)).abs_()


def _box3(error: torch.Tensor) -> torch.Tensor:
    """``(2, 1, h, w)`` averaged over 3x3 pixels, edges replicated."""
    return box_mean(error, 1, "replicate")


def recover_lost_motion(planes: torch.Tensor, flows: torch.Tensor, error: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`.synthesis._recover_lost_motion` on the device (module docstring: no rigid
    region motions): where the 3x3 luma error of ``flows`` (``error`` ``(2, 1, h, w)``) is
    above ``LOST_ERROR`` and the flow stays in the frame, the block search at half the flow
    size; its motions that lower that error by ``_SEARCH_GAIN`` and jump by ``_SEARCH_JUMP``
    count when at least ``_SEARCH_MIN_PIXELS`` are found and seed a second torch flow, and
    each pixel keeps the flow of lower 3x3 error. Returns the flows and their error."""
    local = _box3(error)
    h, w = flows.shape[-2:]
    lost = (local > LOST_ERROR) & ~outside_mask(flows)
    lost_small = F.max_pool2d(lost[..., :h // 2 * 2, :w // 2 * 2].float(), 2) > 0
    guess = search_blocks(F.avg_pool2d(planes[:, :1], 2), lost_small) * 2
    rows = torch.arange(h, device=flows.device) * (h // 2) // h  # nearest, as the CPU path
    cols = torch.arange(w, device=flows.device) * (w // 2) // w
    guess = guess[:, :, rows][..., cols]
    jump = (guess - flows).square().sum(1, keepdim=True)
    found = lost & (_box3(warp_error(planes, guess)) < local - _SEARCH_GAIN) & \
        (jump > _SEARCH_JUMP ** 2)
    found &= found.sum() >= _SEARCH_MIN_PIXELS  # a 0-d tensor: no wait for the device
    second = _flows(planes, torch.where(found, guess, flows))
    second_error = warp_error(planes, second)
    better = _box3(second_error) < local
    return torch.where(better, second, flows), torch.where(better, second_error, error)


def _flows(planes: torch.Tensor, init: torch.Tensor | None = None) -> torch.Tensor:
    """The torch flows ``F01``, ``F10`` ``(2, 2, h, w)`` of the lumas of ``planes``, from
    ``init`` ``(2, 2, h, w)`` if given (:func:`framemend.flow.torchflow.torch_flow`)."""
    return torch_flow(planes[:, :1], planes.flip(0)[:, :1], "medium", init, FLOW_COARSEST)


def search_blocks(luma: torch.Tensor, where: torch.Tensor, radius: int = SEARCH_RADIUS
                  ) -> torch.Tensor:
    """The twin of :func:`.synthesis._block_search`: motion ``(2, 2, h, w)`` of the 3x3 blocks
    of ``luma`` ``(2, 1, h, w)`` (frame 0 to 1, then 1 to 0) at the pixels ``where``
    ``(2, 1, h, w)`` (zero elsewhere): least sum of absolute differences (coordinates clamped)
    over the offsets every second pixel within ``radius``, then ±1 around the best; of equal
    sums the first offset (y, then x) wins. Every pixel is searched (a GPU does not skip)."""
    src, dst = luma[:, 0], luma.flip(0)[:, 0]
    h, w = src.shape[-2:]
    ys = torch.arange(h, device=luma.device).view(1, h, 1)
    xs = torch.arange(w, device=luma.device).view(1, 1, w)
    sides = torch.arange(2, device=luma.device).view(2, 1, 1)

    def difference(dy, dx) -> torch.Tensor:  # (2, h, w); dy, dx ints or (2, h, w) tensors
        total = torch.zeros_like(src)
        for i in (-1, 0, 1):
            sy, ty = (ys + i).clamp(0, h - 1), (ys + dy + i).clamp(0, h - 1)
            for j in (-1, 0, 1):
                sx, tx = (xs + j).clamp(0, w - 1), (xs + dx + j).clamp(0, w - 1)
                total += (src[sides, sy, sx] - dst[sides, ty, tx]).abs()
        return total

    def least(offsets, centre_y, centre_x):
        best = torch.full_like(src, float("inf"))
        by = torch.zeros_like(src, dtype=torch.long) + centre_y
        bx = torch.zeros_like(by) + centre_x
        for dy, dx in offsets:
            sad = difference(centre_y + dy, centre_x + dx)
            better = sad < best
            best = torch.where(better, sad, best)
            by = torch.where(better, centre_y + dy, by)
            bx = torch.where(better, centre_x + dx, bx)
        return by, bx

    coarse = [(dy, dx) for dy in range(-radius, radius + 1, 2)
              for dx in range(-radius, radius + 1, 2)]
    by, bx = least(coarse, 0, 0)
    by, bx = least([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], by, bx)
    return torch.stack([bx, by], 1).float() * where


def adopt_neighbour_flows(rgb: torch.Tensor, flows: torch.Tensor, error: torch.Tensor
                          ) -> torch.Tensor:
    """The twin of :func:`.neighbour_motion.adopt_neighbour_flows`: ``flows`` with each
    unreliable pixel's flow replaced by the best of its neighbours' within ``NEIGHBOUR_REACH``.

    Args:
        rgb: ``(2, 3, h, w)`` frames 0 and 1 in [0, 1] at flow size.
        flows: ``(2, 2, h, w)`` in flow pixels.
        error: ``(2, 1, h, w)`` the 3x3 mean luma error of ``flows``.
    Returns:
        ``(2, 2, h, w)``: a pixel whose error is above ``UNRELIABLE_ERROR`` and whose flow
        stays in the frame takes the neighbour's flow (one differing from its own by
        ``_SAME_FLOW`` or more) whose 3x3 patch difference (:func:`_patch_difference`) beats
        its own by ``ADOPT_GAIN``; of equal costs the first tried (rows, then columns) wins.
    """
    reach, (h, w) = NEIGHBOUR_REACH, flows.shape[-2:]
    size = 2 * reach + 1
    # (the CPU path also skips pixels whose neighbourhood holds no other flow, which the
    # candidates' own test below rules out anyway)
    unreliable = (error > UNRELIABLE_ERROR) & ~outside_mask(flows)
    padded = F.pad(flows, (reach,) * 4)
    inside = F.pad(torch.ones_like(flows[:, :1]), (reach,) * 4)
    best = _patch_difference(rgb, flows) - ADOPT_GAIN
    out = flows
    for dy in range(size):
        for dx in range(size):
            candidate = padded[..., dy:dy + h, dx:dx + w]
            other = (candidate - flows).abs().amax(1, keepdim=True) >= _SAME_FLOW
            cost = _patch_difference(rgb, candidate)
            better = unreliable & (inside[..., dy:dy + h, dx:dx + w] > 0) & other & (cost < best)
            best = torch.where(better, cost, best)
            out = torch.where(better, candidate, out)
    return out


def _patch_difference(rgb: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
    """``(2, 1, h, w)``: the twin of :func:`.neighbour_motion._patch_difference` for every
    pixel ``p`` at once: mean over its 3x3 patch ``q`` (clamped to the frame) and RGB of
    ``|I0(q) - I1(q + f(p))|`` (bilinear, clamped), and back from frame 1 to 0."""
    h, w = rgb.shape[-2:]
    ys, xs = torch.arange(h, device=rgb.device), torch.arange(w, device=rgb.device)
    other = rgb.flip(0)
    total = torch.zeros_like(flows[:, :1])
    for i in (-1, 0, 1):
        qy = (ys + i).clamp(0, h - 1)
        for j in (-1, 0, 1):
            qx = (xs + j).clamp(0, w - 1)
            shift = torch.stack([(qx - xs).to(rgb.dtype).expand(h, w),
                                 (qy - ys).to(rgb.dtype)[:, None].expand(h, w)])  # q - p
            patch = rgb[:, :, qy][..., qx]
            total += (patch - backward_warp(other, flows + shift)).abs().sum(1, keepdim=True)
    return total / 27


def hidden_mask(forward: torch.Tensor, backward: torch.Tensor) -> torch.Tensor:
    """``(N, 1, h, w)`` True where the forward-backward mismatch ``|F(p) + B(p + F(p))|`` of
    the flows ``forward`` ``F`` and ``backward`` ``B`` (``(N, 2, h, w)``) is above
    ``HIDDEN_MISMATCH``: the pixel is hidden in the other frame, or its flow is wrong."""
    mismatch = forward + backward_warp(backward, forward)
    return mismatch.square().sum(1, keepdim=True).sqrt() > HIDDEN_MISMATCH


def fill_hidden(planes: torch.Tensor, flows: torch.Tensor, importance: torch.Tensor,
                before: torch.Tensor | None, after: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The twin of :func:`.synthesis.fill_hidden`: a pixel whose forward-backward mismatch
    ``|F01(p) + F10(p + F01(p))|`` is above ``HIDDEN_MISMATCH`` takes ``-F0,-1(p)``
    (``before``'s ``F10``), and likewise a failing ``F10(p)`` takes ``-F12(p)`` (``after``'s
    ``F01``); ``before``, ``after`` ``(2, 2, h, w)`` or None. Returns the flows and their
    importance, on the device."""
    if before is None and after is None:
        return flows, importance
    hidden = hidden_mask(flows, flows.flip(0))
    filled = torch.stack([
        flows[side] if neighbour is None else
        torch.where(hidden[side], -neighbour[1 - side], flows[side])
        for side, neighbour in ((0, before), (1, after))])
    return filled, warp_error(planes, filled).mul_(-ALPHA)


def intermediate_flows(flows: torch.Tensor, importance: torch.Tensor, times: list[float],
                       acceleration: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """The twin of :func:`.synthesis.intermediate_flows` (its ``_intermediate_kernel``): per
    time ``t`` both sides softmax-splatted (each pixel moves by ``t F01`` or ``(1 - t) F10``,
    bent by ``acceleration`` ``(2, 2, h, w)`` along the quadratic paths of
    :func:`.synthesis.intermediate_flows` where given, and deposits ``(m e^Z, e^Z, 1)``),
    normalised; a hole on one side takes the other's flow
    scaled for linear motion, holes on both Super SloMo's blend; frame 0's weight is its share
    of the coverages clamped at 1, weighted ``1 - t`` and ``t``.

    Args:
        flows: ``(2, 2, h, w)``; importance: ``(2, 1, h, w)``; times: ``K`` values in (0, 1).
    Returns:
        ``flow_t`` ``(2K, 2, h, w)`` (``K`` flows to frame 0, then ``K`` to frame 1) and
        ``weight0`` ``(K, 1, h, w)``, on the flows' device.
    """
    e = importance.exp()
    bend = torch.zeros_like(flows) if acceleration is None else acceleration.to(flows.device)
    moves = torch.cat([torch.stack([t * (flows[0] + (t - 1) / 2 * bend[0]),
                                    (1 - t) * (flows[1] - t / 2 * bend[1])]) for t in times])
    values = torch.cat([moves * e.repeat(len(times), 1, 1, 1), e.repeat(len(times), 1, 1, 1),
                        torch.ones_like(moves[:, :1])], 1)
    acc = splat_sum(values, moves)
    to0, to1, weights = [], [], []
    f01, f10 = flows[0:1], flows[1:2]
    for j, t in enumerate(times):
        a0, a1 = acc[2 * j:2 * j + 1], acc[2 * j + 1:2 * j + 2]
        landed0, landed1 = a0[:, 2:3] > 1e-6, a1[:, 2:3] > 1e-6
        f0 = -a0[:, :2] / a0[:, 2:3].clamp_min(1e-8)
        f1 = -a1[:, :2] / a1[:, 2:3].clamp_min(1e-8)
        f0, f1 = (
            torch.where(landed0, f0, torch.where(landed1, f1 * (-t / (1 - t)),
                                                 -(1 - t) * t * f01 + t * t * f10)),
            torch.where(landed1, f1, torch.where(landed0, f0 * (-(1 - t) / t),
                                                 (1 - t) ** 2 * f01 - t * (1 - t) * f10)))
        share0 = a0[:, 3:4].clamp(max=1) * (1 - t)
        share1 = a1[:, 3:4].clamp(max=1) * t
        total = share0 + share1
        weights.append(torch.where(total > 1e-3, share0 / total.clamp_min(1e-3),
                                   torch.full_like(total, 1 - t)))
        to0.append(f0)
        to1.append(f1)
    return torch.cat(to0 + to1), torch.cat(weights)
