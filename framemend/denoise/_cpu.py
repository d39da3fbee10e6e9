"""The CPU path of ``denoise``: :class:`CpuTrack`, the recursion and the spatial stage of
:class:`framemend.denoise.track.TorchTrack` (the reference) in numba and OpenCV.

Same arithmetic, arranged for a CPU (timings per 640x360 frame on one thread here):

* the state is one ``(H, W, 4)`` float32 array, the estimate in the opponent basis of
  :mod:`.spatial` and its variance last, so the prediction samples four interleaved
  channels at once (OpenCV's ``remap`` arithmetic, a row at a time inside the update:
  :mod:`framemend.kernels.relative_remap`; a numba loop gathering from planar arrays took
  5.7 ms). The
  update's gain is shared by the channels and its residual power is measured in the opponent
  basis (one noise variance per opponent channel), so the recursion gives the same estimate in
  either basis, and the spatial stage starts from the opponent channels;
* frames come in as decoded 8/16-bit pixels (split into planes) or float planes, and go out
  as pixels of the same kind; each update also writes the new estimate's 8-bit luma, which
  the next frame's DIS flow reads;
* the update and the spatial stage each make one pass down the rows, their 3x3 and 5x5
  window sums kept in rings of a few planar rows, so the work stays in cache and the loops
  over a row vectorise (float32 throughout, no division checks); interleaved data is only
  taken apart and put back together at the ends of a row;
* the output goes through the declip table by nearest lookup on a fine grid;
* the kernels are built with fast-math but no reciprocal or function estimates
  (:mod:`framemend.kernels.fastmath`), so a loop's vector and scalar copies (LLVM picks one at
  run time by the arrays' addresses) round alike: with ``fastmath=True`` the output depended
  on where the allocator put the arrays;
* scratch arrays are kept from frame to frame, and a dropped track's state serves a later
  step (fresh arrays cost page faults: several ms per frame on this machine).
"""
from __future__ import annotations

import functools
import math
import threading

import cv2
import numba
import numpy as np

from framemend._torch import torch
from framemend.flow.estimate import motion_luma_flow
from framemend.kernels.buffers import frame_array
from framemend.kernels.colour import LUMA
from framemend.kernels.fastmath import NO_ESTIMATES
from framemend.kernels.pools import RowShare, in_halves
from framemend.kernels.relative_remap import gather4, relative_taps

from .recursive import FINEST_SIDE, FRESH, LAG_GATE, SOFT, light_shift, turned_shift
from .spatial import RADII, WIDE_CHROMA

assert RADII == (1, 2, 2) and WIDE_CHROMA == 4, "_wiener_rgb is written for these windows"

