"""The CPU path of ``deboil``: :func:`.consistency.consistency_step_reference` in OpenCV (the
linear filters: box sums, the 5-tap dedither, the warp) and numba (the per-pixel weights,
blend and energy restoration, fused into a few passes, and the tone band's texture energies),
on interleaved ``(H, W, 3)`` float32 frames, reading decoded 8/16-bit pixels and writing them
back: the frame itself is read as decoded wherever it is used, never made a float array but for
its luma, a few rows at a time. The numba kernels take images as ``(h, 3W)`` rows, on which
their loops vectorise (:func:`_weights`). Scratch arrays are kept per thread from frame to
frame (fresh ones cost page faults).

One departure from the reference: where the tone band holds no texture (frames over about 450
px on the short side) the residual's and the frame's low bands and the tone residual's
roughness are made at half the size and doubled (:func:`_low_band_halved`): a box twice over
8 px and more varies little over two pixels. On clips of 450-512 rows the output moved by
0.06-0.17 levels on average (at most 7) and their noref figures by at most 0.002 (BENCHMARKS.md,
issue 18, branch chain52), for about 3 ms of CPU a frame less at 720x480 and 14 at 1280x720."""
from __future__ import annotations

import threading

import cv2
import numba
import numpy as np

from framemend.chain.palette import DEDITHER_TAPS
from framemend.flow.estimate import motion_luma_flow

from framemend.kernels.buffers import frame_array
from framemend.kernels.colour import luma_u8_hwc
from framemend.kernels.expf import exp_neg
from framemend.kernels.fastmath import IN_ORDER
from framemend.kernels.pools import in_halves
from framemend.kernels.sample import corners, inner_corners, sample

from .consistency import (COARSE_RADIUS, ENERGY_RADIUS, EXPOSURE_FLOOR, EXPOSURE_TOLERANCE,
                          FINEST_SIDE, FLOW_NOISE, FLOW_RADIUS, KEPT_FLOOR, LIMITS, MID_RADIUS,
                          ROUGHNESS_SPAN, SHUTTER, SMEAR_TAPS, TEXTURE_ENERGY_RADIUS,
                          exposure_step, holds_texture, low_radius)

_F = np.float32
_ZERO, _ONE, _HALF, _TINY = _F(0), _F(1), _F(0.5), _F(1e-12)
_DEDITHER = np.array(DEDITHER_TAPS, np.float32)
_LIMITS = np.array(LIMITS, np.float32)
_NJ = dict(cache=True, fastmath=IN_ORDER, nogil=True, error_model="numpy")


@numba.njit(**_NJ)
def _weights(raw, scale, zl, zs, r, d, m, dm, dq, flow, strength, limits, shutter, w, wl, smear,
             ez, eb, first, height, counted):
    """Per pixel of a band of rows (``first``: the frame row of its first, ``height``: the
    frame's) of the frame ``z`` (its decoded pixels ``raw`` times ``scale``) and its low band
    (``zl`` times ``zs``): confidences and the weights of texture ``w``, tone ``wl`` and the
    motion smear ``smear`` ``(h, W)``, the blended fine band ``b`` in place of ``r`` and the
    tone band ``low = zl + wl d`` in place of ``d`` (written in place rather than into arrays
    of their own that were ``r`` and ``d``: LLVM's vector loop checks at run time that what a
    loop writes overlaps nothing it reads, and took the scalar copy) and the two fine-band
    energies ``ez``, ``eb`` ``(h, W)``; returns the number of pixels of the
    band's rows ``counted`` (start, stop) whose confidence exceeds 1/2 (for
    :func:`.consistency.auto_strength`). ``m`` ``(h, W)``: the residual's local energy;
    ``dm``, ``dq`` ``(h, W)``: the local means of the tone residual's channel mean and of its
    square (:func:`_roughness_boxes`), whose difference is its roughness
    (:func:`.consistency.roughness`);
    ``limits``: :data:`.consistency.LIMITS` (arguments, not globals, so that numba's cache
    follows them).

    The images come as ``(h, 3W)`` (interleaved RGB rows; ``flow`` ``(h, 2W)``): with the
    channel at ``3x + k`` rather than ``[x, k]`` of a ``(h, W, 3)`` array, whose strides numba
    does not know, the loops vectorise. The confidences are made for a row first, branch-free
    and with :func:`~framemend.kernels.expf.exp_neg` (the library's ``exp`` keeps a loop
    scalar), then the bands: 2.1 ms at 720x480 against 5.2 ms in one scalar loop."""
    h = m.shape[0]
    followed = 0
    for y in range(h):
        row = _weights_row(raw[y], scale, zl[y], zs, r[y], d[y], m[y], dm[y], dq[y], flow[y],
                           strength, limits, shutter, first + y, height, w[y], wl[y], smear[y],
                           ez[y], eb[y])
        if (y >= counted[0]) & (y < counted[1]):
            followed += row
    return followed


@numba.njit(**_NJ)
def _weights_row(raw, scale, zl, zs, r, d, m, dm, dq, flow, strength, limits, shutter, y,
                 height, w, wl, smear, ez, eb):
    """:func:`_weights` of the frame's row ``y`` (each argument that row, ``(3W,)``,
    ``(2W,)`` or ``(W,)``); returns how many of its pixels have a confidence over 1/2."""
    w_ = m.shape[0]
    inv_t, inv_d = _ONE / _F(limits[0]) ** 2, _ONE / _F(limits[1]) ** 2
    inv_r, top, top_l = _ONE / _F(limits[2]) ** 2, _F(limits[3]), _F(limits[4])
    bright = _F(limits[5])
    third, s, zscale, lscale = _F(1 / 3), _F(strength), _F(scale), _F(zs)
    xmax, ymax = _F(w_ - 1), _F(height - 1)
    row, fy = 0, _F(y)
    for x in range(w_):
        d0, d1, d2 = d[3 * x], d[3 * x + 1], d[3 * x + 2]
        # the tolerances grow with the light over BRIGHT (.consistency.tone_confidence)
        k = bright / max((zl[3 * x] + zl[3 * x + 1] + zl[3 * x + 2]) * lscale
                         * third + max((d0 + d1 + d2) * third, _ZERO), bright)
        cl = exp_neg(-((d0 * d0 + d1 * d1 + d2 * d2) * third * inv_t
                       + (dq[x] - dm[x] * dm[x]) * inv_r) * (k * k))
        c = cl * exp_neg(-m[x] * inv_d)
        u, v = flow[2 * x], flow[2 * x + 1]
        px, py = _F(x) + u, fy + v
        inside = (px >= _ZERO) & (py >= _ZERO) & (px <= xmax) & (py <= ymax)
        c, cl = (c if inside else _ZERO), (cl if inside else _ZERO)
        length = _F(shutter) * np.sqrt(u * u + v * v)
        smeared = s * max(_ONE - _F(2) * c, _ZERO) * min(max(length - _ONE, _ZERO), _ONE)
        smear[x] = smeared if inside else _ZERO
        w[x] = min(s * c, top)
        wl[x] = min(s * cl, top_l)
        row += np.int32(c > _HALF)
    for x in range(w_):
        wt, tl = w[x], wl[x]
        sz, sb = _ZERO, _ZERO
        for k in range(3):
            i = 3 * x + k
            zlk = zl[i] * lscale
            zh = _F(raw[i]) * zscale - zlk
            bk = zh + wt * (r[i] - d[i])
            d[i] = zlk + tl * d[i]
            r[i] = bk
            sz += zh * zh
            sb += bk * bk
        ez[x], eb[x] = sz, sb
    return row


