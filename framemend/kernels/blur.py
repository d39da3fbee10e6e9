"""Local means of ``(N, C, H, W)`` tensors: a separable Gaussian blur with replicated borders
and the box mean.

On the CPU path (:func:`framemend.cuda.host_kernels`) float32 tensors go through OpenCV
(``cv2.GaussianBlur``, ``cv2.blur``: one call per plane); the device path and other types
through torch: for the Gaussian, weighted sums of shifted slices, which
on a CPU thread ran several times faster than a grouped ``conv2d`` (the torch flow's
measurement) and on a GPU need no kernel tensor copied over; for the box, ``avg_pool2d``. Both
paths truncate the Gaussian at ``radius`` and normalise it, so they agree to float rounding.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from framemend._torch import F, torch
from framemend.cuda.policy import host_kernels


def gaussian_radius(sigma: float) -> int:
    """The default truncation: ``3 sigma`` rounded, at least 1 pixel."""
    return max(1, int(3 * sigma + 0.5))


def gaussian_taps(sigma: float, radius: int) -> list[float]:
    """The ``2 radius + 1`` normalised weights of a sampled Gaussian."""
    k = [math.exp(-0.5 * (x / sigma) ** 2) for x in range(-radius, radius + 1)]
    return [v / sum(k) for v in k]


def gaussian_blur(x: torch.Tensor, sigma: float, radius: int | None = None) -> torch.Tensor:
    """Gaussian blur (standard deviation ``sigma`` pixels, kernel truncated at ``radius``,
    default :func:`gaussian_radius`) of ``(N, C, H, W)``, borders replicated; same shape."""
    radius = gaussian_radius(sigma) if radius is None else radius
    if host_kernels(x.device) and x.dtype == torch.float32:
        planes = x.contiguous().numpy().reshape(-1, *x.shape[-2:])
        size = (2 * radius + 1,) * 2
        out = np.stack([cv2.GaussianBlur(p, size, sigma, borderType=cv2.BORDER_REPLICATE)
                        for p in planes])
        return torch.from_numpy(out.reshape(x.shape))
    k = gaussian_taps(sigma, radius)
    h, w = x.shape[-2:]
    p = F.pad(x, (radius, radius, 0, 0), mode="replicate")
    x = sum(k[i] * p[..., i:i + w] for i in range(len(k)))
    p = F.pad(x, (0, 0, radius, radius), mode="replicate")
    return sum(k[i] * p[..., i:i + h, :] for i in range(len(k)))


_CV2_BORDERS = {"reflect": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE}


def box_mean(x: torch.Tensor, radius: int, border: str = "inside") -> torch.Tensor:
    """Mean of ``(N, C, H, W)`` over ``(2 radius + 1)²`` windows; same shape.

    ``border``: ``inside`` (only the pixels inside the frame count), ``reflect`` (mirrored
    without repeating the edge pixel: OpenCV's ``BORDER_REFLECT_101``, ``cv2.blur``'s default)
    or ``replicate``.
    """
    if border == "inside":
        return F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)
    if host_kernels(x.device) and x.dtype == torch.float32:
        planes = x.contiguous().numpy().reshape(-1, *x.shape[-2:])
        size = (2 * radius + 1,) * 2
        out = np.stack([cv2.blur(p, size, borderType=_CV2_BORDERS[border]) for p in planes])
        return torch.from_numpy(out.reshape(x.shape))
    if border == "reflect":  # torch mirrors at most size - 1 pixels
        radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    return F.avg_pool2d(F.pad(x, (radius,) * 4, mode=border), 2 * radius + 1, stride=1)
