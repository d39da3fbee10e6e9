"""CPU fast paths (numba + OpenCV) of the torch functions in :mod:`.recursive`, :mod:`.spatial`
and :mod:`.noise`; same arithmetic, fused into few passes over planar ``(C, H, W)`` arrays.

The torch functions are the reference; these are chosen automatically for CPU tensors.
"""
from __future__ import annotations

import math

import cv2
import numba
import numpy as np
import torch

from .recursive import FRESH

@numba.njit(cache=True, fastmath=True, nogil=True)
def _predict(est, var, frame, flow_x, flow_y, pred, pred_var, rsq):
    """Bilinear backward warp of ``est`` and ``var`` by ``flow`` (border clamped), the residual
    mean square ``rsq`` per pixel; ``pred_var`` is -1 where the source is outside the frame."""
    _, h, w = est.shape
    xmax, ymax = np.float32(w - 1), np.float32(h - 1)
    zero, one, third = np.float32(0), np.float32(1), np.float32(1 / 3)
    for y in range(h):
        for x in range(w):
            px = np.float32(x) + flow_x[y, x]
            py = np.float32(y) + flow_y[y, x]
            outside = px < zero or py < zero or px > xmax or py > ymax
            px = min(max(px, zero), xmax)
            py = min(max(py, zero), ymax)
            x0 = min(np.int32(px), w - 2)
            y0 = min(np.int32(py), h - 2)
            fx = px - np.float32(x0)
            fy = py - np.float32(y0)
            w00 = (one - fx) * (one - fy)
            w01 = fx * (one - fy)
            w10 = (one - fx) * fy
            w11 = fx * fy
            s = zero
            for c in range(3):
                v = (w00 * est[c, y0, x0] + w01 * est[c, y0, x0 + 1]
                     + w10 * est[c, y0 + 1, x0] + w11 * est[c, y0 + 1, x0 + 1])
                pred[c, y, x] = v
                r = frame[c, y, x] - v
                s += r * r
            rsq[y, x] = s * third
            pred_var[y, x] = -one if outside else (
                w00 * var[0, y0, x0] + w01 * var[0, y0, x0 + 1]
                + w10 * var[0, y0 + 1, x0] + w11 * var[0, y0 + 1, x0 + 1])


@numba.njit(cache=True, fastmath=True, nogil=True)
def _update(pred, pred_var, frame, rsq_sum, inv_count, inv_noise_var, min_gain, soft, fresh):
    """Kalman-like update in place of ``pred`` (becomes the estimate) and ``pred_var`` (its
    variance); ``rsq_sum * inv_count`` is the 3x3 in-frame mean of the residual mean square."""
    _, h, w = pred.shape
    inv, mg = np.float32(inv_noise_var), np.float32(min_gain)
    so, fr = np.float32(soft), np.float32(fresh)
    zero, one = np.float32(0), np.float32(1)
    for y in range(h):
        for x in range(w):
            pv = pred_var[y, x]
            excess = max(rsq_sum[y, x] * inv_count[y, x] * inv - one - pv, zero)
            pv = pv + so * excess if pv >= zero else fr
            k = max(pv / (pv + one), mg)
            pred[0, y, x] += k * (frame[0, y, x] - pred[0, y, x])
            pred[1, y, x] += k * (frame[1, y, x] - pred[1, y, x])
            pred[2, y, x] += k * (frame[2, y, x] - pred[2, y, x])
            pred_var[y, x] = k


_counts: dict = {}


def _inv_count(h: int, w: int, radius: int) -> np.ndarray:
    """``(H, W)`` 1 / (number of in-frame pixels of each ``(2r+1)²`` box)."""
    key = (h, w, radius)
    if key not in _counts:
        cy = np.minimum(np.arange(h) + radius, h - 1) - np.maximum(np.arange(h) - radius, 0) + 1
        cx = np.minimum(np.arange(w) + radius, w - 1) - np.maximum(np.arange(w) - radius, 0) + 1
        _counts[key] = (1.0 / np.outer(cy, cx)).astype(np.float32)
    return _counts[key]


