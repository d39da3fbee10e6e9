"""The deflicker correction: a smooth per-channel gain field from motion-compensated neighbours.

Model: frame ``t`` is the true frame times a slowly varying gain field that changes randomly from
frame to frame (flicker), while real lighting changes (a fade, a light turning on) are smooth or
persistent in time. On a coarse grid of cells, the mean of each neighbour ``s`` over the same
scene content as the cell (found by optical flow; see :mod:`.motion`) minus the cell's mean in
frame ``t`` gives a difference ``L_s``. The differences over the window are fitted, per cell and
channel, by a robust straight line in time whose slope is mostly shared by all cells (see
:func:`_pooled_slope`): its value at ``t`` is how far frame ``t`` sits from the temporal trend
there. A line keeps fades (linear ramps pass through unchanged, also at the ends of a shot,
where the window is one-sided); weights centred on the window's median drop neighbours on the
other side of a sudden persistent change, so a light switching on is not smeared; the straight
line through all the other samples averages the flicker away. The correction is a gain, applied
to the full-resolution frame after a smooth (bilinear) upsample, so only low frequencies change
and no pixel is ever copied from a neighbour (no ghosting).

This is blind temporal consistency in the spirit of Bonneel et al., "Blind video temporal
consistency", SIGGRAPH Asia 2015, and Lai et al., "Learning blind video temporal consistency",
ECCV 2018, with a symmetric window instead of a recursion so that real changes survive, and a
cell grid (as in a bilateral grid, Chen et al. 2007) instead of a per-pixel solve.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from framemend._torch import F, torch
from framemend.cuda import device_constant, host_kernels
from framemend.kernels.buffers import frame_array

BLUR_TAPS = (0.25, 0.5, 0.25)  # binomial, sigma = 0.7 cell
STEP_SIGNIFICANCE = 12.0  # F statistic beyond which a window holds a real step in time
# offset and local modes: a step whose two levels differ by this share of the cell's mean (plus
# 0.05) or more is a real change of light (a lamp switching on), whatever the structure does
STEP_TONE = 0.3
LOCAL_SLOPE = 16.0  # how clearly a cell's slope must depart from the pooled one to be kept
# local mode: the structure_scaled mismatch beyond a significant step at which a sample is
# masked (offset mode's bar is 1). On a clean pan the boxes the chained flow drifts over the
# content's edges make ramps in time that pass the F test in about a fifth of the cells, with
# mismatches mostly of 0.25-1; kept, they bent the line (clean pan 46.99 -> 46.37 dB). Bars of
# 0.75 / 0.5 / 0.25 gave the clean pan 46.46 / 46.59 / 46.76 and the slow tuning renderings
# (#1 #3 #5) -0.01 / -0.03 / -0.09 dB of the +0.54 that keeping them won
LOCAL_STEP_STRUCTURE = 0.5
LOCAL_AFFINE_SIGMA = 1.0  # cells: the neighbourhood that splits a local change into gain/offset
LOCAL_AFFINE_RIDGE = 0.1  # brightness spread below which a local change stays a gain
# auto mode: the relative size of a plausible local flicker (a departure from the frame's global
# correction); departures well beyond it are content the motion did not follow (a fast object).
# The size is at least LOCAL_FLICKER and LOCAL_SPREAD times the frame's median departure
# beyond the estimate's noise: a frame whose colour state differs from its neighbours' all over
# (a per-frame white balance, generated video's local flicker) departs in most cells, a fast
# object in a few.
LOCAL_FLICKER = 0.08
LOCAL_SPREAD = 16.0
# offset mode (_texture_shrunk): the blur passes that make each coarser level of the correction,
# and how many times its share of a redrawn texture's variance a band's power must reach to be
# kept by half (tuned on VideoCrafter__woman, AnimateDiff__model_08_01, CogVideo__2 and the tiny
# diffusion model's texture clips 101 and 102)
TEXTURE_LEVELS = (2, 4, 8)
TEXTURE_SHARE = 4.0
# offset mode (structure_weights): the structure mismatch (motion.structure_mismatch) at which a
# neighbour's weight falls to exp(-1/2), or STRUCTURE_SPREAD times the window's median mismatch
# if larger (generated video redraws structure in most cells, a missed subject in a few); tuned
# on the regional wobble of scenes subject 1, 2 and fast-object 0 against the generated clips'
# flicker figure, with the step test sparing the samples within it (_same_side_of_step). Local
# mode weights its covers alike (the step test as before) by the mismatch of the
# flicker-invariant grey plus a share of the colours' (motion.local_structure_mismatch): on
# bench_families' deflicker_local renderings 0-5 a spread of 3 or 6 gives the same, 12 up to
# 0.01 dB less
STRUCTURE_MISMATCH = 0.45
STRUCTURE_SPREAD = 3.0
# offset mode (neighbour_steadied): the share of each frame's target given to the target of
# the frame 1, 2, ... away on each side (the frame's own keeps the rest: -0.2 here; the third
# frame on each side took the generated clips' flicker median 0.497 -> 0.492, shares that
# sum to one, (0.25, 0.15, 0.1), about half as far), the blur of their
# departures (Gaussian sigma in frame pixels: the detail band and a redrawn texture are fixed
# in pixels, not cells), their tolerance relative to the cell's mean, and the scaled
# structure mismatch at which a neighbour's share falls to exp(-1/2); tuned on CogVideo__1,
# VideoCrafter__woman and Open-Sora against the regional wobble over moving subjects
NEIGHBOUR_SHARES = (0.335, 0.165, 0.1)
NEIGHBOUR_SMOOTHING = 7.0
NEIGHBOUR_TOLERANCE = 0.1
NEIGHBOUR_STRUCTURE = 1.5
# offset mode (neighbour_steadied): how many times its squared standard error the square of
# the slope the cells share must reach for half of it to be taken out of the neighbours'
# departures (_pooled_slope). A fade on a still or panning photograph stands far clear of it;
# the ramps over the first frames of CogVideo__2 (8 % darker in five frames) and AnimateDiff's
# compare clip stand 2-4 standard errors, and the generated clips' flicker figure counts their
# ends pulled in as steadier: its worst, CogVideo__2, 0.6496 with no trend taken out, 0.6642
# at 1, 0.6546 at 25, 0.6505 at 200, 0.6500 at 400 (fade42; the worst frame of a fade on the
# tuning pictures, median 0.87 levels off with no trend, 0.10 at 25, 0.16 at 200, 0.22 at 400)
FADE_SIGNIFICANCE = 400.0


def temporal_offset(diffs: torch.Tensor, covers: torch.Tensor, offsets: torch.Tensor,
                    current: torch.Tensor, tolerance: float = 0.25,
                    structure: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """How far the centre frame's local means sit from their robust temporal trend.

    Args:
        diffs: ``(N, C, gh, gw)`` neighbour minus centre local means (linear brightness);
            ``covers`` ``(N, 1, gh, gw)`` their reliabilities in [0, 1]; ``offsets`` ``(N,)``
            the neighbours' frame distances ``s - t``.
        current: ``(C, gh, gw)`` the centre frame's local means.
        tolerance: difference from the window median, as a fraction of the local mean, beyond
            which a neighbour counts as a real change rather than flicker.
        structure: ``(N, 1, gh, gw)`` the neighbours' :func:`structure_scaled` mismatches
            (offset and local modes), or None: the step test then masks every sample beyond a
            step.
    Returns:
        ``correction`` ``(C, gh, gw)``, the trend minus the centre (smoothed over neighbouring
        cells); ``support`` ``(1, gh, gw)``, the total weight the neighbours received; and
        ``variance`` ``(C, gh, gw)``, the squared standard error of ``correction`` from the
        line's residuals (smoothed like it: neighbouring cells share flow and content, so their
        errors are taken as correlated, not averaged down); ``trend`` ``(C, gh, gw)``, the
        slope per frame the cells share where it stands far clear of the flicker (a fade's:
        :func:`_pooled_slope`), which :func:`neighbour_steadied` takes out of the departures of
        the frames around.
    """
    if diffs.shape[0] == 0:
        zero = torch.zeros_like(current)
        return zero, torch.zeros_like(current[:1]), zero, zero
    # The centre is a sample too: difference 0, full weight.
    samples = torch.cat([torch.zeros_like(diffs[:1]), diffs * (covers > 0.05)])
    cover = torch.cat([torch.ones_like(covers[:1]), covers])
    d = torch.cat([offsets.new_zeros(1), offsets]).to(diffs.dtype).view(-1, 1, 1, 1)
    # The centre counts twice in the median, so that a change half-way through a window the
    # shot's end made one-sided is put on the centre's side.
    median = torch.cat([samples[:1], samples]).median(dim=0).values  # the lower median
    residual = (samples - median) / (current + 0.05)
    w = cover * torch.exp(-0.5 * (residual / tolerance) ** 2)
    if structure is not None:
        structure = torch.cat([torch.zeros_like(structure[:1]), structure])
    w = w * _same_side_of_step(samples, w, d, structure, current + 0.05)
    centre_time, mean, slope, slope_var, mean_var = _line_fits(samples, w, d)
    support = w[1:].sum(0).mean(0, keepdim=True)
    slopes, trend = _pooled_slope(slope, slope_var, current)
    intercept = mean - slopes * centre_time
    variance = mean_var + centre_time * centre_time * slope_var
    return _blur(intercept[None])[0], support, _blur(variance[None])[0], trend


def _same_side_of_step(y: torch.Tensor, w: torch.Tensor, d: torch.Tensor,
                       structure: torch.Tensor | None = None, scale: torch.Tensor | None = None,
                       significance: float = STEP_SIGNIFICANCE) -> torch.Tensor:
    """``(N, ...)`` 0/1 mask: the samples on the centre's side of a significant step in time.

    For each split of the samples sorted by ``d``, two constant levels are fitted; where the
    best split explains the samples better than a straight line by an F statistic above
    ``significance`` (a light switched on or off inside the window), the samples beyond it are
    masked out. Otherwise, including ramps such as a fade, every sample is kept.

    ``structure`` ``(N, 1, ...)`` (offset and local modes; the centre's 0): each sample's
    :func:`structure_scaled` mismatch (local mode's over :data:`LOCAL_STEP_STRUCTURE`:
    :func:`step_structure`). A sample beyond the step is then masked only where its cell's
    structure changed (a mismatch of 1 or more: a subject the flow missed); one whose
    box keeps the cell's structure differs in tone only, and a slow tone wobble of generated
    video, or a slowly varying flicker field, passes the F test as often as a step does (the
    lines' residuals are correlated in time), so it stays in the line, unless the step's two
    levels differ by ``STEP_TONE`` of ``scale`` ``(C, ...)`` (the cell's mean plus 0.05) or
    more: a light switched on, which the line would spread over the whole window (a lamp's
    step in offset mode lost 23 dB on the frame where it switched on). Masking every sample
    beyond a step instead cut the line of a slowly varying field to the frames on one side and
    left the field in (local mode, held back: -0.15 dB median, -0.23 worst).
    """
    order = torch.argsort(d.view(-1))
    ys, ws, ds = y[order], w[order], d.view(-1)[order]
    centre = (ds < 0).sum()  # where d = 0 sorts (offsets are distinct), kept on the device
    cw, cwy, cwyy = ws.cumsum(0), (ws * ys).cumsum(0), (ws * ys * ys).cumsum(0)
    tw, twy, twyy = cw[-1], cwy[-1], cwyy[-1]

    def sse(sw, swy, swyy):
        return swyy - swy * swy / sw.clamp_min(1e-9)

    left = sse(cw[:-1], cwy[:-1], cwyy[:-1])                 # split after sorted index i
    right = sse(tw - cw[:-1], twy - cwy[:-1], twyy - cwyy[:-1])
    step, split = (left + right).min(dim=0)                  # split s: [0..s] | [s+1..]
    sw = tw.clamp_min(1e-9)
    dm = (ws * ds.view(-1, *[1] * (y.dim() - 1))).sum(0) / sw
    dc = ds.view(-1, *[1] * (y.dim() - 1)) - dm
    ym = twy / sw
    sdd = (ws * dc * dc).sum(0).clamp_min(1e-9)
    b = (ws * dc * (ys - ym)).sum(0) / sdd
    line = (ws * (ys - ym - b * dc) ** 2).sum(0)
    f = (line - step) / (step / (tw - 3).clamp_min(1.0)).clamp_min(1e-12)
    stepped = f > significance
    rank = torch.arange(len(ds), device=y.device).view(-1, *[1] * (y.dim() - 1))
    centre_left = centre <= split
    keep_sorted = torch.where(centre_left, rank <= split, rank > split) | ~stepped
    if structure is not None:
        at = split[None]
        levels = (cwy.gather(0, at) / cw.gather(0, at).clamp_min(1e-9)
                  - (twy - cwy.gather(0, at)) / (tw - cw.gather(0, at)).clamp_min(1e-9))[0]
        toned = levels.abs() >= STEP_TONE * scale
        keep_sorted = keep_sorted | ((structure[order] < 1.0) & ~toned)
    keep = torch.empty_like(keep_sorted)
    keep[order] = keep_sorted
    return keep.to(y.dtype)


def _line_fits(y: torch.Tensor, w: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Weighted least-squares lines ``y ≈ mean + slope (d - centre_time)`` over dim 0.

    Returns ``(centre_time, mean, slope, slope_var, mean_var)``, each ``y.shape[1:]``;
    ``slope_var`` and ``mean_var`` are the squared standard errors of the slope and the mean.
    """
    sw = w.sum(0).clamp_min(1e-9)
    dm = (w * d).sum(0) / sw
    ym = (w * y).sum(0) / sw
    dc = d - dm
    sdd = (w * dc * dc).sum(0).clamp_min(1e-9)
    b = (w * dc * (y - ym)).sum(0) / sdd
    resid = (w * (y - ym - b * dc) ** 2).sum(0) / (sw - 2).clamp_min(1.0)
    return dm, ym, b, resid / sdd, resid / sw


def _pooled_slope(slope: torch.Tensor, slope_var: torch.Tensor, current: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The slopes ``(C, gh, gw)`` to extrapolate each cell's mean to ``d = 0`` with, and the
    trend ``(C, gh, gw)`` that :func:`neighbour_steadied` takes out.

    A slope only matters where the window is one-sided (the ends of a shot, content entering or
    leaving the frame); for a window balanced around ``d = 0`` the mean is the answer whatever
    the slope. One cell's slope over a dozen flickering samples is mostly noise, while a real
    trend (a fade) is shared by many cells relative to their brightness. So the relative slopes
    (slope over the cell's mean) are pooled over the cells of each channel by their median, and
    the pooled slope is shrunk by its significance, judged against the median cell's standard
    error (flicker may be the same in every cell), ``p * p² / (p² + se²)``, a Wiener /
    James-Stein factor. A cell keeps
    its own departure from the pooled slope only where that departure is clearly significant
    (shrunk with ``LOCAL_SLOPE`` times its variance): a local light slowly changing.

    The trend is the pooled slope alone, shrunk by ``p² / (p² + FADE_SIGNIFICANCE se²)``
    instead: a fade, shared by the cells and far beyond its standard error. The cells' own
    departures are left out of it: on moving content they differ from side to side of a frame
    and did not cancel even where both sides are there (the generated clips' flicker figure
    rose by up to 0.017 with them).
    """
    scale = current + 0.05
    rel, rel_var = slope / scale, slope_var / (scale * scale) + 1e-12
    pooled = rel.flatten(1).median(1).values.view(-1, 1, 1)
    typical = rel_var.flatten(1).median(1).values.view(-1, 1, 1)
    square = pooled * pooled
    trend = pooled * square / (square + FADE_SIGNIFICANCE * typical) * scale
    pooled = pooled * pooled * pooled / (pooled * pooled + typical) * scale
    local = slope - pooled
    return (pooled + local * local * local / (local * local + LOCAL_SLOPE * slope_var + 1e-12),
            trend)


def _blur(grid: torch.Tensor) -> torch.Tensor:
    """Separable 3-tap binomial blur of ``(N, C, gh, gw)`` with replicated edges."""
    n, c, h, w = grid.shape
    k = device_constant(BLUR_TAPS, grid.device, grid.dtype)
    x = F.pad(grid.reshape(n * c, 1, h, w), (1, 1, 1, 1), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, 3))
    x = F.conv2d(x, k.view(1, 1, 3, 1))
    return x.reshape(n, c, h, w)


def channel_affine(correction: torch.Tensor, current: torch.Tensor, support: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """One gain and offset per channel, ``(C,)`` each, taking ``current`` towards
    ``current + correction`` in the least-squares sense over the cells, weighted by ``support``
    (cells the neighbours could not see count little). Falls back to a gain alone when the cells
    span too little brightness to separate the two."""
    w = support + 1e-3
    x, y = current, current + correction
    sw = w.sum((1, 2))
    mx = (w * x).sum((1, 2)) / sw
    my = (w * y).sum((1, 2)) / sw
    vx = (w * (x - mx.view(-1, 1, 1)) ** 2).sum((1, 2)) / sw
    cxy = (w * (x - mx.view(-1, 1, 1)) * (y - my.view(-1, 1, 1))).sum((1, 2)) / sw
    gain = torch.where(vx > 1e-4, cxy / vx.clamp_min(1e-4), my / mx.clamp_min(1e-3))
    gain = gain.clamp(0.5, 2.0)
    return gain, my - gain * mx


def correction_fields(correction: torch.Tensor, current: torch.Tensor, support: torch.Tensor,
                      variance: torch.Tensor, mode: str, floor: float = 0.02
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gain and offset fields ``(C, gh, gw)`` so that ``gain * x + offset`` corrects a frame.

    ``global``: one gain and offset per channel (:func:`channel_affine`). ``local``: a gain and
    an offset per cell moving each cell's mean to its target (:func:`local_affine`). ``offset``:
    the correction as an offset field under a unit gain, less what redrawn texture explains
    (:func:`_texture_shrunk`): the detail band keeps its contrast, as a gain field applied to
    the cells' means (the low band) only would do; a gain would scale texture that the
    generator redrew, not dimmed, with the tone it wobbles. ``auto``:
    the global fit, plus each cell's departure ``e`` from it where that departure is
    significant and plausible as flicker: ``e`` is shrunk by ``e² / (e² + variance)`` (a Wiener
    factor with the estimate's ``variance`` ``(C, gh, gw)`` from :func:`temporal_offset`), so
    a local wobble that the neighbours measure consistently is removed and a cell's estimation
    noise is not written into the frame, and by ``exp(-r² / 2)`` with ``r`` the departure
    relative to the cell's mean over a plausible flicker size, so content that the motion did
    not follow (a fast object, whose neighbours agree on a different brightness) is left alone;
    then :func:`local_affine` as for ``local``. The plausible size, per channel, is
    :data:`LOCAL_FLICKER` or :data:`LOCAL_SPREAD` times the median over the cells of the
    relative departure beyond the estimate's noise (``sqrt(max(e² - variance, 0))``), whichever
    is larger: a frame in another colour state than its neighbours (an isolated frame of a
    per-frame white balance) departs by 10-30 % in most cells, which a fixed 8 % would leave
    in, while a fast object covers few cells and does not move the median, and a frame that
    flickers as a whole departs from its global fit by little more than the noise (the gate
    stays at 8 % there).
    """
    if mode == "local":
        return local_affine(correction, current, support, floor)
    if mode == "offset":
        return torch.ones_like(current), _texture_shrunk(correction[None], current[None],
                                                       (variance * (support + 1.0))[None])[0]
    a, b = channel_affine(correction, current, support)
    a, b = a.view(-1, 1, 1), b.view(-1, 1, 1)
    if mode == "global":
        return a.expand_as(current), b.expand_as(current)
    fitted = a * current + b
    departure = current + correction - fitted
    square = departure * departure
    relative = departure.abs() / (current + floor)
    beyond_noise = (square - variance).clamp_min(0.0).sqrt() / (current + floor)
    typical = beyond_noise.flatten(1).median(1).values.view(-1, 1, 1)
    plausible = (LOCAL_SPREAD * typical).clamp_min(LOCAL_FLICKER)
    departure = (departure * square / (square + variance + 1e-12)
                 * torch.exp(-0.5 * (relative / plausible) ** 2))
    return local_affine(fitted + departure - current, current, support, floor)


def neighbour_weight(cover: torch.Tensor, scaled: torch.Tensor) -> torch.Tensor:
    """The weight ``(1, gh, gw)`` of a nearby frame's target in :func:`neighbour_steadied`:
    the ``cover`` of the chained steps to it times :func:`structure_weights` of the sample's
    :func:`structure_scaled` mismatch ``scaled`` over :data:`NEIGHBOUR_STRUCTURE` (content
    the flow missed, a moving subject, is not blended)."""
    return cover * structure_weights(scaled / NEIGHBOUR_STRUCTURE)


def neighbour_passes(cell_pixels: int) -> int:
    """Passes of :func:`_blur` (variance 1/2 cell² each) that blur a grid of ``cell_pixels``-
    pixel cells by about :data:`NEIGHBOUR_SMOOTHING` frame pixels of Gaussian sigma."""
    return int(np.ceil(2.0 * (NEIGHBOUR_SMOOTHING / cell_pixels) ** 2))


def neighbour_steadied(offset: torch.Tensor, current: torch.Tensor, trend: torch.Tensor,
                       neighbours: list[tuple[torch.Tensor, ...]], passes: int
                       ) -> torch.Tensor:
    """Offset mode's ``offset`` ``(C, gh, gw)`` of a frame whose cells' means are ``current``,
    pulled towards the targets of the frames around it.

    Each frame's target (its cells' means plus offset) is estimated from chains of steps that
    start at that frame, so its error is new every frame while the scene's tone along the
    motion is shared. ``neighbours`` holds, per nearby frame: its offset ``(C, gh, gw)``; the
    shift in cells of this frame's cells' content to it ``(2, gh, gw)``
    (:func:`.motion.chain_steps`); a weight ``(1, gh, gw)`` (:func:`neighbour_weight`); the
    window's difference of its mean over that content from this frame's ``(C, gh, gw)``
    (:func:`.motion.content_differences`: the box sums, not cell means read between cells);
    its share (:data:`NEIGHBOUR_SHARES`); and its distance ``s - t`` in frames. The departure
    of its target from this frame's, ``D`` = difference + its offset read at the shifted cells
    (bilinear) - this offset - the distance times ``trend`` ``(C, gh, gw)`` (this frame's
    :func:`temporal_offset` trend: a fade's change over the distance, by which a blend with the
    frames on one side alone, at the ends of a shot, pulled each end's target in; on both
    sides it cancels), is blurred by ``passes`` :func:`_blur` passes
    (:func:`neighbour_passes`) as a convolution normalised by the weight (a cell whose
    content the flow missed spreads nothing into the cells around it) and added times the
    share, the weight and ``exp(-r² / 2)``, ``r`` the largest over the channels of ``|D|``
    over :data:`NEIGHBOUR_TOLERANCE` times the cell's mean (plus 0.05): a change larger than a
    flicker (a light switching on) is not blended.
    A temporal filter of up to seven frames of the target along the motion, in the manner of
    the temporal filtering of per-frame estimates in blind video temporal consistency (Lai et
    al., ECCV 2018), on the cell grid.
    """
    from framemend.flow import backward_warp

    out = offset.clone()
    scale = NEIGHBOUR_TOLERANCE * (current + 0.05)
    for other, shift, weight, diff, share, distance in neighbours:
        departure = (backward_warp(other[None], shift[None])[0] - offset + diff
                     - distance * trend) * weight
        norm = weight
        for _ in range(passes):
            departure, norm = _blur(departure[None])[0], _blur(norm[None])[0]
        departure = departure / (norm + 1e-3)
        r = (departure.abs() / scale).amax(0, keepdim=True)
        out = out + share * weight * torch.exp(-0.5 * r * r) * departure
    return out


def structure_scaled(mismatch: torch.Tensor) -> torch.Tensor:
    """The neighbours' :func:`.motion.structure_mismatch` ``(N, 1, gh, gw)`` over
    :data:`STRUCTURE_MISMATCH` or :data:`STRUCTURE_SPREAD` times the window's (lower) median
    mismatch, whichever is larger: ``m`` of :func:`structure_weights`."""
    typical = mismatch.flatten().median()
    return mismatch / (STRUCTURE_SPREAD * typical).clamp_min(STRUCTURE_MISMATCH)


def step_structure(scaled, mode: str):
    """The mismatches ``(N, 1, gh, gw)`` (a tensor, or the CPU path's float32 array: the same
    division) that guard :func:`temporal_offset`'s step test: the
    :func:`structure_scaled` ``scaled`` (offset mode: masked beyond a step from 1), over
    :data:`LOCAL_STEP_STRUCTURE` in local mode (masked from 0.5: a box the flow drifts over the
    content's edges, which a clean pan's ramps in time showed)."""
    if scaled is None or mode != "local":
        return scaled
    return scaled / LOCAL_STEP_STRUCTURE


def structure_weights(scaled: torch.Tensor) -> torch.Tensor:
    """Offset and local modes' weights ``(N, 1, gh, gw)`` of the neighbours' samples from their
    :func:`structure_scaled` mismatches ``m`` ``(N, 1, gh, gw)``: ``exp(-m² / 2)``.

    Offset and local modes have no plausibility gate on the correction's size (``auto``'s): a
    tone wobble of generated video, or a local flicker of 25 %, may be as large as a subject's
    brightness change. A neighbour whose box
    holds the cell's content changed only in tone keeps the cell's structure (its quadrants'
    departures from their mean) and its weight; one whose box holds content the flow did not
    follow (a moving subject, the background it uncovered) does not, and its difference does
    not enter the line, whatever its size. Where nothing is left the correction is the centre's
    own, none.
    """
    return torch.exp(-0.5 * scaled * scaled)


@functools.cache  # a constant per level of TEXTURE_LEVELS, asked for every frame
def blur_noise(blurs: int) -> float:
    """The variance that ``blurs`` passes of :func:`_blur` leave of unit white noise on the
    grid: the sum of the squared taps of the 2-D kernel."""
    taps = np.ones(1)
    for _ in range(blurs):
        taps = np.convolve(taps, BLUR_TAPS)
    return float((taps * taps).sum() ** 2)


def _texture_shrunk(correction: torch.Tensor, current: torch.Tensor, spread: torch.Tensor
                    ) -> torch.Tensor:
    """``correction`` ``(1, C, gh, gw)`` of the cells' means ``current`` (one :func:`_blur`
    made it), with what a redrawn texture explains taken out scale by scale.

    Where a generator redraws texture every frame, each cell's mean changes from frame to frame
    by about as much as the cells' means differ from their neighbours' (the texture's variance
    at the grid's scale: :func:`_blur` of ``current²`` minus the square of its :func:`_blur`),
    and the changes are independent from cell to cell; a tone wobble moves neighbouring cells
    together, by as much whatever the texture. A cell's mean cannot change by more than it does
    along the flow either, which static structure (an edge the flow follows) does not: so the
    texture's share ``t`` is the smaller of that variance and ``spread`` ``(1, C, gh, gw)``,
    one sample's variance around the cell's temporal line (:func:`temporal_offset`'s variance
    times the weight it pooled). The correction is split into the bands of a pyramid of blurs
    (:data:`TEXTURE_LEVELS` more passes per level, the coarsest level kept whole) and each band
    is kept by a Wiener factor ``P / (P + TEXTURE_SHARE * g * t)``: ``P`` the band's local
    power, ``g`` the :func:`blur_noise` of the band's level (what its blur leaves of a change
    independent from cell to cell). On smooth content the correction reaches the grid's
    resolution; on redrawn texture, only the levels whose power stands above the redrawing's.
    """
    local = _blur(current)
    texture = (_blur(current * current) - local * local).clamp_min(0.0)
    texture = torch.minimum(texture, spread)
    out, blurs, level = torch.zeros_like(correction), 1, correction
    for passes in TEXTURE_LEVELS:
        coarser = level
        for _ in range(passes):
            coarser = _blur(coarser)
        band = level - coarser
        power = _blur(band * band)
        noise = TEXTURE_SHARE * blur_noise(blurs) * texture
        out = out + band * power / (power + noise + 1e-12)
        level, blurs = coarser, blurs + passes
    return out + level


def local_affine(correction: torch.Tensor, current: torch.Tensor, support: torch.Tensor,
                 floor: float = 0.02, sigma: float = LOCAL_AFFINE_SIGMA,
                 ridge: float = LOCAL_AFFINE_RIDGE) -> tuple[torch.Tensor, torch.Tensor]:
    """Gain and offset fields ``(C, gh, gw)`` that take each cell's mean ``current`` exactly to
    its target ``current + correction``, split between gain and offset as the neighbourhood
    shows.

    Flicker that multiplies (exposure) moves bright cells more than dark ones; flicker that adds
    (a veil, a black level) moves them alike, and a gain cannot lift black. Per cell and channel,
    the targets of the cells around it (Gaussian weights of ``sigma`` cells times ``support``)
    are regressed on their current means: the slope is the gain, ridge-regularised towards the
    cell's own ratio ``(target + floor) / (current + floor)`` with weight ``ridge²`` (where the
    neighbourhood spans too little brightness to tell, the correction stays a gain); the offset
    then puts the cell's own mean on its target, so the field keeps the grid's resolution.
    This is the locally affine colour model of guided filtering (He et al., "Guided image
    filtering", ECCV 2010) on the cell grid.
    """
    w = (support + 1e-3).expand_as(current).contiguous()
    x, y = current, current + correction

    r = max(1, int(np.ceil(3 * sigma)))
    taps = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=current.dtype) / sigma) ** 2)
    taps = (taps / taps.sum()).to(current.device)

    def local_mean(v: torch.Tensor) -> torch.Tensor:
        c, h, wd = v.shape
        p = F.pad((w * v).reshape(c, 1, h, wd), (r, r, r, r), mode="replicate")
        p = F.conv2d(F.conv2d(p, taps.view(1, 1, 1, -1)), taps.view(1, 1, -1, 1))
        return p.reshape(c, h, wd)

    sw = local_mean(torch.ones_like(x))
    mx, my = local_mean(x) / sw, local_mean(y) / sw
    vx = (local_mean(x * x) / sw - mx * mx).clamp_min(0.0)
    cxy = local_mean(x * y) / sw - mx * my
    own = (y + floor) / (x + floor)
    gain = ((cxy + ridge ** 2 * own) / (vx + ridge ** 2)).clamp(0.5, 2.0)
    return gain, y - gain * x


def apply_fields(image: torch.Tensor, gain: torch.Tensor, offset: torch.Tensor | None,
                 strength: float, in_place: bool = False) -> torch.Tensor:
    """``image + strength * (gain * image + offset - image)``, the fields ``(C, gh, gw)``
    upsampled bilinearly (:func:`_upsample`) to the size of ``image`` ``(C, H, W)``.
    ``in_place``: ``image`` is a float frame made for this call, and the offset is upsampled
    into it once it has been read (two full-size arrays at once instead of three).
    """
    h, w = image.shape[-2:]
    # gain and offset upsampled apart: the result is made in the gain's planes, and a view
    # of one buffer holding both would keep the offset's planes alive with every output
    # frame (twice the memory of the frames queued for the encoder)
    g = _upsample(gain, h, w)
    if strength != 1.0:
        g.sub_(1.0).mul_(strength).add_(1.0)
    out = g.mul_(image)
    if offset is None:
        return out.clamp_(0.0, 1.0)
    # (a channels-last image cannot take planes: the offset then gets its own)
    into = in_place and offset.shape == gain.shape and image.is_contiguous()
    o = _upsample(offset, h, w, image if into else None)
    if strength != 1.0:
        o.mul_(strength)
    return out.add_(o).clamp_(0.0, 1.0)


def _upsample(field: torch.Tensor, h: int, w: int, out: torch.Tensor | None = None
              ) -> torch.Tensor:
    """``(C, gh, gw)`` -> ``(C, h, w)`` bilinear: OpenCV's resize on CPU (the same sampling as
    ``align_corners=False``) into ``out`` if given, torch elsewhere (``out`` unused)."""
    if host_kernels(field.device):
        if out is None:
            out = torch.from_numpy(frame_array((field.shape[0], h, w), field.numpy().dtype))
        for plane, dst in zip(field.contiguous().numpy(), out.numpy()):
            cv2.resize(plane, (w, h), dst=dst, interpolation=cv2.INTER_LINEAR)
        return out
    return F.interpolate(field[None], size=(h, w), mode="bilinear", align_corners=False)[0]
