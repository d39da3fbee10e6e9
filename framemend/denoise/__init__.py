"""Motion-compensated temporal denoising (filter ``denoise``).

``denoise(frames, sigma=None, memory=8, ...)`` on a ``(T, 3, H, W)`` tensor, or the ``denoise``
filter in a chain; see :class:`.filter.Denoise` for the options, :mod:`.recursive` for the
temporal filter, :mod:`.spatial` for the spatial stage and :mod:`.noise` for the noise model.
"""
from __future__ import annotations

import torch

from framemend.chain.apply import apply_filter

from .filter import Denoise
from .noise import estimate_sigma


def denoise(frames: torch.Tensor, fps: float = 24.0, cuts: list[int] | None = None,
            device: str | torch.device | None = None, **options) -> torch.Tensor:
    """Denoise ``frames`` ``(T, 3, H, W)`` float RGB in [0, 1]; returns the same shape.

    ``cuts`` lists the frames that start a new shot (nothing is averaged across a cut);
    ``options`` are those of :class:`Denoise` (``sigma`` in 8-bit units or None for auto,
    ``memory``, ``spatial``, ``lookahead``, ``declip``).
    """
    return apply_filter("denoise", frames, input_fps=fps, cuts=cuts, device=device, **options)


__all__ = ["denoise", "Denoise", "estimate_sigma"]
