"""Global and local flicker removal (filter ``deflicker``).

``framemend.deflicker(frames, mode="auto", strength=1.0, ...)`` (the package is callable as
its :func:`deflicker`) on frames of any in-memory kind, or the ``deflicker`` filter in a chain; see :class:`.filter.Deflicker` for the options and
:mod:`.correction` for the method.
"""
from __future__ import annotations

from framemend.chain.apply import apply_filter, make_callable

from .filter import Deflicker


def deflicker(frames, fps: float = 24.0, cuts: list[int] | None = None,
              device: str | None = None, **options):
    """Deflicker ``frames`` (a tensor ``(T, C, H, W)``, an array ``(T, H, W, 3)`` or a list of
    PIL images); returns the same kind and shape.

    ``cuts`` lists the frames that start a new shot, None to detect them (nothing is compared
    across a cut);
    ``options`` are those of :class:`Deflicker` (``mode``, ``strength``, ``radius``, ``rows``,
    ``tolerance``).
    """
    return apply_filter("deflicker", frames, fps, cuts=cuts, device=device, **options)


__all__ = ["deflicker", "Deflicker"]

make_callable(__name__, "deflicker")  # framemend.deflicker(x) is deflicker(x)
