"""The global translation between two frames by phase correlation, checked against the
frames: a check of the device path's torch flow that a repeating texture does not fool.

Phase correlation (Kuglin & Hines, "The phase correlation image alignment method", 1975): the
inverse transform of the normalised cross-power spectrum of the two Hann-windowed lumas peaks
at their relative shift. On a repeating texture it peaks a period away from the shift too,
and there as high or higher (on benchmarks/bench_realign's pan over bricks the highest peak
was a period off on every frame); the :data:`CANDIDATES` highest local maxima are therefore
each tried on the frames themselves (mean absolute luma difference over the overlap) and the
best kept. A coarse-to-fine flow started
from zero converges to the nearest period instead (a pan of 9.2 px a frame over bricks 13.6 px
apart read as -4.4 px).

All of it is tensor arithmetic on the frames' device: nothing is read back.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..flow import backward_warp, outside_mask

#: Local maxima of the phase correlation tried on the frames.
CANDIDATES = 8


def global_shift(previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """``(2,)`` the whole-pixel ``(dx, dy)`` with ``current(p + d) ≈ previous(p)`` (the forward
    motion) between two ``(1, 1, h, w)`` lumas (module docstring)."""
    h, w = previous.shape[-2:]
    hann = lambda n: torch.hann_window(n, periodic=False, dtype=previous.dtype,
                                       device=previous.device)
    window = hann(h)[:, None] * hann(w)
    a = torch.fft.rfft2((previous[0, 0] - previous.mean()) * window)
    b = torch.fft.rfft2((current[0, 0] - current.mean()) * window)
    cross = b * a.conj()
    surface = torch.fft.irfft2(cross / cross.abs().clamp_min(1e-9), s=(h, w))
    peaks = surface == F.max_pool2d(F.pad(surface[None, None], (1, 1, 1, 1), mode="circular"),
                                    3, 1)[0, 0]
    index = torch.where(peaks, surface, float("-inf")).flatten().topk(CANDIDATES).indices
    y, x = index // w, index % w
    shifts = torch.stack([torch.where(x > w // 2, x - w, x),
                          torch.where(y > h // 2, y - h, y)], 1).to(previous.dtype)  # (K, 2)
    return shifts[_cost(previous, current, shifts).argmin()]


def _cost(previous: torch.Tensor, current: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """``(K,)``: the mean absolute difference between ``previous`` and
    ``current`` moved back by each of ``shifts`` ``(K, 2)``, over where they overlap."""
    h, w = previous.shape[-2:]
    flows = shifts[:, :, None, None].expand(-1, -1, h, w)
    moved = backward_warp(current.expand(len(shifts), -1, -1, -1), flows)
    overlap = (~outside_mask(flows)).to(previous.dtype)
    return ((moved - previous).abs() * overlap).sum((1, 2, 3)) / overlap.sum((1, 2, 3)).clamp_min(1)
