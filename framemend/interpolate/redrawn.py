"""Detail that the two neighbours do not share: re-drawn texture in an in-between frame.

A generator re-draws fine detail in every frame (waves, hair, snow and sparks, texture
"boiling"): the two motion-compensated candidates of an in-between frame, ``A = I0(p + Ft0)``
and ``B = I1(p + Ft1)``, then carry different detail, and the frame that was dropped carries a
third. Model the detail band (the frame minus its Gaussian blur of :data:`BAND_SIGMA`) as
``A_h = s + n_A``, ``B_h = s + n_B``, ``M_h = s + n_M``: ``s`` the detail that follows the motion
(variance ``S``), the ``n`` re-drawn in each frame, independent, of variance ``N``. The blend
``w A + (1 - w) B`` has detail ``s + w n_A + (1 - w) n_B``; the gain ``g`` on it that minimises
``E[(g X_h - M_h)²]`` is the Wiener gain ``g = S / (S + k N)``, ``k = w² + (1 - w)²``. Both are
measured per pixel over a window of ``(2 WINDOW_RADIUS + 1)²`` pixels, the local-statistics
form of Lee, "Digital image enhancement and noise filtering by use of local statistics", IEEE
PAMI 1980: the candidates' disagreement ``D_h = A_h - B_h`` has ``E[D_h²] = 2 N``, the blend's
detail ``E[X_h²] = S + k N``, so

    ``g = max(0, 1 - k E[D_h²] / (2 E[X_h²]))``,

and the new frame is ``blur(X) + g (X - blur(X))``: where the candidates agree (a pan, an
object that keeps its texture) ``g`` is 1 and nothing changes; where their detail is re-drawn it
is shrunk towards the blur, the least-squares guess of detail that no motion predicts. Statistics
on luma; no constant is fitted to a clip.

The model asks for candidates that carry the detail of their frames: a bilinear sample half-way
between pixels averages two of them, so bilinear candidates come out softer than the truth
(on a pan, the best constant gain on the bilinear blend's detail is above 1) and shrinking them
further loses; the gain is applied to bicubic candidates (``warp="bicubic"``), which keep it.
Measured on ``shared/data/generated`` and on ``benchmarks/bench_interpolate.py``'s clips in
BENCHMARKS.md (issue 16, stop 18).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from ..kernels.blur import box_mean, gaussian_blur
from ..kernels.colour import LUMA, luma

BAND_SIGMA = 1.0  # pixels: the detail band is the frame minus its Gaussian blur of this sigma
WINDOW_RADIUS = 4  # the statistics are means over 9x9 pixels
_SIZE = (2 * int(3 * BAND_SIGMA + 0.5) + 1,) * 2  # the blur's taps (3 sigma, as kernels.blur)
_WINDOW = (2 * WINDOW_RADIUS + 1,) * 2


def detail_gain(luma0: np.ndarray, luma1: np.ndarray, weight0: np.ndarray) -> np.ndarray:
    """The Wiener gain ``(H, W)`` float32 in [0, 1] on the blend's detail (module docstring)
    from the lumas ``(H, W)`` float32 of the two candidates (any unit) and frame 0's weight
    ``(H, W)``."""
    mix = cv2.blendLinear(luma0, luma1, weight0, 1 - weight0)
    diff = cv2.subtract(luma0, luma1)
    diff -= cv2.GaussianBlur(diff, _SIZE, BAND_SIGMA, borderType=cv2.BORDER_REPLICATE)
    mix -= cv2.GaussianBlur(mix, _SIZE, BAND_SIGMA, borderType=cv2.BORDER_REPLICATE)
    disagree = cv2.blur(cv2.multiply(diff, diff), _WINDOW, borderType=cv2.BORDER_REPLICATE)
    detail = cv2.blur(cv2.multiply(mix, mix), _WINDOW, borderType=cv2.BORDER_REPLICATE)
    k = cv2.blendLinear(weight0, 1 - weight0, weight0, 1 - weight0)  # w² + (1 - w)²
    shrink = np.divide(k * disagree, 2 * detail, out=np.zeros_like(detail), where=detail > 0)
    return np.clip(1 - shrink, 0, 1, out=shrink)


def shrink_detail(frame: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """``blur(frame) + gain (frame - blur(frame))`` of a float32 ``(H, W, 3)`` or ``(H, W)``
    frame, in place (returned); ``gain`` ``(H, W)``."""
    low = cv2.GaussianBlur(frame, _SIZE, BAND_SIGMA, borderType=cv2.BORDER_REPLICATE)
    frame -= low
    frame *= gain[..., None] if frame.ndim == 3 else gain
    frame += low
    return frame


def planar_luma(planes: np.ndarray) -> np.ndarray:
    """``(3, H, W)`` float32 RGB planes -> ``(H, W)`` float32 luma (BT.601)."""
    return cv2.scaleAdd(planes[2], LUMA[2], cv2.addWeighted(planes[0], LUMA[0], planes[1],
                                                            LUMA[1], 0.0))


def keep_shared_detail_torch(warped0: torch.Tensor, warped1: torch.Tensor,
                             weight0: torch.Tensor) -> torch.Tensor:
    """The reference (and CUDA) path: the blend of candidates ``(K, 3, H, W)`` with frame 0's
    weight ``(K, 1, H, W)``, its detail scaled by :func:`detail_gain`'s gain; ``(K, 3, H, W)``."""
    mix = (warped0 - warped1).mul_(weight0).add_(warped1)
    y0, y1 = luma(warped0), luma(warped1)
    diff = y0 - y1
    diff = diff - gaussian_blur(diff, BAND_SIGMA)
    y = (y0 - y1).mul_(weight0).add_(y1)
    y = y - gaussian_blur(y, BAND_SIGMA)
    disagree = box_mean(diff * diff, WINDOW_RADIUS, "replicate")
    detail = box_mean(y * y, WINDOW_RADIUS, "replicate")
    k = weight0 * weight0 + (1 - weight0) ** 2
    shrink = torch.where(detail > 0, k * disagree / (2 * detail).clamp_min(1e-30),
                         torch.zeros_like(detail))
    gain = (1 - shrink).clamp_(0, 1)
    low = gaussian_blur(mix, BAND_SIGMA)
    return (mix - low).mul_(gain).add_(low)