_S2, _S3, _S6 = math.sqrt(2), math.sqrt(3), math.sqrt(6)
# float32 constants: a float64 operand anywhere in a loop keeps LLVM from vectorising it
_F = np.float32
_ZERO, _ONE, _TINY = _F(0), _F(1), _F(1e-12)
# the unit of the update's sums for the light's shift: 1/65536 of the [0, 1] range (a row of
# 3840 pixels sums to under 2**31)
_SUM_UNIT = 65536
_R3, _R2, _R6 = _F(1 / _S3), _F(1 / _S2), _F(1 / _S6)
# BT.601 luma of an opponent pixel: the LUMA weights of r, g, b written in (o0, o1, o2)
_KR, _KG, _KB = (_F(k) for k in LUMA)
_Y0, _Y1, _Y2 = _F(1 / _S3), _F((_KR - _KB) / _S2), _F((_KR - 2 * _KG + _KB) / _S6)


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _opponent(r, g, b):
    return (r + g + b) * _R3, (r - b) * _R2, (r - g - g + b) * _R6


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _pixel(rgb, scale, b1, b2, y, x):
    """The channels of pixel ``(y, x)`` of planar ``rgb`` ``(3, H, W)`` (float or integer)
    times ``scale`` in the opponent basis, its luma sheared by ``b1``, ``b2``
    (:func:`.spatial.sheared_basis`)."""
    s = _F(scale)
    o0, o1, o2 = _opponent(s * _F(rgb[0, y, x]), s * _F(rgb[1, y, x]), s * _F(rgb[2, y, x]))
    return o0 - b1 * o1 - b2 * o2, o1, o2


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _to_u8(v):
    return np.uint8(min(max(v, _ZERO), _ONE) * _F(255) + _F(0.5))


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _luma(rgb, scale, luma):
    """``rgb`` ``(3, H, W)`` times ``scale`` -> BT.601 8-bit ``luma`` ``(H, W)``."""
    _, h, w = rgb.shape
    s = _F(scale)
    for y in range(h):
        for x in range(w):
            luma[y, x] = _to_u8(s * (_KR * _F(rgb[0, y, x]) + _KG * _F(rgb[1, y, x])
                                     + _KB * _F(rgb[2, y, x])))


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _start(rgb, scale, shear, state):
    """A fresh state from ``rgb`` ``(3, H, W)`` times ``scale``: its channels in the opponent
    basis sheared by ``shear`` ``(2,)``, variance 1."""
    _, h, w = rgb.shape
    b1, b2 = _F(shear[0]), _F(shear[1])
    for y in range(h):
        for x in range(w):
            o0, o1, o2 = _pixel(rgb, scale, b1, b2, y, x)
            state[y, x, 0], state[y, x, 1], state[y, x, 2], state[y, x, 3] = o0, o1, o2, _ONE


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _inv_axis(n, radius):
    """``(n,)`` 1 / (number of in-frame positions of each ``2r+1`` window along an axis)."""
    out = np.empty(n, np.float32)
    for i in range(n):
        out[i] = _ONE / _F(min(i + radius, n - 1) - max(i - radius, 0) + 1)
    return out


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _sharpen_row(up, mid, down, flow_x, flow_y, shift, out, wx, wy):
    """Row ``out`` ``(4, W)`` of the prediction sharpened as in
    :func:`.recursive.sharpen_reference` and moved by the light's ``shift`` ``(3,)``
    (:func:`.recursive.light_shift`): ``mid`` and the rows ``up`` and ``down`` around it
    (planar ``(4, W)``, edge rows repeated), the fractions of ``flow_x``, ``flow_y`` ``(W,)``;
    the variance (channel 3) as it is. ``wx``, ``wy``: ``(W,)`` scratch for the weights (the
    caller's: two arrays made per row cost 0.04-0.07 ms of the update's 1.3 per 640x360
    frame)."""
    w = mid.shape[1]
    half, two = _F(0.5), _F(2)
    for x in range(w):
        tx = flow_x[x] - np.floor(flow_x[x])
        ty = flow_y[x] - np.floor(flow_y[x])
        wx[x], wy[x] = half * tx * (_ONE - tx), half * ty * (_ONE - ty)
    for c in range(3):
        m, o, d = mid[c], out[c], shift[c]
        for x in range(w):
            o[x] = m[x] + d - wy[x] * (up[c, x] - two * m[x] + down[c, x])
        for x in range(1, w - 1):
            o[x] -= wx[x] * (m[x - 1] - two * m[x] + m[x + 1])
        if w > 1:
            o[0] -= wx[0] * (m[1] - m[0])
            o[w - 1] -= wx[w - 1] * (m[w - 2] - m[w - 1])
    for x in range(w):
        out[3, x] = mid[3, x]


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _predict_update(previous, state, first, end, rgb, scale, flow, inv_noise_var, min_gain,
                    soft, fresh, shear, shift, gate, sums, luma):
    """The prediction and the Kalman-like update of :func:`.recursive.recursive_step_reference`:
    rows ``first`` to ``end - 1`` of the new ``state`` ``(H, W, 4)`` and of the new estimate's
    8-bit ``luma`` from the ``previous`` state (both C-contiguous), in one pass down the rows.
    Each row of the bilinear prediction is sampled from ``previous`` along ``flow`` ``(H, W,
    2)`` (x and y interleaved as DIS gives it) as ``cv2.remap`` samples it
    (:mod:`framemend.kernels.relative_remap`: the same bits, without the whole prediction
    written and read back; with ``cv2.remap`` beforehand a 640x360 step took 0.5 ms more
    CPU), taken apart into planar
    rows (a ring of three), sharpened and moved by ``shift`` ``(3,)`` (:func:`_sharpen_row`,
    once the row below is in: another ring of three) and its residual power (mean square over
    the channels of frame minus prediction) summed along the row into a ring of three, so the
    3x3 in-frame mean of a row
    is ready once the row below has been sharpened, and the loops over a row vectorise. The
    flow's rows are taken apart into planar rows as they enter (a ring of three). A band reads
    the prediction two rows beyond itself, which it samples itself, so the bands of a frame
    can run at once on different threads (:func:`_predict_update_bands`). Pixels whose source
    ``p + flow`` left the frame start afresh. ``rgb`` ``(3, H, W)`` times ``scale``;
    ``inv_noise_var`` ``(3,)`` 1 / σ² of each channel of the opponent basis sheared by
    ``shear`` ``(2,)`` (the state's basis). Each row ``y`` writes ``sums[y]`` ``(7,)`` int32, the
    sums :func:`.recursive.light_shift` takes over the row's pixels whose gain is under
    ``gate``: of the new estimate minus the frame (3) and of the residual (frame minus
    prediction, 3), in units of ``1 / _SUM_UNIT`` (integers: the sums do not depend on the
    order LLVM's vector and scalar copies of the loop add them in, see
    :mod:`framemend.kernels.fastmath`), and their count (in the update's loop: a kernel of
    their own cost 1 ms per 640x360 frame)."""
    _, h, w = rgb.shape
    xmax, ymax = _F(w - 1), _F(h - 1)
    floor, so, fr, g, unit = _F(min_gain), _F(soft), _F(fresh), _F(gate), _F(_SUM_UNIT)
    b1, b2 = _F(shear[0]), _F(shear[1])
    y1, y2 = _Y1 + _Y0 * b1, _Y2 + _Y0 * b2  # the luma's weights of the sheared channels
    third = _F(1 / 3)  # the residual power is the mean over the channels
    i0, i1, i2 = inv_noise_var[0] * third, inv_noise_var[1] * third, inv_noise_var[2] * third
    inv_y, inv_x = _inv_axis(h, 1), _inv_axis(w, 1)
    predicted = np.empty((w, 4), np.float32)  # a row of the bilinear prediction
    taps = np.empty((4, w), np.int32)  # its taps in previous (relative_taps)
    fractions = np.empty((2, w), np.float32)
    raw = np.empty((3, 4, w), np.float32)  # the bilinear prediction's rows, planar
    rows = np.empty((3, 4, w), np.float32)  # the sharpened prediction's rows
    power = np.zeros((3, w), np.float32)  # row sums of the residual power
    padded = np.zeros(w + 2, np.float32)
    new = np.empty((4, w), np.float32)
    bright = np.empty(w, np.float32)  # the new estimate's luma
    weights = np.empty((2, w), np.float32)  # the sharpening's, per row
    motion = np.empty((3, 2, w), np.float32)  # the flow's rows (x, y), planar
    # row y0 enters, y0 - 1 is sharpened, y0 - 2 is updated
    for y0 in range(max(first - 2, 0), end + 2):
        if y0 < h:
            flow_x, flow_y, pairs = motion[y0 % 3, 0], motion[y0 % 3, 1], flow[y0]
            for x in range(w):  # a loop per plane: 0.06 ms less than both in one
                flow_x[x] = pairs[x, 0]
            for x in range(w):
                flow_y[x] = pairs[x, 1]
            relative_taps(flow_x, flow_y, y0, h, w, taps, fractions)
            gather4(previous, taps, fractions, predicted)
            row = raw[y0 % 3]
            for x in range(w):
                row[0, x], row[1, x] = predicted[x, 0], predicted[x, 1]
                row[2, x], row[3, x] = predicted[x, 2], predicted[x, 3]
        ys = y0 - 1
        if max(first - 1, 0) <= ys < h:
            row = rows[ys % 3]
            _sharpen_row(raw[max(ys - 1, 0) % 3], raw[ys % 3], raw[min(ys + 1, h - 1) % 3],
                         motion[ys % 3, 0], motion[ys % 3, 1], shift, row, weights[0],
                         weights[1])
            for x in range(w):
                o0, o1, o2 = _pixel(rgb, scale, b1, b2, ys, x)
                r0, r1, r2 = o0 - row[0, x], o1 - row[1, x], o2 - row[2, x]
                padded[x + 1] = r0 * r0 * i0 + r1 * r1 * i1 + r2 * r2 * i2
            for x in range(w):
                power[ys % 3, x] = padded[x] + padded[x + 1] + padded[x + 2]
        elif ys == h:
            power[ys % 3] = _ZERO
        y = y0 - 2
        if y < first:
            continue
        row = rows[y % 3]
        above, here, below = power[(y - 1) % 3], power[y % 3], power[(y + 1) % 3]
        scale_y = inv_y[y]
        flow_x, flow_y = motion[y % 3, 0], motion[y % 3, 1]
        for x in range(w):
            px = _F(x) + flow_x[x]
            py = _F(y) + flow_y[x]
            outside = (px < _ZERO) | (py < _ZERO) | (px > xmax) | (py > ymax)
            new[3, x] = fr if outside else _ZERO
        l0 = l1 = l2 = q0 = q1 = q2 = count = np.int32(0)
        for x in range(w):
            mean_power = (above[x] + here[x] + below[x]) * inv_x[x] * scale_y
            pv = row[3, x]
            pv = pv + so * max(mean_power - _ONE - pv, _ZERO)
            pv = new[3, x] if new[3, x] > _ZERO else pv
            k = max(pv / (pv + _ONE), floor)
            o0, o1, o2 = _pixel(rgb, scale, b1, b2, y, x)
            e0 = row[0, x] + k * (o0 - row[0, x])
            e1 = row[1, x] + k * (o1 - row[1, x])
            e2 = row[2, x] + k * (o2 - row[2, x])
            new[0, x], new[1, x], new[2, x], new[3, x] = e0, e1, e2, k
            bright[x] = _Y0 * e0 + y1 * e1 + y2 * e2
            held = unit if k < g else _ZERO
            l0 += np.int32(held * (e0 - o0))
            l1 += np.int32(held * (e1 - o1))
            l2 += np.int32(held * (e2 - o2))
            q0 += np.int32(held * (o0 - row[0, x]))
            q1 += np.int32(held * (o1 - row[1, x]))
            q2 += np.int32(held * (o2 - row[2, x]))
            count += np.int32(1 if k < g else 0)
        sums[y, 0], sums[y, 1], sums[y, 2] = l0, l1, l2
        sums[y, 3], sums[y, 4], sums[y, 5], sums[y, 6] = q0, q1, q2, count
        # the 8-bit luma in a loop of its own: in the loop above the update took 2.3 instead
        # of 1.3 ms per 640x360 frame where its luma array was the one the frame's luma had been
        # made in (a step on float input)
        for x in range(w):
            luma[y, x] = _to_u8(bright[x])
        for x in range(w):
            state[y, x, 0], state[y, x, 1] = new[0, x], new[1, x]
            state[y, x, 2], state[y, x, 3] = new[2, x], new[3, x]


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _index(table, v):
    """The index in ``table`` of the grid point of [0, 1] nearest to ``v`` (clamped)."""
    return np.int32(min(max(v, _ZERO), _ONE) * _F(table.shape[0] - 1) + _F(0.5))


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _lookup(table, v):
    """``table`` at the grid point of [0, 1] nearest to ``v`` (clamped)."""
    return table[_index(table, v)]


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy", inline="always")
def _row_sums(padded, ring, row, w, rc):
    """Horizontal window sums of the channels of ``ring`` (six or eight) in ``padded`` (six
    channels) by ``rc`` into ``ring[row]``: channels 0-1 (luma) over 3 pixels, the others over
    ``2 rc + 1`` (``rc`` 2 or 4): 2-5 (chroma) those of ``padded``, 6-7 (the luma's coarse
    band) those of its channels 0-1 again (the sums written out, which vectorise; a loop over
    the window's taps took 1.8 ms more per 720x480 frame)."""
    for c in range(2):
        for x in range(w):
            ring[row, c, x] = padded[c, x + rc - 1] + padded[c, x + rc] + padded[c, x + rc + 1]
    for c in range(2, ring.shape[1]):
        p = c - 6 if c >= 6 else c
        if rc == 2:
            for x in range(w):
                ring[row, c, x] = (padded[p, x] + padded[p, x + 1] + padded[p, x + 2]
                                   + padded[p, x + 3] + padded[p, x + 4])
        else:
            for x in range(w):
                ring[row, c, x] = (padded[p, x] + padded[p, x + 1] + padded[p, x + 2]
                                   + padded[p, x + 3] + padded[p, x + 4] + padded[p, x + 5]
                                   + padded[p, x + 6] + padded[p, x + 7] + padded[p, x + 8])


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy", inline="always")
def _column_sums(ring, y, sums, w, rc):
    """Vertical sums at row ``y`` of the rows in ``ring`` (``2 rc + 1`` of them, ``rc`` 2 or 4;
    rows outside the frame are zero): channels 0-1 over rows y-1..y+1, the others (those of
    ``ring``) over y-rc..y+rc, into ``sums`` ``(8, W)``."""
    n = ring.shape[0]
    r0, r1, r2 = (y - 4) % n, (y - 3) % n, (y - 2) % n  # rows y-4..y+4 (those of the ring)
    r3, r4, r5 = (y - 1) % n, y % n, (y + 1) % n
    r6, r7, r8 = (y + 2) % n, (y + 3) % n, (y + 4) % n
    for c in range(2):
        for x in range(w):
            sums[c, x] = ring[r3, c, x] + ring[r4, c, x] + ring[r5, c, x]
    for c in range(2, ring.shape[1]):
        if rc == 2:
            for x in range(w):
                sums[c, x] = (ring[r2, c, x] + ring[r3, c, x] + ring[r4, c, x]
                              + ring[r5, c, x] + ring[r6, c, x])
        else:
            for x in range(w):
                sums[c, x] = (ring[r0, c, x] + ring[r1, c, x] + ring[r2, c, x]
                              + ring[r3, c, x] + ring[r4, c, x] + ring[r5, c, x]
                              + ring[r6, c, x] + ring[r7, c, x] + ring[r8, c, x])


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy", inline="always")
def _wiener_rgb(state, scale, shear, rc, table, out, first, end):
    """:func:`.spatial.local_wiener_reference` on the state (luma window 3x3, chroma
    ``(2 rc + 1)²``, also the luma's coarse band; noise variance of each channel ``scale[c]``
    (``(4,)``, the last the coarse band's) times the state's;
    channels of the opponent basis sheared by ``shear`` ``(2,)``), back to RGB ``out``
    ``(H, W, 3)`` through the output ``table`` (its rows ``first`` to ``end - 1``: a band,
    which reads the state ``2 rc`` rows beyond it), in one pass down the rows: each row's channels,
    window sums, Wiener coefficients ``a, b`` and their window sums go through rings of
    ``2 rc + 1`` planar rows, so the work stays in cache and the loops over a row vectorise
    (separable box sums with in-frame counts per axis; only the deinterleaving and the table
    lookups are scalar: the table indices are found with the RGB values, in the vectorised
    loop, and a loop of their own gathers the entries, 0.25 ms less per 640x360 frame than
    both in one scalar loop). Inlined into :func:`_wiener_rgb_narrow` and
    :func:`_wiener_rgb_wide`, where ``rc`` is a constant: with it a variable, the window
    offsets kept the loops from vectorising (1.5 ms more per 720x480 frame)."""
    h, w, _ = state.shape
    n = 2 * rc + 1  # rows of window sums kept in flight: the chroma window's height
    inv_ly, inv_lx, inv_cy, inv_cx = _inv_axis(h, 1), _inv_axis(w, 1), _inv_axis(h, rc), \
        _inv_axis(w, rc)
    rows = np.empty((n, 4, w), np.float32)  # the state's rows, planar
    window = np.zeros((n, 8, w), np.float32)  # of (o0, o0², o1, o2, o1², o2², o0, o0²)
    coefficients = np.zeros((n, 6, w), np.float32)  # of (a0, b0, a1, a2, b1, b2)
    padded = np.zeros((6, w + 2 * rc), np.float32)
    sums = np.empty((8, w), np.float32)
    index = np.empty((3, w), np.int32)  # the output's table indices
    kl, kc = np.empty(w, np.float32), np.empty(w, np.float32)
    sc0, sc1, sc2, sc3 = _F(scale[0]), _F(scale[1]), _F(scale[2]), _F(scale[3])
    b1, b2 = _F(shear[0]), _F(shear[1])
    # row y0 enters, y0 - rc gets coefficients, y0 - 2 rc is output
    for y0 in range(max(first - 2 * rc, 0), min(end, h) + 2 * rc):
        if y0 < h:
            row = rows[y0 % n]
            for x in range(w):
                row[0, x], row[1, x] = state[y0, x, 0], state[y0, x, 1]
                row[2, x], row[3, x] = state[y0, x, 2], state[y0, x, 3]
            for x in range(w):
                o0, o1, o2 = row[0, x], row[1, x], row[2, x]
                padded[0, x + rc], padded[1, x + rc] = o0, o0 * o0
                padded[2, x + rc], padded[3, x + rc] = o1, o2
                padded[4, x + rc], padded[5, x + rc] = o1 * o1, o2 * o2
            _row_sums(padded, window, y0 % n, w, rc)
        else:
            window[y0 % n] = _ZERO
        y = y0 - rc
        if max(first - rc, 0) <= y < h:
            _column_sums(window, y, sums, w, rc)
            row = rows[y % n]
            for x in range(w):
                kl[x], kc[x] = inv_ly[y] * inv_lx[x], inv_cy[y] * inv_cx[x]
            for x in range(w):
                v = row[3, x]
                m0, m1, m2 = sums[0, x] * kl[x], sums[2, x] * kc[x], sums[3, x] * kc[x]
                s0 = max(sums[1, x] * kl[x] - m0 * m0, _TINY)
                s1 = max(sums[4, x] * kc[x] - m1 * m1, _TINY)
                s2 = max(sums[5, x] * kc[x] - m2 * m2, _TINY)
                a0, a1, a2 = max(s0 - sc0 * v, _ZERO) / s0, max(s1 - sc1 * v, _ZERO) / s1, \
                    max(s2 - sc2 * v, _ZERO) / s2
                # the luma's coarse band: its mean pulled toward the wide window's
                wide = sums[6, x] * kc[x]
                coarse = max(max(sums[7, x] * kc[x] - wide * wide, _TINY) - sc0 * v, _TINY)
                m0 = wide + max(coarse - sc3 * v, _ZERO) / coarse * (m0 - wide)
                padded[0, x + rc], padded[1, x + rc] = a0, (_ONE - a0) * m0
                padded[2, x + rc], padded[3, x + rc] = a1, a2
                padded[4, x + rc], padded[5, x + rc] = (_ONE - a1) * m1, (_ONE - a2) * m2
            _row_sums(padded, coefficients, y % n, w, rc)
        elif y >= h:
            coefficients[y % n] = _ZERO
        y = y0 - 2 * rc
        if y >= first:
            _column_sums(coefficients, y, sums, w, rc)
            row = rows[y % n]
            for x in range(w):
                kl[x], kc[x] = inv_ly[y] * inv_lx[x], inv_cy[y] * inv_cx[x]
            for x in range(w):
                c1 = kc[x] * (sums[2, x] * row[1, x] + sums[4, x])
                c2 = kc[x] * (sums[3, x] * row[2, x] + sums[5, x])
                o0 = (kl[x] * (sums[0, x] * row[0, x] + sums[1, x]) + b1 * c1 + b2 * c2) * _R3
                o1, o2 = c1 * _R2, c2 * _R6
                index[0, x] = _index(table, o0 + o1 + o2)
                index[1, x] = _index(table, o0 - _F(2) * o2)
                index[2, x] = _index(table, o0 - o1 + o2)
            for x in range(w):
                out[y, x, 0] = table[index[0, x]]
                out[y, x, 1] = table[index[1, x]]
                out[y, x, 2] = table[index[2, x]]


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _wiener_rgb_narrow(state, scale, shear, table, out, first, end):
    """:func:`_wiener_rgb` with the chroma radius of :data:`.spatial.RADII` (2)."""
    _wiener_rgb(state, scale, shear, 2, table, out, first, end)


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _wiener_rgb_wide(state, scale, shear, table, out, first, end):
    """:func:`_wiener_rgb` with the chroma radius :data:`.spatial.WIDE_CHROMA` (4)."""
    _wiener_rgb(state, scale, shear, 4, table, out, first, end)


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy")
def _state_rgb(state, shear, table, out):
    """The estimate itself (channels of the opponent basis sheared by ``shear`` ``(2,)``) back to
    RGB ``out`` ``(H, W, 3)`` through the output ``table``."""
    h, w, _ = state.shape
    b1, b2 = _F(shear[0]), _F(shear[1])
    for y in range(h):
        for x in range(w):
            c1, c2 = state[y, x, 1], state[y, x, 2]
            o0, o1, o2 = (state[y, x, 0] + b1 * c1 + b2 * c2) * _R3, c1 * _R2, c2 * _R6
            out[y, x, 0] = _lookup(table, o0 + o1 + o2)
            out[y, x, 1] = _lookup(table, o0 - _F(2) * o2)
            out[y, x, 2] = _lookup(table, o0 - o1 + o2)


