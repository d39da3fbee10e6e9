"""Full-reference metrics: PSNR and SSIM, per frame and averaged over frames.

SSIM follows Wang et al., "Image quality assessment: from error visibility to structural
similarity", IEEE TIP 2004: Gaussian window sigma 1.5 (11 taps), K1 = 0.01, K2 = 0.03, computed
per channel and averaged (the same numbers as ``skimage.metrics.structural_similarity`` with
``gaussian_weights=True, use_sample_covariance=False, data_range=1``).
"""
from __future__ import annotations

import cv2
import numpy as np

from ._arrays import as_clip, as_float

#: PSNR of identical frames (the MSE is floored at 1e-10).
PSNR_CAP = 100.0


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_float(a), as_float(b)
    if a.shape != b.shape:
        raise ValueError(f"clips differ in shape: {a.shape} vs {b.shape}")
    if not a.size:  # psnr met numpy's "cannot reshape array of size 0"
        raise ValueError(f"no frames to score: the clips have shape {a.shape}")
    return a, b


def psnr_per_frame(a, b) -> np.ndarray:
    """``(T,)`` PSNR in dB of ``a`` against ``b`` (``(T, H, W, 3)``, values in [0, 1])."""
    a, b = _pair(a, b)
    mse = ((a - b) ** 2).reshape(a.shape[0], -1).mean(1, dtype=np.float64)
    return 10.0 * np.log10(1.0 / np.maximum(mse, 10 ** (-PSNR_CAP / 10)))


def psnr(a, b) -> float:
    """Mean over frames of :func:`psnr_per_frame`."""
    return float(psnr_per_frame(a, b).mean())


def ssim_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(H, W)`` local SSIM of two ``(H, W, 3)`` images in [0, 1], averaged over channels."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2

    def blur(img):
        return cv2.GaussianBlur(img, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean(2) if s.ndim == 3 else s  # OpenCV gives a grey (H, W, 1) image as (H, W)


def _ssim_frame(x: np.ndarray, y: np.ndarray) -> float:
    pad = _SSIM_BORDER
    return float(ssim_map(x, y)[pad:-pad, pad:-pad].mean())


_SSIM_BORDER = 5  # skimage leaves out the border where the 11x11 window leaves the image


def ssim_per_frame(a, b) -> np.ndarray:
    """``(T,)`` SSIM of ``a`` against ``b`` (``(T, H, W, 3)``, values in [0, 1])."""
    a, b = _pair(as_clip(a), as_clip(b))
    h, w = a.shape[1:3]
    if min(h, w) <= 2 * _SSIM_BORDER:  # nothing left inside the border: NaN, numpy's warnings
        raise ValueError(f"ssim needs frames of {2 * _SSIM_BORDER + 1} pixels a side or more "
                         f"(its window leaves out {_SSIM_BORDER} at each border), got {w}x{h}")
    return np.array([_ssim_frame(a[t], b[t]) for t in range(a.shape[0])])


def ssim(a, b) -> float:
    """Mean over frames of :func:`ssim_per_frame`."""
    return float(ssim_per_frame(a, b).mean())
