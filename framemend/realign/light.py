"""What is light, not drift: the exposure of the same content changing faster than a drift can.

A drift of generated video is slow (issue 16: a per-channel gain of at most 25 %, an offset of
at most 5 %, grown over 2-10 s); a fade to or from black or white, or a lamp dimming, changes
the exposure of everything by tens of percent a second. Between two consecutive frames the
exposure step is the log of the ratio of the mean luma of the same content (the frame and the
previous one warped onto it, where the flow is trusted), measured both ways like the colour
step of :mod:`.evidence`; over the time between the frames it is a rate. Near white that ratio
is small: a change towards or from white (moving the darker pixels more than the brighter) is
measured on the mean of ``1 - luma`` as well, where a fade to white reads as a fade to black.
A frame whose rate is above ``LIGHT_RATE`` is light: :class:`.filter.Realign` keeps the
correction carried so far and the frame becomes the keyframe, as for a sudden change (a step
of light).

The mean's ratio, not a fitted gain: a gain fitted through the cells' means on consecutive
frames of a zoom read 0.19 a second where nothing changed (tuning rendering 4), the ratio of
the means 0.02.
"""
from __future__ import annotations

import torch

from ..kernels.colour import luma

#: Exposure rate (log units a second) above which a change of exposure is light
#: (:func:`exposure_step`): above what a drift of issue 16 can reach, a gain of -25 % over
#: 2 s (0.17 at its end) with an offset of -5 % over 2 s on a mean luma of 0.3 (0.08).
#: Measured (``scratch/realign12``): the bench's tuning renderings 0-9 at 320x180, with their
#: cast and without, 0.054 at most (a told subject's ellipse alone read up to 0.33 where
#: nothing changed: the whole frame is measured); a test's whole-frame cast over 2 s, 0.16;
#: a 128x72 clip without a cast on the device path's torch flow, 0.21. Fades to or from black
#: over 2-4 s, 0.24 at their start and more after (the rate of a linear fade to black over
#: ``T`` seconds is ``1 / (T - t)``); 0.1 also caught fades over 8 s and to white over 3-4 s,
#: but read the 2-s cast and the device path's 128x72 clip as light.
LIGHT_RATE = 0.25


def exposure_step(frame: torch.Tensor, reference: torch.Tensor,
                  weight: torch.Tensor) -> torch.Tensor:
    """``(2,)``: the log of the ratio of the mean luma of ``frame`` to that of ``reference``
    (both ``(1, 3, H, W)``, aligned) where ``weight`` ``(1, 1, H, W)`` trusts them, and the
    same of the mean of ``1 - luma`` where the change moves the darker half of ``reference``
    (below its mean) more than the brighter: a change towards or from white (a fade to white
    is a fade to black of ``1 - luma``: ``1 - (x + a (1 - x)) = (1 - a) (1 - x)``, each pixel
    moved in proportion to ``1 - x``), not a gain (in proportion to ``x``); each 0 where
    nothing is trusted or either mean is 0 (black, or white)."""
    y, y_ref = luma(frame), luma(reference)
    a = torch.stack([(y * weight).sum(), ((1 - y) * weight).sum()])
    b = torch.stack([(y_ref * weight).sum(), ((1 - y_ref) * weight).sum()])
    darker = (y_ref < b[0] / weight.sum().clamp_min(1e-12)).float()
    moved = torch.stack([((y - y_ref) * weight * half).sum().abs()
                         / (weight * half).sum().clamp_min(1e-12)
                         for half in (darker, 1 - darker)])
    usable = (a > 0) & (b > 0) & torch.stack([torch.ones((), dtype=torch.bool,
                                                         device=a.device), moved[0] > moved[1]])
    return torch.where(usable, torch.log(a.clamp_min(1e-12) / b.clamp_min(1e-12)), 0.0)


def exposure_rate(backward: torch.Tensor, forward: torch.Tensor, seconds: float) -> torch.Tensor:
    """0-d: the larger absolute exposure rate (log units a second), of the luma or of its
    complement, of the average of the steps ``(2,)`` measured along the backward and the
    forward flow (:func:`exposure_step`), ``seconds`` apart; 0 where the time between the
    frames is unknown (not after the previous one)."""
    if seconds <= 0:
        return torch.zeros((), device=backward.device)
    return ((backward + forward) / 2).abs().amax() / seconds
