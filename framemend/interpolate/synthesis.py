"""Synthesis of in-between frames from two neighbours with bidirectional optical flow.

Method (classical, after Niklaus & Liu, "Softmax Splatting for Video Frame Interpolation",
CVPR 2020, with the flow reversal of Xu et al., "Quadratic Video Interpolation", NeurIPS 2019):

1. Flow both ways, ``F01`` and ``F10``, on luma shrunk by ``flow_scale`` (DIS, coarse to fine,
   so large motion stays within reach and the cost stays small; see :func:`pair_flows`), again
   with a patch at every pixel where the two directions disagree on much of the frame.
   Where that flow's luma error stays high inside the frame, a block search finds motions
   DIS lost (a small object moving farther than its size) and seeds a second DIS pass; a
   search for one rigid motion (rotation and translation, in colour) per lost region then
   finds those of spinning objects, kept where it matches better than the flow. Where the two
   directions agree, each flow is then averaged with the reverse of the other
   (:mod:`.symmetric`).
2. Pixels hidden in the other frame have no match there, so DIS gives them whatever motion is
   near (often that of the object about to cover them), and they would land in the wrong place
   at time ``t``. Those that fail the forward-backward check take the motion they had over the
   neighbouring pair instead (constant velocity over three frames; :func:`fill_hidden`).
3. Flow at the intermediate time by forward splatting: every pixel ``p`` of frame 0 moves to
   ``p + t F01(p)`` and deposits the backward flow ``-t F01(p)`` there (likewise frame 1 with
   ``(1 - t) F10``); with the neighbouring pairs' flows, along the quadratic path through the
   three frames instead (:mod:`.quadratic`). Softmax splatting with ``Z = -alpha |Y0(p) - Y1(p + F01(p))|`` (luma)
   decides collisions: the pixel still visible in the other frame (the one in front) wins.
4. Holes (nothing landed) take the other side's flow scaled for linear motion; where both
   sides are empty, the blend of the neighbours' flows at ``p`` of Jiang et al., "Super
   SloMo", CVPR 2018, eq. 4.
5. Each side's blending weight is its coverage ``Σ b`` (the bilinear shares ``b`` that landed)
   clamped at 1, times ``1 - t`` or ``t``: zero where nothing of that side lands (hidden, or
   outside its frame). The confidence ``exp(Z)`` only decides collisions: as a blending weight
   (``Σ b·exp(Z)``) it followed the noise of the luma error and cost 0.3-0.6 dB on the
   camera-motion clips of ``benchmarks/bench_interpolate.py``, and gained nothing elsewhere.
   Flows and weights are upsampled to full resolution (bilinearly; at motion boundaries each
   pixel takes those of the neighbouring cell along which the two frames agree best,
   :mod:`.boundaries`), both neighbours are backward-warped to time ``t`` and blended: a
   region hidden in one neighbour comes from the other, and the full-resolution work is two
   warps, one blend and the boundary pixels' choice per new frame. The warps are bilinear, or
   bicubic (``warp="bicubic"``): a bilinear sample half-way between pixels averages two of
   them, so bilinear in-betweens are softer than the input frames around them; bicubic keeps
   more of their detail at about twice the cost of the warps. The blend's luma detail then
   takes the least-squares gain of :mod:`.redrawn`: the attenuation of bilinear sampling is
   undone where the two candidates agree, and detail they do not share (texture that the
   generator re-drew) is shrunk towards the blur. Last, where the candidates disagree more than
   the two neighbours themselves (content drawn anew that the flow matched to the wrong
   place), the in-between is drawn towards the neighbours' plain blend (:mod:`.still`), on
   frames whose motion does not explain them as a whole (on the others it only ghosts detail);
   on those frames it is also averaged over a short segment along the motion, where re-drawn
   texture could lie (:mod:`.smear`).

On the CPU path everything at reduced size runs outside torch: the intermediate flows (steps
3-5) and the block search are numba kernels that release the GIL, the luma error and the 3x3
box filter OpenCV, the masks numpy (as small torch operations they cost about 9 ms of CPU per
pair at 160x90). The full-resolution warp and blend run through OpenCV's remap on CPU tensors,
or in uint8 on decoded uint8 frames (no float frame is made), there only inside the box where
the pair's frames differ or something moves (a still camera leaves the rest as it is). The
device path (CUDA, where :func:`framemend.cuda.host_kernels` is False) runs every step in torch
on the device, with the torch flow instead of DIS (:mod:`.device`, then
:func:`_warp_blend_torch`).
"""
from __future__ import annotations

import cv2
import numba
import numpy as np
import torch
import torch.nn.functional as F

from ..flow import backward_warp
from ..cuda import host_kernels
from ..flow.estimate import dis_luma_flow
from ..kernels.blur import box_mean
from ..kernels.colour import LUMA, luma, luma_np
from ..kernels.pools import shared_pool
from ..kernels.splat import splat_add
from .boundaries import sharpen_boundaries, sharpen_boundaries_torch
from .neighbour_motion import adopt_neighbour_flows
from .redrawn import (attenuation_torch, bilinear_attenuation, correlation_rows, detail_change,
                      detail_correlation, keep_detail_torch)
from .remap import RELATIVE_BICUBIC, RELATIVE_BILINEAR, padded, relative_map, remap_rgb
from .smear import smear_along_motion, smear_along_motion_torch, smear_length
from .symmetric import average_both_ways, disagreeing_share
from .still import GATE_MAX, mix_still, mix_still_torch, still_error, still_share

WARPS = {"bilinear": RELATIVE_BILINEAR, "bicubic": RELATIVE_BICUBIC}  # remap flags
ALPHA = 20.0  # softmax-splatting importance per unit of luma error (a 0.05 error weighs e^-1)


def flow_planes(image: torch.Tensor | np.ndarray, flow_scale: float) -> torch.Tensor:
    """``(3, H, W)`` RGB tensor in [0, 1], or ``(H, W, 3)`` uint8 RGB array -> ``(1, 4, h, w)``
    float luma then RGB in [0, 1] shrunk by ``flow_scale`` (area average; the array is shrunk
    first): flow runs on the luma, the search for lost motions also uses the colour."""
    h, w = image.shape[-2:] if isinstance(image, torch.Tensor) else image.shape[:2]
    size = (max(16, round(h * flow_scale)), max(16, round(w * flow_scale)))
    if isinstance(image, np.ndarray):
        small = image if size == (h, w) else cv2.resize(image, size[::-1],
                                                        interpolation=cv2.INTER_AREA)
        rgb = small.astype(np.float32) * np.float32(1 / 255)
        return torch.from_numpy(np.concatenate([luma_np(rgb)[None], rgb.transpose(2, 0, 1)]))[None]
    small = image[None] if size == (h, w) else F.interpolate(image[None], size=size, mode="area")
    return torch.cat([luma(small), small], 1)


