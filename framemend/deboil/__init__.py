"""Temporal consistency of texture and tone along the motion (filter ``deboil``).

``deboil(frames, strength=None)`` on a ``(T, 3, H, W)`` tensor, or the ``deboil`` filter in a
chain; see :class:`.filter.Deboil` for the options and :mod:`.consistency` for the method.
"""
from __future__ import annotations

from framemend._torch import torch
from framemend.chain.apply import apply_filter, make_callable

from .filter import Deboil


def deboil(frames: torch.Tensor, fps: float = 24.0, cuts: list[int] | None = None,
           device: str | torch.device | None = None, **options) -> torch.Tensor:
    """Make texture and local tone of ``frames`` ``(T, 3, H, W)`` float RGB in [0, 1]
    temporally consistent along the motion; returns the same shape.

    ``cuts`` lists the frames that start a new shot (nothing is carried across a cut);
    ``options`` are those of :class:`Deboil` (``strength``, None for auto).
    """
    return apply_filter("deboil", frames, fps, cuts=cuts, device=device, **options)


__all__ = ["deboil", "Deboil"]

make_callable(__name__, "deboil")  # framemend.deboil(x) is deboil(x)
