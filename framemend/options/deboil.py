"""The ``deboil`` filter's options; the filter itself is :mod:`framemend.deboil.filter`."""
from __future__ import annotations

from dataclasses import dataclass

from framemend.chain.options import option


@dataclass
class DeboilOptions:
    """Temporal consistency of fine texture and local tone along the motion (boiling, wobble)."""

    strength: float | None = option(None, "how far texture and tone follow the previous "
                                    "output along the motion (0: off, 1: most); auto: 1 "
                                    "where the motion explains half of a shot's second "
                                    "frame or more, less where it explains less",
                                    min=0.0, max=1.0)
