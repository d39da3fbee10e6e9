"""Run one filter over frames already in memory (the plain-function face of every filter)."""
from __future__ import annotations

from fractions import Fraction

import torch

from .frames import Frame
from .options import make_options
from .registry import get_filter


def apply_filter(name: str, frames: torch.Tensor, input_fps: float = 24.0,
                 cuts: list[int] | None = None, device: str | torch.device | None = None,
                 **options) -> torch.Tensor:
    """Apply filter ``name`` with ``options`` to ``frames``.

    Args:
        frames: ``(T, 3, H, W)`` float RGB in [0, 1].
        input_fps: frame rate of ``frames`` (their times are ``t / input_fps``); not ``fps``,
            which is an option of rate-changing filters.
        cuts: indices of frames that start a new shot.
        device: where to compute (default: the device of ``frames``).
    Returns:
        ``(T', 3, H, W)`` on the device of ``frames``; ``T'`` differs for rate-changing filters.
    """
    cls = get_filter(name)
    device = torch.device(device) if device is not None else frames.device
    flt = cls(make_options(name, cls.Options, options), device)
    flt.output_rate(Fraction(input_fps).limit_denominator(100000))
    cut_set = set(cuts or [])
    out: list[Frame] = []
    for t in range(frames.shape[0]):
        out += flt.push(Frame(frames[t].to(device), t / input_fps, t in cut_set))
    out += flt.flush()
    return torch.stack([f.image for f in out]).to(frames.device)
