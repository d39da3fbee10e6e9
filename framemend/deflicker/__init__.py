"""Global and local flicker removal (filter ``deflicker``).

``deflicker(frames, mode="auto", strength=1.0, ...)`` on a ``(T, 3, H, W)`` tensor, or the
``deflicker`` filter in a chain; see :class:`.filter.Deflicker` for the options and
:mod:`.correction` for the method.
"""
from __future__ import annotations

import torch

from framemend.chain.apply import apply_filter

from .filter import Deflicker


def deflicker(frames: torch.Tensor, fps: float = 24.0, cuts: list[int] | None = None,
              device: str | torch.device | None = None, **options) -> torch.Tensor:
    """Deflicker ``frames`` ``(T, 3, H, W)`` float RGB in [0, 1]; returns the same shape.

    ``cuts`` lists the frames that start a new shot (nothing is compared across a cut);
    ``options`` are those of :class:`Deflicker` (``mode``, ``strength``, ``radius``, ``rows``,
    ``tolerance``).
    """
    return apply_filter("deflicker", frames, input_fps=fps, cuts=cuts, device=device, **options)


__all__ = ["deflicker", "Deflicker"]
