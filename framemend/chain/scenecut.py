"""Scene-cut detection, shared by every temporal filter through ``Frame.cut``.

A cut is declared where the colour histogram of a small thumbnail changes far more than between
neighbouring frames within a shot (histogram difference with an adaptive threshold, in the
spirit of classic shot-boundary detection, e.g. Zhang et al. 1993).
"""
from __future__ import annotations

import torch

from .frames import Frame


class SceneCutDetector:
    """Marks ``frame.cut`` on the first frame of each new shot.

    ``threshold`` is the minimum histogram distance (total variation, 0..1) for a cut; a change
    must also be ``ratio`` times the recent in-shot average, so fades and pans do not trigger.
    """

    def __init__(self, threshold: float = 0.35, ratio: float = 4.0, bins: int = 16):
        self.threshold, self.ratio, self.bins = threshold, ratio, bins
        self._prev: torch.Tensor | None = None
        self._recent = 0.05

    def histogram(self, small: torch.Tensor) -> torch.Tensor:
        """``(3, h, w)`` thumbnail -> per-channel histograms ``(3 * bins,)``, each summing to 1."""
        idx = (small.clamp(0, 1) * (self.bins - 1e-4)).long().flatten(1)
        hist = torch.zeros(3, self.bins, device=small.device)
        hist.scatter_add_(1, idx, torch.ones_like(idx, dtype=hist.dtype))
        return (hist / idx.shape[1]).flatten()

    def __call__(self, frame: Frame) -> Frame:
        h = self.histogram(frame.thumbnail(64, 36))
        if self._prev is not None:
            d = float((h - self._prev).abs().sum() / 6)  # mean of per-channel TV distances
            if d > self.threshold and d > self.ratio * self._recent:
                frame.cut = True
            else:
                self._recent = 0.8 * self._recent + 0.2 * d
        self._prev = h
        return frame
