"""What the tiny generators are conditioned on, taken from a procedural scene at their size.

A conditioning clip is :func:`framemend.generate.scene` rendered at ``SIZE x SIZE`` pixels
(scene kind = camera motion, background photograph, seed). The generators see:

- ``guide``: each truth frame reduced to ``GUIDE x GUIDE`` (area averaging) and enlarged back
  (bilinear): the layout and colours of the shot, no detail; the VAE, diffusion and flow models
  draw the detail;
- ``first`` and the camera ``steps``: the autoregressive model starts from the truth's first
  frame and moves it by the camera from frame to frame.

Tensors are ``(T, C, H, W)`` float32; pixels in [-1, 1] inside the models.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from ..scenes import scene

#: Frame side the models generate at (pixels).
SIZE = 32
#: Side of the coarse layout guide (pixels).
GUIDE = 8
#: Frames per training clip.
FRAMES = 16
#: Camera motions the models were trained on (scene kinds without sprites or lighting changes).
MOTIONS = ("static", "pan", "zoom", "rotate", "handheld")
#: Background pictures of the training clips.
PICTURES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "immunohistochemistry",
            "hubble_deep_field", "brick", "grass", "gravel", "texture")


@dataclass
class Condition:
    """A truth clip at model size and what the models read from it.

    ``truth``: ``(T, 3, S, S)`` in [-1, 1]; ``guide``: the same shape; ``steps``: ``(T-1, 3, 3)``
    homographies mapping frame t+1 pixels to frame t pixels; ``clip``: the procedural
    :class:`~framemend.generate.Clip` at model size.
    """

    truth: torch.Tensor
    guide: torch.Tensor
    steps: torch.Tensor
    clip: object


def to_model(frames: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 3)`` [0, 1] numpy -> ``(T, 3, H, W)`` [-1, 1] torch."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2) * 2.0 - 1.0


def from_model(x: torch.Tensor) -> np.ndarray:
    """``(T, 3, H, W)`` [-1, 1] torch -> ``(T, H, W, 3)`` float32 [0, 1] numpy."""
    return ((x.clamp(-1, 1) + 1.0) / 2.0).permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32)


def layout_guide(x: torch.Tensor) -> torch.Tensor:
    """Frames ``(T, 3, S, S)`` reduced to ``GUIDE`` pixels a side and enlarged back."""
    small = F.adaptive_avg_pool2d(x, GUIDE)
    return F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)


def condition(kind: str, image: str, seed: int, frames: int = FRAMES) -> Condition:
    """Render the truth (``scene(kind, SIZE, SIZE, frames, seed=seed, image=image)``) and its guide."""
    if kind not in MOTIONS:
        raise ValueError(f"unknown motion '{kind}' for a model; choose from {', '.join(MOTIONS)}")
    clip = scene(kind, SIZE, SIZE, frames, seed=seed, image=image)
    truth = to_model(clip.frames)
    cam = clip.camera.astype(np.float64)
    steps = np.stack([np.linalg.inv(cam[t]) @ cam[t + 1] for t in range(len(cam) - 1)])
    return Condition(truth, layout_guide(truth), torch.from_numpy(steps.astype(np.float32)), clip)


def warp(x: torch.Tensor, steps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move frames ``x`` ``(B, C, H, W)`` by the camera: ``out(p) = x(steps @ p)`` (bilinear).

    Returns the warped frames and ``(B, 1, H, W)`` 1 where ``steps @ p`` lies inside the frame.
    """
    b, _, h, w = x.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    p = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(-1, 3)  # (HW, 3)
    q = torch.einsum("bij,nj->bni", steps, p)
    qx, qy = q[..., 0] / q[..., 2], q[..., 1] / q[..., 2]
    grid = torch.stack([qx / (w - 1) * 2 - 1, qy / (h - 1) * 2 - 1], -1).reshape(b, h, w, 2)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
    inside = ((grid.abs() <= 1.0).all(-1, keepdim=True)).permute(0, 3, 1, 2).float()
    return out, inside
