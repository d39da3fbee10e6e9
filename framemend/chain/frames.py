"""Frames as the engine moves them.

A :class:`Frame` is one picture: an RGB float32 tensor ``(C, H, W)`` with values in [0, 1] on the
run's device, its presentation time in seconds and a scene-cut flag (``cut`` is True on the first
frame of a new shot). ``aux`` carries per-frame results that later filters may reuse while the
geometry of the frame is unchanged (for example optical flow to the previous frame).

A :class:`FrameBatch` is a run of frames stacked into one ``(T, C, H, W)`` tensor, the shape the
plain-array functions and the window helpers work on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Frame:
    """One frame: ``image`` is ``(C, H, W)`` float32 RGB in [0, 1]."""

    image: torch.Tensor
    time: float
    cut: bool = False
    aux: dict = field(default_factory=dict)

    def replace(self, image: torch.Tensor, keep_aux: bool = True) -> "Frame":
        """The same frame (time, cut flag) with new pixels; ``aux`` survives only if asked."""
        return Frame(image, self.time, self.cut, dict(self.aux) if keep_aux else {})


@dataclass
class FrameBatch:
    """``data`` is ``(T, C, H, W)`` float32 RGB in [0, 1]; ``times`` and ``cuts`` have length T."""

    data: torch.Tensor
    times: list[float]
    cuts: list[bool]

    @classmethod
    def stack(cls, frames: list[Frame]) -> "FrameBatch":
        return cls(torch.stack([f.image for f in frames]), [f.time for f in frames],
                   [f.cut for f in frames])

    def __len__(self) -> int:
        return self.data.shape[0]

    def frames(self) -> list[Frame]:
        return [Frame(self.data[i], self.times[i], self.cuts[i]) for i in range(len(self))]
