"""The ``interpolate`` filter's options; the filter itself is :mod:`framemend.interpolate.filter`."""
from __future__ import annotations

from dataclasses import dataclass

from framemend.chain.options import option

WARPS = ("bilinear", "bicubic")  # how synthesis samples the neighbours (its remap flags by name)


@dataclass
class InterpolateOptions:
    """Raise (or change) the frame rate with motion-compensated in-between frames."""

    factor: int = option(2, "output frames per input frame (without fps)", min=1, max=32,
                         only_with={"fps": None})
    fps: float | None = option(None, "output frame rate (instead of factor); 59.94 means "
                               "60000/1001", min=1.0, max=1000.0)
    flow_scale: float = option(0.25, "optical flow is estimated at this fraction of the "
                               "frame size", min=0.05, max=1.0)
    warp: str = option("bilinear", "how the neighbours are sampled: bicubic keeps more "
                       "detail in the new frames, bilinear is faster", choices=tuple(WARPS))
