"""CPU fast paths (numba) of :func:`.motion.compared_cells`, :func:`.motion.chain_steps` and of
the end of
:func:`.correction.temporal_offset` (the step test ``correction._same_side_of_step``, the shrunk
line ``correction._line_intercept`` and the support): one pass over the pixels or over each
cell's samples instead of some forty torch operations on small tensors. The torch functions are
the reference; these are chosen automatically for CPU tensors.
"""
from __future__ import annotations

import numba
import numpy as np
import torch


def step_masked_intercept(samples: torch.Tensor, w: torch.Tensor, d: torch.Tensor,
                          significance: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``samples`` and weights ``w`` ``(N, C, gh, gw)`` at times ``d`` ``(N, 1, 1, 1)``, sample 0
    the centre (``d = 0``) -> line intercepts ``(C, gh, gw)``, support ``(1, gh, gw)``."""
    times = d.view(-1).double().numpy()
    order = np.argsort(times, kind="stable")
    intercept = np.empty(samples.shape[1:], np.float32)
    support = np.zeros((1, *samples.shape[2:]), np.float32)
    _fit(samples.contiguous().numpy(), w.contiguous().numpy(), times[order], order,
         significance, intercept, support)
    return torch.from_numpy(intercept), torch.from_numpy(support)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _fit(samples, weights, d, order, significance, intercept, support):
    """Per cell and channel, over the samples sorted by time ``d`` (``order[k]`` is the index
    of sorted sample ``k``)."""
    n = d.shape[0]
    chans, gh, gw = intercept.shape
    y = np.empty(n)
    w = np.empty(n)
    centre = 0
    for k in range(n):
        if order[k] == 0:
            centre = k
    for c in range(chans):
        for gy in range(gh):
            for gx in range(gw):
                for k in range(n):
                    y[k] = samples[order[k], c, gy, gx]
                    w[k] = weights[order[k], c, gy, gx]
                _keep_centre_side(y, w, d, centre, significance)
                intercept[c, gy, gx] = _shrunk_intercept(y, w, d)
                total = 0.0
                for k in range(n):
                    total += w[k]
                support[0, gy, gx] += (total - w[centre]) / chans


@numba.njit(cache=True, fastmath=True, nogil=True, inline="always")
def _keep_centre_side(y, w, d, centre, significance):
    """Zero the weights beyond a significant step in time (``correction._same_side_of_step``)."""
    n = y.shape[0]
    tw = twy = twyy = 0.0
    for k in range(n):
        tw += w[k]
        twy += w[k] * y[k]
        twyy += w[k] * y[k] * y[k]
    best, split = np.inf, 0
    cw = cwy = cwyy = 0.0
    for k in range(n - 1):
        cw += w[k]
        cwy += w[k] * y[k]
        cwyy += w[k] * y[k] * y[k]
        rw, rwy, rwyy = tw - cw, twy - cwy, twyy - cwyy
        sse = (cwyy - cwy * cwy / max(cw, 1e-9)) + (rwyy - rwy * rwy / max(rw, 1e-9))
        if sse < best:
            best, split = sse, k
    line = _line_fit(y, w, d, max(tw, 1e-9))[2]
    f = (line - best) / max(best / max(tw - 3.0, 1.0), 1e-12)
    if f > significance:
        for k in range(n):
            if (k > split) == (centre <= split):
                w[k] = 0.0


@numba.njit(cache=True, fastmath=True, nogil=True, inline="always")
def _line_fit(y, w, d, sw):
    """Weighted least-squares line ``y ≈ ym + b (d - dm)``: ``(dm, ym, residual, b, sdd)``."""
    n = y.shape[0]
    dm = ym = 0.0
    for k in range(n):
        dm += w[k] * d[k]
        ym += w[k] * y[k]
    dm /= sw
    ym /= sw
    sdd = sdy = 0.0
    for k in range(n):
        dc = d[k] - dm
        sdd += w[k] * dc * dc
        sdy += w[k] * dc * (y[k] - ym)
    sdd = max(sdd, 1e-9)
    b = sdy / sdd
    resid = 0.0
    for k in range(n):
        e = y[k] - ym - b * (d[k] - dm)
        resid += w[k] * e * e
    return dm, ym, resid, b, sdd


@numba.njit(cache=True, fastmath=True, nogil=True, inline="always")
def _shrunk_intercept(y, w, d):
    """Value at ``d = 0`` of the line, its slope shrunk by its significance
    (``correction._line_intercept``)."""
    sw = 0.0
    for k in range(y.shape[0]):
        sw += w[k]
    sw = max(sw, 1e-9)
    dm, ym, resid, b, sdd = _line_fit(y, w, d, sw)
    se2 = resid / max(sw - 2.0, 1.0) / sdd
    b = b * b * b / (b * b + se2 + 1e-12)
    return ym - b * dm


def compared_cells(src: torch.Tensor, flows: torch.Tensor, cell: int, mismatch: float
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`.motion.compared_cells` (``mismatch``: its :data:`.motion.MISMATCH`)."""
    n, _, h, w = src.shape
    sums = np.zeros((n, 10, -(-h // cell), -(-w // cell)))
    _compare(src.contiguous().numpy(), flows.contiguous().numpy(), cell, mismatch, sums)
    count, valid = sums[:, 9:10], sums[:, 6:7]
    means = sums[:, :6] / np.maximum(valid, 1e-6 * count)
    diff = means[:, :3] - means[:, 3:6]
    return (torch.from_numpy(diff.astype(np.float32)),
            torch.from_numpy((valid / count).astype(np.float32)),
            torch.from_numpy((sums[:, 7:9] / (count * cell)).astype(np.float32)))


@numba.njit(cache=True, fastmath=True, nogil=True)
def _compare(src, flows, cell, mismatch, sums):
    """Accumulate per cell of each frame ``t`` of the pair: the other frame sampled at
    ``p + flow`` (bilinear, border clamped) and ``t``'s own colour where reliable (channels
    0-2, 3-5), the reliable pixels (6), the flow (7-8) and all pixels (9). Reliable: inside the
    frame, forward-backward consistent (``flow.occlusion_mask``) and the same flicker-invariant
    grey (channel 3) within ``mismatch``."""
    _, _, h, w = src.shape
    xmax, ymax = np.float32(w - 1), np.float32(h - 1)
    zero = np.float32(0)
    for t in range(2):
        o = 1 - t
        for y in range(h):
            for x in range(w):
                fx, fy = flows[t, 0, y, x], flows[t, 1, y, x]
                px, py = np.float32(x) + fx, np.float32(y) + fy
                reliable = not (px < zero or py < zero or px > xmax or py > ymax)
                px, py = min(max(px, zero), xmax), min(max(py, zero), ymax)
                x0, y0 = min(int(px), w - 2), min(int(py), h - 2)
                ax, ay = px - np.float32(x0), py - np.float32(y0)
                w00, w01 = (1 - ax) * (1 - ay), ax * (1 - ay)
                w10, w11 = (1 - ax) * ay, ax * ay
                bx = (w00 * flows[o, 0, y0, x0] + w01 * flows[o, 0, y0, x0 + 1]
                      + w10 * flows[o, 0, y0 + 1, x0] + w11 * flows[o, 0, y0 + 1, x0 + 1])
                by = (w00 * flows[o, 1, y0, x0] + w01 * flows[o, 1, y0, x0 + 1]
                      + w10 * flows[o, 1, y0 + 1, x0] + w11 * flows[o, 1, y0 + 1, x0 + 1])
                gap = (fx + bx) ** 2 + (fy + by) ** 2
                reliable &= gap <= 0.01 * (fx * fx + fy * fy + bx * bx + by * by) + 0.5
                grey = (w00 * src[o, 3, y0, x0] + w01 * src[o, 3, y0, x0 + 1]
                        + w10 * src[o, 3, y0 + 1, x0] + w11 * src[o, 3, y0 + 1, x0 + 1])
                reliable &= abs(grey - src[t, 3, y, x]) <= mismatch
                cy, cx = y // cell, x // cell
                sums[t, 7, cy, cx] += fx
                sums[t, 8, cy, cx] += fy
                sums[t, 9, cy, cx] += 1.0
                if reliable:
                    for c in range(3):
                        sums[t, c, cy, cx] += (
                            w00 * src[o, c, y0, x0] + w01 * src[o, c, y0, x0 + 1]
                            + w10 * src[o, c, y0 + 1, x0] + w11 * src[o, c, y0 + 1, x0 + 1])
                        sums[t, 3 + c, cy, cx] += src[t, c, y, x]
                    sums[t, 6, cy, cx] += 1.0


def chain_maps(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`.motion.chain_steps` of the steps' stacked ``(flow, diff, cover)`` maps
    ``(k, C + 3, gh, gw)``."""
    k, channels, gh, gw = maps.shape
    diffs = np.empty((k, channels - 3, gh, gw), np.float32)
    covers = np.empty((k, 1, gh, gw), np.float32)
    _chain(maps.contiguous().numpy(), diffs, covers)
    return torch.from_numpy(diffs), torch.from_numpy(covers)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _chain(maps, diffs, covers):
    """Per cell: the composed flow in two passes, then each step's map read along it
    (bilinear, border clamped), differences summed and covers' running minimum (0 once the
    position is more than half a cell outside the grid)."""
    k, channels, gh, gw = maps.shape
    reach = np.empty((k, 2))
    sample = np.empty(channels)
    total = np.empty(channels - 3)
    for y in range(gh):
        for x in range(gw):
            rx = ry = 0.0
            for j in range(k):  # first pass: every flow read at the cell itself
                reach[j, 0], reach[j, 1] = rx, ry
                rx += maps[j, 0, y, x]
                ry += maps[j, 1, y, x]
            rx = ry = 0.0
            for j in range(k):  # second pass: read at the first pass's positions
                _bilinear(maps[j], x + reach[j, 0], y + reach[j, 1], 2, sample)
                reach[j, 0], reach[j, 1] = rx, ry
                rx += sample[0]
                ry += sample[1]
            cover = np.inf
            total[:] = 0.0
            for j in range(k):
                px, py = x + reach[j, 0], y + reach[j, 1]
                _bilinear(maps[j], px, py, channels, sample)
                for c in range(channels - 3):
                    total[c] += sample[2 + c]
                    diffs[j, c, y, x] = total[c]
                inside = -0.5 <= px <= gw - 0.5 and -0.5 <= py <= gh - 0.5
                cover = min(cover, sample[channels - 1] if inside else 0.0)
                covers[j, 0, y, x] = cover


@numba.njit(cache=True, fastmath=True, nogil=True, inline="always")
def _bilinear(image, px, py, channels, out):
    """``out[:channels]`` = ``image`` ``(C, h, w)`` at ``(px, py)``, bilinear, border clamped."""
    _, h, w = image.shape
    px, py = min(max(px, 0.0), w - 1.0), min(max(py, 0.0), h - 1.0)
    x0, y0 = int(px), int(py)
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    ax, ay = px - x0, py - y0
    for c in range(channels):
        out[c] = ((1 - ay) * ((1 - ax) * image[c, y0, x0] + ax * image[c, y0, x1])
                  + ay * ((1 - ax) * image[c, y1, x0] + ax * image[c, y1, x1]))
