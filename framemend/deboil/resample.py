"""The previous output warped onto the frame with Catmull-Rom's cubic: the torch reference of
:func:`._cpu._catmull_rom_remap`.

Deboil warps its own output frame after frame, up to 0.9 of it carried into the next. Keys'
cubic convolution with ``a = -0.75`` (OpenCV's ``INTER_CUBIC``, torch's ``bicubic``) passes
periods of 5-10 px with a gain above 1 at fractional shifts (1.03 at 6 px for half a pixel), and
the recursion compounds it: on clean procedural renderings (no artefact) the output's fine band
held 1.08-1.14x the frame's energy by frame 23 (256x144 and 720x480). Catmull-Rom's (``a =
-1/2``: Keys, "Cubic convolution interpolation for digital image processing", IEEE TASSP 1981,
the third-order one) passes no frequency with a gain above 1: PSNR against the clean frames
+0.3-0.7 dB at 256x144 (BENCHMARKS.md, "Deboil's fine band restored with the share the warp
kept; its output warped with Catmull-Rom's cubic"). Used where the tone band holds texture
(:func:`.consistency.holds_texture`); larger frames keep OpenCV's cubic, whose SIMD remap took
2.4 ms less a 720x480 frame than this one's numba twin.
"""
from __future__ import annotations

from framemend._torch import torch


def catmull_rom_weights(t: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The weights of the samples at offsets -1, 0, 1, 2 for a fractional position ``t`` in
    [0, 1) (any shape)."""
    t2, t3 = t * t, t * t * t
    return (0.5 * (2 * t2 - t3 - t), 0.5 * (3 * t3 - 5 * t2 + 2),
            0.5 * (4 * t2 - 3 * t3 + t), 0.5 * (t3 - t2))


def catmull_rom_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``(C, H, W)`` ``image`` ``(C, H, W)`` sampled at ``p + flow(p)`` (``flow`` ``(2, H, W)``
    in pixels), edge pixels repeated outside the frame."""
    _, h, w = image.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=flow.device, dtype=flow.dtype),
                            torch.arange(w, device=flow.device, dtype=flow.dtype), indexing="ij")
    px, py = xs + flow[0], ys + flow[1]
    fx, fy = px.floor(), py.floor()
    wx, wy = catmull_rom_weights(px - fx), catmull_rom_weights(py - fy)
    cols = [(fx + k - 1).clamp(0, w - 1).long() for k in range(4)]
    flat = image.reshape(image.shape[0], -1)
    out = torch.zeros_like(image)
    for j in range(4):
        row = (fy + j - 1).clamp(0, h - 1).long() * w
        across = sum(wx[k] * flat[:, (row + cols[k]).reshape(-1)].reshape(image.shape)
                     for k in range(4))
        out = out + wy[j] * across
    return out
