"""An example framemend plug-in: ``median3``, a per-pixel temporal median over 2r+1 frames.

The median of a short window removes what lasts a single frame (sparkles, dropped-out pixels,
one-frame glitches) and leaves what persists; it does not follow motion, so keep ``radius``
small or use it on static shots. The filter follows framemend's contract
(:mod:`framemend.chain.filter`): a :class:`~framemend.chain.TemporalFilter` sets its window and
returns each output frame from it; it never mixes frames across a scene cut.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from framemend.chain import TemporalFilter, option


@dataclass
class MedianOptions:
    """Per-pixel temporal median: removes one-frame sparkles and glitches on steady shots."""

    radius: int = option(1, "frames on each side in the median", min=1, max=3)


class TemporalMedian(TemporalFilter):
    """Per-pixel temporal median: removes one-frame sparkles and glitches on steady shots."""

    name = "median3"
    Options = MedianOptions

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        self.past = self.future = options.radius

    def process(self, window, center):
        """``window`` frames of one shot (fewer at its ends); the median ``(3, H, W)``."""
        return torch.stack([f.image.to(self.device) for f in window]).median(0).values
