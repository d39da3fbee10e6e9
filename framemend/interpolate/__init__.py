"""Flow-based frame interpolation to any frame rate (filter ``interpolate``).

``interpolate(frames, input_fps=12, factor=2)`` or ``interpolate(frames, input_fps=8, fps=24)``
on a ``(T, 3, H, W)`` tensor, or the ``interpolate`` filter in a chain; see
:class:`.filter.Interpolate` for the options, timing and scene-cut behaviour, and
:mod:`.synthesis` for the method.
"""
from __future__ import annotations

import torch

from ..chain.apply import apply_filter
from .filter import Interpolate
from .synthesis import interpolate_pair


def interpolate(frames: torch.Tensor, input_fps: float = 24.0, cuts: list[int] | None = None,
                device: str | torch.device | None = None, **options) -> torch.Tensor:
    """Interpolate ``frames`` ``(T, 3, H, W)`` float RGB in [0, 1] shot at ``input_fps``.

    ``cuts`` lists the frames that start a new shot; ``options`` are those of
    :class:`Interpolate` (``factor``, ``fps``, ``flow_scale``, ``warp``).
    Returns ``(T', 3, H, W)`` on the device of ``frames``: ``T·factor`` frames, or with
    ``fps=R`` the frames of the grid ``n/R`` over the input's duration ``T / input_fps``.
    """
    return apply_filter("interpolate", frames, input_fps=input_fps, cuts=cuts, device=device,
                        **options)


__all__ = ["interpolate", "Interpolate", "interpolate_pair"]