# DIS medium at finest scale 0 without variational refinement, 8 descent iterations
_DIS_TUNING = (("FinestScale", 0), ("VariationalRefinementIterations", 0),
               ("GradientDescentIterations", 8))
_DENSE_DIS_TUNING = _DIS_TUNING + (("PatchStride", 1),)  # a patch at every pixel, not every 3rd
# share of a pair's flow pixels whose two DIS flows disagree above which DIS runs dense: the
# bench's procedural clips reach 0.08 (subject), the generated clips whose in-betweens gain
# (CogVideo__2, woman) 0.06-0.28, a faster subject 0.14 (it gains too; BENCHMARKS.md, issue
# 16, branch interp10)
DENSE_SHARE = 0.1


def pair_flows(small0: torch.Tensor, small1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flows ``F01`` and ``F10`` between two shrunk frames ``(1, 4, h, w)`` (luma then RGB, from
    :func:`flow_planes`) and their importance.

    DIS (Kroeger et al., ECCV 2016) on the lumas at their own resolution (finest scale 0, 8x8
    patches every 3 pixels, 8 inverse-search iterations (25 gave the same PSNR on the clips),
    no variational refinement: on this job that refinement costs 40 % of the time for under
    0.2 dB), the two directions on two threads. Where the two flows disagree (forward-backward
    mismatch of :data:`.symmetric.AGREE` or more) on more than :data:`DENSE_SHARE` of the
    pixels, DIS runs again with a patch at every pixel (``PatchStride`` 1, about 7x DIS's own
    CPU), and so does the lost-motion pass below: each pixel's flow then comes from the 64
    patches over it instead of about 7, which follows motion that changes within a few
    patches (a fast drive forward over gravel, re-drawn generated content, a fast subject).
    The bench's camera motion and subjects disagree on under 0.09 of their pixels and pay
    only the check (:func:`.symmetric.disagreeing_share`). DIS refines coarse to fine from a
    few pixels of motion per level, so a small object that moves farther than its own size is
    lost (its flow stays that of the background); :func:`_recover_lost_motion` finds such
    motion again.
    Near motion boundaries DIS blends the motions of both sides, so pixels that still match
    badly then try their neighbours' flows (:func:`.neighbour_motion.adopt_neighbour_flows`).
    Last, where the two directions agree, each flow is averaged with the reverse of the other
    (:func:`.symmetric.average_both_ways`: two estimates of one motion).

    Returns ``flows`` ``(2, 2, h, w)`` (``F01`` then ``F10``, in shrunk pixels) and
    ``importance`` ``(2, 1, h, w)``: ``-ALPHA`` times the luma error of each flow; on the CPU.
    """
    planes = torch.cat([small0, small1]).cpu()
    u8 = planes[:, 0].mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).numpy()
    rgb = planes[:, 1:].permute(0, 2, 3, 1).contiguous().numpy()
    tuning = _DIS_TUNING
    flows = _dis_both(u8, None, tuning)
    if disagreeing_share(flows.numpy()) > DENSE_SHARE:
        tuning = _DENSE_DIS_TUNING
        flows = _dis_both(u8, None, tuning)
    flows, error = _recover_lost_motion(planes, flows, _warp_error(planes, flows), u8, rgb,
                                        tuning)
    flows = adopt_neighbour_flows(rgb, flows.numpy(), _box3(error)[:, 0].numpy())
    flows = torch.from_numpy(average_both_ways(flows))
    return flows, _warp_error(planes, flows).mul_(-ALPHA)


def _dis_both(u8: np.ndarray, init: torch.Tensor | None, tuning: tuple,
              sides: tuple[bool, bool] = (True, True)) -> torch.Tensor:
    """DIS flows ``(2, 2, h, w)`` from ``u8[0]`` to ``u8[1]`` and back, on two threads,
    starting from ``init`` ``(2, 2, h, w)`` when given (else from zero); ``tuning``: the
    preset's changes (:func:`framemend.flow.estimate.dis_luma_flow`); with ``init``, a side
    that ``sides`` leaves out is not estimated: its flow is ``init``'s."""
    starts = [None, None] if init is None else \
        list(init.permute(0, 2, 3, 1).contiguous().cpu().numpy())
    jobs = [(u8[side], u8[1 - side], starts[side]) for side in (0, 1) if sides[side]]
    fields = iter(shared_pool("dis", 2).map(
        lambda job: dis_luma_flow(job[0], job[1], "medium", tuning, init=job[2]), jobs))
    return torch.from_numpy(np.stack([next(fields) if run else start for run, start in
                                      zip(sides, starts)])).permute(0, 3, 1, 2).contiguous()


LOST_ERROR = 0.06  # mean luma error (3x3) above which a pixel's flow is taken for lost
SEARCH_RADIUS = 10  # block search reach, in pixels at half the flow resolution (80 px at 640x360)
_SEARCH_GAIN = 0.02  # luma (colour, for rigid motions) error a found motion must remove
_SEARCH_JUMP = 2.0  # pixels (flow resolution) a found motion must differ from the first flow by
_SEARCH_MIN_PIXELS = 32  # fewer recovered pixels of a side than this: no second DIS pass


def _recover_lost_motion(planes: torch.Tensor, flows: torch.Tensor, error: torch.Tensor,
                         u8: np.ndarray, rgb: np.ndarray, tuning: tuple
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """A second flow where the first is unreliable: large motion of small objects.

    Where the luma error of ``flows`` ``(2, 2, h, w)`` (``error``, from :func:`_warp_error`)
    averaged over 3x3 pixels is above :data:`LOST_ERROR` and the flow stays inside the frame
    (content entering the view has no match), an exhaustive block search (3x3 blocks,
    ±:data:`SEARCH_RADIUS` pixels, every second offset then ±1 around the best) runs at half
    the flow resolution. Found motions that lower the error and differ from the first flow (a
    lost motion, not a refinement) seed a second DIS pass (DIS takes an initial flow; with the
    pair's ``tuning``, as its first pass) in each direction that has enough of them (camera
    motion rarely has any; a moving subject often has them one way only, and the other
    direction's second pass, a whole frame re-estimated from its own flow and its few found
    motions, was worth 0.01 dB or less on the held-back renderings and the generated clips,
    0.01-0.05 dB on 49-pair subject clips: BENCHMARKS.md stop 45, ispeed8); per pixel, the
    flow with the lower error is kept. Small blocks of a spinning object match scattered places, and
    DIS on luma drifts off a colourful object of little luma contrast, so each lost region
    then gets one rigid motion (:func:`_region_motions`), taken per pixel where it differs
    from the first flow and its colour error (:func:`_colour_error`) is under
    :data:`LOST_ERROR` and lower than that of the flow so far by :data:`_SEARCH_GAIN`.
    ``planes`` ``(2, 4, h, w)`` luma then RGB, ``u8`` the lumas in
    uint8 ``(2, h, w)``, ``rgb`` the colours ``(2, h, w, 3)``, ``tuning`` the DIS tuning of
    the pair's first pass. Returns the flows and their (luma) ``error``.
    """
    local = _box3(error)
    h, w = flows.shape[-2:]
    first, near = flows.numpy(), local.numpy()  # masks in numpy: torch's are slow at this size
    x = first[:, 0:1] + np.arange(w, dtype=np.float32)
    y = first[:, 1:2] + np.arange(h, dtype=np.float32)[:, None]
    lost = (near > LOST_ERROR) & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    if lost.sum() < _SEARCH_MIN_PIXELS:
        return flows, error
    quads = [lost[:, 0, dy:h // 2 * 2:2, dx:w // 2 * 2:2] for dy in (0, 1) for dx in (0, 1)]
    lost_small = quads[0] | quads[1] | quads[2] | quads[3]  # any of each 2x2
    guess = _block_search(F.avg_pool2d(planes[:, :1], 2), lost_small) * 2
    guess = guess[:, :, np.arange(h) * (h // 2) // h][..., np.arange(w) * (w // 2) // w]  # nearest
    jump = np.square(guess - first).sum(1, keepdims=True)
    guess_error = _box3(_warp_error(planes, torch.from_numpy(guess))).numpy()
    found = lost & (guess_error < near - _SEARCH_GAIN) & (jump > _SEARCH_JUMP ** 2)
    sides = found.reshape(2, -1).sum(1) >= _SEARCH_MIN_PIXELS  # each side's own second pass
    if sides.any():
        seeds = np.where(found & sides[:, None, None, None], guess, first)
        second = _dis_both(u8, torch.from_numpy(seeds), tuning, tuple(sides))
        second_error = _warp_error(planes, second)
        better = _box3(second_error) < local
        flows, error = torch.where(better, second, flows), torch.where(better, second_error, error)
    shift = _region_motions(rgb, lost, first)
    rigid = lost & (np.square(shift - first).sum(1, keepdims=True) > _SEARCH_JUMP ** 2)
    if not rigid.any():
        return flows, error
    shift_error = _colour_error(rgb, shift)
    rigid &= shift_error < np.minimum(_colour_error(rgb, flows.numpy()) - _SEARCH_GAIN, LOST_ERROR)
    if not rigid.any():
        return flows, error
    flows = torch.from_numpy(np.where(rigid, shift, flows.numpy()))
    return flows, _warp_error(planes, flows)


REGION_CAP = 0.3  # colour error (sum over RGB) at which a pixel stops counting against a motion
REGION_TURN = 45.0  # degrees a region may turn between the two frames
REGION_MIN_PIXELS = 128  # smaller lost regions get no rigid motion (13 px across at flow size)
REGION_SUPPORT = 0.3  # share of a region's pixels its motion must match for the motion to count


def _region_motions(rgb: np.ndarray, lost: np.ndarray, first: np.ndarray) -> np.ndarray:
    """``first`` ``(2, 2, h, w)`` with one rigid motion per connected region of ``lost``
    ``(2, 1, h, w)`` (8-connected, at least :data:`REGION_MIN_PIXELS` pixels).

    The motion (a rotation about the region's centre within ±:data:`REGION_TURN` degrees and
    a translation within ±2·:data:`SEARCH_RADIUS` pixels) is the one with the least truncated
    colour difference ``Σ min(Σ_c |I0(p) - I1(M p)|, REGION_CAP)`` over the region's pixels:
    one parametric motion per region, as in Bergen et al., "Hierarchical model-based motion
    estimation", ECCV 1992, found here by a coarse-to-fine exhaustive search
    (:func:`_search_region`, large motion stays within reach) with a truncated cost (robust to
    the pixels that do not follow it, after Black & Anandan, "The robust estimation of multiple
    motions", CVIU 1996). The region is a fast object together with the background it covers:
    small blocks of a spinning object match scattered places, the region as a whole has one
    motion; colour, because a colourful object may have little luma contrast. A motion that
    matches (colour difference under half the cap) fewer than :data:`REGION_SUPPORT` of the
    region's pixels is dropped: occlusion, not motion. ``rgb`` ``(2, h, w, 3)``.
    """
    out = first.copy()
    for side in np.flatnonzero(lost.sum((1, 2, 3)) >= REGION_MIN_PIXELS):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            lost[side, 0].astype(np.uint8), connectivity=8)
        for label in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= REGION_MIN_PIXELS) + 1:
            ys, xs = np.nonzero(labels == label)
            _search_region(rgb[side], rgb[1 - side], ys, xs, 2 * SEARCH_RADIUS,
                           np.deg2rad(REGION_TURN), REGION_CAP, REGION_SUPPORT, out[side])
    return out


@numba.njit(cache=True, nogil=True)
def _search_region(src, dst, ys, xs, radius, turn, cap, support, out):
    """:func:`_region_motions` for one region ``(ys, xs)`` of ``src`` in ``dst``
    ``(h, w, 3)``, written into ``out`` ``(2, h, w)`` at the region unless fewer than
    ``support`` of its pixels match (difference under ``cap / 2``). Four levels: offsets every
    2 pixels within ``radius`` and turns of 0 and ±``2 turn / 3`` on every fourth pixel of the
    region (each way); then ±1 pixel and ±``turn / 3`` around the best, and ±1 pixel and
    ±``turn / 6``, on every second pixel; then ±1 pixel and ±``turn / 12`` on all its pixels
    (nearest samples, edges replicated; of equal costs the first motion tried wins)."""
    cy, cx = ys.mean(), xs.mean()
    best, bx, by, ba = np.inf, 0, 0, 0.0
    levels = ((4, 2, radius, turn * 2 / 3, 1), (2, 1, 1, turn / 3, 1), (2, 1, 1, turn / 6, 1),
              (1, 1, 1, turn / 12, 1))  # pixel stride, offset step and reach, turn step, turns
    for every, move, reach, step, turns in levels:
        some = (ys % every == 0) & (xs % every == 0)
        py, px = ys[some], xs[some]
        values = np.empty((len(px), 3), src.dtype)
        for n in range(len(px)):
            values[n] = src[py[n], px[n]]
        best, cx0, cy0, ca = np.inf, bx, by, ba
        for k in range(-turns, turns + 1):
            a = ca + k * step
            rx, ry = _turned(py, px, cy, cx, a)
            for dy in range(cy0 - reach, cy0 + reach + 1, move):
                for dx in range(cx0 - reach, cx0 + reach + 1, move):
                    cost = _region_cost(values, dst, rx, ry, dx, dy, cap, best)
                    if cost < best:
                        best, bx, by, ba = cost, dx, dy, a
    rx, ry = _turned(ys, xs, cy, cx, ba)
    matched = 0  # the last level's values are those of all the region's pixels
    for n in range(len(xs)):
        matched += _region_cost(values[n:n + 1], dst, rx[n:n + 1], ry[n:n + 1], bx, by, cap,
                                np.inf) < cap / 2
    if matched < support * len(xs):
        return
    cos, sin = np.cos(ba), np.sin(ba)
    for n in range(len(xs)):
        ox, oy = xs[n] - cx, ys[n] - cy
        out[0, ys[n], xs[n]] = cx + cos * ox - sin * oy + bx - xs[n]
        out[1, ys[n], xs[n]] = cy + sin * ox + cos * oy + by - ys[n]


@numba.njit(cache=True, nogil=True)
def _turned(ys, xs, cy, cx, angle):
    """The pixels ``(ys, xs)`` rotated by ``angle`` about ``(cx, cy)``, rounded: ``(x, y)``."""
    cos, sin = np.cos(angle), np.sin(angle)
    ox, oy = xs - cx, ys - cy
    return (np.round(cx + cos * ox - sin * oy).astype(np.int64),
            np.round(cy + sin * ox + cos * oy).astype(np.int64))


@numba.njit(cache=True, nogil=True, inline="always")
def _region_cost(values, dst, rx, ry, dx, dy, cap, stop):
    """``Σ_n min(Σ_c |values[n, c] - dst(ry[n] + dy, rx[n] + dx, c)|, cap)`` (edges
    replicated); stops once above ``stop``."""
    h, w = dst.shape[:2]
    cost = 0.0
    for n in range(len(rx)):
        tx = min(max(rx[n] + dx, 0), w - 1)
        ty = min(max(ry[n] + dy, 0), h - 1)
        diff = abs(values[n, 0] - dst[ty, tx, 0]) + abs(values[n, 1] - dst[ty, tx, 1]) + \
            abs(values[n, 2] - dst[ty, tx, 2])
        cost += min(diff, cap)
        if cost >= stop:
            break
    return cost


def _colour_error(rgb: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """``(2, 1, h, w)``: mean over RGB of ``|I0(p) - I1(p + F01(p))|`` and back (bilinear,
    edges replicated), averaged over 3x3 pixels; ``rgb`` ``(2, h, w, 3)``."""
    return _box3(torch.from_numpy(_warped_difference(rgb, flows).mean(-1))[:, None]).numpy()


def _warp_error(planes: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
    """``(2, 1, h, w)``: ``|Y0(p) - Y1(p + F01(p))|`` and ``|Y1(p) - Y0(p + F10(p))|``;
    ``planes`` ``(2, 4, h, w)`` luma then RGB."""
    return torch.from_numpy(_warped_difference(planes[:, 0].numpy(), flows.numpy()))[:, None]


def _warped_difference(images: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """``|I0(p) - I1(p + F01(p))|`` and ``|I1(p) - I0(p + F10(p))|`` of ``images``
    ``(2, h, w)`` or ``(2, h, w, C)`` along ``flows`` ``(2, 2, h, w)`` (bilinear, edges
    replicated: OpenCV's remap)."""
    out = np.empty_like(images)
    for side in range(2):
        warped = cv2.remap(images[1 - side], relative_map(flows[side]), None, RELATIVE_BILINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        cv2.absdiff(images[side], warped, dst=out[side])
    return out


def _box3(error: torch.Tensor) -> torch.Tensor:
    """``error`` ``(2, 1, h, w)`` averaged over 3x3 pixels (edges replicated)."""
    return box_mean(error, 1, "replicate")


def _block_search(luma: torch.Tensor, where: np.ndarray) -> np.ndarray:
    """Motion ``(2, 2, h, w)`` of the 3x3 blocks of ``luma`` ``(2, 1, h, w)`` (frame 0 to 1,
    then 1 to 0) at the pixels ``where`` ``(2, h, w)`` (zero elsewhere): least absolute
    difference over offsets every second pixel within :data:`SEARCH_RADIUS`, then ±1."""
    frames = luma[:, 0].contiguous().numpy()
    out = np.zeros((2, 2, *frames.shape[-2:]), np.float32)
    for side in range(2):
        _search_blocks(frames[side], frames[1 - side], where[side], SEARCH_RADIUS, out[side])
    return out


@numba.njit(cache=True, nogil=True)
def _search_blocks(src, dst, where, radius, out):
    """:func:`_block_search` from ``src`` to ``dst`` ``(h, w)`` into ``out`` ``(2, h, w)``
    (edges replicated; of equal differences the first offset, y then x, wins)."""
    h, w = src.shape
    for y in range(h):
        for x in range(w):
            if not where[y, x]:
                continue
            best, by, bx = np.inf, 0, 0
            for dy in range(-radius, radius + 1, 2):
                for dx in range(-radius, radius + 1, 2):
                    sad = _block_difference(src, dst, y, x, dy, dx)
                    if sad < best:
                        best, by, bx = sad, dy, dx
            best, cy, cx = np.inf, by, bx
            for dy in range(cy - 1, cy + 2):
                for dx in range(cx - 1, cx + 2):
                    sad = _block_difference(src, dst, y, x, dy, dx)
                    if sad < best:
                        best, by, bx = sad, dy, dx
            out[0, y, x] = bx
            out[1, y, x] = by


@numba.njit(cache=True, nogil=True, inline="always")
def _block_difference(src, dst, y, x, dy, dx):
    """Sum of absolute differences of the 3x3 blocks at ``(y, x)`` of ``src`` and
    ``(y + dy, x + dx)`` of ``dst`` (coordinates clamped to the frame)."""
    h, w = src.shape
    sad = np.float32(0)
    for i in range(-1, 2):
        sy = min(max(y + i, 0), h - 1)
        ty = min(max(y + dy + i, 0), h - 1)
        for j in range(-1, 2):
            sx = min(max(x + j, 0), w - 1)
            tx = min(max(x + dx + j, 0), w - 1)
            sad += abs(src[sy, sx] - dst[ty, tx])
    return sad


HIDDEN_MISMATCH = 0.75  # forward-backward mismatch (flow pixels) above which a pixel is hidden
# (1.0 gave 0.12-0.22 dB less on the four renderings of the bench's subject clip, 0.05-0.16 dB
# more on fast-object's; 0.5 more on subject, 0.2-0.65 dB less on fast-object)


def hidden_pixels(flows: np.ndarray) -> np.ndarray:
    """``(2, 1, h, w)`` bool: the pixels of ``F01`` and ``F10`` (``flows`` ``(2, 2, h, w)``
    float32) whose forward-backward mismatch ``|F01(p) + F10(p + F01(p))|`` (and back; the
    other flow sampled bilinearly, edges replicated) is above :data:`HIDDEN_MISMATCH`: hidden
    in the other frame, or a wrong flow (:func:`fill_hidden`). A pair's flows worker makes it
    once: :func:`fill_hidden` reads it for the pair, :func:`.quadratic.accelerations` for the
    pairs beside it."""
    reverse = np.stack([relative_map(flows[0]), -relative_map(flows[1])])  # (2, h, w, 2)
    mismatch = _warped_difference(reverse, flows)  # |F01(p) + F10(p + F01(p))| per axis, back
    return np.hypot(mismatch[..., 0], mismatch[..., 1])[:, None] > HIDDEN_MISMATCH


def fill_hidden(planes: torch.Tensor, flows: torch.Tensor, importance: torch.Tensor,
                before: torch.Tensor | None, after: torch.Tensor | None,
                hidden: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Flows of a pair's pixels that are hidden in the other frame, from the neighbouring pairs.

    A pixel ``p`` of frame 0 whose forward-backward mismatch ``|F01(p) + F10(p + F01(p))|``
    is above :data:`HIDDEN_MISMATCH` (the check of Sundaram et al., "Dense point trajectories
    by GPU-accelerated large displacement optical flow", ECCV 2010) is taken for hidden in
    frame 1 (or its flow for wrong); it was most likely seen in the frame before, so its flow
    becomes the reverse of its flow to that frame, ``-F0,-1(p)`` (``before``'s ``F10``), and
    likewise a failing ``F10(p)`` becomes ``-F12(p)`` (``after``'s ``F01``): constant velocity
    over three frames, as the quadratic interpolation of Xu et al. (NeurIPS 2019) uses the
    frames around a pair. On a face passing a post (``benchmarks/bench_interpolate.py``,
    ``subject``) this gave +2.1 dB; on the camera clips +0.4 dB or less.

    Args:
        planes: ``(2, 4, h, w)`` luma then RGB of the two frames; flows: ``(2, 2, h, w)``
            ``F01``, ``F10``; importance: ``(2, 1, h, w)``, from :func:`pair_flows`.
        before, after: the flows ``(2, 2, h, w)`` of the pairs ending at frame 0 and starting
            at frame 1, or None (a scene cut, the start or end of the video).
        hidden: the pair's :func:`hidden_pixels` where already made, else None: made here.
    Returns:
        ``flows`` and ``importance`` with the hidden pixels' flows replaced (importance
        recomputed); all on the CPU.
    """
    if before is None and after is None:
        return flows, importance
    pair = flows.numpy()
    if hidden is None:
        hidden = hidden_pixels(pair)
    filled = pair.copy()
    for side, neighbour in ((0, before), (1, after)):
        if neighbour is not None:
            np.negative(neighbour[1 - side].numpy(), out=filled[side], where=hidden[side])
    filled = torch.from_numpy(filled)
    return filled, _warp_error(planes, filled).mul_(-ALPHA)


def intermediate_flows(flows: torch.Tensor, importance: torch.Tensor, times: list[float],
                       acceleration: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Flows from time ``t`` back to frames 0 and 1, and the weight of frame 0, at shrunk size.

    Args:
        flows: ``(2, 2, h, w)`` ``F01``, ``F10``; importance: ``(2, 1, h, w)``; on the CPU.
        times: ``K`` values in (0, 1).
        acceleration: ``(2, 2, h, w)`` each side's acceleration ``a0``, ``a1``
            (:func:`.quadratic.accelerations`): pixels are splatted along the quadratic path,
            ``t F01 + t (t - 1) / 2 · a0`` and ``(1 - t) F10 - (1 - t) t / 2 · a1``; None:
            linear motion.
    Returns:
        ``flow_t`` ``(2K, 2, h, w)`` (``K`` flows to frame 0, then ``K`` to frame 1) and
        ``weight0`` ``(K, 1, h, w)`` in [0, 1], the share of frame 0 in the blend.
    """
    k = len(times)
    h, w = flows.shape[-2:]
    flow_t = np.empty((2 * k, 2, h, w), np.float32)
    weight0 = np.empty((k, 1, h, w), np.float32)
    bend = np.zeros((2, 2, h, w), np.float32) if acceleration is None else \
        acceleration.contiguous().numpy()
    _intermediate_kernel(flows.contiguous().numpy(), importance.contiguous().numpy(), bend,
                         np.asarray(times, np.float64), flow_t, weight0)
    return torch.from_numpy(flow_t), torch.from_numpy(weight0)


@numba.njit(cache=True, nogil=True)
def _intermediate_kernel(flows, importance, acceleration, times, flow_t, weight0):
    """:func:`intermediate_flows` into ``flow_t`` and ``weight0``. Per time ``t``: both sides
    splatted (:func:`_splat_side`) along their quadratic paths (``acceleration``
    ``(2, 2, h, w)``, zero for linear motion), normalised; a hole on side 0 takes side 1's
    flow scaled by
    ``-t / (1 - t)`` (linear motion) and vice versa; where both are holes, Super SloMo's blend
    of ``F01`` and ``F10`` at the pixel. The weight of side 0 is its share of the coverages
    (each clamped at 1) weighted ``1 - t`` and ``t``."""
    count = len(times)
    h, w = flows.shape[-2:]
    acc = np.empty((2, 4, h, w), np.float32)
    path = np.empty((2, 2, h, w), np.float32)
    for j in range(count):
        t = times[j]
        acc[:] = 0
        path[0] = flows[0] + np.float32((t - 1) / 2) * acceleration[0]  # moved by t path[0]
        path[1] = flows[1] - np.float32(t / 2) * acceleration[1]  # by (1 - t) path[1]
        _splat_side(path[0], importance[0, 0], t, acc[0])
        _splat_side(path[1], importance[1, 0], 1 - t, acc[1])
        for y in range(h):
            for x in range(w):
                mass0, mass1 = acc[0, 2, y, x], acc[1, 2, y, x]
                landed0, landed1 = mass0 > 1e-6, mass1 > 1e-6
                for c in range(2):
                    f0 = -acc[0, c, y, x] / max(mass0, 1e-8)
                    f1 = -acc[1, c, y, x] / max(mass1, 1e-8)
                    f01, f10 = flows[0, c, y, x], flows[1, c, y, x]
                    if not landed0:
                        f0 = f1 * (-t / (1 - t)) if landed1 else -(1 - t) * t * f01 + t * t * f10
                    if not landed1:
                        f1 = f0 * (-(1 - t) / t) if landed0 else \
                            (1 - t) ** 2 * f01 - t * (1 - t) * f10
                    flow_t[j, c, y, x] = f0
                    flow_t[count + j, c, y, x] = f1
                share0 = min(acc[0, 3, y, x], 1) * (1 - t)
                share1 = min(acc[1, 3, y, x], 1) * t
                total = share0 + share1
                weight0[j, 0, y, x] = share0 / total if total > 1e-3 else 1 - t


@numba.njit(cache=True, nogil=True)
def _splat_side(flow, importance, reach, acc):
    """Softmax splatting of one side (:func:`framemend.kernels.splat.splat_add`): each pixel
    ``p`` moves by ``m = reach · flow(p)`` and adds ``(m · b e^Z, b e^Z, b)``,
    ``Z = importance(p)``, to ``acc`` ``(4, h, w)`` at the four pixels around ``p + m`` with
    bilinear shares ``b``."""
    h, w = importance.shape
    values = np.empty((4, h, w), np.float32)
    values[2] = np.exp(importance)
    values[0] = reach * flow[0] * values[2]
    values[1] = reach * flow[1] * values[2]
    values[3] = 1.0
    splat_add(values, flow, reach, acc)


def warp_blend(image0: torch.Tensor | np.ndarray, image1: torch.Tensor | np.ndarray,
               flow_t: torch.Tensor, weight0: torch.Tensor, times: list[float],
               warp: str = "bilinear", correlations: list | None = None,
               gate_max: float = GATE_MAX, lumas: list | None = None
               ) -> torch.Tensor | np.ndarray:
    """Warp both neighbours to each time and blend them, at full resolution.

    Args:
        image0, image1: ``(3, H, W)`` tensors, or ``(H, W, 3)`` uint8 arrays (decoded frames:
            warped and blended in uint8 by OpenCV, no float image is made).
        flow_t: ``(2K, 2, h, w)`` from :func:`intermediate_flows`, in shrunk pixels.
        weight0: ``(K, 1, h, w)``. Both on the CPU.
        times: the ``K`` fractional times of ``flow_t``.
        warp: a key of :data:`WARPS`, how the neighbours are sampled.
        correlations: for uint8 arrays, each neighbour's :func:`frame_correlation` where
            already known (a frame is in two pairs), else None: computed here.
        lumas: for uint8 arrays, each neighbour's :func:`frame_luma` where already known,
            else None: computed here.
        gate_max: the largest gain of the still blend's share (:mod:`.still`): its
            ``GATE_MAX``, or ``GATE_MAX_HELD`` on a pair that holds a frame (:mod:`.hold`).
    Returns:
        ``(K, 3, H, W)`` (``(K, H, W, 3)`` uint8 for arrays):
        ``w0 · I0(p + Ft0) + (1 - w0) · I1(p + Ft1)`` with its luma detail at the gain of
        :mod:`.redrawn`, drawn towards the still blend where no motion explains the change
        (:mod:`.still`) and then averaged along the motion (:mod:`.smear`), within [0, 1] (the
        range of uint8).
    """
    if isinstance(image0, np.ndarray):
        lumas = [y if y is not None else frame_luma(im)
                 for y, im in zip(lumas or (None, None), (image0, image1))]
        known = correlations or (None, None)
        correlations = [r if r is not None else frame_correlation(im, y)
                        for r, im, y in zip(known, (image0, image1), lumas)] \
            if warp == "bilinear" else None
        return _warp_blend_u8(image0, image1, flow_t, weight0, times, WARPS[warp], correlations,
                              gate_max, lumas)
    if host_kernels(image0.device):
        return _warp_blend_cv2(image0, image1, flow_t, weight0, times, WARPS[warp], gate_max)
    return _warp_blend_torch(image0, image1, flow_t, weight0, times, warp, gate_max)


def _warp_blend_torch(image0, image1, flow_t, weight0, times, warp="bilinear",
                      gate_max=GATE_MAX):
    """The reference (and CUDA) path of :func:`warp_blend`: bilinear upsampling of the flows
    and weights, grid_sample (``warp``: its mode) of the frames, the blend's detail gain of
    :mod:`.redrawn`, the still blend's share of :mod:`.still`, the average along the motion of
    :mod:`.smear`."""
    k = weight0.shape[0]
    height, width = image0.shape[-2:]
    h, w = flow_t.shape[-2:]
    small = torch.cat([flow_t.reshape(1, 4 * k, h, w), weight0.reshape(1, k, h, w)], 1)
    up = F.interpolate(small.to(image0.device), size=(height, width), mode="bilinear",
                       align_corners=False)[0]
    flow_up = up[:4 * k].view(2 * k, 2, height, width)
    flow_up = torch.cat([flow_up[:, :1] * (width / w), flow_up[:, 1:] * (height / h)], 1)
    images = torch.stack([image0, image1])
    shrunk = torch.cat([flow_t[:k], flow_t[k:], weight0], 1).to(image0.device)
    flow_up, w0 = sharpen_boundaries_torch(images, shrunk, flow_up, up[4 * k:].unsqueeze(1))
    warped = backward_warp(images.repeat_interleave(k, 0), flow_up, mode=warp)
    attenuation = None
    if warp == "bilinear":  # .redrawn's attenuation, on the flow grid
        moves = torch.cat([shrunk[:, c:c + 1] * (width / w if c % 2 == 0 else height / h)
                           for c in range(4)], 1)
        attenuation = attenuation_torch(images, moves, shrunk[:, 4:])
    made = keep_detail_torch(warped[:k], warped[k:], w0, shrunk[:, 4:], attenuation)
    made, gain = mix_still_torch(made, images, warped[:k], warped[k:], times, shrunk[:, 4:],
                                 gate_max)
    return smear_along_motion_torch(made, flow_up[k:] - flow_up[:k], gain).clamp_(0, 1)


def _warp_blend_cv2(image0, image1, flow_t, weight0, times, flags, gate_max=GATE_MAX):
    """OpenCV twin of :func:`_warp_blend_torch` (``flags``: OpenCV's remap flags, from
    :data:`WARPS`). Pixels stay in the memory layout they come in: planes of a contiguous
    ``(3, H, W)`` tensor, or interleaved ``(H, W, 3)`` for channels-last tensors; the result
    ``(K, 3, H, W)`` has the layout of ``image0``."""
    k = weight0.shape[0]
    height, width = image0.shape[-2:]
    interleaved = not image0.is_contiguous() and image0.permute(1, 2, 0).is_contiguous()
    if interleaved:
        src = [np.ascontiguousarray(im.permute(1, 2, 0).numpy()) for im in (image0, image1)]
        out = np.empty((k, height, width, 3), np.float32)
    else:
        src = [im.contiguous().numpy() for im in (image0, image1)]
        out = np.empty((k, 3, height, width), np.float32)
    other = np.empty(out.shape[1:], np.float32)
    pixels = src if interleaved else [plane.transpose(1, 2, 0) for plane in src]  # (H, W, 3)
    rows = correlation_rows(height)
    correlations = [detail_correlation(_luma(im[rows] if interleaved else im[:, rows],
                                             interleaved)) for im in src] \
        if flags == RELATIVE_BILINEAR else None
    still = still_error(*(_luma(im, interleaved) for im in src), weight0.shape[-2:])
    for j in range(k):
        moves, weight = _full_size_motion(pixels, flow_t, weight0, j)
        for move, side, dst in zip(moves, (0, 1), (out[j], other)):
            for plane, target in ([(src[side], dst)] if interleaved else zip(src[side], dst)):
                cv2.remap(plane, move, None, flags, dst=target, borderMode=cv2.BORDER_REPLICATE)
        frame = out[j]
        change, moved = detail_change(
            _luma(frame, interleaved), _luma(other, interleaved), weight,
            *_detail_grid(flow_t, weight0, j, (height, width), correlations))
        frame -= other
        frame *= weight[..., None] if interleaved else weight
        frame += other
        frame += change[..., None] if interleaved else change  # the detail band (.redrawn)
        share, gain = still_share(moved, still, weight0[j, 0].numpy(), 1.0, gate_max)  # .still
        if share is not None:
            share = cv2.resize(share, (width, height), interpolation=cv2.INTER_LINEAR)
            motion = cv2.subtract(moves[1], moves[0])
            for made, *sides in ([(frame, *src)] if interleaved else zip(frame, *src)):
                mix_still(made, *sides, times[j], share)
                smear_along_motion(made, motion, smear_length(gain))  # (.smear)
    np.clip(out, 0, 1, out=out)  # cubic weights overshoot at sharp edges, the detail gain too
    result = torch.from_numpy(out)
    return result.permute(0, 3, 1, 2) if interleaved else result


def _warp_blend_u8(image0, image1, flow_t, weight0, times, flags, correlations,
                   gate_max, lumas):
    """:func:`warp_blend` on ``(H, W, 3)`` uint8 arrays: OpenCV remap (``flags``), per-pixel
    blend, the detail change of :mod:`.redrawn` added (``correlations``: the neighbours',
    None for bicubic samples), the still blend's share of :mod:`.still` (``lumas``: the
    neighbours' :func:`frame_luma`) and the average along the motion of :mod:`.smear`.
    Where the pair changes only inside a box (a still camera on clean content), only the box
    (:func:`_changing_box`) is made; outside it the in-betweens are ``image0``, as they would
    be made."""
    still = still_error(*lumas, weight0.shape[-2:])
    box = _changing_box(image0, image1, flow_t)
    if box is None:
        return _in_betweens_u8(image0, image1, flow_t, weight0, times, flags, correlations,
                               gate_max, still)
    (rows, cols), (grid_rows, grid_cols) = box
    out = np.empty((weight0.shape[0], *image0.shape), image0.dtype)
    out[:] = image0
    out[:, rows, cols] = _in_betweens_u8(  # contiguous crops: the kernels' warmed-up types
        *(np.ascontiguousarray(image[rows, cols]) for image in (image0, image1)),
        *(grid[..., grid_rows, grid_cols].contiguous() for grid in (flow_t, weight0)), times,
        flags, correlations, gate_max, np.ascontiguousarray(still[grid_rows, grid_cols]))
    return out


BOX_MARGIN = 4  # flow cells around what moves or changes that the box keeps (blurs, samples)
BOX_MOST = 0.5  # share of the frame above which the whole frame is made
STILL_FLOW = 1 / 64  # full-size pixels: a shorter flow samples the pixel itself (remap's map
# has 1/32-pixel steps)


def _changing_box(image0: np.ndarray, image1: np.ndarray, flow_t: torch.Tensor):
    """The part of a pair's in-betweens that can differ from ``image0``: ``((rows, cols),
    (grid_rows, grid_cols))`` slices of the frame and of the flow grid, or None for the whole
    frame. Outside the box the two frames are equal and every flow of ``flow_t``
    ``(2K, 2, h, w)`` is zero (nothing is moved there, nothing samples there from inside),
    grown by :data:`BOX_MARGIN` cells and the largest motion; only on frames a whole number of
    cells high and wide, and where it covers at most :data:`BOX_MOST` of the frame."""
    height, width = image0.shape[:2]
    h, w = flow_t.shape[-2:]
    if height % h or width % w:
        return None
    cell_y, cell_x = height // h, width // w
    size = np.abs(flow_t.numpy()).max((0, 1))  # (h, w) flow cells
    moving = size > STILL_FLOW / max(cell_x, cell_y)
    grow = BOX_MARGIN + int(np.ceil(float(size.max())))
    moved = None
    if moving.any():
        ys, xs = np.flatnonzero(moving.any(1)), np.flatnonzero(moving.any(0))
        moved = ys[0], ys[-1], xs[0], xs[-1]
        if _grown_area(*moved, grow, h, w) > BOX_MOST * h * w:
            return None  # a moving camera: the frames are not compared
    diff = cv2.absdiff(image0, image1).reshape(height, width * 3)
    changed_rows = np.flatnonzero(diff.max(1))
    if not len(changed_rows):
        return None  # the same picture: made elsewhere
    changed_cols = np.flatnonzero(diff.max(0)) // 3
    top, bottom = changed_rows[0] // cell_y, changed_rows[-1] // cell_y
    left, right = changed_cols[0] // cell_x, changed_cols[-1] // cell_x
    if moved is not None:
        top, bottom = min(top, moved[0]), max(bottom, moved[1])
        left, right = min(left, moved[2]), max(right, moved[3])
    if _grown_area(top, bottom, left, right, grow, h, w) > BOX_MOST * h * w:
        return None
    top, left = max(top - grow, 0), max(left - grow, 0)
    bottom, right = min(bottom + grow + 1, h), min(right + grow + 1, w)
    return ((slice(top * cell_y, bottom * cell_y), slice(left * cell_x, right * cell_x)),
            (slice(top, bottom), slice(left, right)))


def _grown_area(top: int, bottom: int, left: int, right: int, grow: int, h: int, w: int) -> int:
    """Flow cells in the rows ``top..bottom`` and columns ``left..right`` grown by ``grow``
    cells each way, within the ``(h, w)`` grid."""
    return (min(bottom + grow + 1, h) - max(top - grow, 0)) * \
        (min(right + grow + 1, w) - max(left - grow, 0))


def _in_betweens_u8(image0, image1, flow_t, weight0, times, flags, correlations, gate_max,
                    still):
    """The in-betweens of :func:`_warp_blend_u8` ``(K, H, W, 3)`` given the pair's
    :func:`.still.still_error` ``still``."""
    k = weight0.shape[0]
    height, width = image0.shape[:2]
    out = np.empty((k, height, width, 3), image0.dtype)
    warped = [np.empty_like(image0), np.empty_like(image1)]
    sources = [padded(image0, flags), padded(image1, flags)]  # remap_rgb's
    scratch = np.empty((height, width, 4), np.uint8)
    for j in range(k):
        moves, w0 = _full_size_motion((image0, image1), flow_t, weight0, j)
        for side, source in enumerate(sources):
            remap_rgb(source, moves[side], flags, warped[side], scratch)
        w1 = 1 - w0
        cv2.blendLinear(warped[0], warped[1], w0, w1, dst=out[j])
        change, moved = detail_change(*(_luma(side, True) for side in warped), w0,
                                      *_detail_grid(flow_t, weight0, j, (height, width),
                                                    correlations), weight1=w1)
        cv2.add(out[j], cv2.merge((change,) * 3), dst=out[j], dtype=cv2.CV_8U)  # .redrawn
        share, gain = still_share(moved, still, weight0[j, 0].numpy(), 255.0,
                                  gate_max)  # .still
        if share is not None:
            mix_still(out[j], image0, image1, times[j],
                      cv2.resize(share, (width, height), interpolation=cv2.INTER_LINEAR))
            smear_along_motion(out[j], cv2.subtract(moves[1], moves[0]),
                               smear_length(gain))  # .smear
    return out


def frame_luma(image: np.ndarray) -> np.ndarray:
    """The float32 luma ``(H, W)`` (whole levels) of an ``(H, W, 3)`` uint8 frame: the still
    blend's error (:mod:`.still`) and :func:`frame_correlation` read it; a frame is in two
    pairs, so its luma is made once, beside its pair's flows."""
    return _luma(image, True)


def frame_correlation(image: np.ndarray, luma_plane: np.ndarray | None = None
                      ) -> tuple[float, float]:
    """:func:`.redrawn.detail_correlation` of an ``(H, W, 3)`` uint8 frame, read off its
    :func:`frame_luma` ``luma_plane`` where given (the same values: the luma is per pixel)."""
    rows = correlation_rows(image.shape[0])
    return detail_correlation(luma_plane[rows] if luma_plane is not None else
                              _luma(image[rows], True))


def _luma(image: np.ndarray, interleaved: bool) -> np.ndarray:
    """Float32 luma ``(H, W)`` of an ``(H, W, 3)`` (``interleaved``, uint8 or float) or
    ``(3, H, W)`` float RGB frame, in its units (rounded to whole levels for uint8)."""
    if not interleaved:
        return cv2.scaleAdd(image[2], LUMA[2], cv2.addWeighted(image[0], LUMA[0], image[1],
                                                               LUMA[1], 0.0))
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32, copy=False)


def _detail_grid(flow_t: torch.Tensor, weight0: torch.Tensor, j: int, size: tuple[int, int],
                 correlations: list[tuple[float, float]] | None):
    """Frame 0's weight ``(h, w)`` on the flow grid at time ``j`` and the attenuation ``ā``
    there (:func:`.redrawn.bilinear_attenuation`; None without ``correlations``: bicubic) of
    frames ``size`` ``(H, W)``, for :func:`.redrawn.detail_change`."""
    k = weight0.shape[0]
    weight = weight0[j, 0].numpy()
    if correlations is None:
        return weight, None
    h, w = weight.shape
    scale = np.float32([size[1] / w, size[0] / h])[:, None, None]
    return weight, bilinear_attenuation(flow_t[j].numpy() * scale, flow_t[k + j].numpy() * scale,
                                        correlations, weight)


def _full_size_motion(images, flow_t: torch.Tensor, weight0: torch.Tensor, j: int):
    """The flows ``(H, W, 2)`` (x, y, full-size pixels) from time ``j`` to both neighbours and
    frame 0's weight ``(H, W)``: bilinearly upsampled, then chosen per pixel at motion
    boundaries (:func:`.boundaries.sharpen_boundaries`; ``images``: the two ``(H, W, 3)``
    frames)."""
    height, width = images[0].shape[:2]
    k = weight0.shape[0]
    h, w = weight0.shape[-2:]
    small = np.concatenate([flow_t[j].numpy(), flow_t[k + j].numpy(), weight0[j].numpy()])
    size = np.float32([width / w, height / h])
    moves = [cv2.resize(small[c:c + 2].transpose(1, 2, 0) * size, (width, height),
                        interpolation=cv2.INTER_LINEAR) for c in (0, 2)]
    weight = cv2.resize(small[4], (width, height), interpolation=cv2.INTER_LINEAR)
    sharpen_boundaries(*images, small, *moves, weight)
    return moves, weight