_workspace = threading.local()


def _buffer(name: str, shape: tuple, dtype=np.float32) -> np.ndarray:
    """This thread's scratch array ``name``: a temporary of one call, kept for the next frame
    (fresh arrays of this size cost a page fault per 4 KiB, ~5 ms per 640x360 frame here). One
    shape per name, so a change of frame size frees the old ones."""
    buffers = _workspace.__dict__.setdefault("buffers", {})
    if name not in buffers or buffers[name].shape != shape or buffers[name].dtype != dtype:
        buffers[name] = np.empty(shape, dtype)
    return buffers[name]


_SLAB_BYTES = 1 << 22  # numpy asks the kernel for huge pages for arrays of 4 MiB and more


def _output_array(shape: tuple, dtype) -> np.ndarray:
    """A new ``shape`` array of ``dtype`` for an output frame, handed to the caller to keep.
    Frames under 4 MiB are views of a block of as many as reach 4 MiB, made by this thread and
    handed out in turn (kept whole while any of its frames is): numpy advises huge pages for the
    block, and its memory stays in the heap from one clip to the next. Frames of their own cost
    a page fault per 4 KiB when the heap had given the memory back: 4,492 faults per 24-frame
    run at 640x360 in the denoise bench, 71-457 this way, ~0.4 ms of system CPU per frame."""
    count = -(-_SLAB_BYTES // (math.prod(shape) * np.dtype(dtype).itemsize))
    if count == 1:
        return np.empty(shape, dtype)
    slab, used = getattr(_workspace, "slab", (None, 0))
    if slab is None or used == len(slab) or slab.shape[1:] != shape or slab.dtype != dtype:
        slab, used = np.empty((count, *shape), dtype), 0
    _workspace.slab = slab, used + 1
    return slab[used]


_HALVED_ROWS = 64  # frames of fewer rows make their output in one band (:meth:`CpuTrack.output`)
_STEP_BANDS = 4  # bands of a step's update shared with the thread waiting for it (CpuTrack.step)


_OUTPUT_GRID = 16385  # nearest lookup on this grid: within 3e-5 (1/130 of an 8-bit level)


def _output_table(table: np.ndarray | None, levels: float | None) -> np.ndarray:
    """The declip ``table`` ``(N,)`` float32 (identity if None) resampled to a fine grid of
    [0, 1] for nearest lookup: one branch-free gather per value, which measured 2.5x cheaper
    than interpolating between the table's own points only where they differ from the
    identity. With ``levels`` (255, 65535) the values are rounded to integer pixel levels, for
    integer output. Made once per table (cached by its bytes)."""
    return _resampled_table(None if table is None else table.tobytes(), levels)


@functools.lru_cache(maxsize=8)
def _resampled_table(table: bytes | None, levels: float | None) -> np.ndarray:
    """:func:`_output_table` of the float32 table's bytes."""
    grid = np.linspace(0.0, 1.0, _OUTPUT_GRID)
    values = grid if table is None else np.interp(
        grid, np.linspace(0.0, 1.0, len(table) // 4),
        np.frombuffer(table, np.float32).astype(np.float64))
    if levels is None:
        return values.astype(np.float32)
    return np.round(values * levels).astype(np.uint16 if levels > 255 else np.uint8)


def _planes(pixels: torch.Tensor | np.ndarray) -> tuple[np.ndarray, float]:
    """A frame as planes ``(3, H, W)`` for the kernels and the factor that takes its values to
    [0, 1]: a float tensor as it is, integer ``(H, W, 3)`` pixels (full range of their type)
    split into this thread's buffer (interleaved 8-bit loads kept the loops from vectorising:
    the luma took 0.8 ms instead of 0.1; the split costs 0.2)."""
    if not isinstance(pixels, np.ndarray):
        return np.ascontiguousarray(pixels.numpy(), np.float32), 1.0
    planes = _buffer("planes", (3, *pixels.shape[:2]), pixels.dtype)
    cv2.split(pixels, list(planes))
    return planes, 1.0 / np.iinfo(pixels.dtype).max


def _shear(shear: np.ndarray | None) -> np.ndarray:
    """``(2,)`` float32: the luma's shear of :func:`.spatial.sheared_basis`, zero for None."""
    return np.zeros(2, np.float32) if shear is None else np.asarray(shear, np.float32)


class CpuFrame:
    """A decoded frame as :meth:`CpuTrack.step` reads it, made before its step is queued, on
    another thread than the recursion's: the steps are a chain (the next frame's flow reads
    this one's estimate) that sets the filter's pace, and the frame's planes and 8-bit luma
    were 0.2 ms of each 4.0-4.3 ms step at 640x360, while the filter's thread waited for the
    step. ``rgb`` ``(3, H, W)`` planes of the pixels, ``scale`` the factor that takes them to
    [0, 1], ``luma`` ``(H, W)`` uint8; :meth:`fill` writes the next frame into the same
    arrays."""

    def __init__(self):
        self.rgb: np.ndarray | None = None
        self.luma: np.ndarray | None = None
        self.scale = 1.0

    def fill(self, pixels: np.ndarray) -> CpuFrame:
        """``pixels`` ``(H, W, 3)`` uint8/uint16 (full range of their type), split into planes
        and their luma made."""
        shape = (3, *pixels.shape[:2])
        if self.rgb is None or self.rgb.shape != shape or self.rgb.dtype != pixels.dtype:
            self.rgb, self.luma = np.empty(shape, pixels.dtype), np.empty(shape[1:], np.uint8)
        cv2.split(pixels, list(self.rgb))
        self.scale = 1.0 / np.iinfo(pixels.dtype).max
        _luma(self.rgb, self.scale, self.luma)
        return self


def _predict_update_bands(previous: np.ndarray, state: np.ndarray, rgb: np.ndarray,
                          scale: float, flow: np.ndarray, inverse: np.ndarray, min_gain: float,
                          shear: np.ndarray, shift: np.ndarray, sums: np.ndarray,
                          luma: np.ndarray, share: RowShare | None) -> None:
    """:func:`_predict_update` of the whole frame; with a ``share`` (and :data:`_HALVED_ROWS`
    rows or more) in :data:`_STEP_BANDS` bands of rows, some made by the thread waiting for the
    step (:class:`framemend.kernels.pools.RowShare`; the kernel releases the GIL, and each band
    samples the prediction it reads from ``previous``, which none writes: the same bits
    however the bands fall)."""
    h = state.shape[0]
    if share is None or h < _HALVED_ROWS:
        _predict_update(previous, state, 0, h, rgb, scale, flow, inverse, min_gain, SOFT, FRESH,
                        shear, shift, LAG_GATE, sums, luma)
        return
    share.run(h, lambda first, end: _predict_update(
        previous, state, first, end, rgb, scale, flow, inverse, min_gain, SOFT, FRESH, shear,
        shift, LAG_GATE, sums, luma), _STEP_BANDS)


_NO_SHIFT = np.zeros(3, np.float32)
_spare_states: list = []  # the arrays of tracks no longer referenced, for the next steps
_SPARE_STATES = 4


class CpuTrack:
    """The recursion's state on the CPU: estimate (opponent basis) and variance ``(H, W, 4)``,
    and the estimate's 8-bit luma ``(H, W)`` for the next flow. Immutable: :meth:`step` makes a
    new track, so a spatial stage may still read this one on another thread. When a track is
    no longer referenced its arrays serve a later step (fresh ones would cost page faults)."""

    def __init__(self, state: np.ndarray, luma: np.ndarray, shift: np.ndarray = _NO_SHIFT,
                 lag: np.ndarray = _NO_SHIFT):
        self.state, self.luma = state, luma
        # (3,) float32 in the state's basis: the next prediction's move and the estimate's lag
        # behind its frame (.recursive.light_shift)
        self.shift, self.lag = shift, lag

    def __del__(self):
        if len(_spare_states) < _SPARE_STATES:
            _spare_states.append((self.state, self.luma))

    def turn_around(self) -> None:
        """Make the next step go the other way in time (:func:`.recursive.turned_shift`): for
        the track a shot's warm-up leaves, before anything else reads it."""
        self.shift = turned_shift(self.shift, self.lag)

    @staticmethod
    def _arrays(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """State ``(H, W, 4)`` float32 and luma ``(H, W)`` uint8 arrays, spare ones if any."""
        while _spare_states:
            try:
                state, luma = _spare_states.pop()
            except IndexError:  # another thread took the last one
                break
            if state.shape == (h, w, 4):
                return state, luma
        return np.empty((h, w, 4), np.float32), np.empty((h, w), np.uint8)

    @classmethod
    def start(cls, pixels: torch.Tensor | np.ndarray, shear: np.ndarray | None = None
              ) -> CpuTrack:
        """A track with no history: the frame itself, variance 1 (σ² units). ``pixels``:
        ``(3, H, W)`` float tensor, ``(H, W, 3)`` uint8/uint16 pixels as decoded, or a
        :class:`CpuFrame` of them; ``shear`` ``(2,)`` float32, the basis of the state
        (:func:`.spatial.sheared_basis`; None: not sheared), which every step and output of the
        track take too."""
        if isinstance(pixels, CpuFrame):
            rgb, scale = pixels.rgb, pixels.scale
        else:
            rgb, scale = _planes(pixels)
        state, luma = cls._arrays(*rgb.shape[1:])
        _start(rgb, scale, _shear(shear), state)
        if isinstance(pixels, CpuFrame):
            np.copyto(luma, pixels.luma)
        else:
            _luma(rgb, scale, luma)
        return cls(state, luma)

    def step(self, pixels: torch.Tensor | np.ndarray, noise_var: np.ndarray,
             memory: int, flow: np.ndarray | None = None, shear: np.ndarray | None = None,
             share: RowShare | None = None) -> CpuTrack:
        """:func:`.recursive.recursive_step_reference` along ``flow`` ``(H, W, 2)`` from the
        frame to the estimate's frame, or if None the flow of
        :func:`framemend.flow.estimate.motion_flow` (DIS on the frame's and the estimate's
        luma); ``pixels`` as in :meth:`start` or a :class:`CpuFrame` made of them,
        ``noise_var`` ``(3,)`` float32 σ² per channel of the basis sheared by ``shear`` (as at
        :meth:`start`); ``share``: the update's rows in bands, some made by the thread
        that waits for the step (:class:`framemend.kernels.pools.RowShare`)."""
        if isinstance(pixels, CpuFrame):
            rgb, scale, frame_luma = pixels.rgb, pixels.scale, pixels.luma
            state, luma = self._arrays(*rgb.shape[1:])
        else:
            rgb, scale = _planes(pixels)
            state, luma = self._arrays(*rgb.shape[1:])
            frame_luma = luma  # read by the flow before the update writes the estimate's
            _luma(rgb, scale, luma)
        if flow is None:
            flow = motion_luma_flow(frame_luma, self.luma, FINEST_SIDE)
        inverse = (1.0 / noise_var).astype(np.float32)
        sums = _buffer("light sums", (rgb.shape[1], 7), np.int32)
        _predict_update_bands(self.state, state, rgb, scale,
                              np.ascontiguousarray(flow, np.float32), inverse, 1.0 / memory,
                              _shear(shear), self.shift, sums, luma, share)
        sums = sums.sum(0, np.int64)
        shift, lag = light_shift(sums[:3] / _SUM_UNIT, sums[3:6] / _SUM_UNIT, sums[6],
                                 self.shift, self.lag)
        return CpuTrack(state, luma, shift.astype(np.float32), lag.astype(np.float32))

    def output(self, spatial: float, noise_var: np.ndarray, table: np.ndarray | None,
               levels: float | None = None, shear: np.ndarray | None = None,
               chroma_radius: int = RADII[1], halves: bool = False
               ) -> torch.Tensor | np.ndarray:
        """The estimate through the local Wiener filter of
        :func:`.spatial.local_wiener_reference` (noise variance of each opponent channel and of
        the luma's coarse band ``spatial`` times ``noise_var`` ``(4,)`` float32 times the
        state's; none if ``spatial``
        is 0), then through the declip ``table`` (float32, :func:`._noise_cpu.declip_table`)
        if given, clamped to [0, 1]:
        a ``(3, H, W)`` float tensor, or with ``levels`` (255, 65535) ``(H, W, 3)`` integer
        pixels of that range (uint8, uint16), as a decoded frame holds them. ``shear``: as at
        :meth:`start`; ``chroma_radius``: the Wiener window's radius in the chroma channels;
        ``halves``: the Wiener filter's lower half of the rows on the shared ``denoise`` worker
        while this thread makes the upper half (for a frame no step of the recursion runs beside,
        a shot's last: at 640x360 it was the last 2.2 ms of a clip, with a core idle)."""
        h, w, _ = self.state.shape
        lookup = _output_table(table, levels)
        if levels is None:
            planes = frame_array((3, h, w))
            out = planes.transpose(1, 2, 0)
        else:
            out = _output_array((h, w, 3), lookup.dtype)
        if spatial <= 0:
            _state_rgb(self.state, _shear(shear), lookup, out)
        else:
            wiener = _wiener_rgb_wide if chroma_radius == WIDE_CHROMA else _wiener_rgb_narrow
            args = self.state, (spatial * noise_var).astype(np.float32), _shear(shear), lookup, out
            if halves and h >= _HALVED_ROWS:
                in_halves("denoise", h, lambda first, end: wiener(*args, first, end))
            else:
                wiener(*args, 0, h)
        return out if levels is not None else torch.from_numpy(planes)
