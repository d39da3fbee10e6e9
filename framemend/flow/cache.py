"""Flow reuse across the filters of one chain, for any pair of frames (plug-in filters; the
built-in passes share the motion from each frame to the previous one through :mod:`.motion`).

Flow computed for a frame is stored in that frame's ``aux`` dict. The engine carries ``aux``
through filters that keep pixels in place (``preserves_geometry=True``: deflicker, denoise), so
the second such filter of a chain finds the flow the first one computed instead of estimating
it again. A geometry-changing filter (stabilize, interpolate) drops ``aux`` and with it the
now-wrong flow.

Key in ``frames[i].aux``: ``("flow", j - i, backend, quality, scale)``, the offset to the
target frame standing for the direction; the value is ``(target time, flow (2, H, W))``, and
an entry whose target time differs from ``frames[j].time`` is recomputed.
"""
from __future__ import annotations

from framemend._torch import torch

from ..chain.frames import Frame
from .estimate import estimate_flow, flow_backend


def _key(offset: int, backend: str, quality: str, scale: float) -> tuple:
    return ("flow", offset, backend, quality, float(scale))


def cached_flows(frames: list[Frame], pairs: list[tuple[int, int]], backend: str | None = None,
                 quality: str = "medium", scale: float = 1.0) -> list[torch.Tensor]:
    """Flow from ``frames[i]`` to ``frames[j]`` for each ``(i, j)`` of ``pairs``, with
    ``backend`` or, if None, the :func:`.estimate.flow_backend` of the frames' device.

    Pairs without a valid cached entry are estimated together in one :func:`estimate_flow`
    call (so DIS spreads them over threads, torch batches them) and stored in
    ``frames[i].aux``.

    Returns:
        one ``(2, H, W)`` float32 tensor per pair, on the frames' device.
    """
    if backend is None and pairs:
        backend = flow_backend(frames[pairs[0][0]].image.device)
    out: list[torch.Tensor | None] = []
    missing = []
    for n, (i, j) in enumerate(pairs):
        hit = frames[i].aux.get(_key(j - i, backend, quality, scale))
        if hit is not None and hit[0] == frames[j].time:
            out.append(hit[1])
        else:
            out.append(None)
            missing.append(n)
    if missing:
        src = torch.stack([frames[pairs[n][0]].image for n in missing])
        dst = torch.stack([frames[pairs[n][1]].image for n in missing])
        flows = estimate_flow(src, dst, backend=backend, quality=quality, scale=scale)
        for n, flow in zip(missing, flows):
            i, j = pairs[n]
            frames[i].aux[_key(j - i, backend, quality, scale)] = (frames[j].time, flow)
            out[n] = flow
    return out


def cached_flow(frames: list[Frame], i: int, j: int, backend: str | None = None,
                quality: str = "medium", scale: float = 1.0) -> torch.Tensor:
    """Flow ``(2, H, W)`` from ``frames[i]`` to ``frames[j]``, computed once per chain."""
    return cached_flows(frames, [(i, j)], backend, quality, scale)[0]
