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

_dis_by_thread: dict = {}


def _dis():
    import threading  # noqa: PLC0415
    key = threading.get_ident()
    if key not in _dis_by_thread:
        _dis_by_thread[key] = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    return _dis_by_thread[key]


@numba.njit(cache=True, fastmath=True)
def _half_luma_u8(img):
    """``(3, H, W)`` float RGB -> ``(H//2, W//2)`` uint8 BT.601 luma, 2x2 means."""
    _, h, w = img.shape
    out = np.empty((h // 2, w // 2), np.uint8)
    for y in range(h // 2):
        for x in range(w // 2):
            s = 0.0
            for dy in range(2):
                for dx in range(2):
                    yy, xx = 2 * y + dy, 2 * x + dx
                    s += 0.299 * img[0, yy, xx] + 0.587 * img[1, yy, xx] + 0.114 * img[2, yy, xx]
            v = s * (255.0 / 4.0) + 0.5
            out[y, x] = 0 if v < 0 else (255 if v > 255 else np.uint8(v))
    return out


def half_scale_flow(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """DIS (ultrafast) flow ``(2, H, W)`` from ``src`` to ``dst`` ``(3, H, W)``, computed at half
    size and upsampled, values in full-size pixels."""
    _, h, w = src.shape
    flow = _dis().calc(_half_luma_u8(src), _half_luma_u8(dst), None)
    flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    flow[..., 0] *= w / (w // 2)
    flow[..., 1] *= h / (h // 2)
    return np.ascontiguousarray(flow.transpose(2, 0, 1))


@numba.njit(cache=True, fastmath=True)
def _predict(est, var, frame, flow, pred, pred_var, rsq):
    """Bilinear backward warp of ``est`` and ``var`` by ``flow`` (border clamped), the residual
    mean square ``rsq`` per pixel; ``pred_var`` is -1 where the source is outside the frame."""
    _, h, w = est.shape
    for y in range(h):
        for x in range(w):
            px = x + flow[0, y, x]
            py = y + flow[1, y, x]
            outside = px < 0 or py < 0 or px > w - 1 or py > h - 1
            px = min(max(px, 0.0), w - 1.0)
            py = min(max(py, 0.0), h - 1.0)
            x0 = min(int(px), w - 2)
            y0 = min(int(py), h - 2)
            fx = px - x0
            fy = py - y0
            w00 = (1 - fx) * (1 - fy)
            w01 = fx * (1 - fy)
            w10 = (1 - fx) * fy
            w11 = fx * fy
            s = 0.0
            for c in range(3):
                v = (w00 * est[c, y0, x0] + w01 * est[c, y0, x0 + 1]
                     + w10 * est[c, y0 + 1, x0] + w11 * est[c, y0 + 1, x0 + 1])
                pred[c, y, x] = v
                r = frame[c, y, x] - v
                s += r * r
            rsq[y, x] = s / 3.0
            if outside:
                pred_var[y, x] = -1.0
            else:
                pred_var[y, x] = (w00 * var[0, y0, x0] + w01 * var[0, y0, x0 + 1]
                                  + w10 * var[0, y0 + 1, x0] + w11 * var[0, y0 + 1, x0 + 1])


@numba.njit(cache=True, fastmath=True)
def _update(pred, pred_var, frame, rsq_box, inv_noise_var, min_gain, soft, fresh):
    """Kalman-like update in place of ``pred`` (becomes the estimate) and ``pred_var`` (its
    variance); ``rsq_box`` is the 3x3 mean of the residual mean square."""
    _, h, w = pred.shape
    for y in range(h):
        for x in range(w):
            pv = pred_var[y, x]
            if pv < 0:
                pv = fresh
            else:
                excess = rsq_box[y, x] * inv_noise_var - 1.0 - pv
                if excess > 0:
                    pv += soft * excess
            k = max(pv / (pv + 1.0), min_gain)
            for c in range(3):
                pred[c, y, x] += k * (frame[c, y, x] - pred[c, y, x])
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


def box_mean(plane: np.ndarray, radius: int) -> np.ndarray:
    """``(2r+1)²`` mean of ``(H, W)`` over in-frame pixels only (as the torch reference)."""
    k = 2 * radius + 1
    s = cv2.boxFilter(plane, -1, (k, k), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return s * _inv_count(*plane.shape, radius)


def recursive_step(estimate: torch.Tensor, variance: torch.Tensor, frame: torch.Tensor,
                   flow: torch.Tensor, noise_var: float, memory: int,
                   soft: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`framemend.denoise.recursive.recursive_step` for CPU tensors."""
    est, var, z, f = (np.ascontiguousarray(t.numpy(), np.float32)
                      for t in (estimate, variance, frame, flow))
    _, h, w = est.shape
    pred = np.empty_like(est)
    pred_var = np.empty((h, w), np.float32)
    rsq = np.empty((h, w), np.float32)
    _predict(est, var, z, f, pred, pred_var, rsq)
    _update(pred, pred_var, z, box_mean(rsq, 1), 1.0 / noise_var, 1.0 / memory, soft, FRESH)
    return torch.from_numpy(pred), torch.from_numpy(pred_var)[None]


_S2, _S3, _S6 = math.sqrt(2), math.sqrt(3), math.sqrt(6)


@numba.njit(cache=True, fastmath=True)
def _to_opponent(img, opp, sq):
    _, h, w = img.shape
    for y in range(h):
        for x in range(w):
            r, g, b = img[0, y, x], img[1, y, x], img[2, y, x]
            o0 = (r + g + b) / _S3
            o1 = (r - b) / _S2
            o2 = (r - 2 * g + b) / _S6
            opp[0, y, x] = o0
            opp[1, y, x] = o1
            opp[2, y, x] = o2
            sq[0, y, x] = o0 * o0
            sq[1, y, x] = o1 * o1
            sq[2, y, x] = o2 * o2


@numba.njit(cache=True, fastmath=True)
def _wiener_coefficients(mean, meansq, noise_var, a, b):
    """In place: ``a = max(s - v, 0) / s``, ``b = (1 - a) m`` with ``s = meansq - m²``."""
    h, w = mean.shape
    for y in range(h):
        for x in range(w):
            m = mean[y, x]
            s = max(meansq[y, x] - m * m, 1e-12)
            g = max(s - noise_var[y, x], 0.0) / s
            a[y, x] = g
            b[y, x] = (1.0 - g) * m


@numba.njit(cache=True, fastmath=True)
def _from_opponent(opp, a_box, b_box, out):
    _, h, w = opp.shape
    for y in range(h):
        for x in range(w):
            o0 = a_box[0, y, x] * opp[0, y, x] + b_box[0, y, x]
            o1 = a_box[1, y, x] * opp[1, y, x] + b_box[1, y, x]
            o2 = a_box[2, y, x] * opp[2, y, x] + b_box[2, y, x]
            out[0, y, x] = o0 / _S3 + o1 / _S2 + o2 / _S6
            out[1, y, x] = o0 / _S3 - 2 * o2 / _S6
            out[2, y, x] = o0 / _S3 - o1 / _S2 + o2 / _S6


def local_wiener(image: torch.Tensor, noise_var: torch.Tensor, radii: tuple) -> torch.Tensor:
    """:func:`framemend.denoise.spatial.local_wiener` for CPU tensors."""
    img = np.ascontiguousarray(image.numpy(), np.float32)
    nv = np.ascontiguousarray(noise_var.numpy()[0], np.float32)
    _, h, w = img.shape
    opp, sq = np.empty_like(img), np.empty_like(img)
    _to_opponent(img, opp, sq)
    a, b = np.empty_like(img), np.empty_like(img)
    for c, radius in enumerate(radii):
        _wiener_coefficients(box_mean(opp[c], radius), box_mean(sq[c], radius), nv, a[c], b[c])
        a[c] = box_mean(a[c], radius)
        b[c] = box_mean(b[c], radius)
    out = np.empty_like(img)
    _from_opponent(opp, a, b, out)
    return torch.from_numpy(out)


@numba.njit(cache=True, fastmath=True)
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
