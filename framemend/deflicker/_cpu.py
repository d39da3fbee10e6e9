"""numba loops of deflicker's CPU path (:mod:`._host`), on numpy arrays: the summed-area tables
of :func:`.motion.summed_area`, the per-pixel check of :func:`.motion.compared_cells`, the
chaining of :func:`.motion.chain_steps`, the box sums of
:func:`.motion.content_differences`, the per-cell part of :func:`.correction.temporal_offset`
(the step test ``correction._same_side_of_step``, the lines ``correction._line_fits`` and the
support), the 3-tap blur ``correction._blur`` and :func:`.correction.apply_fields` on decoded
integer pixels: one pass over the pixels or over each cell's samples instead of some forty
torch operations on small tensors.
The torch functions are the reference and the device path.
"""
from __future__ import annotations

import functools

import numba
import numpy as np

from framemend.kernels.buffers import frame_array
from framemend.kernels.sample import corners, sample_planar

_NJ = dict(cache=True, fastmath=True, nogil=True)


def blur(grid: np.ndarray, taps: tuple[float, float, float]) -> np.ndarray:
    """``correction._blur`` of ``(C, gh, gw)`` float32: the 3-tap filter ``taps`` along rows
    then columns, edges replicated."""
    rows = np.empty_like(grid)
    out = np.empty_like(grid)
    a, b, c = (np.float32(t) for t in taps)
    _blur_rows(np.ascontiguousarray(grid, np.float32), a, b, c, rows)
    _blur_columns(rows, a, b, c, out)
    return out


# no fastmath: each product and sum rounded to float32 as numpy rounds it, so the blur gives
# the values of the numpy expression a * left + b * centre + c * right (no fused multiply-adds)
@numba.njit(cache=True, nogil=True)
def _blur_rows(grid, a, b, c, out):
    chans, gh, gw = grid.shape
    for ch in range(chans):
        for y in range(gh):
            for x in range(gw):
                left, right = grid[ch, y, max(x - 1, 0)], grid[ch, y, min(x + 1, gw - 1)]
                out[ch, y, x] = a * left + b * grid[ch, y, x] + c * right


@numba.njit(cache=True, nogil=True)
def _blur_columns(grid, a, b, c, out):
    chans, gh, gw = grid.shape
    for ch in range(chans):
        for y in range(gh):
            up, down = max(y - 1, 0), min(y + 1, gh - 1)
            for x in range(gw):
                out[ch, y, x] = a * grid[ch, up, x] + b * grid[ch, y, x] + c * grid[ch, down, x]


# no fastmath: float64 sums in order, as numpy's cumsum adds
@numba.njit(cache=True, nogil=True)
def summed_area(image, table):
    """``table[:, 1:, 1:]`` ``(C, h, w)`` of ``image`` ``(C, h, w)`` float32: the running sums
    down each column in float64 rounded to float32, then their running sums along each row in
    float64 rounded to float32 (``np.cumsum`` over rows, then over columns)."""
    chans, h, w = image.shape
    down = np.empty(w)
    for c in range(chans):
        down[:] = 0.0
        for y in range(h):
            run = 0.0
            for x in range(w):
                down[x] += image[c, y, x]
                run += np.float32(down[x])
                table[c, y + 1, x + 1] = run


