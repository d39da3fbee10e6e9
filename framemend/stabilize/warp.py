"""Affine resampling of frames: torch reference (CPU/CUDA) and an OpenCV fast path on CPU."""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..cuda import host_kernels
from ..kernels.buffers import frame_array


def warp_affine(images: torch.Tensor, matrices: np.ndarray) -> torch.Tensor:
    """Resample each frame: output pixel ``q`` takes the input at ``W q`` (bilinear, edges repeated).

    Args:
        images: ``(T, C, H, W)`` float.
        matrices: ``(T, 3, 3)`` maps from output to input pixel coordinates (affine): an array,
            or a tensor on the device path.
    Returns:
        ``(T, C, H, W)`` on the device of ``images``. On the CPU path this runs
        ``cv2.warpAffine``; elsewhere (and as the reference) :func:`warp_affine_torch`.
    """
    if not host_kernels(images.device) or images.dtype != torch.float32:
        return warp_affine_torch(images, matrices)
    images = images.contiguous()
    out = torch.empty_like(images)
    for t in range(images.shape[0]):
        for c in range(images.shape[1]):  # plane by plane: no layout change
            _warp_inverse(images[t, c].numpy(), matrices[t], out[t, c].numpy())
    return out


def warp_raw(raw: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """:func:`warp_affine` of one frame's decoded ``(H, W, 3)`` uint8/uint16 pixels
    (``Frame.raw``), in their own type: ``(H, W, 3)`` of the same type. OpenCV interpolates
    integer pixels in fixed point, so the result is within a level of the float warp's,
    rounded."""
    return _warp_inverse(raw, matrix, frame_array(raw.shape, raw.dtype))


def _warp_inverse(src: np.ndarray, matrix: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``dst`` (``src``'s shape) takes ``src`` at ``matrix @ q`` for each pixel ``q`` (the
    (3, 3) affine map from output to input pixels): ``cv2.warpAffine``, bilinear, edges
    repeated."""
    h, w = src.shape[:2]
    return cv2.warpAffine(src, np.asarray(matrix, np.float64)[:2], (w, h), dst=dst,
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def warp_affine_torch(images: torch.Tensor, matrices: np.ndarray) -> torch.Tensor:
    """:func:`warp_affine` with ``torch.nn.functional.grid_sample`` (any device)."""
    t, _, h, w = images.shape
    m = (matrices if torch.is_tensor(matrices) else torch.as_tensor(np.asarray(matrices)))[:, :2]
    m = m.to(images.dtype).to(images.device)  # a device path's matrices are already there
    ys, xs = torch.meshgrid(torch.arange(h, device=images.device, dtype=images.dtype),
                            torch.arange(w, device=images.device, dtype=images.dtype), indexing="ij")
    q = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(1, -1, 3)  # (1, HW, 3)
    p = q @ m.transpose(1, 2)  # (T, HW, 2) input pixel positions
    grid = torch.stack([p[..., 0] * (2.0 / max(w - 1, 1)) - 1.0,
                        p[..., 1] * (2.0 / max(h - 1, 1)) - 1.0], -1).reshape(t, h, w, 2)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)
