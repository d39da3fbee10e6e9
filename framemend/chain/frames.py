"""Frames as the engine moves them.

A :class:`Frame` is one picture: an RGB float32 tensor ``(C, H, W)`` with values in [0, 1] on the
run's device, its presentation time in seconds and a scene-cut flag (``cut`` is True on the first
frame of a new shot). ``aux`` carries per-frame results that later filters may reuse while the
geometry of the frame is unchanged (for example optical flow to the previous frame).

A :class:`FrameBatch` is a run of frames stacked into one ``(T, C, H, W)`` tensor, the shape the
plain-array functions and the window helpers work on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import torch


class Frame:
    """One frame: ``image`` is ``(C, H, W)`` float32 RGB in [0, 1].

    A decoded frame may instead hold its ``raw`` pixels, an ``(H, W, 3)`` uint8/uint16 array,
    and becomes a tensor on ``device`` the first time a filter reads ``image``; frames no filter
    touches (identity chains, passthrough) are never converted.
    """

    __slots__ = ("_image", "raw", "raw_scale", "device", "time", "cut", "aux")

    def __init__(self, image: torch.Tensor | None = None, time: float = 0.0, cut: bool = False,
                 aux: dict | None = None, raw: np.ndarray | None = None,
                 raw_scale: float = 255.0, device: torch.device | str = "cpu"):
        if image is None and raw is None:
            raise ValueError("a Frame needs an image or raw pixels")
        self._image = image
        self.raw = raw if image is None else None
        self.raw_scale = raw_scale
        self.device = device
        self.time = time
        self.cut = cut
        self.aux = {} if aux is None else aux

    @property
    def image(self) -> torch.Tensor:
        if self._image is None:
            hwc = torch.from_numpy(self.raw.astype(np.float32) if self.raw.dtype == np.uint16
                                   else self.raw)
            chw = hwc.to(self.device).permute(2, 0, 1)
            self._image = chw.to(torch.float32, memory_format=torch.contiguous_format)
            self._image.div_(self.raw_scale)
            self.raw = None
        return self._image

    @image.setter
    def image(self, value: torch.Tensor) -> None:
        self._image, self.raw = value, None

    def replace(self, image: torch.Tensor, keep_aux: bool = True) -> "Frame":
        """The same frame (time, cut flag) with new pixels; ``aux`` survives only if asked."""
        return Frame(image, self.time, self.cut, dict(self.aux) if keep_aux else {})

    def __repr__(self) -> str:
        shape = tuple(self._image.shape) if self._image is not None else self.raw.shape
        return f"Frame(time={self.time:.4f}, cut={self.cut}, shape={shape})"


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
