"""Palette (GIF) input: frames drawn from at most 256 colours, whose finest scale is dither.

A GIF frame holds at most 256 distinct colours; generators that save GIFs reach the missing
tones by ordered or error-diffusion dither, a pattern near the sampling rate (period 2-4 px)
that changes from frame to frame. It is quantisation error, not Gaussian noise and not detail:
noise estimates must not read it (:mod:`framemend.denoise.noise`) and temporal passes remove it
before comparing frames (:mod:`framemend.deboil`). A pass that removes it (or re-tones the frame)
leaves frames that are no longer palette-limited but still carry what is left of the dither,
which still differs from frame to frame: :func:`palette_source` records the finding in the
frame's ``aux`` so that later passes of the chain know it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from framemend._torch import F, is_tensor, torch
from framemend.cuda.policy import device_constant

if TYPE_CHECKING:
    from .frames import Frame

PALETTE_COLOURS = 256  # a GIF's palette size; true-colour frames hold tens of thousands
# a 5-tap low-pass with a zero at the sampling rate (a 1-px checkerboard is removed) and a
# passband within 6 % up to a period of 6 px
DEDITHER_TAPS = (-1 / 16, 4 / 16, 10 / 16, 4 / 16, -1 / 16)


def palette_limited(pixels: np.ndarray | torch.Tensor) -> bool:
    """Whether a frame uses at most :data:`PALETTE_COLOURS` distinct colours (and more than a
    handful, so flat synthetic frames do not count).

    Args:
        pixels: ``(H, W, 3)`` uint8/uint16 decoded pixels or float32 in [0, 1], or a
            ``(3, H, W)`` float tensor in [0, 1] (floats compared at 8-bit precision).
    """
    # every k-th pixel (at most about 200 000 of them), taken before any conversion: converting
    # the whole frame first took 0.12 s at 1920x1080 and 0.38 s at 3840x2160
    flat = pixels.detach().flatten(1).T if is_tensor(pixels) else \
        pixels.reshape(-1, 3)
    flat = flat[:: max(1, flat.shape[0] // 200_000)]
    if is_tensor(flat):
        flat = flat.float().cpu().numpy()
    # a true-colour frame is seen at once, in its first 4096 samples: their codes are made
    # first (making every sample's before took 0.9 ms of the 1.0-1.6 at 640x360)
    if np.unique(_colour_codes(flat[:4096])).size > PALETTE_COLOURS:
        return False
    return 16 < np.unique(_colour_codes(flat)).size <= PALETTE_COLOURS


def _colour_codes(flat: np.ndarray) -> np.ndarray:
    """``(N,)`` int64: one code per colour of ``(N, 3)`` 8/16-bit pixels or floats in [0, 1]
    (at 8-bit precision)."""
    if flat.dtype.kind == "f":
        flat = np.clip(flat * 255 + 0.5, 0, 255).astype(np.uint8)
    flat = flat.astype(np.int64)
    return (flat[:, 0] << 32) | (flat[:, 1] << 16) | flat[:, 2]


def palette_source(frame: Frame, pixels: np.ndarray | torch.Tensor) -> bool:
    """Whether ``frame`` comes from palette pixels:
    as an earlier pass of the chain found it (``frame.aux["palette"]``, carried while the
    geometry is kept), else :func:`palette_limited` of its ``pixels`` (any form that takes),
    which is then recorded there."""
    found = frame.aux.get("palette")
    if found is None:
        found = frame.aux["palette"] = palette_limited(pixels)
    return found


def dedither(images: torch.Tensor) -> torch.Tensor:
    """``(..., H, W)`` images through :data:`DEDITHER_TAPS` along x and y (borders mirrored,
    as OpenCV's ``BORDER_REFLECT_101``)."""
    shape = images.shape
    x = F.pad(images.reshape(-1, 1, *shape[-2:]), (2, 2, 2, 2), mode="reflect")
    taps = device_constant(DEDITHER_TAPS, images.device, images.dtype)
    x = F.conv2d(F.conv2d(x, taps.view(1, 1, 1, 5)), taps.view(1, 1, 5, 1))
    return x.reshape(shape)
