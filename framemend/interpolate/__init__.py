"""Flow-based frame interpolation to any frame rate (filter ``interpolate``).

``framemend.interpolate(frames, input_fps=12, factor=2)`` or
``framemend.interpolate(frames, input_fps=8, fps=24)`` (the package is callable as its
:func:`interpolate`) on frames of any in-memory kind, or the ``interpolate`` filter in a chain; see
:class:`.filter.Interpolate` for the options, timing and scene-cut behaviour, and
:mod:`.synthesis` for the method.
"""
from __future__ import annotations

from ..chain.apply import apply_filter, make_callable
from .filter import Interpolate


def interpolate(frames, input_fps: float = 24.0, cuts: list[int] | None = None,
                device: str | None = None, **options):
    """Interpolate ``frames`` (a tensor ``(T, C, H, W)``, an array ``(T, H, W, 3)`` or a list
    of PIL images) shot at ``input_fps``.

    ``cuts`` lists the frames that start a new shot, None to detect them; ``options`` are those of
    :class:`Interpolate` (``factor``, ``fps``, ``flow_scale``, ``warp``).
    Returns the same kind (a tensor on the device of ``frames``): ``T·factor`` frames, or with
    ``fps=R`` the frames of the grid ``n/R`` over the input's duration ``T / input_fps``.
    """
    return apply_filter("interpolate", frames, input_fps=input_fps, cuts=cuts, device=device,
                        **options)


__all__ = ["interpolate", "Interpolate"]

make_callable(__name__, "interpolate")  # framemend.interpolate(x) is interpolate(x)
