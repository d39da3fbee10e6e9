"""The ``deflicker`` filter's options; the filter itself is :mod:`framemend.deflicker.filter`."""
from __future__ import annotations

from dataclasses import dataclass

from framemend.chain.options import option

@dataclass
class DeflickerOptions:
    """Remove global and local flicker while keeping fades, lights switching on and scene cuts."""

    mode: str = option("auto", "global: a gain and offset per channel; local: a smooth gain "
                       "field; offset: a smooth offset field, which moves the cells' means and "
                       "leaves the detail's contrast (tone that wobbles while the texture is "
                       "redrawn, as in generated video), less the fine changes a redrawn "
                       "texture explains; auto: global, plus local gains where they clearly "
                       "differ", choices=("auto", "global", "local", "offset"))
    strength: float = option(1.0, "fraction of the correction applied", min=0.0, max=1.0)
    radius: int = option(12, "frames on each side compared with each frame", min=1, max=30)
    rows: int = option(24, "rows of the grid of cells the gain field is estimated on "
                       "(finer follows sharper flicker, coarser is steadier)", min=2, max=200)
    tolerance: float = option(0.75, "relative brightness difference from the window's "
                              "median beyond which a neighbour counts as a real change",
                              min=0.01, max=10.0)