@numba.njit(**_NJ)
def _weights_blend(raw, scale, zl, r, d, m, dm, dq, flow, strength, limits, shutter, w, wl,
                   smear, first, height, counted, radius, floor, out):
    """:func:`_weights`, OpenCV's box filter of its two energies over ``radius`` and
    :func:`_blend` (without the tone band's texture, its sums apart) a row at a time, in one
    pass: the energies are never written whole. Over the band of rows ``raw`` … ``smear``
    (:func:`_weights`; ``zl`` the local mean too, in the frame's units), the output rows
    ``counted`` (start, stop) of them into ``out`` ``(stop - start, 3W)``; returns
    :func:`_weights`'s count over those rows. The same bits as the three apart (``cv2.blur``'s arithmetic:
    :func:`_box_pair`); the band taller and wider than ``radius``."""
    h, w_ = m.shape
    k = 2 * radius + 1
    scale_box = 1.0 / (k * k)
    ez_rows, eb_rows, ez_total, eb_total, ez, eb = _rings(w_, radius)
    ez_box, eb_box = np.empty(w_, np.float32), np.empty(w_, np.float32)
    followed = 0
    for j in range(radius + 1):
        followed += _weights_sums(raw, scale, zl, r, d, m, dm, dq, flow, strength, limits,
                                  shutter, w, wl, smear, first, height, counted, j, radius, ez,
                                  eb, ez_rows[j + radius], eb_rows[j + radius])
    _rings_opened(ez_rows, eb_rows, ez_total, eb_total, radius)
    for y in range(h):
        j, slot = y + radius, (y + 2 * radius) % k
        if j >= h:
            _rings_mirrored(ez_rows, eb_rows, slot, j, h, radius)
        elif y > 0:
            followed += _weights_sums(raw, scale, zl, r, d, m, dm, dq, flow, strength, limits,
                                      shutter, w, wl, smear, first, height, counted, j, radius,
                                      ez, eb, ez_rows[slot], eb_rows[slot])
        _rings_boxed(ez_rows, eb_rows, ez_total, eb_total, slot, y % k, scale_box, ez_box, eb_box)
        if (y >= counted[0]) & (y < counted[1]):  # (the gains unread without the texture)
            _blend_row(d[y], zl[y], scale, w[y], r[y], ez_box, eb_box, ez_box, floor, w[y],
                       False, out[y - counted[0]])
    return followed


@numba.njit(**_NJ)
def _weights_sums(raw, scale, zl, r, d, m, dm, dq, flow, strength, limits, shutter, w, wl,
                  smear, first, height, counted, j, radius, ez, eb, ez_sums, eb_sums):
    """:func:`_weights_blend`'s row ``j`` of the weights, its energies' row sums into
    ``ez_sums`` and ``eb_sums`` (through the rows ``ez``, ``eb`` ``(W + 2 radius,)``);
    returns its count if ``counted``."""
    w_ = m.shape[1]
    row = _weights_row(raw[j], scale, zl[j], scale, r[j], d[j], m[j], dm[j], dq[j], flow[j],
                       strength, limits, shutter, first + j, height, w[j], wl[j], smear[j],
                       ez[radius:radius + w_], eb[radius:radius + w_])
    _mirror_row(ez, radius)
    _mirror_row(eb, radius)
    _row_sums(ez, eb, w_, radius, ez_sums, eb_sums)
    return row if (j >= counted[0]) & (j < counted[1]) else 0


@numba.njit(**_NJ)
def _mirror_row(row, r):
    """The ``r`` values either side of ``row[r:-r]`` mirrored as OpenCV's BORDER_REFLECT_101."""
    w_ = row.shape[0] - 2 * r
    for x in range(r):
        row[x] = row[2 * r - x]
        row[w_ + r + x] = row[w_ + r - 2 - x]


