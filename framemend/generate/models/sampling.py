"""``sample(model, ...) -> Clip``: a clip from a shipped tiny generator, with the truth it followed."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from ..clip import Clip
from .conditioning import FRAMES, SIZE, condition, from_model
from .store import load


def _enlarge(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(T, S, S, 3)`` -> ``(T, height, width, 3)``, bicubic, clipped to [0, 1]."""
    out = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC) for f in frames])
    return np.clip(out, 0.0, 1.0)


def sample(model: str, kind: str = "pan", image: str = "astronaut", seed: int = 0,
           frames: int = FRAMES, width: int = 256, height: int = 256) -> Clip:
    """Generate ``frames`` frames with tiny model ``model`` (``vae``, ``autoregressive``,
    ``diffusion`` or ``flow``) following the procedural scene ``kind`` (a camera motion:
    ``static``, ``pan``, ``zoom``, ``rotate``, ``handheld``) over ``image``.

    The model works at 32x32 pixels; its frames and the truth (the scene rendered at 32x32) are
    enlarged bicubically to ``width x height`` for display. The same arguments give identical
    frames. Returns a :class:`~framemend.generate.Clip`: ``frames`` ``(T, height, width, 3)``
    float32 in [0, 1], ``truth`` the enlarged truth, ``flow_fwd``, ``occluded`` and ``camera``
    of the truth scaled to the display size.

    Raises ValueError for an unknown model, motion or image, fewer than 2 frames or a size
    under 16 pixels.
    """
    if frames < 2 or width < 16 or height < 16:
        raise ValueError("a model clip needs at least 2 frames of 16x16 pixels")
    net = load(model)
    cond = condition(kind, image, seed, frames)
    with torch.no_grad():
        made = from_model(net.generate(cond, seed))
    truth = cond.clip
    sx, sy = width / SIZE, height / SIZE
    flow = np.stack([np.stack([cv2.resize(f[0], (width, height)) * sx,
                               cv2.resize(f[1], (width, height)) * sy]) for f in truth.flow_fwd])
    occluded = np.stack([cv2.resize(o.astype(np.uint8), (width, height),
                                    interpolation=cv2.INTER_NEAREST) > 0 for o in truth.occluded])
    scale = np.diag([sx, sy, 1.0])
    camera = np.stack([scale @ h @ np.linalg.inv(scale) for h in truth.camera]).astype(np.float32)
    return Clip(frames=_enlarge(made, width, height), fps=truth.fps, flow_fwd=flow.astype(np.float32),
                camera=camera, truth=_enlarge(truth.frames, width, height), occluded=occluded)
