"""Motion-compensated temporal denoising (filter ``denoise``).

``framemend.denoise(frames, sigma=None, memory=8, ...)`` (the package is callable as its
:func:`denoise`) on frames of any in-memory kind, or the ``denoise`` filter in a chain; see :class:`.filter.Denoise` for the options, :mod:`.recursive` for the
temporal filter, :mod:`.spatial` for the spatial stage and :mod:`.noise` for the noise model.
"""
from __future__ import annotations

from framemend.chain.apply import apply_filter, make_callable

from .filter import Denoise
from .noise import estimate_sigma


def denoise(frames, fps: float = 24.0, cuts: list[int] | None = None,
            device: str | None = None, **options):
    """Denoise ``frames`` (a tensor ``(T, C, H, W)``, an array ``(T, H, W, 3)`` or a list of PIL
    images); returns the same kind and shape.

    ``cuts`` lists the frames that start a new shot, None to detect them (nothing is averaged
    across a cut);
    ``options`` are those of :class:`Denoise` (``sigma`` in 8-bit units or None for auto,
    ``memory``, ``spatial``, ``lookahead``, ``declip``).
    """
    return apply_filter("denoise", frames, fps, cuts=cuts, device=device, **options)


__all__ = ["denoise", "Denoise", "estimate_sigma"]

make_callable(__name__, "denoise")  # framemend.denoise(x) is denoise(x)
