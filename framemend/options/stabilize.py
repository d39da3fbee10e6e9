"""The ``stabilize`` filter's options; the filter itself is :mod:`framemend.stabilize.stabilize`."""
from __future__ import annotations

from dataclasses import dataclass

from framemend.chain.options import option

@dataclass
class StabilizeOptions:
    """Remove camera shake: smooth the camera path, lock it (tripod), or keep a subject still."""

    mode: str = option("smooth", "smooth: keep intended motion, remove shake; lock: tripod; "
                       "subject: keep the face (or box) still in frame",
                       choices=("smooth", "lock", "subject"))
    radius: int = option(10, "frames of look-ahead (and behind) for the path smoothing "
                         "(Gaussian sigma = radius/2); latency is 2*radius frames",
                         min=1, max=120)
    max_zoom: float = option(1.08, "largest crop zoom used to hide borders (1.08 keeps "
                             ">= 85% of the frame area)", min=1.0, max=2.0)
    box: tuple[float, ...] | None = option(None, "mode=subject: the subject box x0+y0+x1+y1 "
                                           "in pixels of each shot's first frame as a player "
                                           "shows it (a rotated video turned upright, as "
                                           "framemend.read gives it; default: the largest "
                                           "detected face)",
                                           only_with={"mode": "subject"})