def recursive_step(estimate: torch.Tensor, variance: torch.Tensor, frame: torch.Tensor,
                   flow: torch.Tensor, noise_var: float, memory: int,
                   soft: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`framemend.denoise.recursive.recursive_step` for CPU tensors."""
    est, var, z = (np.ascontiguousarray(t.numpy(), np.float32) for t in (estimate, variance, frame))
    f = flow.numpy()
    _, h, w = est.shape
    pred = np.empty_like(est)
    pred_var = np.empty((h, w), np.float32)
    rsq = np.empty((h, w), np.float32)
    _predict(est, var, z, f[0], f[1], pred, pred_var, rsq)
    _update(pred, pred_var, z, _box_sum(rsq, 1), _inv_count(h, w, 1), 1.0 / noise_var,
            1.0 / memory, soft, FRESH)
    return torch.from_numpy(pred), torch.from_numpy(pred_var)[None]


_S2, _S3, _S6 = math.sqrt(2), math.sqrt(3), math.sqrt(6)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _to_opponent(img, luma, chroma):
    """RGB ``(3, H, W)`` -> ``luma`` ``(H, W, 2)`` = (o0, o0²) and ``chroma`` ``(H, W, 4)`` =
    (o1, o2, o1², o2²), interleaved so one box filter call smooths all of them."""
    _, h, w = img.shape
    for y in range(h):
        for x in range(w):
            r, g, b = img[0, y, x], img[1, y, x], img[2, y, x]
            o0 = (r + g + b) / _S3
            o1 = (r - b) / _S2
            o2 = (r - 2 * g + b) / _S6
            luma[y, x, 0] = o0
            luma[y, x, 1] = o0 * o0
            chroma[y, x, 0] = o1
            chroma[y, x, 1] = o2
            chroma[y, x, 2] = o1 * o1
            chroma[y, x, 3] = o2 * o2


@numba.njit(cache=True, fastmath=True, nogil=True)
def _wiener_coefficients(sums, inv_count, noise_var, out):
    """From box sums ``(H, W, 2n)`` = (Σx per channel..., Σx² per channel...): per channel
    ``a = max(s - v, 0) / s`` and ``b = (1 - a) m`` into ``out`` ``(H, W, 2n)`` = (a..., b...)."""
    h, w, c2 = sums.shape
    n = c2 // 2
    for y in range(h):
        for x in range(w):
            k = inv_count[y, x]
            v = noise_var[y, x]
            for c in range(n):
                m = sums[y, x, c] * k
                s = max(sums[y, x, n + c] * k - m * m, 1e-12)
                g = max(s - v, 0.0) / s
                out[y, x, c] = g
                out[y, x, n + c] = (1.0 - g) * m


@numba.njit(cache=True, fastmath=True, nogil=True)
def _lookup(table, v):
    n = table.shape[0] - 1
    pos = min(max(v, 0.0), 1.0) * n
    lo = min(int(pos), n - 1)
    f = pos - lo
    return table[lo] * (1 - f) + table[lo + 1] * f


@numba.njit(cache=True, fastmath=True, nogil=True)
def _from_opponent(luma, chroma, luma_ab, chroma_ab, inv_luma, inv_chroma, table, out):
    """``a x + b`` per opponent channel (``*_ab`` are box sums of the coefficients), back to RGB,
    then through the declip ``table`` (identity for none) into ``out`` ``(3, H, W)``."""
    h, w, _ = luma.shape
    for y in range(h):
        for x in range(w):
            kl = inv_luma[y, x]
            kc = inv_chroma[y, x]
            o0 = kl * (luma_ab[y, x, 0] * luma[y, x, 0] + luma_ab[y, x, 1])
            o1 = kc * (chroma_ab[y, x, 0] * chroma[y, x, 0] + chroma_ab[y, x, 2])
            o2 = kc * (chroma_ab[y, x, 1] * chroma[y, x, 1] + chroma_ab[y, x, 3])
            out[0, y, x] = _lookup(table, o0 / _S3 + o1 / _S2 + o2 / _S6)
            out[1, y, x] = _lookup(table, o0 / _S3 - 2 * o2 / _S6)
            out[2, y, x] = _lookup(table, o0 / _S3 - o1 / _S2 + o2 / _S6)


def _box_sum(image: np.ndarray, radius: int) -> np.ndarray:
    k = 2 * radius + 1
    return cv2.boxFilter(image, -1, (k, k), normalize=False, borderType=cv2.BORDER_CONSTANT)


_IDENTITY = np.linspace(0.0, 1.0, 3, dtype=np.float32)


def local_wiener(image: torch.Tensor, noise_var: torch.Tensor, radii: tuple,
                 table: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`framemend.denoise.spatial.local_wiener` for CPU tensors, then
    :func:`framemend.denoise.noise.declip` with ``table`` if given, clamped to [0, 1]."""
    img = np.ascontiguousarray(image.numpy(), np.float32)
    nv = np.ascontiguousarray(noise_var.numpy()[0], np.float32)
    _, h, w = img.shape
    r_luma, r_chroma, r_chroma2 = radii
    assert r_chroma == r_chroma2, "both chroma channels share one window"
    luma, chroma = np.empty((h, w, 2), np.float32), np.empty((h, w, 4), np.float32)
    _to_opponent(img, luma, chroma)
    inv_l, inv_c = _inv_count(h, w, r_luma), _inv_count(h, w, r_chroma)
    luma_ab, chroma_ab = np.empty_like(luma), np.empty_like(chroma)
    _wiener_coefficients(_box_sum(luma, r_luma), inv_l, nv, luma_ab)
    _wiener_coefficients(_box_sum(chroma, r_chroma), inv_c, nv, chroma_ab)
    out = np.empty_like(img)
    lut = _IDENTITY if table is None else np.ascontiguousarray(table.numpy(), np.float32)
    _from_opponent(luma, chroma, _box_sum(luma_ab, r_luma), _box_sum(chroma_ab, r_chroma),
                   inv_l, inv_c, lut, out)
    return torch.from_numpy(out)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _declip(img, table, out):
    n = table.shape[0] - 1
    flat_in = img.ravel()
    flat_out = out.ravel()
    for i in range(flat_in.shape[0]):
        pos = min(max(flat_in[i], 0.0), 1.0) * n
        lo = min(int(pos), n - 1)
        f = pos - lo
        flat_out[i] = table[lo] * (1 - f) + table[lo + 1] * f


def declip(image: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """:func:`framemend.denoise.noise.declip` for CPU tensors."""
    img = np.ascontiguousarray(image.numpy(), np.float32)
    out = np.empty_like(img)
    _declip(img, np.ascontiguousarray(table.numpy(), np.float32), out)
    return torch.from_numpy(out)
