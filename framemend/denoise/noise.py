"""The noise model: its level, estimated from the frames, and the bias of clipped noise.

* :func:`estimate_sigma` — Immerkær's fast noise estimation (J. Immerkær, "Fast Noise Variance
  Estimation", CVIU 64(2), 1996): the image is filtered with the difference of two Laplacians
  ``[[1,-2,1],[-2,4,-2],[1,-2,1]]``, which cancels planes and most smooth structure; the
  standard deviation of what is left is ``6 σ``. The median absolute value (MAD) is used instead
  of Immerkær's mean so that edges and texture do not inflate the estimate.
* :func:`declip_reference` — noise added to an image and then clipped to [0, 1] no longer has
  zero mean: averaging it (which every denoiser does) converges to ``E[clip(y + n)] ≠ y`` near
  black and white. The expectation is known in closed form for Gaussian noise, so the averaged
  value is mapped back through its inverse (A. Foi, "Clipped noisy images: heteroskedastic
  modeling and practical denoising", Signal Processing 89(12), 2009).
"""
from __future__ import annotations

import math

import numpy as np
import torch

_MAD_TO_SIGMA = 1.4826
_ROW_STRIDE = 4


def estimate_sigma(frames: torch.Tensor) -> float:
    """Standard deviation of additive white noise in ``frames``, in 8-bit units (20 = 20/255).

    Pixels whose neighbourhood lies within two estimated sigmas of black or white are left out
    of a second pass, since clipping there hides part of the noise.

    Args:
        frames: ``(T, 3, H, W)`` or ``(3, H, W)`` float RGB in [0, 1]; a few frames suffice.
    Returns:
        the noise standard deviation, pooled over frames and channels.
    """
    x = frames.reshape(-1, *frames.shape[-2:]).float()
    # residuals at every _ROW_STRIDE-th row only: as good an estimate, a quarter of the work
    centre = torch.arange(1, max(x.shape[-2] - 1, 2), _ROW_STRIDE, device=x.device)
    up, mid, down = x[:, centre - 1], x[:, centre], x[:, centre + 1]

    def across(v):  # the kernel is [1,-2,1]ᵀ[1,-2,1]
        return v[:, :, :-2] - 2 * v[:, :, 1:-1] + v[:, :, 2:]

    residual = (across(up) - 2 * across(mid) + across(down)).abs().flatten()
    rows = up + mid + down
    local_mean = ((rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]) / 9).flatten()
    sigma = _mad_sigma(residual)
    unclipped = (local_mean > 2 * sigma) & (local_mean < 1 - 2 * sigma)
    if unclipped.sum() > residual.numel() // 10:
        sigma = _mad_sigma(residual[unclipped])
    return sigma * 255.0


def _mad_sigma(residual: torch.Tensor) -> float:
    if residual.numel() > 400_000:  # the median of a strided sample is as good and cheaper
        residual = residual[:: residual.numel() // 200_000]
    return float(residual.median()) * _MAD_TO_SIGMA / 6.0


def clipped_mean(y: torch.Tensor, sigma: float) -> torch.Tensor:
    """``E[clip(y + n, 0, 1)]`` for ``n ~ N(0, sigma²)``; ``y`` and ``sigma`` in [0, 1] units."""

    def positive_part_mean(m):  # E[max(m + n, 0)]
        z = m / sigma
        return m * torch.special.ndtr(z) + sigma * torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    return positive_part_mean(y) - positive_part_mean(y - 1.0)


def declip_table(sigma: float, size: int = 1025) -> torch.Tensor:
    """``(size,)`` lookup table on a uniform grid of [0, 1]: averaged clipped value -> true value.

    ``sigma`` in [0, 1] units. Values outside the range of :func:`clipped_mean` map to 0 or 1.
    """
    if sigma <= 0:
        return torch.linspace(0.0, 1.0, size)
    truth = torch.linspace(0.0, 1.0, 4097, dtype=torch.float64)
    mean = clipped_mean(truth, sigma).numpy()
    grid = np.linspace(0.0, 1.0, size)
    return torch.from_numpy(np.interp(grid, mean, truth.numpy()).astype(np.float32))


def declip_reference(image: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Map averaged clipped values back to true values with a :func:`declip_table` (any shape)."""
    table = table.to(image.device)
    pos = image.clamp(0, 1) * (table.numel() - 1)
    lo = pos.floor().clamp(max=table.numel() - 2)
    frac = pos - lo
    lo = lo.long()
    return table[lo] * (1 - frac) + table[lo + 1] * frac