def _exposure_gain(previous: np.ndarray, previous_scale: float, frame: np.ndarray,
                   frame_scale: float, flow: np.ndarray) -> np.ndarray:
    """``(3,)`` float32 :func:`.consistency.exposure_gain` of the pixels ``previous`` and
    ``frame`` ``(H, W, 3)`` as held (times their scales to [0, 1]) along ``flow``
    ``(H, W, 2)``, on the same grid, sampled bilinearly as ``grid_sample`` does there."""
    h, w = frame.shape[:2]
    step = exposure_step(h, w)
    ys, xs = np.arange(step // 2, h, step), np.arange(step // 2, w, step)
    ratios = np.empty((3, len(ys) * len(xs)), _F)
    counts = np.zeros(3, np.int64)
    _exposure_ratios(previous, _F(previous_scale), frame, _F(frame_scale), flow, ys, xs,
                     _F(EXPOSURE_FLOOR), ratios, counts)
    return _exposure_median(ratios, counts, _F(EXPOSURE_TOLERANCE))


@numba.njit(**_NJ)
def _exposure_ratios(previous, previous_scale, frame, frame_scale, flow, ys, xs, floor, ratios,
                     counts):
    """Per channel the ratios ``frame / previous`` (bilinear at ``p + flow(p)``,
    :mod:`framemend.kernels.sample`) of the samples at ``ys`` x ``xs`` that count
    (:func:`.consistency.exposure_gain`) into the first ``counts[c]`` entries of
    ``ratios[c]``."""
    h, w = frame.shape[0], frame.shape[1]
    xmax, ymax = _F(w - 1), _F(h - 1)
    for y in ys:
        for x in xs:
            px, py = _F(x) + flow[y, x, 0], _F(y) + flow[y, x, 1]
            if px < _ZERO or px > xmax or py < _ZERO or py > ymax:
                continue
            top_left, bottom_right, fx, fy = corners(h, w, px, py)
            for c in range(3):
                source = _F(sample(previous, top_left, bottom_right, fx, fy, c)) * previous_scale
                if source >= floor:
                    ratios[c, counts[c]] = _F(frame[y, x, c]) * frame_scale / source
                    counts[c] += 1


def _exposure_median(ratios: np.ndarray, counts: np.ndarray, tolerance: np.float32
                     ) -> np.ndarray:
    """``(3,)`` the gains from :func:`_exposure_ratios`' ratios: the lower median, taken as far
    as the share within ``tolerance`` of it exceeds 1/4 (:func:`.consistency.exposure_gain`;
    numpy's partition, ~20x numba's sort)."""
    gains = np.ones(3, _F)
    for c, n in enumerate(counts):
        if n == 0:
            continue
        ratio = ratios[c, :n]
        gain = np.partition(ratio, (n - 1) // 2)[(n - 1) // 2]
        if gain <= 0:  # half the frame or more went black: no share to measure, gain 1 (what
            continue   # 0/0 left, with numpy's warnings printed into a user's run)
        share = np.count_nonzero(np.abs(ratio / gain - _ONE) < tolerance) / n
        gains[c] = _ONE + _F(min(max(2 * share - 0.5, 0.0), 1.0)) * (gain - _ONE)
    return gains


@numba.njit(**_NJ)
def _residual(pred, gain, raw, scale, e):
    """The residual ``r = g pred - z`` in place of ``pred`` (``g`` ``(3,)`` the whole frame's
    change of exposure, :func:`_exposure_gain`; ``z``: the decoded pixels ``raw`` times
    ``scale``; both ``(h, 3W)``, :func:`_weights`) and ``e`` ``(h, W)`` its energy ``|r|²/3``
    (what OpenCV's subtract, multiply and transform made, in one pass)."""
    for y in range(e.shape[0]):
        _residual_row(pred[y], gain, raw[y], scale, e[y])


@numba.njit(**_NJ)
def _residual_halved(pred, gain, raw, scale, e, half):
    """:func:`_residual`, and the residual halved (:func:`_halve`) into ``half``
    ``(ceil(h/2), 3 ceil(W/2))`` as each pair of its rows is made, while they are in the cache
    (the same bits as :func:`_halve` after it)."""
    h = e.shape[0]
    for y in range(h):
        _residual_row(pred[y], gain, raw[y], scale, e[y])
        if (y % 2 == 1) | (y == h - 1):
            _halve_row(pred[y - y % 2], pred[y], 3, half[y // 2])


@numba.njit(**_NJ)
def _residual_row(pred, gain, raw, scale, e):
    """:func:`_residual` of one row: ``pred``, ``raw`` ``(3W,)``, ``e`` ``(W,)``."""
    s, third = _F(scale), _F(1 / 3)
    g0, g1, g2 = gain[0], gain[1], gain[2]
    for x in range(e.shape[0]):
        i = 3 * x
        r0 = pred[i] * g0 - _F(raw[i]) * s
        r1 = pred[i + 1] * g1 - _F(raw[i + 1]) * s
        r2 = pred[i + 2] * g2 - _F(raw[i + 2]) * s
        pred[i], pred[i + 1], pred[i + 2] = r0, r1, r2
        e[x] = r0 * r0 * third + r1 * r1 * third + r2 * r2 * third


@numba.njit(**_NJ)
def _catmull_rom_remap(src, grid, dst):
    """``dst`` ``(n, W, 3)``: ``src`` ``(H, W, 3)`` sampled at the positions ``grid``
    ``(n, W, 2)`` (x, y in pixels) with Catmull-Rom's cubic, edge pixels repeated outside the
    frame (:func:`.resample.catmull_rom_warp`; OpenCV's remap with ``INTER_CUBIC`` takes Keys'
    ``a = -0.75``)."""
    h, w_, _ = src.shape
    half, two, three, four, five = _HALF, _F(2), _F(3), _F(4), _F(5)
    for y in range(grid.shape[0]):
        for x in range(grid.shape[1]):
            px, py = grid[y, x, 0], grid[y, x, 1]
            fx, fy = np.floor(px), np.floor(py)
            tx, ty = px - fx, py - fy
            ix, iy = int(fx), int(fy)
            t2, t3 = tx * tx, tx * tx * tx
            wx0, wx1 = half * (two * t2 - t3 - tx), half * (three * t3 - five * t2 + two)
            wx2, wx3 = half * (four * t2 - three * t3 + tx), half * (t3 - t2)
            t2, t3 = ty * ty, ty * ty * ty
            wy0, wy1 = half * (two * t2 - t3 - ty), half * (three * t3 - five * t2 + two)
            wy2, wy3 = half * (four * t2 - three * t3 + ty), half * (t3 - t2)
            x0, x1 = min(max(ix - 1, 0), w_ - 1), min(max(ix, 0), w_ - 1)
            x2, x3 = min(max(ix + 1, 0), w_ - 1), min(max(ix + 2, 0), w_ - 1)
            y0, y1 = min(max(iy - 1, 0), h - 1), min(max(iy, 0), h - 1)
            y2, y3 = min(max(iy + 1, 0), h - 1), min(max(iy + 2, 0), h - 1)
            for k in range(3):
                r0 = wx0 * src[y0, x0, k] + wx1 * src[y0, x1, k] + wx2 * src[y0, x2, k] \
                    + wx3 * src[y0, x3, k]
                r1 = wx0 * src[y1, x0, k] + wx1 * src[y1, x1, k] + wx2 * src[y1, x2, k] \
                    + wx3 * src[y1, x3, k]
                r2 = wx0 * src[y2, x0, k] + wx1 * src[y2, x1, k] + wx2 * src[y2, x2, k] \
                    + wx3 * src[y2, x3, k]
                r3 = wx0 * src[y3, x0, k] + wx1 * src[y3, x1, k] + wx2 * src[y3, x2, k] \
                    + wx3 * src[y3, x3, k]
                dst[y, x, k] = wy0 * r0 + wy1 * r1 + wy2 * r2 + wy3 * r3


@numba.njit(**_NJ)
def _fine_energy(raw, scale, zl, zs, r, d, e):
    """``e`` ``(h, W)``: the energy of the warped output's fine band, ``|z_high + r - d|²``
    summed over the channels (``z_high``: the decoded pixels ``raw`` times ``scale`` less the
    low band ``zl`` times ``zs``; the residual ``r`` and its low band ``d``; ``(h, 3W)``,
    :func:`_weights`)."""
    h, w_ = e.shape
    s, ls = _F(scale), _F(zs)
    for y in range(h):
        for x in range(w_):
            total = _ZERO
            for k in range(3):
                i = 3 * x + k
                v = _F(raw[y, i]) * s - zl[y, i] * ls + r[y, i] - d[y, i]
                total += v * v
            e[y, x] = total


@numba.njit(**_NJ)
def _deviation_energy(x, mean, out):
    """``out`` ``(h, W)`` the squared distance of ``x`` from ``mean`` (both ``(h, 3W)``:
    :func:`_weights`)."""
    h, w_ = out.shape
    for y in range(h):
        for j in range(w_):
            i = 3 * j
            e0, e1 = x[y, i] - mean[y, i], x[y, i + 1] - mean[y, i + 1]
            e2 = x[y, i + 2] - mean[y, i + 2]
            out[y, j] = e0 * e0 + e1 * e1 + e2 * e2


@numba.njit(**_NJ)
def _gain(target, blended, weight, kept):
    """:func:`.consistency._restoring_gain` of one pixel."""
    most = _ONE / np.sqrt((_ONE - weight) * (_ONE - weight) + weight * weight * kept)
    g = min(np.sqrt(max(target, _ZERO) / max(blended, _TINY)), most)  # box: >= -1e-18
    return max(g, _ONE)


@numba.njit(**_NJ)
def _tone_gains(w, wl, e_own, e_pred, carried, noise, floor, contrast, gains):
    """The gain of the tone band's texture (:func:`.consistency.consistency_step_reference`)
    into ``gains``, which holds the local energy of the blended band's texture and is written
    over: toward the contrast ``a``, into ``contrast``, the blend of the frame's (from
    ``e_own``) and the prediction's (``e_pred``) moved by the flow's ``noise`` toward the
    running mean of the frame's energy and the ``carried`` one's, capped with the share of the
    carried energy the prediction kept (at least ``floor``) as far as the ``noise``; ``w``,
    ``wl`` the texture's and the tone's weights. All ``(h, W)``. Apart from :func:`_blend`, whose loop stays as
    lean where the tone band holds no texture."""
    h, w_ = w.shape
    least = _F(floor)
    for y in range(h):
        for x in range(w_):
            tl, wt, c, n = wl[y, x], w[y, x], carried[y, x], noise[y, x]
            e, ez = max(e_pred[y, x], _ZERO), max(e_own[y, x], _ZERO)
            followed = (_ONE - tl) * np.sqrt(ez) + tl * np.sqrt(e)
            a = followed + n * (np.sqrt((_ONE - wt) * ez + wt * c * c) - followed)
            contrast[y, x] = a
            kept = _ONE - n * (_ONE - min(max(e / max(c * c, _TINY), least), _ONE))
            gains[y, x] = _gain(a * a, gains[y, x], tl, kept)


@numba.njit(**_NJ)
def _blend(raw, scale, low, coarse, cs, w, b, ez, eb, ep, floor, gains, texture, out, sums):
    """``out = μ + gl (low - μ) + g b`` (``μ``: ``coarse`` times ``cs``, the tone band's local
    mean) with ``g`` the clamped energy ratio of the fine band (``ez`` over ``eb``, capped with
    the share of ``ez`` that the warped output's fine band holds, ``ep``, at least ``floor``:
    ``ep`` is ``ez`` where the tone band holds no texture) and ``gl``
    that of the tone band's texture, ``gains`` (:func:`_tone_gains`; 1 without ``texture``,
    ``gains`` then unread); ``sums`` gets the per-channel sum of ``out - z``, ``z`` the frame's
    decoded pixels ``raw`` times ``scale`` (:func:`_departures`). The images ``(h, 3W)``, the
    rest ``(h, W)`` (:func:`_weights`). The sums apart: a float sum in its order keeps a loop
    scalar, and this one then vectorises (2.2 ms against 0.5 + 0.4 at 720x480)."""
    for y in range(w.shape[0]):
        _blend_row(low[y], coarse[y], cs, w[y], b[y], ez[y], eb[y], ep[y], floor, gains[y],
                   texture, out[y])
    _departures(out, raw, scale, sums)


@numba.njit(**_NJ)
def _blend_row(low, coarse, cs, w, b, ez, eb, ep, floor, gains, texture, out):
    """:func:`_blend`'s output of one row (each argument that row), its sums apart."""
    cscale, least = _F(cs), _F(floor)
    for x in range(w.shape[0]):
        e = ez[x]
        kept = min(max(ep[x] / max(e, _TINY), least), _ONE)
        g, gl = _gain(e, eb[x], w[x], kept), _ONE
        if texture:
            gl = gains[x]
        i = 3 * x
        c0, c1, c2 = coarse[i] * cscale, coarse[i + 1] * cscale, coarse[i + 2] * cscale
        out[i] = c0 + gl * (low[i] - c0) + g * b[i]
        out[i + 1] = c1 + gl * (low[i + 1] - c1) + g * b[i + 1]
        out[i + 2] = c2 + gl * (low[i + 2] - c2) + g * b[i + 2]


_ROW_GROUP = 4  # rows whose sums _departures runs side by side


@numba.njit(**_NJ)
def _departures(out, raw, scale, sums):
    """``sums``: the per-channel sum of ``out - z`` (``z``: the decoded pixels ``raw`` times
    ``scale``; both ``(h, 3W)``), each row's in float32 from left to right and the rows' in
    float64 from the top (the order :func:`_blend` summed them in). Each row's three sums are a
    chain of additions, each waiting on the last: :data:`_ROW_GROUP` rows are summed side by
    side, so that the processor runs their chains at once."""
    h, n = out.shape
    zscale = _F(scale)
    rows = np.empty((h, 3), np.float32)
    for y0 in range(0, h - _ROW_GROUP + 1, _ROW_GROUP):
        a = np.zeros((_ROW_GROUP, 3), np.float32)
        for i in range(0, n, 3):
            for g in range(_ROW_GROUP):
                for k in range(3):
                    a[g, k] += out[y0 + g, i + k] - _F(raw[y0 + g, i + k]) * zscale
        rows[y0:y0 + _ROW_GROUP] = a
    for y in range(h - h % _ROW_GROUP, h):
        r0, r1, r2 = _ZERO, _ZERO, _ZERO
        for i in range(0, n, 3):
            r0 += out[y, i] - _F(raw[y, i]) * zscale
            r1 += out[y, i + 1] - _F(raw[y, i + 1]) * zscale
            r2 += out[y, i + 2] - _F(raw[y, i + 2]) * zscale
        rows[y, 0], rows[y, 1], rows[y, 2] = r0, r1, r2
    s0, s1, s2 = 0.0, 0.0, 0.0
    for y in range(h):
        s0 += rows[y, 0]
        s1 += rows[y, 1]
        s2 += rows[y, 2]
    sums[0], sums[1], sums[2] = s0, s1, s2


@numba.njit(**_NJ)
def _smear(out, flow, smear, shutter, taps, shown, first):
    """``shown = out + smear (S - out)``, ``S`` the mean of ``taps`` bilinear samples of
    ``out`` at ``p + a f(p)``, ``a`` evenly from ``-shutter/2`` to ``shutter/2`` (edges
    repeated: :mod:`framemend.kernels.sample`), :func:`.consistency.motion_smear`; ``(H, W, 3)``
    but ``smear`` ``(H, W)``, and ``shown`` the rows from ``first`` on (a band of them). An
    odd ``taps``' middle one (``a = 0``) is the pixel itself (its bilinear weights are 1 and
    0), and a smear whose two ends lie within ``[0, W - 2]`` x ``[0, H - 2]`` is sampled
    without the clamps (:func:`.sample.inner_corners`): the same bits, in a fifth less time."""
    h, w_, _ = out.shape
    step, inv = _F(shutter) / _F(taps - 1), _ONE / _F(taps)
    start, end = -_F(shutter) * _HALF, _F(taps - 1) * step - _F(shutter) * _HALF
    xmax, ymax = _F(w_ - 2), _F(h - 2)
    for row in range(shown.shape[0]):
        y = first + row
        for x in range(w_):
            k = smear[y, x]
            if k <= _ZERO:
                shown[row, x, 0], shown[row, x, 1] = out[y, x, 0], out[y, x, 1]
                shown[row, x, 2] = out[y, x, 2]
                continue
            s0, s1, s2 = _ZERO, _ZERO, _ZERO
            u, v = flow[y, x, 0], flow[y, x, 1]
            xa, xb, ya, yb = _F(x) + start * u, _F(x) + end * u, _F(y) + start * v, _F(y) + end * v
            inner = ((min(xa, xb) >= _ZERO) & (max(xa, xb) <= xmax) & (min(ya, yb) >= _ZERO)
                     & (max(ya, yb) <= ymax))
            for i in range(taps):
                if 2 * i == taps - 1:
                    s0, s1, s2 = s0 + out[y, x, 0], s1 + out[y, x, 1], s2 + out[y, x, 2]
                    continue
                a = _F(i) * step - _F(shutter) * _HALF
                px, py = _F(x) + a * u, _F(y) + a * v
                if inner:
                    top_left, bottom_right, fx, fy = inner_corners(px, py)
                    t0, t1, t2 = _rgb(out, top_left, bottom_right, fx, fy)
                else:
                    top_left, bottom_right, fx, fy = corners(h, w_, px, py)
                    t0, t1, t2 = _rgb(out, top_left, bottom_right, fx, fy)
                s0, s1, s2 = s0 + t0, s1 + t1, s2 + t2
            shown[row, x, 0] = out[y, x, 0] + k * (s0 * inv - out[y, x, 0])
            shown[row, x, 1] = out[y, x, 1] + k * (s1 * inv - out[y, x, 1])
            shown[row, x, 2] = out[y, x, 2] + k * (s2 * inv - out[y, x, 2])


@numba.njit(**_NJ, inline="always")
def _rgb(out, top_left, bottom_right, fx, fy):
    """The three channels of ``out`` ``(H, W, 3)`` at the position of :func:`.sample.corners`."""
    return (sample(out, top_left, bottom_right, fx, fy, 0),
            sample(out, top_left, bottom_right, fx, fy, 1),
            sample(out, top_left, bottom_right, fx, fy, 2))


def _shown(out: np.ndarray, flow: np.ndarray, smear: np.ndarray, shift: np.ndarray,
           levels: int, band: np.ndarray, first: int, raw: np.ndarray) -> None:
    """Rows ``first:first + len(band)`` of what is shown: ``out`` ``(H, W, 3)`` smeared along
    ``flow`` by ``smear`` (:func:`_smear`) into ``band``, less the mean ``shift`` and clamped,
    then as integer pixels of ``levels`` into ``raw`` (those rows; none if 0: :func:`_finish`)."""
    _smear(out, flow, smear, SHUTTER, SMEAR_TAPS, band, first)
    _finish(_flat(band), shift, levels, _flat(raw))


@numba.njit(**_NJ)
def _finish(out, shift, levels, raw):
    """``out -= shift`` per channel, clamped to [0, 1] in place; ``raw`` gets it as integer
    pixels of ``levels`` (255, 65535; none if 0). Both ``(h, 3W)`` (:func:`_weights`)."""
    h, w_ = out.shape[0], out.shape[1] // 3
    lv = _F(levels)
    for y in range(h):
        for x in range(w_):
            i = 3 * x
            o0 = min(max(out[y, i] - shift[0], _ZERO), _ONE)
            o1 = min(max(out[y, i + 1] - shift[1], _ZERO), _ONE)
            o2 = min(max(out[y, i + 2] - shift[2], _ZERO), _ONE)
            out[y, i], out[y, i + 1], out[y, i + 2] = o0, o1, o2
            if levels == 0:
                continue
            raw[y, i] = o0 * lv + _HALF
            raw[y, i + 1] = o1 * lv + _HALF
            raw[y, i + 2] = o2 * lv + _HALF


@numba.njit(**_NJ)
def _to_float(raw, scale, out):
    """Decoded pixels ``raw`` times ``scale`` into ``out`` float32, both ``(h, 3W)``."""
    s = _F(scale)
    for y in range(raw.shape[0]):
        for i in range(raw.shape[1]):
            out[y, i] = _F(raw[y, i]) * s


def _flat(x: np.ndarray) -> np.ndarray:
    """``x`` ``(h, W, C)`` as ``(h, WC)``, the form the kernels vectorise on (:func:`_weights`);
    a view of the C-contiguous arrays of this module."""
    return x.reshape(len(x), -1)


_workspace = threading.local()


def _buffer(name: str, shape: tuple, dtype=np.float32) -> np.ndarray:
    """This thread's scratch array ``name`` of ``shape``, kept for the next frame."""
    buffers = _workspace.__dict__.setdefault("buffers", {})
    if name not in buffers or buffers[name].shape != shape or buffers[name].dtype != dtype:
        buffers[name] = np.empty(shape, dtype)
    return buffers[name]


_COARSE = (2 * COARSE_RADIUS + 1,) * 2  # the boxes of the tone band's texture
_TEXTURE_ENERGY = (2 * TEXTURE_ENERGY_RADIUS + 1,) * 2


def _texture_energies(zl: np.ndarray, d: np.ndarray, mean: np.ndarray, e_own: np.ndarray,
                      e_pred: np.ndarray) -> None:
    """The local energies ``(h, W)`` of the tone band's texture (its deviation from its local
    mean: :func:`.consistency.holds_texture`) in the frame, ``zl``, into ``e_own``, and in the
    prediction, ``zl + d``, into ``e_pred`` (``(h, W, 3)``); the means made in ``mean``
    (OpenCV's box filter works in place, bit for bit)."""
    cv2.blur(cv2.add(zl, d, dst=mean), _COARSE, dst=mean)
    # zl + d less its mean is zl less (its mean - d)
    _deviation_energy(_flat(zl), _flat(cv2.subtract(mean, d, dst=mean)), e_pred)
    _deviation_energy(_flat(zl), _flat(cv2.blur(zl, _COARSE, dst=mean)), e_own)
    for e in (e_own, e_pred):
        cv2.blur(e, _TEXTURE_ENERGY, dst=e)


def _texture_energy(low: np.ndarray, mean: np.ndarray, e_low: np.ndarray) -> None:
    """``e_low`` ``(h, W)``: the local energy of the texture of the blended tone band ``low``
    ``(h, W, 3)``, its local mean made in ``mean`` (and kept)."""
    _deviation_energy(_flat(low), _flat(cv2.blur(low, _COARSE, dst=mean)), e_low)
    cv2.blur(e_low, _TEXTURE_ENERGY, dst=e_low)


@numba.njit(**_NJ)
def _tone_row(d, y, w_, r, mean, square):
    """The channel mean of row ``y`` of ``d`` (``(h, 3W)``, :func:`_weights`) and its square
    into ``mean`` and ``square`` ``(W + 2r,)``, from ``r`` on, the ``r`` either side mirrored
    as OpenCV's BORDER_REFLECT_101."""
    third = _F(1 / 3)
    for x in range(w_):
        v = (d[y, 3 * x] + d[y, 3 * x + 1] + d[y, 3 * x + 2]) * third
        mean[r + x], square[r + x] = v, v * v
    _mirror_row(mean, r)
    _mirror_row(square, r)


@numba.njit(**_NJ)
def _row_sums(mean, square, w_, r, mean_sums, square_sums):
    """The sums over ``2r + 1`` of the extended rows ``mean`` and ``square`` (:func:`_tone_row`)
    into ``(W,)`` doubles, as OpenCV's box filter makes them: a running sum from the left, each
    step adding the difference of the pixel entering and the one leaving (``RowSum``)."""
    k = 2 * r + 1
    a, b = 0.0, 0.0
    for i in range(k):
        a += np.float64(mean[i])
        b += np.float64(square[i])
    mean_sums[0], square_sums[0] = a, b
    for i in range(w_ - 1):
        a += np.float64(mean[i + k]) - np.float64(mean[i])
        b += np.float64(square[i + k]) - np.float64(square[i])
        mean_sums[i + 1], square_sums[i + 1] = a, b


@numba.njit(**_NJ)
def _roughness_sums(d, r, mean, square):
    """``mean`` and ``square`` ``(h, W)``: the means over ``(2r+1)²`` (BORDER_REFLECT_101) of
    the channel mean of ``d`` ``(h, 3W)`` and of its square, in one pass and bit for bit as
    ``cv2.blur`` of those two planes made them (``h``, ``W`` over ``r``): each row's sums in
    doubles (:func:`_row_sums`), kept for ``2r + 1`` rows, and each column's running sum of
    them in doubles (OpenCV's ``ColumnSum``), scaled and rounded to floats."""
    h, w_ = mean.shape
    k = 2 * r + 1
    scale = 1.0 / (k * k)
    mean_rows, square_rows, mean_total, square_total, row_mean, row_square = _rings(w_, r)
    for j in range(r + 1):
        _tone_row(d, j, w_, r, row_mean, row_square)
        _row_sums(row_mean, row_square, w_, r, mean_rows[j + r], square_rows[j + r])
    _rings_opened(mean_rows, square_rows, mean_total, square_total, r)
    for y in range(h):
        j, slot = y + r, (y + 2 * r) % k
        if j >= h:
            _rings_mirrored(mean_rows, square_rows, slot, j, h, r)
        elif y > 0:
            _tone_row(d, j, w_, r, row_mean, row_square)
            _row_sums(row_mean, row_square, w_, r, mean_rows[slot], square_rows[slot])
        _rings_boxed(mean_rows, square_rows, mean_total, square_total, slot, y % k, scale,
                     mean[y], square[y])


@numba.njit(**_NJ)
def _rings(w_, radius):
    """Two rings of float64 row sums ``(2 radius + 1, W)`` (row ``j``'s at ``(j + radius) %
    (2 radius + 1)``), their two running totals ``(W,)`` at zero and two float32 rows
    ``(W + 2 radius,)`` to sum from."""
    k = 2 * radius + 1
    return (np.empty((k, w_)), np.empty((k, w_)), np.zeros(w_), np.zeros(w_),
            np.empty(w_ + 2 * radius, np.float32), np.empty(w_ + 2 * radius, np.float32))


@numba.njit(**_NJ)
def _rings_opened(a_rows, b_rows, a_total, b_total, radius):
    """Two rings of row sums ``(2 radius + 1, W)`` (OpenCV's ``ColumnSum``, row ``j`` at
    ``(j + radius) % k``) whose rows 0 .. ``radius`` are filled: rows -1 .. -``radius`` mirror
    rows 1 .. ``radius`` (``BORDER_REFLECT_101``), and ``a_total``, ``b_total`` ``(W,)`` add up
    the first ``2 radius`` slots in order."""
    for i in range(1, radius + 1):
        a_rows[radius - i, :] = a_rows[radius + i]
        b_rows[radius - i, :] = b_rows[radius + i]
    for i in range(2 * radius):
        for x in range(a_total.shape[0]):
            a_total[x] += a_rows[i, x]
            b_total[x] += b_rows[i, x]


@numba.njit(**_NJ)
def _rings_mirrored(a_rows, b_rows, slot, j, h, radius):
    """Row ``j`` past the last (``h`` .. ``h - 1 + radius``) into ``slot`` of both rings as
    the row it mirrors (``2 h - 2 - j``)."""
    source = (2 * h - 2 - j + radius) % (2 * radius + 1)
    a_rows[slot, :] = a_rows[source]
    b_rows[slot, :] = b_rows[source]


@numba.njit(**_NJ)
def _rings_boxed(a_rows, b_rows, a_total, b_total, entering, leaving, scale, a_out, b_out):
    """One output row of both boxes: the running totals plus the ``entering`` slot's sums,
    times ``scale``, rounded to float32 into ``a_out``, ``b_out`` ``(W,)``; the ``leaving``
    slot's sums then taken off the totals."""
    for x in range(a_total.shape[0]):
        a = a_total[x] + a_rows[entering, x]
        b = b_total[x] + b_rows[entering, x]
        a_out[x], b_out[x] = np.float32(a * scale), np.float32(b * scale)
        a_total[x], b_total[x] = a - a_rows[leaving, x], b - b_rows[leaving, x]


@numba.njit(**_NJ)
def _tone_mean(d, mean, square):
    """``mean`` ``(h, W)`` the channel mean of ``d`` (``(h, 3W)``, :func:`_weights`) and
    ``square`` its square."""
    h, w_ = mean.shape
    third = _F(1 / 3)
    for y in range(h):
        for x in range(w_):
            v = (d[y, 3 * x] + d[y, 3 * x + 1] + d[y, 3 * x + 2]) * third
            mean[y, x], square[y, x] = v, v * v


def _roughness_boxes(d: np.ndarray, span: int, mean: np.ndarray, square: np.ndarray) -> None:
    """The local means (box of radius ``span``) of the channel mean of ``d`` ``(h, W, 3)`` and
    of its square into ``mean`` and ``square`` ``(h, W)``: their difference is
    :func:`.consistency.roughness` (made in :func:`_weights`). In one numba pass
    (:func:`_roughness_sums`: 1.1 ms at 720x480 against 1.5 for the channel mean made first
    and OpenCV's two box filters), which frames no larger than the box leave to OpenCV."""
    h, w = mean.shape
    if span < min(h, w):
        _roughness_sums(_flat(d), span, mean, square)
        return
    _tone_mean(_flat(d), mean, square)
    k = (2 * span + 1,) * 2
    cv2.blur(mean, k, dst=mean)
    cv2.blur(square, k, dst=square)


def _roughness_halved(d_half: np.ndarray, span: int, boxes: np.ndarray, mean: np.ndarray,
                      square: np.ndarray) -> None:
    """:func:`_roughness_boxes` made at half the size: of the half-size low band ``d_half``
    ``(ceil(h/2), ceil(W/2), 3)`` over ``span`` half pixels into ``boxes`` ``(2, ceil(h/2),
    ceil(W/2))``, then doubled (:func:`_double`) into ``mean`` and ``square`` ``(h, W)``."""
    _roughness_boxes(d_half, span, boxes[0], boxes[1])
    _double(boxes[0], mean)
    _double(boxes[1], square)


def _box2(x: np.ndarray, radius: int, dst: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Two passes of the ``(2r+1)²`` box (BORDER_REFLECT_101), into ``dst``, the first pass
    into ``scratch`` (of ``x``'s shape)."""
    k = (2 * radius + 1, 2 * radius + 1)
    return cv2.blur(cv2.blur(x, k, dst=scratch), k, dst=dst)


@numba.njit(**_NJ)
def _halve(x, channels, out):
    """``out`` ``(ceil(h/2), ceil(W/2) C)`` float32: the means of ``x``'s ``(h, WC)`` pixels
    (``C`` ``channels``, interleaved as :func:`_weights` takes them) over 2x2 blocks, a last odd
    row or column repeated (an area downscale by 2)."""
    h = x.shape[0]
    for j in range(out.shape[0]):
        _halve_row(x[2 * j], x[min(2 * j + 1, h - 1)], channels, out[j])


@numba.njit(**_NJ)
def _halve_row(upper, lower, channels, out):
    """:func:`_halve`'s row ``out`` ``(ceil(W/2) C,)`` from the two rows ``upper`` and
    ``lower`` ``(WC,)`` (the same row for a last odd one)."""
    w_ = upper.shape[0] // channels
    quarter = _F(0.25)
    for i in range(out.shape[0] // channels):
        x0, x1 = channels * 2 * i, channels * min(2 * i + 1, w_ - 1)
        for k in range(channels):
            out[channels * i + k] = (
                (_F(upper[x0 + k]) + _F(upper[x1 + k]))
                + (_F(lower[x0 + k]) + _F(lower[x1 + k]))) * quarter


# the doubling's map from a pixel to the half grid (x/2 - 1/4, y/2 - 1/4): OpenCV's warp
# samples at 1/32 pixel, on which those positions fall
_DOUBLED = np.array([[0.5, 0, -0.25], [0, 0.5, -0.25]])


def _double(half: np.ndarray, out: np.ndarray) -> None:
    """``out`` ``(h, W[, C])``: ``half`` ``(ceil(h/2), ceil(W/2)[, C])`` (:func:`_halve`'s
    grid: its pixel ``j`` centred on ``2j + 1/2``) sampled bilinearly at every pixel, edges
    repeated: pixel ``y`` at ``y/2 - 1/4`` of ``half``, weights 1/4 and 3/4 (OpenCV's resize
    by 2, which for odd sizes would scale by less)."""
    cv2.warpAffine(half, _DOUBLED, out.shape[1::-1], dst=out,
                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                   borderMode=cv2.BORDER_REPLICATE)


def _low_band_halved(x: np.ndarray, radius: int, half: np.ndarray, scratch: np.ndarray,
                     dst: np.ndarray) -> np.ndarray:
    """:func:`_box2` of ``x`` ``(h, W, 3)`` (any dtype; floats out in its units) over
    ``radius`` made at half the size: ``x`` halved (:func:`_halve`) into ``half``
    ``(ceil(h/2), ceil(W/2), 3)``, then :func:`_low_band_of_half`: the low band of a box twice
    over radius 8 or more varies little over two pixels, and a quarter of the values go through
    the boxes."""
    _halve(_flat(x), 3, _flat(half))
    return _low_band_of_half(half, radius, scratch, dst)


def _low_band_of_half(half: np.ndarray, radius: int, scratch: np.ndarray, dst: np.ndarray
                      ) -> np.ndarray:
    """:func:`_low_band_halved` from the image already halved, ``half`` ``(ceil(h/2),
    ceil(W/2), 3)``: both box passes over ``radius // 2`` (a box of ``2 (radius // 2) + 1``
    half pixels spans ``radius`` pixels either side or one less), the result in ``half`` (the
    first pass in ``scratch``), doubled (:func:`_double`) into ``dst`` ``(h, W, 3)``."""
    _box2(half, radius // 2, half, scratch)
    _double(half, dst)
    return dst


# the most output rows a step makes at a time (see CpuState._band): _BAND_ROWS, or on narrower
# frames as many as make _BAND_PIXELS pixels, so that a 1280x720 frame is one band (its two bands
# of 360 rows made 870 rows with their reach, and the step took 68-69 ms against 60 in one)
_BAND_ROWS, _BAND_PIXELS = 512, 1280 * 720
_LUMA_ROWS = 64  # rows of a frame made floats at a time for its luma (CpuState.frame)
# where the low bands are made at half the size (frames whose tone band holds no texture,
# CpuState._band), the rows more that a band's reach takes: the half grid's 2x2 blocks and the
# doubling's neighbour each side reach two rows further than the full-size boxes
_HALVED_REACH = 4


def _reaches(h: int, w: int) -> tuple[int, int]:
    """The rows either side of a band of output rows that its box sums read
    (:meth:`CpuState._band`): of the weights and blended bands (the fine band's energy box, or
    where the tone band holds texture its energy box over its local mean's if that is more),
    and of the residual and the frame (two boxes of the low radius more, and the box of the
    tone residual's roughness)."""
    weights, radius = ENERGY_RADIUS, low_radius(h, w)
    if holds_texture(h, w):
        weights = max(weights, COARSE_RADIUS + TEXTURE_ENERGY_RADIUS)
        return weights, weights + (2 + ROUGHNESS_SPAN) * radius
    return weights, weights + (2 + ROUGHNESS_SPAN) * radius + _HALVED_REACH


def _band_rows(h: int, w: int) -> int:
    """The rows of each band of an ``h`` x ``w`` frame: bands of equal height, at most
    :data:`_BAND_ROWS` or :data:`_BAND_PIXELS` pixels, whichever is more rows."""
    most = max(_BAND_ROWS, _BAND_PIXELS // w)
    return -(-h // -(-h // most))


def _band_shape(h: int, w: int, rows: int) -> tuple[int, int, int]:
    """The shape of a band's scratch frame for bands of ``rows`` rows of an ``h`` x ``w`` frame:
    those rows and the rows either side that their box sums read (:func:`_reaches`), and a
    row more each side where the band starts and ends on the half grid's rows (even ones)."""
    return min(h, rows + 2 * _reaches(h, w)[1] + (0 if holds_texture(h, w) else 2)), w, 3


class CpuState:
    """The recursion's state on the CPU: the previous output ``(H, W, 3)`` float32, the
    8-bit luma ``(H, W)`` of the previous input frame (what the next frame's flow is computed
    against) and, where the tone band holds texture, the contrast carried with the output
    ``(H, W)`` float32 (None on a shot's first frame, or on larger frames).

    A state made of a frame (:meth:`frame`) may instead hold the frame's own ``pixels``
    ``(H, W, 3)`` and the ``scale`` that takes them to [0, 1]: :meth:`step` makes floats of
    them a band of rows at a time, and :attr:`output` the whole frame only if asked (the first
    frame of a shot, its own output); a float frame kept through the step would take 25 MB
    more at 1920x1080."""

    def __init__(self, output: np.ndarray | None, luma: np.ndarray,
                 pixels: np.ndarray | None = None, scale: float = 1.0,
                 contrast: np.ndarray | None = None):
        self._output, self.luma, self._pixels, self._scale = output, luma, pixels, scale
        self.contrast = contrast

    @property
    def output(self) -> np.ndarray:
        """``(H, W, 3)`` float32: the output, or the frame as floats."""
        if self._output is None:
            self._output = self._rows(0, self._pixels.shape[0], frame_array(self._pixels.shape))
            self._pixels = None
        return self._output

    def _source(self, y0: int, y1: int) -> tuple[np.ndarray, float]:
        """Rows ``y0:y1`` of :attr:`output` as they are held, ``(y1 - y0, W, 3)``, and the
        scale that takes them to [0, 1]: the frame's decoded pixels, or floats."""
        if self._output is not None:
            return self._output[y0:y1], 1.0
        return self._pixels[y0:y1], self._scale

    def _rows(self, y0: int, y1: int, out: np.ndarray) -> np.ndarray:
        """Rows ``y0:y1`` of :attr:`output`, made into ``out`` ``(y1 - y0, W, 3)`` if the state
        holds a frame's pixels."""
        if self._output is not None:
            return self._output[y0:y1]
        _to_float(_flat(self._pixels[y0:y1]), self._scale, _flat(out))
        return out

    @classmethod
    def frame(cls, pixels: np.ndarray, dither: bool) -> CpuState:
        """A frame's pixels ``(H, W, 3)`` (uint8/uint16 as decoded, or float32 in [0, 1]) as
        floats (dither removed if asked) and their luma, as a state (the first frame of a
        shot is its own output). Without dither the state keeps ``pixels`` (class
        docstring), and the luma is made from floats of :data:`_LUMA_ROWS` rows at a time in
        a scratch array that stays in the cache (not a float frame from the pool each frame)."""
        h, w, _ = pixels.shape
        scale = 1.0 if pixels.dtype.kind == "f" else 1.0 / np.iinfo(pixels.dtype).max
        if dither:
            z = frame_array((h, w, 3))
            _to_float(_flat(pixels), scale, _flat(z))
            z = cv2.sepFilter2D(z, -1, _DEDITHER, _DEDITHER)
            return cls(z, luma_u8_hwc(z))
        luma, z = np.empty((h, w), np.uint8), _buffer("luma", (min(h, _LUMA_ROWS), w, 3))
        for y0 in range(0, h, _LUMA_ROWS):
            band = z[:min(h, y0 + _LUMA_ROWS) - y0]
            _to_float(_flat(pixels[y0:y0 + len(band)]), scale, _flat(band))
            luma[y0:y0 + len(band)] = luma_u8_hwc(band)
        return cls(None, luma, pixels, scale)

    def pixels(self, dtype) -> np.ndarray:
        """The output as ``(H, W, 3)`` pixels of ``dtype`` (uint8, uint16; float32 in
        [0, 1])."""
        if np.dtype(dtype).kind == "f":
            return np.clip(self.output, 0, 1)
        out = np.empty(self.output.shape, dtype)
        _finish(_flat(self.output.copy()), np.zeros(3, np.float32), np.iinfo(dtype).max,
                _flat(out))
        return out

    def motion(self, frame: CpuState) -> np.ndarray:
        """The flow ``(H, W, 2)`` from ``frame``'s luma to this state's
        (:func:`framemend.flow.estimate.motion_luma_flow` with :data:`.consistency.FINEST_SIDE`)."""
        return motion_luma_flow(frame.luma, self.luma, FINEST_SIDE)

    def step(self, frame: CpuState, flow: np.ndarray, strength: float, dtype
             ) -> tuple[CpuState, np.ndarray, float]:
        """The next output from ``frame`` (a :meth:`frame` state) along ``flow``
        (:meth:`motion`): the new state, its pixels of ``dtype`` (uint8, uint16; float32 in
        [0, 1]) and the fraction of the frame that the previous output follows (confidence
        above 1/2)."""
        h, w = frame.luma.shape
        out, sums, followed = frame_array((h, w, 3)), np.zeros(3), 0
        smear = _buffer("smear", (h, w))
        contrast = noise = None
        if holds_texture(h, w):  # .consistency.smooth_flow; the contrast carried
            k = (2 * FLOW_RADIUS + 1,) * 2
            smoothed = cv2.blur(cv2.blur(flow, k, dst=_buffer("flow", flow.shape)), k)
            difference = flow - smoothed
            noise = np.hypot(difference[..., 0], difference[..., 1])
            cv2.blur(noise, (2 * TEXTURE_ENERGY_RADIUS + 1,) * 2, dst=noise)
            np.minimum(noise * np.float32(1 / FLOW_NOISE), 1, out=noise)
            flow = flow - noise[..., None] * difference  # toward the smoothed field by n
            contrast = np.empty((h, w), np.float32)
        gain = _exposure_gain(*self._source(0, h), *frame._source(0, h), flow)
        rows = _band_rows(h, w)
        for y0 in range(0, h, rows):
            followed += self._band(frame, flow, gain, strength, y0, min(h, y0 + rows), rows,
                                   out, sums, smear, contrast, noise)
        shift = (sums / (h * w)).astype(np.float32)
        floats = np.dtype(dtype).kind == "f"
        levels = 0 if floats else np.iinfo(dtype).max
        # the pixels wait in the next pass's window: from the pool (kernels.buffers)
        raw = np.empty((1, 1, 3), np.uint8) if floats else frame_array((h, w, 3), dtype)
        state, followed = CpuState(out, frame.luma, contrast=contrast), followed / (h * w)
        if smear.max() <= 0:
            _finish(_flat(out), shift, levels, _flat(raw))
            return state, out.copy() if floats else raw, followed
        # what is shown is smeared where the motion is fast and not followed (.consistency):
        # made into integer pixels a band of rows at a time (a whole float frame at 1920x1080
        # is 25 MB) in the bands' residual array (of at least that many rows, free now), or
        # for float output whole; each band's lower half on the deboil worker (the filter's
        # look-ahead thread), beside its upper half
        rows = h if floats else rows
        shown = frame_array((h, w, 3)) if floats else _buffer("r", _band_shape(h, w, rows))
        for y0 in range(0, h, rows):
            band = shown[:min(h, y0 + rows) - y0]
            in_halves("deboil", len(band), lambda first, end: _shown(  # noqa: B023 - called here
                out, flow, smear, shift, levels, band[first:end], y0 + first,
                raw if floats else raw[y0 + first:y0 + end]))
        _finish(_flat(out), shift, 0, _flat(raw[:1, :1]))
        return state, shown if floats else raw, followed

    def _band(self, frame: CpuState, flow: np.ndarray, gain: np.ndarray, strength: float,
              y0: int, y1: int, rows: int, out: np.ndarray, sums: np.ndarray, smear: np.ndarray,
              contrast: np.ndarray | None, noise: np.ndarray | None) -> int:
        """Rows ``y0:y1`` (at most ``rows``) of :meth:`step`'s output, before the mean shift
        and the smear, the previous output taken through the whole frame's change of exposure
        ``gain`` ``(3,)`` (:func:`_exposure_gain`), into ``out``, their smear weights into
        ``smear`` ``(H, W)`` and, where the tone band holds texture, the contrast carried on
        into ``contrast`` ``(H, W)``
        (from the flow's ``noise`` ``(H, W)``, :func:`.consistency.smooth_flow`); adds
        their per-channel sum of ``out - z`` (``z``: ``frame`` in [0, 1]) to ``sums`` and
        returns how many of their pixels the previous output follows. What those rows read
        (the residual, the box sums of the residual and of the frame, the blurred
        energies) is made over the band and ``reach`` rows either side, in this thread's
        scratch arrays of that many rows: each box sum of a row reads only the rows within its
        radius, so the band gives the whole frame's values (OpenCV's box filter and remap give
        them bit for bit), in two fifths of the scratch at 1920x1080."""
        h, w = frame.luma.shape
        radius = low_radius(h, w)
        weights_reach, reach = _reaches(h, w)
        most = _band_shape(h, w, rows)[0]  # the scratch arrays' rows: one shape per frame size
        b0, b1 = max(0, y0 - reach), min(h, y1 + reach)  # rows of the residual and box sums
        texture = holds_texture(h, w)
        if not texture:  # the low bands at half the size: the band on the whole frame's grid
            b0, b1 = b0 - b0 % 2, min(h, b1 + b1 % 2)
        a0, a1 = max(0, y0 - weights_reach), min(h, y1 + weights_reach)  # of the weights
        n = b1 - b0
        # the prediction, the residual and the blended band share one array: each is written
        # over the one before it, pixel by pixel (_weights reads r[y, x, k] before writing
        # b[y, x, k]); the frame is read as decoded (``zb`` times ``zs``), never made floats
        pred = _buffer("r", (most, w, 3))[:n]
        grid_memory = _buffer("grid", (most, w, 2))
        if b0 == 0 and not texture:  # remap's relative map adds each pixel's own position (a
            # band's own rows, so only for the top one): the same bits as the grid below, in
            # 1.1 ms less at 720x480 (2.9 at 1280x720)
            cv2.remap(self.output, flow[:n], None, cv2.INTER_CUBIC | cv2.WARP_RELATIVE_MAP,
                      dst=pred, borderMode=cv2.BORDER_REPLICATE)
        else:  # the flow as absolute positions
            grid = grid_memory[:n]
            np.add(flow[b0:b1, :, 0], np.arange(w, dtype=np.float32), out=grid[..., 0])
            np.add(flow[b0:b1, :, 1], np.arange(b0, b1, dtype=np.float32)[:, None],
                   out=grid[..., 1])
            if texture:  # .resample (at 720x480 it took 2.4 ms a frame more than OpenCV's)
                _catmull_rom_remap(self.output, grid, pred)
            else:
                cv2.remap(self.output, grid, None, cv2.INTER_CUBIC, dst=pred,
                          borderMode=cv2.BORDER_REPLICATE)
        t = slice(y0 - b0, y1 - b0)
        carried = _buffer("carried", (rows, w))[:y1 - y0] if texture else None
        if texture and self.contrast is not None:  # the last step's contrast, warped
            cv2.remap(self.contrast, grid[t], None, cv2.INTER_LINEAR, dst=carried,
                      borderMode=cv2.BORDER_REPLICATE)
            carried *= np.sqrt(np.mean(gain ** 2, dtype=_F))
        zb, zs = frame._source(b0, b1)
        # arrays not written yet hold what comes before them: d's first box pass goes through
        # zl, r²'s channel mean through ez, zl's first box pass through the four planes of the
        # weights and energies
        zl, planes = _buffer("zl", (most, w, 3))[:n], _buffer("planes", (4, most, w))
        weight, tone, ez, eb = planes[:, :n]
        r = pred
        if texture:
            _residual(_flat(r), gain, _flat(zb), zs, ez)
        else:  # halved as it is made (_low_band_of_half), in the weights' plane (free; the
            # half-size planes below)
            n2, w2 = (n + 1) // 2, (w + 1) // 2
            d_half = planes.reshape(-1)[:3 * n2 * w2].reshape(n2, w2, 3)
            _residual_halved(_flat(r), gain, _flat(zb), zs, ez, _flat(d_half))
        m = cv2.blur(ez, (2 * MID_RADIUS + 1,) * 2, dst=_buffer("m", (most, w))[:n])
        scratch = planes.reshape(-1)[:n * w * 3].reshape(n, w, 3)
        if texture:
            d = _box2(r, radius, _buffer("d", (most, w, 3))[:n], zl)
            # the frame's low band in its pixels' units (box sums of integers are exact: 0.55
            # ms against 0.84 for floats at 720x480), taken to [0, 1] where it is read
            k = (2 * radius + 1,) * 2
            zl = cv2.blur(cv2.boxFilter(zb, cv2.CV_32F, k, dst=scratch), k, dst=zl)
        else:  # both low bands, and the roughness of d, made at half the size in the planes'
            # memory (m is made; the weights are written in _weights_blend): 11 half-size
            # planes in 4 band-sized ones
            free = planes.reshape(-1)
            zl_half, half_scratch = free[3 * n2 * w2:9 * n2 * w2].reshape(2, n2, w2, 3)
            boxes = free[9 * n2 * w2:11 * n2 * w2].reshape(2, n2, w2)
            d = _low_band_of_half(d_half, radius, half_scratch, _buffer("d", (most, w, 3))[:n])
            zl = _low_band_halved(zb, radius, zl_half, half_scratch, zl)
        a = slice(a0 - b0, a1 - b0)
        # the energies of the tone band's texture in the frame and in the prediction go in the
        # grid's memory (remap has read it), their local means in the planes' (free until
        # _weights); the blended band's in m, its mean in zl, once _weights has read them
        e_own, e_pred = grid_memory.reshape(2, most, w)[:, :n]
        if texture:
            zl, zs_low = cv2.multiply(zl, zs, dst=zl), 1.0
            _texture_energies(zl[a], d[a], scratch[a], e_own[a], e_pred[a])
        else:
            zs_low = zs
        # the boxes of the tone residual's roughness (d is whole over the rows they read:
        # _reaches) in arrays of their own: in the weights' planes, read by _weights before it
        # writes them, its loops did not vectorise (5.1 ms against 2.0 at 720x480)
        dm, dq = _buffer("roughness", (2, most, w))[:, :n]
        if texture:
            _roughness_boxes(d, ROUGHNESS_SPAN * radius, dm, dq)
        else:
            _roughness_halved(d_half, ROUGHNESS_SPAN * (radius // 2), boxes, dm, dq)
        band_sums, rows = np.zeros(3), (y0 - a0, y1 - a0)
        if not texture and ENERGY_RADIUS < min(a1 - a0, w):  # in one pass (_weights_blend)
            followed = _weights_blend(_flat(zb[a]), zs, _flat(zl[a]), _flat(r[a]), _flat(d[a]),
                                      m[a], dm[a], dq[a], _flat(flow[a0:a1]), strength, _LIMITS,
                                      SHUTTER, weight[a], tone[a], smear[a0:a1], a0, h, rows,
                                      ENERGY_RADIUS, KEPT_FLOOR, _flat(out[y0:y1]))
            _departures(_flat(out[y0:y1]), _flat(zb[t]), zs, band_sums)
            sums += band_sums
            return followed
        e_fine = ez  # the warped output's fine energy: where the tone band holds texture
        if texture:
            e_fine = _buffer("fine", (most, w))[:n]
            _fine_energy(_flat(zb[a]), zs, _flat(zl[a]), zs_low, _flat(r[a]), _flat(d[a]),
                         e_fine[a])
        b, low = r, d  # what _weights writes in their place
        followed = _weights(_flat(zb[a]), zs, _flat(zl[a]), zs_low, _flat(r[a]), _flat(d[a]),
                            m[a], dm[a], dq[a], _flat(flow[a0:a1]), strength, _LIMITS,
                            SHUTTER, weight[a], tone[a], smear[a0:a1], ez[a], eb[a], a0, h,
                            rows)
        k = (2 * ENERGY_RADIUS + 1,) * 2
        cv2.blur(ez[a], k, dst=ez[a])
        cv2.blur(eb[a], k, dst=eb[a])
        if texture:
            cv2.blur(e_fine[a], k, dst=e_fine[a])
            _texture_energy(low[a], zl[a], m[a])
        if texture:  # the gains in place of the blended band's texture energies, m
            if self.contrast is None:  # a shot's first step: the prediction's own contrast
                np.sqrt(np.maximum(e_pred[t], 0, out=carried), out=carried)
            _tone_gains(weight[t], tone[t], e_own[t], e_pred[t], carried, noise[y0:y1],
                        KEPT_FLOOR, contrast[y0:y1], m[t])
        # with texture the local mean is the blended tone band's (_texture_energy), in [0, 1]
        _blend(_flat(zb[t]), zs, _flat(low[t]), _flat(zl[t]), 1.0 if texture else zs, weight[t],
               _flat(b[t]), ez[t], eb[t], e_fine[t], KEPT_FLOOR, m[t], texture,
               _flat(out[y0:y1]), band_sums)
        sums += band_sums
        return followed
