"""framemend's side of a benchmark run: a streaming filter fed decoded frames, as the engine
feeds it, and its output handed over as the video writer takes it."""
from __future__ import annotations

import numpy as np
import torch

from framemend.chain.filter import Filter
from framemend.chain.frames import Frame


def stream_frames(flt: Filter, frames: np.ndarray, fps: float,
                  cuts=()) -> tuple[np.ndarray, list[float]]:
    """Push ``frames`` ``(T, H, W, 3)`` uint8 through ``flt`` as decoded frames (``Frame.raw``,
    time ``t / fps``, a cut where ``t`` is in ``cuts``) and flush it.

    Returns the output as uint8 ``(T', H, W, 3)`` (raw pixels as they are, float images rounded
    and saturated) and the output frames' times.
    """
    out = []
    for t in range(frames.shape[0]):
        out += flt.push(Frame(raw=frames[t], time=t / fps, cut=t in cuts))
    out += flt.flush()
    u8 = np.empty((len(out), *frames.shape[1:]), np.uint8)
    for i, f in enumerate(out):
        u8[i] = f.raw if f.raw is not None else \
            f.image.permute(1, 2, 0).mul(255.0).add_(0.5).clamp_(0, 255).to(torch.uint8)
    return u8, [f.time for f in out]
