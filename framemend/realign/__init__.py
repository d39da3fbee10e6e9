"""Identity re-alignment (filter ``realign``): colour and tone pulled back to keyframes and
carried along the camera's motion.

``realign(frames, keyframes=(0,))`` on a ``(T, 3, H, W)`` tensor, or the ``realign`` filter in a
chain; see :class:`.filter.Realign` for the options and the method, :mod:`.carry` for how the
correction follows the motion, :mod:`.whole` for the whole frame's share of it,
:mod:`.subject` for a subject's (``region=face``), :mod:`.register` for how the subject's
keyframe is registered onto each frame,
:mod:`.evidence` for how much of it is applied (none while the measured drift is within its
error), :mod:`.light` for the change of exposure that is light, not drift (a fade), and
:mod:`.tone` for the local colour maps.
"""
from __future__ import annotations

import torch

from framemend.chain.apply import apply_filter, make_callable

from .filter import Realign


def realign(frames: torch.Tensor, fps: float = 24.0, cuts: list[int] | None = None,
            device: str | torch.device | None = None, **options) -> torch.Tensor:
    """Re-align ``frames`` ``(T, 3, H, W)`` float RGB in [0, 1] to keyframes; same shape out.

    ``cuts`` lists the frames that start a new shot (each starts from its own keyframe);
    ``options`` are those of :class:`Realign` (``keyframes``, ``pick``, ``region``, ``box``,
    ``detail``).
    """
    return apply_filter("realign", frames, fps, cuts=cuts, device=device, **options)


__all__ = ["realign", "Realign"]

make_callable(__name__, "realign")  # framemend.realign(x) is realign(x)