def window_samples(diffs: np.ndarray, covers: np.ndarray, current: np.ndarray,
                   tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """The first steps of ``correction.temporal_offset`` in one pass over the cells: of
    ``diffs`` ``(N, C, gh, gw)``, ``covers`` ``(N, 1, gh, gw)`` and ``current`` ``(C, gh, gw)``
    float32, the samples ``(N + 1, C, gh, gw)`` (the centre's 0 first, then each difference
    where its cover exceeds 0.05, else 0) and the exponents ``-0.5 (residual / tolerance)^2``
    of the weights ``(N + 1, C, gh, gw)``, the residual the samples less their lower median
    (the centre counted twice) over ``current + 0.05``: numpy's float32 operations, in its
    order."""
    n = diffs.shape[0]
    samples = np.empty((n + 1, *diffs.shape[1:]), np.float32)
    exponents = np.empty_like(samples)
    _residual_exponents(np.ascontiguousarray(diffs, np.float32),
                        np.ascontiguousarray(covers, np.float32),
                        np.ascontiguousarray(current, np.float32), np.float32(tolerance),
                        _sorting_network(n + 2), samples, exponents)
    return samples, exponents


@functools.lru_cache
def _sorting_network(n: int) -> np.ndarray:
    """Batcher's odd-even merge sort of ``n`` values: its comparators ``(k, 2)``, each pair
    ``i < j`` to get the lesser value at ``i`` (Knuth, TAOCP vol. 3, 5.3.4, algorithm M). The
    network of the next power of two less the comparators that reach ``n`` or beyond: values
    above every other there never move."""
    pairs, t = [], max(1, (n - 1).bit_length())
    p = 1 << (t - 1)
    while p > 0:
        q, r, d = 1 << (t - 1), 0, p
        while d > 0:
            for i in range(n - d):
                if i & p == r:
                    pairs.append((i, i + d))
            d, q, r = q - p, q >> 1, p
        p >>= 1
    return np.array(pairs, np.int64).reshape(-1, 2)


# no fastmath: each operation rounded to float32 as numpy rounds it
@numba.njit(cache=True, nogil=True)
def _residual_exponents(diffs, covers, current, tolerance, network, samples, out):
    """Per cell and channel: the samples, their lower median and the exponents
    (:func:`window_samples`). The median sorts a row of cells' ``N + 2`` values at once by the
    sorting ``network`` (the centre's 0 twice among them), a NaN taken as infinity there and
    the median NaN where it falls among the NaNs, as ``np.partition`` places them last (the
    median's value is the same whichever method selects it)."""
    n, chans, gh, gw = diffs.shape
    m = n + 2
    k = (m - 1) // 2
    zero, one, inf = np.float32(0.0), np.float32(1.0), np.float32(np.inf)
    least, floor, half = np.float32(0.05), np.float32(0.05), np.float32(-0.5)
    values = np.empty((m, gw), np.float32)  # a row of cells' samples
    nans = np.empty(gw, np.int64)
    medians = np.empty(gw, np.float32)
    # a row of cells at a time, each sample's row read and written in order (a cell's
    # samples are a frame's size apart)
    for c in range(chans):
        for y in range(gh):
            samples[0, c, y] = zero
            values[0] = zero
            values[1] = zero
            nans[:] = 0
            for j in range(n):
                for x in range(gw):
                    s = diffs[j, c, y, x] * (one if covers[j, 0, y, x] > least else zero)
                    samples[j + 1, c, y, x] = s
                    if s != s:
                        nans[x] += 1
                        s = inf
                    values[j + 2, x] = s
            for e in range(network.shape[0]):
                lo, hi = values[network[e, 0]], values[network[e, 1]]
                for x in range(gw):
                    a, b = lo[x], hi[x]
                    lo[x], hi[x] = (a, b) if a < b else (b, a)
            for x in range(gw):
                medians[x] = values[k, x] if k < m - nans[x] else np.float32(np.nan)
            for j in range(n + 1):
                for x in range(gw):
                    r = samples[j, c, y, x] - medians[x]
                    r = r / (current[c, y, x] + floor)
                    r = r / tolerance
                    r = r * r
                    out[j, c, y, x] = r * half


def step_masked_lines(samples: np.ndarray, w: np.ndarray, d: np.ndarray,
                      significance: float, structure: np.ndarray | None = None,
                      toned: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """``samples`` and weights ``w`` ``(N, C, gh, gw)`` float32 at times ``d`` ``(N, 1, 1, 1)``,
    sample 0 the centre (``d = 0``) -> the lines of ``correction._line_fits`` ``(C, gh, gw)``
    each, after the step test, and the support ``(1, gh, gw)``. ``structure`` ``(N, 1, gh,
    gw)``: the samples' scaled structure mismatches (the centre's 0), which spare samples
    beyond a step whose structure is kept (offset mode) and whose two levels differ by less
    than ``toned`` ``(C, gh, gw)``, or None."""
    times = d.reshape(-1).astype(np.float64)
    order = np.argsort(times, kind="stable")
    lines = np.empty((5, *samples.shape[1:]), np.float32)
    support = np.zeros((1, *samples.shape[2:]), np.float32)
    guarded = structure is not None
    if not guarded:
        structure = np.zeros((1, 1, 1, 1), np.float32)
        toned = np.zeros((1, 1, 1), np.float32)
    _fit(np.ascontiguousarray(samples, np.float32), np.ascontiguousarray(w, np.float32),
         times[order], order, significance, np.ascontiguousarray(structure, np.float32),
         np.ascontiguousarray(toned, np.float32), guarded, lines, support)
    return (*lines, support)


@numba.njit(**_NJ)
def _fit(samples, weights, d, order, significance, structure, toned, guarded, lines, support):
    """Per cell and channel, over the samples sorted by time ``d`` (``order[k]`` is the index
    of sorted sample ``k``): ``lines`` ``(5, C, gh, gw)`` the mean time, mean, slope and the
    squared standard errors of the slope and of the mean, after the step test
    (``correction._same_side_of_step``): where a step in time is significant, the weights of
    the samples beyond it are zeroed and the line refit. ``guarded``: a sample beyond a step
    is masked only where its ``structure`` ``(N, 1, gh, gw)`` is 1 or more, or where the
    step's levels differ by ``toned`` ``(C, gh, gw)`` or more. A row of cells at a time: each
    sum over the samples is made for the whole row in one loop over its cells (the same sums,
    in the same order, as cell by cell), the refits cell by cell."""
    n = d.shape[0]
    _, chans, gh, gw = lines.shape
    y, w = np.empty((n, gw)), np.empty((n, gw))
    sums = np.empty((3, gw))    # the weights', weighted samples' and weighted squares' sums
    split = np.empty((6, gw))   # the best split: its sse, index and the sums before and after
    fit = np.empty((5, gw))     # _line_fit's (dm, ym, residual, b, sdd)
    column_y, column_w = np.empty(n), np.empty(n)
    centre = 0
    for k in range(n):
        if order[k] == 0:
            centre = k
    for c in range(chans):
        for gy in range(gh):
            for k in range(n):
                for gx in range(gw):
                    y[k, gx] = samples[order[k], c, gy, gx]
                    w[k, gx] = weights[order[k], c, gy, gx]
            _step_splits(y, w, sums, split)
            _line_fits(y, w, d, sums[0], fit)
            for gx in range(gw):
                total, best = sums[0, gx], split[0, gx]
                dm, ym, resid, b, sdd = fit[0, gx], fit[1, gx], fit[2, gx], fit[3, gx], fit[4, gx]
                f = (resid - best) / max(best / max(total - 3.0, 1.0), 1e-12)
                if f > significance:  # the weights beyond the step zeroed: the line of those left
                    at = int(split[1, gx])
                    jump = abs(split[3, gx] / max(split[2, gx], 1e-9)
                               - split[5, gx] / max(split[4, gx], 1e-9))
                    tone = toned[c, gy, gx] if guarded else 0.0
                    every = 0.0 < tone <= jump
                    total = 0.0
                    for k in range(n):
                        column_y[k], column_w[k] = y[k, gx], w[k, gx]
                        changed = structure[order[k], 0, gy, gx] >= 1.0 if guarded else True
                        if (k > at) == (centre <= at) and (changed or every):
                            column_w[k] = 0.0
                        total += column_w[k]
                    dm, ym, resid, b, sdd = _line_fit(column_y, column_w, d, max(total, 1e-9))
                lines[0, c, gy, gx], lines[1, c, gy, gx], lines[2, c, gy, gx] = dm, ym, b
                spread = resid / max(total - 2.0, 1.0)
                lines[3, c, gy, gx] = spread / sdd
                lines[4, c, gy, gx] = spread / max(total, 1e-9)
                support[0, gy, gx] += (total - w[centre, gx]) / chans


@numba.njit(**_NJ, inline="always")
def _step_splits(y, w, sums, split):
    """The step test's sums of a row of cells' samples ``y`` and weights ``w`` ``(N, gw)``
    sorted by time: ``sums`` ``(3, gw)`` the weights', weighted samples' and weighted squares'
    sums; ``split`` ``(6, gw)`` the least sum of squared errors about the means of the samples
    up to a split and after it, the split's index (its last sample) and the weights' and
    weighted samples' sums up to it and after it (0 without a split)."""
    n, gw = y.shape
    cw, cwy, cwyy = np.zeros(gw), np.zeros(gw), np.zeros(gw)
    sums[:] = 0.0
    for k in range(n):
        for x in range(gw):
            wk, yk = w[k, x], y[k, x]
            sums[0, x] += wk
            sums[1, x] += wk * yk
            sums[2, x] += wk * yk * yk
    split[0] = np.inf
    split[1:] = 0.0
    sse = np.empty(gw)
    for k in range(n - 1):
        for x in range(gw):  # the sums up to k and after it, and their squared errors
            wk, yk = w[k, x], y[k, x]
            cw[x] += wk
            cwy[x] += wk * yk
            cwyy[x] += wk * yk * yk
            rw, rwy = sums[0, x] - cw[x], sums[1, x] - cwy[x]
            sse[x] = ((cwyy[x] - cwy[x] * cwy[x] / max(cw[x], 1e-9))
                      + ((sums[2, x] - cwyy[x]) - rwy * rwy / max(rw, 1e-9)))
        # the best split chosen in a loop of its own: chosen in the loop above, the row's loop
        # stayed scalar (5.7 against 3.0 ms a 720x480 frame's call)
        for x in range(gw):
            if sse[x] < split[0, x]:
                split[0, x], split[1, x] = sse[x], k
                split[2, x], split[3, x] = cw[x], cwy[x]
                split[4, x], split[5, x] = sums[0, x] - cw[x], sums[1, x] - cwy[x]


@numba.njit(**_NJ, inline="always")
def _line_fits(y, w, d, total, fit):
    """:func:`_line_fit` of each of a row of cells' samples ``y`` and weights ``w`` ``(N, gw)``
    at times ``d`` ``(N,)``, their weights summing to ``total`` ``(gw,)``: ``fit`` ``(5,
    gw)``."""
    n, gw = y.shape
    fit[:] = 0.0
    for k in range(n):
        for x in range(gw):
            fit[0, x] += w[k, x] * d[k]
            fit[1, x] += w[k, x] * y[k, x]
    for x in range(gw):
        sw = max(total[x], 1e-9)
        fit[0, x] /= sw
        fit[1, x] /= sw
    for k in range(n):
        for x in range(gw):
            dc = d[k] - fit[0, x]
            fit[4, x] += w[k, x] * dc * dc
            fit[3, x] += w[k, x] * dc * (y[k, x] - fit[1, x])
    for x in range(gw):
        fit[4, x] = max(fit[4, x], 1e-9)
        fit[3, x] /= fit[4, x]
    for k in range(n):
        for x in range(gw):
            e = y[k, x] - fit[1, x] - fit[3, x] * (d[k] - fit[0, x])
            fit[2, x] += w[k, x] * e * e


@numba.njit(**_NJ, inline="always")
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


def compared_cells(grey: np.ndarray, flows: np.ndarray, cell: int, mismatch: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`.motion.compared_cells` of ``grey`` ``(2, 1, h, w)`` and ``flows``
    ``(2, 2, h, w)`` float32 (``mismatch``: its :data:`.motion.MISMATCH`)."""
    n, _, h, w = grey.shape
    sums = np.zeros((n, 4, -(-h // cell), -(-w // cell)))
    _compare(np.ascontiguousarray(grey), np.ascontiguousarray(flows), cell, mismatch, sums)
    count = sums[:, 3:4]
    return ((sums[:, :1] / count).astype(np.float32),
            (sums[:, 1:3] / (count * cell)).astype(np.float32))


@numba.njit(**_NJ)
def _compare(grey, flows, cell, mismatch, sums):
    """Accumulate per cell of each frame ``t`` of the pair: the reliable pixels (0), the flow
    (1-2) and all pixels (3). Reliable: ``p + flow`` inside the frame, forward-backward
    consistent (``flow.occlusion_mask``) and the other frame's grey there (bilinear, border
    clamped) within ``mismatch`` of ``t``'s."""
    _, _, h, w = grey.shape
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
                other = (w00 * grey[o, 0, y0, x0] + w01 * grey[o, 0, y0, x0 + 1]
                         + w10 * grey[o, 0, y0 + 1, x0] + w11 * grey[o, 0, y0 + 1, x0 + 1])
                reliable &= abs(other - grey[t, 0, y, x]) <= mismatch
                cy, cx = y // cell, x // cell
                sums[t, 1, cy, cx] += fx
                sums[t, 2, cy, cx] += fy
                sums[t, 3, cy, cx] += 1.0
                if reliable:
                    sums[t, 0, cy, cx] += 1.0


def chain_maps(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`.motion.chain_maps` of the steps' stacked ``(flow, cover)`` maps
    ``(k, 3, gh, gw)`` float32."""
    k, _, gh, gw = maps.shape
    shifts = np.empty((k, 2, gh, gw), np.float32)
    covers = np.empty((k, 1, gh, gw), np.float32)
    _chain(np.ascontiguousarray(maps), shifts, covers)
    return shifts, covers


@numba.njit(**_NJ)
def _chain(maps, shifts, covers):
    """Per cell: the composed flow in two passes, the content's shift to each frame and the
    running minimum of the steps' covers read where the content is (bilinear, border
    clamped; 0 once the content's box has left the frame). One step at a time over all the
    cells, each cell's running sums kept in a grid (one sweep of each step's maps)."""
    k, _, gh, gw = maps.shape
    reach = np.zeros((2, gh, gw))  # first pass: the sum of the flows read at the cell itself
    moved = np.zeros((2, gh, gw))  # second pass: the flows read at the first pass's positions
    cover = np.full((gh, gw), np.inf)
    sample = np.empty(2)
    for j in range(k):
        flow, step_cover = maps[j], maps[j, 2:]
        for y in range(gh):
            for x in range(gw):
                _bilinear(flow, x + reach[0, y, x], y + reach[1, y, x], 2, sample)
                cx, cy = moved[0, y, x], moved[1, y, x]  # where the content is in frame j
                rx, ry = cx + sample[0], cy + sample[1]
                moved[0, y, x], moved[1, y, x] = rx, ry
                shifts[j, 0, y, x], shifts[j, 1, y, x] = rx, ry
                _bilinear(step_cover, x + cx, y + cy, 1, sample)
                inside = -1.0 <= x + rx <= gw and -1.0 <= y + ry <= gh
                cover[y, x] = min(cover[y, x], sample[0] if inside else 0.0)
                covers[j, 0, y, x] = cover[y, x]
                reach[0, y, x] += flow[0, y, x]
                reach[1, y, x] += flow[1, y, x]


@numba.njit(**_NJ)
def departures(other, shift, own, out):
    """``out`` ``(C, gh, gw)``: ``other`` read bilinearly (border clamped) at each cell moved
    by ``shift`` ``(2, gh, gw)`` (cells), less ``own`` (in ``correction.neighbour_steadied``)."""
    chans, gh, gw = own.shape
    sample = np.empty(chans, np.float32)
    for y in range(gh):
        for x in range(gw):
            _bilinear(other, x + shift[0, y, x], y + shift[1, y, x], chans, sample)
            for c in range(chans):
                out[c, y, x] = sample[c] - own[c, y, x]


def content_differences(tables: list[np.ndarray], own: np.ndarray, shifts: np.ndarray,
                        cell: int) -> np.ndarray:
    """:func:`.motion.content_differences` of float32 arrays: one loop over the cells per later
    frame."""
    out = np.empty((len(tables), own.shape[0], *shifts.shape[-2:]), np.float32)
    own_sums, moves = np.ascontiguousarray(own), np.ascontiguousarray(shifts)
    for j, table in enumerate(tables):
        _box_differences(np.ascontiguousarray(table), own_sums, moves[j, 0], moves[j, 1], cell,
                         out[j])
    return out


@numba.njit(**_NJ, inline="always")
def _cut_box(gx, gy, px, py, cell, w1, h1):
    """The box ``x0, y0, x1, y1`` of cell ``(gy, gx)``, cut to the part of its content that,
    moved by ``px, py`` pixels, stays inside both ``w1`` x ``h1`` frames."""
    x0 = max(gx * cell, -px)
    x1 = min(min(gx * cell + cell, w1 - 1), w1 - 1 - px)
    y0 = max(gy * cell, -py)
    y1 = min(min(gy * cell + cell, h1 - 1), h1 - 1 - py)
    return x0, y0, max(x1, x0), max(y1, y0)


@numba.njit(**_NJ)
def _box_differences(table, own, shift_x, shift_y, cell, out):
    """Per cell: the box moved by its shift (cells) and the cell's own box, both cut to the
    content inside both frames; ``out`` their mean difference (``table`` minus ``own``)."""
    _, h1, w1 = table.shape
    gh, gw = shift_x.shape
    for gy in range(gh):
        for gx in range(gw):
            px, py = shift_x[gy, gx] * cell, shift_y[gy, gx] * cell
            x0, y0, x1, y1 = _cut_box(gx, gy, px, py, cell, w1, h1)
            inv_area = 1.0 / max((x1 - x0) * (y1 - y0), 1e-6)
            mx0, mx1, my0, my1 = x0 + px, x1 + px, y0 + py, y1 + py
            for c in range(out.shape[0]):
                moved = (_table_at(table, c, mx1, my1) - _table_at(table, c, mx0, my1)
                         - _table_at(table, c, mx1, my0) + _table_at(table, c, mx0, my0))
                still = (_table_at(own, c, x1, y1) - _table_at(own, c, x0, y1)
                         - _table_at(own, c, x1, y0) + _table_at(own, c, x0, y0))
                out[c, gy, gx] = (moved - still) * inv_area


def content_and_structure(analyses: list[tuple[np.ndarray, np.ndarray]],
                          own: tuple[np.ndarray, np.ndarray], shifts: np.ndarray, cell: int,
                          floor: float, grey_floor: float = 0.0, share: float = 1.0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`content_differences` ``(k, 3, gh, gw)`` of the first 3 channels (the colours) and
    :func:`.motion.structure_mismatch` ``(k, 1, gh, gw)`` of the colours (``floor``: its floor)
    times ``share``, plus that of the fourth channel, the flicker-invariant grey, with
    ``grey_floor`` if it is above 0 (local mode), of float32 arrays: one loop over the cells per
    later frame for both.
    ``analyses``: the ``k`` later frames' images ``(C, h, w)`` and their summed-area tables
    ``(C, h + 1, w + 1)``; ``own``: the frame's. Where ``cell`` is even and a box is whole,
    its quadrants' sums are read bilinearly from the frames' :func:`quadrant_sums` (what the
    tables give, without their float32 rounding of sums of up to ``h * w`` pixels); where a
    box is cut, or the cell odd, the tables are read (the cells' own samples at their uncut
    boxes taken once for all the later frames)."""
    k, (c, gh, gw) = len(analyses), (min(own[0].shape[0], 3), *shifts.shape[-2:])
    diffs, mismatch = np.empty((k, c, gh, gw), np.float32), np.empty((k, 1, gh, gw), np.float32)
    own_sums, moves = np.ascontiguousarray(own[1]), np.ascontiguousarray(shifts)
    own_quads = quadrant_sums(own[0], cell)
    own_grid = np.empty((gh, gw, own_sums.shape[0], 3, 3) if cell % 2 else (0, 0, 0, 3, 3))
    if cell % 2:
        _own_samples(own_sums, cell, own_grid)
    for j, (image, table) in enumerate(analyses):
        _box_comparisons(np.ascontiguousarray(table), quadrant_sums(image, cell), own_sums,
                         own_quads, own_grid, moves[j, 0], moves[j, 1], cell, floor,
                         grey_floor, share, diffs[j], mismatch[j, 0])
    return diffs, mismatch


def quadrant_sums(image: np.ndarray, cell: int) -> np.ndarray:
    """The sums ``(C, h - q + 1, w - q + 1)`` float32 of ``image`` ``(C, h, w)`` over the
    ``q`` x ``q`` boxes whose top-left pixel is each position, ``q = cell // 2`` (a cell's
    quadrant): the image itself for 2-pixel cells."""
    image = np.ascontiguousarray(image, np.float32)
    q = cell // 2
    if q <= 1:
        return image
    _, h, w = image.shape
    hq, wq = h - q + 1, w - q + 1
    return sum(image[:, dy:dy + hq, dx:dx + wq] for dy in range(q) for dx in range(q))


@numba.njit(**_NJ)
def _own_samples(own, cell, out):
    """``out[gy, gx, c]`` ``(3, 3)``: ``own[c]`` at the 3 x 3 corners of the quadrants of cell
    ``(gy, gx)``'s box unmoved and uncut (the box of every shift that keeps it inside both
    frames)."""
    _, h1, w1 = own.shape
    gh, gw = out.shape[:2]
    ax, ay, lerps = np.empty((3, 3)), np.empty((3, 3)), np.empty((6, 3))
    for gy in range(gh):
        for gx in range(gw):
            x0, y0, x1, y1 = _cut_box(gx, gy, 0.0, 0.0, cell, w1, h1)
            _axis_taps(w1, x0, 0.5 * (x0 + x1), x1, 0.0, ax)
            _axis_taps(h1, y0, 0.5 * (y0 + y1), y1, 0.0, ay)
            _grid_samples(own, ax, ay, lerps, out[gy, gx])


@numba.njit(**_NJ)
def _box_comparisons(table, quads, own, own_quads, own_grid, shift_x, shift_y, cell, floor,
                     grey_floor, share, diffs, mismatch):
    """Per cell: ``diffs[:, gy, gx]`` as :func:`_box_differences`; the boxes split into 2 x 2
    quadrants, ``mismatch[gy, gx]`` the squared change of the quadrants' means less their
    box's mean, over their squares: ``share`` times the colours' plus, if ``grey_floor`` is
    above 0, the fourth channel's (:func:`_mismatch`). Where ``cell`` is even and the box whole (uncut, and the
    frame more than a cell wide and high), the quadrants' sums are ``quads`` (the later
    frame's :func:`quadrant_sums`) read bilinearly at the moved quadrants' top-left corners,
    which share one fraction, and ``own_quads`` at the cell's (whole pixels): the same sums as
    the tables' corners give (:func:`_whole_box`). A box cut to nothing (its content has left
    one of the frames, 3-14 % of the boxes on the CogVideo clips) gets no difference and no
    mismatch (the tables' corners give 0 there, up to their rounding: 1e-6 and 1e-8).
    Elsewhere each table is read at the 3 x 3 corners the quadrants share
    (:func:`_table_box`)."""
    _, h1, w1 = table.shape
    gh, gw = shift_x.shape
    c3 = table.shape[0]
    fast = cell % 2 == 0 and w1 - 1 > cell and h1 - 1 > cell
    a, b, lerps = np.empty((c3, 3, 3)), np.empty((c3, 3, 3)), np.empty((6, 3))
    taps = np.empty((4, 3, 3))  # per column and row of corners, moved and not
    for gy in range(gh):
        for gx in range(gw):
            px, py = shift_x[gy, gx] * cell, shift_y[gy, gx] * cell
            x0, y0, x1, y1 = _cut_box(gx, gy, px, py, cell, w1, h1)
            whole = x0 == gx * cell and y0 == gy * cell and x1 == x0 + cell and y1 == y0 + cell
            if fast and whole:
                mismatch[gy, gx] = _whole_box(quads, own_quads, x0 + px, y0 + py, gx, gy,
                                              cell, floor, grey_floor, share, diffs)
            elif x1 == x0 or y1 == y0:  # none of the content left inside both frames
                diffs[:, gy, gx] = 0.0
                mismatch[gy, gx] = 0.0
            else:
                mismatch[gy, gx] = _table_box(table, own, own_grid, gx, gy, px, py, x0, y0, x1,
                                              y1, cell, floor, grey_floor, share, a, b, lerps,
                                              taps, diffs)


@numba.njit(**_NJ, inline="always")
def _whole_box(quads, own_quads, x, y, gx, gy, cell, floor, grey_floor, share, diffs):
    """:func:`_box_comparisons` of cell ``(gy, gx)`` whose box, moved to ``(x, y)`` (pixels),
    is whole: each quadrant's sum is bilinear in ``quads`` at its top-left corner (the sum of
    the tables' four corners, each bilinear with the same fractions) and ``own_quads`` at the
    cell's. Returns the mismatch; the differences go to ``diffs[:, gy, gx]``."""
    _, h, w = quads.shape  # h, w: the image's size less q - 1
    q = cell // 2
    # the largest top-left whose quadrants' bottom-right neighbours are inside: x <= w - q - 1
    # there, so the fraction is at most 1
    xi, yi = min(int(x), w - q - 2), min(int(y), h - q - 2)
    fx, fy = np.float32(x - xi), np.float32(y - yi)
    ox, oy = gx * cell, gy * cell
    inv_area, inv_quarter = 1.0 / (cell * cell), 4.0 / (cell * cell)
    change, energy, grey_change, grey_energy = 0.0, 0.0, 0.0, 0.0
    for c in range(quads.shape[0]):
        b00, b01 = _lerp_pair(quads, c, yi, xi, q, fx, fy)
        b10, b11 = _lerp_pair(quads, c, yi + q, xi, q, fx, fy)
        a00, a01 = own_quads[c, oy, ox], own_quads[c, oy, ox + q]
        a10, a11 = own_quads[c, oy + q, ox], own_quads[c, oy + q, ox + q]
        moved, still = b00 + b01 + b10 + b11, a00 + a01 + a10 + a11
        if c < diffs.shape[0]:
            diffs[c, gy, gx] = (moved - still) * inv_area
        if c >= 3 and grey_floor <= 0.0:
            continue
        # each quadrant's mean less the box's (a quarter of its sum)
        am, bm = 0.25 * still, 0.25 * moved
        d0, e0 = (a00 - am) * inv_quarter, (b00 - bm) * inv_quarter
        d1, e1 = (a01 - am) * inv_quarter, (b01 - bm) * inv_quarter
        d2, e2 = (a10 - am) * inv_quarter, (b10 - bm) * inv_quarter
        d3, e3 = (a11 - am) * inv_quarter, (b11 - bm) * inv_quarter
        moved_sq = (e0 - d0) ** 2 + (e1 - d1) ** 2 + (e2 - d2) ** 2 + (e3 - d3) ** 2
        squares = d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3 + e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3
        if c < 3:
            change, energy = change + moved_sq, energy + squares
        else:
            grey_change, grey_energy = grey_change + moved_sq, grey_energy + squares
    return _mismatch(change, energy, grey_change, grey_energy, floor, grey_floor, share)


@numba.njit(**_NJ, inline="always")
def _lerp_pair(quads, c, y, x, q, fx, fy):
    """``quads[c]`` bilinear at ``(x + fx, y + fy)`` and ``(x + q + fx, y + fy)``."""
    top, bottom = quads[c, y], quads[c, y + 1]
    left = _lerp(_lerp(top[x], top[x + 1], fx), _lerp(bottom[x], bottom[x + 1], fx), fy)
    right = _lerp(_lerp(top[x + q], top[x + q + 1], fx),
                  _lerp(bottom[x + q], bottom[x + q + 1], fx), fy)
    return left, right


@numba.njit(**_NJ, inline="always")
def _lerp(a, b, f):
    return a + f * (b - a)


@numba.njit(**_NJ, inline="always")
def _table_box(table, own, own_grid, gx, gy, px, py, x0, y0, x1, y1, cell, floor, grey_floor,
               share, a, b, lerps, taps, diffs):
    """:func:`_box_comparisons` of cell ``(gy, gx)`` moved by ``(px, py)`` (pixels), its box
    cut to ``x0, y0, x1, y1``, from the tables: each read once at the 3 x 3 corners the
    quadrants share (the boxes' own corners among them), their bilinear taps found once per row
    and column of corners (:func:`_axis_taps`) for all channels; ``own`` only where the box is
    cut or ``own_grid`` is empty (elsewhere its samples are ``own_grid``'s,
    :func:`_own_samples`). ``a``, ``b``, ``lerps``, ``taps``: scratch. Returns the mismatch;
    the differences go to ``diffs[:, gy, gx]``."""
    _, h1, w1 = table.shape
    c3 = table.shape[0]
    xm, ym = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    _axis_taps(w1, x0, xm, x1, px, taps[0])
    _axis_taps(h1, y0, ym, y1, py, taps[1])
    _grid_samples(table, taps[0], taps[1], lerps, b)
    if own_grid.shape[0] > 0 and (x0, y0, x1, y1) == _cut_box(gx, gy, 0.0, 0.0, cell, w1, h1):
        for c in range(c3):
            for j in range(3):
                for i in range(3):
                    a[c, j, i] = own_grid[gy, gx, c, j, i]
    else:
        _axis_taps(w1, x0, xm, x1, 0.0, taps[2])
        _axis_taps(h1, y0, ym, y1, 0.0, taps[3])
        _grid_samples(own, taps[2], taps[3], lerps, a)
    inv_area = 1.0 / max((x1 - x0) * (y1 - y0), 1e-6)
    inv_quarter = 1.0 / max(0.25 * (x1 - x0) * (y1 - y0), 1e-6)
    change, energy, grey_change, grey_energy = 0.0, 0.0, 0.0, 0.0
    for c in range(c3):
        moved = b[c, 2, 2] - b[c, 2, 0] - b[c, 0, 2] + b[c, 0, 0]
        still = a[c, 2, 2] - a[c, 2, 0] - a[c, 0, 2] + a[c, 0, 0]
        if c < diffs.shape[0]:
            diffs[c, gy, gx] = (moved - still) * inv_area
        if c >= 3 and grey_floor <= 0.0:
            continue
        # the mean of the quadrants is a quarter of the box's sum
        am, bm = 0.25 * still, 0.25 * moved
        for q in range(4):
            i, j = q % 2, q // 2
            da = ((a[c, j + 1, i + 1] - a[c, j + 1, i] - a[c, j, i + 1] + a[c, j, i]) - am
                  ) * inv_quarter
            db = ((b[c, j + 1, i + 1] - b[c, j + 1, i] - b[c, j, i + 1] + b[c, j, i]) - bm
                  ) * inv_quarter
            if c < 3:
                change += (db - da) * (db - da)
                energy += da * da + db * db
            else:
                grey_change += (db - da) * (db - da)
                grey_energy += da * da + db * db
    return _mismatch(change, energy, grey_change, grey_energy, floor, grey_floor, share)


@numba.njit(**_NJ, inline="always")
def _mismatch(change, energy, grey_change, grey_energy, floor, grey_floor, share):
    """A box's structure mismatch from its colours' and its grey's squared changes and
    energies: ``share`` times the colours' plus the grey's if ``grey_floor`` is above 0."""
    m = share * (change / (energy + floor))
    if grey_floor > 0.0:
        m += grey_change / (grey_energy + grey_floor)
    return m


@numba.njit(**_NJ, inline="always")
def _axis_taps(n, v0, v1, v2, shift, taps):
    """``taps[k]``: the lower and upper pixel and the fraction of :func:`corners` along one
    axis of ``n`` pixels at ``v_k + shift``."""
    for k in range(3):
        v = min(max((v0, v1, v2)[k] + shift, 0.0), n - 1.0)
        lo = min(int(v), max(n - 2, 0))
        taps[k, 0], taps[k, 1], taps[k, 2] = lo, min(lo + 1, n - 1), v - lo


@numba.njit(**_NJ, inline="always")
def _grid_samples(table, xt, yt, lerps, out):
    """``out[c, j, i]`` = ``table[c]`` bilinear at the row ``yt[j]`` and column ``xt[i]`` of
    :func:`_axis_taps` (as :func:`_table_at`). ``lerps`` ``(6, 3)``: scratch for the pixel rows'
    interpolations along x, each made once where a corner's lower row is the next one's upper
    row."""
    lefts = (int(xt[0, 0]), int(xt[1, 0]), int(xt[2, 0]))
    rights = (int(xt[0, 1]), int(xt[1, 1]), int(xt[2, 1]))
    rows = (int(yt[0, 0]), int(yt[0, 1]), int(yt[1, 0]), int(yt[1, 1]), int(yt[2, 0]),
            int(yt[2, 1]))
    for c in range(table.shape[0]):
        for k in range(6):
            for i in range(3):
                if k > 0 and rows[k] == rows[k - 1]:
                    lerps[k, i] = lerps[k - 1, i]
                else:
                    fx = xt[i, 2]
                    lerps[k, i] = ((1 - fx) * table[c, rows[k], lefts[i]]
                                   + fx * table[c, rows[k], rights[i]])
        for j in range(3):
            fy = yt[j, 2]
            for i in range(3):
                out[c, j, i] = (1 - fy) * lerps[2 * j, i] + fy * lerps[2 * j + 1, i]


@numba.njit(**_NJ, inline="always")
def _table_at(table, c, x, y):
    """``table[c]`` at ``(x, y)``, bilinear, border clamped."""
    top_left, bottom_right, fx, fy = corners(table.shape[1], table.shape[2], x, y)
    return sample_planar(table, c, top_left, bottom_right, fx, fy)


@numba.njit(**_NJ, inline="always")
def _bilinear(image, px, py, channels, out):
    """``out[:channels]`` = ``image`` ``(C, h, w)`` at ``(px, py)``, bilinear, border clamped."""
    top_left, bottom_right, fx, fy = corners(image.shape[1], image.shape[2], px, py)
    for c in range(channels):
        out[c] = sample_planar(image, c, top_left, bottom_right, fx, fy)


def apply_raw(raw: np.ndarray, scale: float, gain: np.ndarray, offset: np.ndarray
              ) -> np.ndarray:
    """:func:`.correction.apply_fields` on decoded pixels, quantised as the writer quantises.

    ``raw`` ``(H, W, 3)`` uint8/uint16 on ``scale`` (255 or 65535); ``gain`` and ``offset``
    ``(3, gh, gw)`` float32 (strength already applied) are upsampled bilinearly as OpenCV's
    ``INTER_LINEAR`` and torch's ``align_corners=False`` sample (:func:`_linear_taps`) inside
    the loop, so no full-size float array is made. Returns ``(H, W, 3)`` of ``raw``'s dtype:
    ``gain * raw / scale + offset`` clamped to [0, 1], times ``scale``, rounded half to even
    (``framemend.video.writer.rgb_array``).
    """
    h, w, _ = raw.shape
    levels = np.iinfo(raw.dtype).max
    # raw / scale as a table: the same float32 division as Frame.float_image, once per level
    values = np.arange(levels + 1, dtype=np.float32) / np.float32(scale)
    out = frame_array((h, w, 3), raw.dtype)
    _apply(raw, values, np.ascontiguousarray(gain, np.float32),
           np.ascontiguousarray(offset, np.float32), *_linear_taps(h, gain.shape[1]),
           *_linear_taps(w, gain.shape[2]), np.float32(scale), out)
    return out


def _linear_taps(size: int, grid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of ``size`` output positions, the two grid samples ``(i0, i1)`` and the weight
    of ``i1`` of a bilinear upsample from ``grid`` samples: centres aligned, clamped at the
    edges (OpenCV ``INTER_LINEAR``, torch ``align_corners=False``)."""
    pos = (np.arange(size) + 0.5) * (grid / size) - 0.5
    i0 = np.floor(pos).astype(np.int64)
    frac = (pos - i0).astype(np.float32)
    low, high = i0 < 0, i0 >= grid - 1
    frac[low | high] = 0.0
    i0 = np.clip(i0, 0, grid - 1)
    return i0, np.minimum(i0 + 1, grid - 1), frac


@numba.njit(**_NJ)
def _apply(raw, values, gain, offset, y0s, y1s, fys, x0s, x1s, fxs, scale, out):
    """``out = rint(clamp(gain * values[raw] + offset, 0, 1) * scale)`` per pixel and channel,
    the fields ``(3, gh, gw)`` sampled at the pixel from the taps of :func:`_linear_taps`: the
    four corners' weights ``(1 - fy) (1 - fx)``... each rounded, then the weighted sum. The
    fields' samples left and right of each pixel column are gathered once per grid row
    (``(gh, W * 3)``), and a pixel row's values and weights made first, so the loop over the
    row's ``W * 3`` values reads everything in order."""
    h, w, _ = raw.shape
    gh, n = gain.shape[1], 3 * w
    one, zero = np.float32(1), np.float32(0)
    fields = np.empty((4, gh, n), np.float32)  # gain left, gain right, offset left, right
    fx = np.empty(n, np.float32)
    for x in range(w):
        for c in range(3):
            fx[3 * x + c] = fxs[x]
            for gy in range(gh):
                fields[0, gy, 3 * x + c] = gain[c, gy, x0s[x]]
                fields[1, gy, 3 * x + c] = gain[c, gy, x1s[x]]
                fields[2, gy, 3 * x + c] = offset[c, gy, x0s[x]]
                fields[3, gy, 3 * x + c] = offset[c, gy, x1s[x]]
    pixels, flat = raw.reshape(h, n), out.reshape(h, n)
    row = np.empty(n, np.float32)
    for y in range(h):
        y0, y1, fy = y0s[y], y1s[y], fys[y]
        for i in range(n):
            row[i] = values[pixels[y, i]]
        for i in range(n):
            w00, w01, w10, w11 = _corner_weights(fy, fx[i])
            g = (w00 * fields[0, y0, i] + w01 * fields[1, y0, i]
                 + w10 * fields[0, y1, i] + w11 * fields[1, y1, i])
            o = (w00 * fields[2, y0, i] + w01 * fields[3, y0, i]
                 + w10 * fields[2, y1, i] + w11 * fields[3, y1, i])
            v = min(max(g * row[i] + o, zero), one)
            flat[y, i] = np.rint(v * scale)


# no fastmath: each weight the float32 product of its two factors (fastmath could regroup
# them with the fields' samples)
@numba.njit(cache=True, nogil=True)
def _corner_weights(fy, fx):
    """The bilinear weights of the top-left, top-right, bottom-left and bottom-right samples at
    row and column fractions ``fy``, ``fx``."""
    one = np.float32(1)
    return (one - fy) * (one - fx), (one - fy) * fx, fy * (one - fx), fy * fx
