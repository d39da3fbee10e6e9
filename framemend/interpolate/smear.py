"""Where no motion explains the frame: the in-between averaged along the motion.

On a frame whose motion does not explain it (the still blend's gain ``g`` of :mod:`.still` above
0: content that a generator re-drew, which the flow matched to somewhere near the right place),
where the re-drawn texture lies along the motion is uncertain, and the more so the faster it
moves: the flow follows the motion of the scene, not each stroke that was drawn anew. Under an
uncertainty of the position along the motion, the least-squares guess of the dropped frame is
the in-between averaged over the positions it could have (as a shutter open for part of the
frame time smears what moves); across the motion, or where nothing moves, nothing changes. So
the in-between ``X`` becomes

    ``X'(p) = 1/5 Σ_{k=-2..2} X(p + k L v(p) / 4)``,  ``L = SMEAR · min(g, 1)``,

``v = Ft1 - Ft0`` the pair's motion through ``p`` (full-size pixels): the mean of five bilinear
samples over a segment of ``L`` times the motion, centred on ``p``. A frame the motion explains
(``g = 0``: clean footage, procedural motion) is left as it is.

Measured on ``shared/data/generated`` (every other frame dropped and restored, PSNR of the new
frames over minterpolate's; BENCHMARKS.md, issue 16, branch interp4): CogVideo__2 (a fast
follow-cam over re-drawn roadside) +0.37 -> +0.58 dB, AnimateDiff__model_08_01 +0.02 -> +0.15,
VideoCrafter__woman +1.62 -> +1.78, the clean CogVideo__1 +3.10 -> +3.04 (half of its frames
pass the gate). An isotropic blur of the same in-betweens gains less or loses (Gaussian of
0.7 px: model_08_01 +0.07 dB, CogVideo__2 +0.03, CogVideo__1 -2.5): what is uncertain is the
position along the motion. :data:`SMEAR` was chosen on AnimateDiff__model_08_01, CogVideo__2
and Open-Sora (0.1 / 0.15 / 0.2 / 0.3: +0.12 / +0.14 / +0.16 / +0.17, +0.55 / +0.58 / +0.58 /
+0.54, +0.95 / +0.95 / +0.95 / +0.92 dB over minterpolate; 0.15 and 0.2 within 0.02 dB on
each, 0.15 costing the clean clip less) and checked on the other three.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from ..flow import backward_warp
from .remap import RELATIVE_BILINEAR, padded, remap_rgb

SMEAR = 0.15  # the segment averaged over, as a fraction of the pair's motion, at a gain of 1
_TAPS = (-2, -1, 1, 2)  # the samples besides p, in quarters of the segment
# pixels a sample of a uint8 frame may move and still round to the pixel itself: its bilinear
# blend moves by under 255 / 1024 of a level, less than the half level that rounding takes
_STILL_TAP = 1 / 1024


def smear_length(gain: float) -> float:
    """``L = SMEAR · min(g, 1)`` of a frame with the still blend's gain ``g`` (:mod:`.still`)."""
    return SMEAR * min(gain, 1.0)


def smear_along_motion(made: np.ndarray, motion: np.ndarray, length: float) -> None:
    """``X'`` of the module docstring in place.

    In a uint8 frame only the box around the pixels whose farthest sample moves by more than
    :data:`_STILL_TAP` is resampled (a moving subject over a still background): elsewhere each
    sample rounds to the pixel itself and so does their mean (the same result).

    Args:
        made: the in-between ``(H, W, 3)`` or a plane ``(H, W)``, uint8 or float32.
        motion: ``v = Ft1 - Ft0`` ``(H, W, 2)`` float32 (x, y; full-size pixels).
        length: ``L`` (:func:`smear_length`); 0 changes nothing.
    """
    if length <= 0:
        return
    height, width = made.shape[:2]
    box = (slice(0, height), slice(0, width))
    if made.dtype == np.uint8:
        box = _moving_box(motion, np.float32(_STILL_TAP / (max(_TAPS) * length / 4)))
        if box is None:
            return
    whole = box == (slice(0, height), slice(0, width))
    total = made[box].astype(np.float32)
    rgb = made.dtype == np.uint8 and made.ndim == 3  # sampled through remap's 4-channel path
    source, sampled = padded(made) if rgb else made, None
    for k in _TAPS:
        step = motion[box] * np.float32(k * length / 4)
        flags = RELATIVE_BILINEAR
        if not whole:  # the box's relative map made absolute
            step[..., 0] += np.arange(box[1].start, box[1].stop, dtype=np.float32)
            step[..., 1] += np.arange(box[0].start, box[0].stop, dtype=np.float32)[:, None]
            flags = cv2.INTER_LINEAR
        sampled = remap_rgb(source, step, flags, sampled) if rgb else \
            cv2.remap(made, step, None, flags, dst=sampled, borderMode=cv2.BORDER_REPLICATE)
        cv2.accumulate(sampled, total)  # total += sampled (numpy's mixed uint8 add: 3x the CPU)
    if made.dtype == np.uint8:
        made[box] = cv2.convertScaleAbs(total, alpha=1 / (len(_TAPS) + 1)).reshape(total.shape)
    else:
        np.multiply(total, np.float32(1 / (len(_TAPS) + 1)), out=made)


def _moving_box(motion: np.ndarray, still: np.float32) -> tuple[slice, slice] | None:
    """The rows and columns ``(slice, slice)`` spanning the pixels of ``motion`` ``(H, W, 2)``
    with a component above ``still`` in magnitude, None where there is none. Where each of the
    four edges of the frame has such a pixel (a camera that moves), that is the whole frame,
    and the mask of every pixel (a quarter of a full-frame smear's CPU besides its remaps) is
    not made."""
    height, width = motion.shape[:2]
    if all((np.abs(edge) > still).any() for edge in (motion[0], motion[-1], motion[:, 0],
                                                       motion[:, -1])):
        return slice(0, height), slice(0, width)
    moving = (np.abs(motion) > still).reshape(height, -1)  # (H, 2W)
    rows, cols = np.flatnonzero(moving.any(1)), np.flatnonzero(moving.any(0)) // 2
    if not len(rows):
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def smear_along_motion_torch(made: torch.Tensor, motion: torch.Tensor,
                             gain: torch.Tensor) -> torch.Tensor:
    """The reference (and CUDA) path of :func:`smear_along_motion`: ``made`` ``(K, 3, H, W)``,
    ``motion`` ``(K, 2, H, W)`` (full-size pixels), the frames' still-blend gains ``g``
    ``(K, 1, 1, 1)`` (a tensor: no value read back to the host; ``L`` as
    :func:`smear_length`). Returns ``(K, 3, H, W)``."""
    length = gain.clamp(max=1.0) * SMEAR
    total = made.clone()
    for k in _TAPS:
        total += backward_warp(made, motion * (length * (k / 4)))
    return total.div_(len(_TAPS) + 1)
