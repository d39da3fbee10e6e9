"""Where no motion explains the change: the in-between drawn towards the neighbours' plain blend.

A generator re-draws content between frames (sparks, glyphs, snow, trees that appear and
vanish), and a GIF re-dithers it: there the flow matches things that do not correspond, and the
warped candidates ``A = I0(p + Ft0)`` and ``B = I1(p + Ft1)`` put confident detail in the wrong
place. The in-between is then one of two hypotheses about the dropped frame: the motion-
compensated blend ``X_m`` (:mod:`.synthesis`) and the still blend ``X_s = (1 - t) I0 + t I1``
(no motion: what stays on the screen). Each is as good as its two sources agree: the local mean
of their squared luma difference, ``e_m = E[4 w (1 - w) (A_Y - B_Y)²]`` and
``e_s = E[(I0_Y - I1_Y)²]``, estimates each hypothesis' error (``w`` frame 0's blending weight:
where one side is hidden, ``w`` is 0 or 1, the other side's difference does not enter the blend
and does not count against it). The in-between is their inverse-error weighted mean, the
multihypothesis prediction of Girod, "Efficiency analysis of multihypothesis motion-compensated
prediction for video coding", IEEE TIP 2000, with per-region weights from the matching error as
in the adaptive OBMC of Choi et al. (IEEE TCSVT 2007):

    ``X = X_m + s (X_s - X_m)``,  ``s = (e_m + ε) / (e_m + e_s + 2 ε)``.

Where the motion is right ``e_m`` is near 0 and ``s`` too (a moving region has a large ``e_s``);
in a region that does not move both are small and alike, and so are both hypotheses; where both
disagree (re-drawn content), the two are averaged, which lowers the squared error of either.
``ε`` (:data:`FLOOR`) keeps flat regions, where both errors vanish, from taking either
hypothesis on noise.

The two errors are correlated, and what the still blend is worth depends on the content, not
only on the local ratio: where the motion explains the frame (real footage, procedural motion),
the candidates' local disagreement is a flow error at an edge or in a texture, and the still
blend there only ghosts the detail (the least-squares share per cell, fitted to the truth on
the bedroom footage and two procedural renderings, is 0 or below at every local ratio); where a
generator re-draws the frame, it is above ``s`` at every local ratio (0.17 where ``s`` is 0.05,
0.54 where it is 0.36, on the six clips of ``shared/data/generated``). So ``s`` takes a gain per
in-between frame from the ratio of the two errors summed over the frame, ``ρ = Σ e_m / Σ e_s``
(the cell means, before the Gaussian):

    ``s' = min(1, g s)``,  ``g = clip((log10 ρ - GATE_FROM) / GATE_SPAN, 0, GATE_MAX)``:

0 while the motion leaves less than a twentieth of the still blend's disagreement
(:data:`GATE_FROM`), 1 at a tenth, :data:`GATE_MAX` from a seventh on (:data:`GATE_MAX_HELD`
on a pair that holds a frame, :mod:`.hold`). A gate per frame, not per
region: a frame's statistics tell re-drawn content from flow errors, a cell's do not (the
cells' ratios of real footage and of generated clips overlap). The means are
Gaussian (:data:`SIGMA` cells) on the flow grid, where the statistics of :mod:`.redrawn` are
taken too; the share is upsampled bilinearly.

The pooling is wide (:data:`SIGMA` 8 cells, 32 pixels at the default ``flow_scale``): within a
gated frame, the local ratio says little about where the still blend helps. Fitted to the
truth of CogVideo__2 per 8-pixel block, the least-squares share hardly follows ``s`` (0.11 where
``s`` is 0.03, 0.27 where it is 0.58), and a linear model of it in ``s``, the motion, the
texture and both errors recovers +0.06 to +0.18 dB of the +0.6 dB a per-block oracle share
would: the errors of a cell are estimated from few pixels, and the motion-compensated blend's
error is 3 to 12 times what the candidates' disagreement predicts (the more, the faster the
motion: an error both share, as a wrong intermediate motion, is no disagreement). So the
share leans on the statistics of a larger region: pooled over 2 / 3.5 / 6 / 8 / 10 / 14 / 20
cells, the generated clips' median over minterpolate is +0.76 / +0.77 / +0.78 / +0.78 /
+0.78 / +0.79 / +0.79 dB; 8 is the widest that keeps each of the three clips not tuned on
within 0.005 dB of 2 cells. Measured on ``shared/data/generated`` and the bench's renderings
in BENCHMARKS.md (issue 16, stop 23, the frame's gain after it, and branch interp5).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..kernels.blur import gaussian_blur
from ..kernels.colour import luma

SIGMA = 8.0  # cells of the flow grid (32 px at the default flow_scale) the errors are pooled over
_RADIUS = 24  # taps either side (3 sigma)
FLOOR = 1e-5  # squared luma error ([0, 1] units) under which two hypotheses count as equal
GATE_FROM = -1.3  # log10 of the frame's Σ e_m / Σ e_s under which the still blend takes no share
GATE_SPAN = 0.3  # log10 units from GATE_FROM to a gain of 1
GATE_MAX = 1.5  # the largest gain of the share
GATE_MAX_HELD = 3.0  # the largest gain on a pair that holds (:mod:`.hold`)


def still_error(luma0: np.ndarray, luma1: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """``(I0_Y - I1_Y)²`` of two frames' lumas ``(H, W)`` float32 (any unit) averaged over
    each cell of the flow grid ``grid`` ``(h, w)``: ``(h, w)`` float32, one per pair."""
    diff = cv2.subtract(luma0, luma1)
    return cv2.resize(cv2.multiply(diff, diff), grid[::-1], interpolation=cv2.INTER_AREA)


def still_share(moved: np.ndarray, still: np.ndarray, weight_grid: np.ndarray,
                unit: float, gate_max: float = GATE_MAX) -> tuple[np.ndarray | None, float]:
    """The still blend's share ``s'`` ``(h, w)`` float32 (module docstring) on the flow grid,
    None where the frame's gain is 0 (nothing to mix), and the frame's gain ``g`` (for
    :mod:`.smear`).

    Args:
        moved: ``(A_Y - B_Y)²`` averaged over each cell ``(h, w)``.
        still: :func:`still_error` of the pair.
        weight_grid: frame 0's blending weight ``w`` on the grid.
        unit: the lumas' unit (1 or 255), for :data:`FLOOR`.
        gate_max: the largest gain (:data:`GATE_MAX`, or :data:`GATE_MAX_HELD`).
    """
    size = (2 * _RADIUS + 1,) * 2
    floor = np.float32(FLOOR * unit * unit)
    moved = cv2.multiply(moved, 4 * weight_grid * (1 - weight_grid))
    gain = frame_gain(float(moved.sum(dtype=np.float64)), float(still.sum(dtype=np.float64)),
                      gate_max)
    if gain == 0:
        return None, gain
    e_m, e_s = (cv2.GaussianBlur(e, size, SIGMA, borderType=cv2.BORDER_REPLICATE) + floor
                for e in (moved, still))
    return np.minimum(e_m * np.float32(gain) / (e_m + e_s), np.float32(1)), gain


def frame_gain(moved: float, still: float, gate_max: float = GATE_MAX) -> float:
    """The share's gain ``g`` of a frame (module docstring) from its errors ``Σ e_m`` and
    ``Σ e_s``, at most ``gate_max``."""
    ratio = np.log10(max(moved, 1e-30) / max(still, 1e-30))
    return float(np.clip((ratio - GATE_FROM) / GATE_SPAN, 0.0, gate_max))


def mix_still(made: np.ndarray, image0: np.ndarray, image1: np.ndarray, t: float,
              share: np.ndarray) -> None:
    """``made + s ((1 - t) I0 + t I1 - made)`` in place, for ``(H, W, 3)`` frames or
    ``(H, W)`` planes (uint8 or float32; ``made`` the motion-compensated blend) with the share
    ``s`` ``(H, W)`` float32 (:func:`still_share` upsampled)."""
    still = cv2.addWeighted(image0, 1 - t, image1, t, 0.0)
    cv2.blendLinear(made, still, 1 - share, share, dst=made)


def mix_still_torch(made: torch.Tensor, images: torch.Tensor, warped0: torch.Tensor,
                    warped1: torch.Tensor, times: list[float], weight_grid: torch.Tensor,
                    gate_max: float = GATE_MAX) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference (and CUDA) path: ``made`` ``(K, 3, H, W)`` in [0, 1] at fractional
    ``times``, blended from the candidates ``warped0``, ``warped1`` ``(K, 3, H, W)``, drawn
    towards the still blend of ``images`` ``(2, 3, H, W)``; ``weight_grid`` ``(K, 1, h, w)``;
    ``gate_max`` the largest gain (a float, or a 0-dim tensor on the device).
    Returns ``(K, 3, H, W)`` and the frames' gains ``g`` ``(K, 1, 1, 1)`` (for :mod:`.smear`)."""
    grid = weight_grid.shape[-2:]
    lumas = luma(images)
    still = F.interpolate((lumas[:1] - lumas[1:]).square(), size=grid, mode="area")
    moved = F.interpolate((luma(warped0) - luma(warped1)).square(), size=grid, mode="area")
    moved = moved * (4 * weight_grid * (1 - weight_grid))
    ratio = torch.log10(moved.double().sum((1, 2, 3), keepdim=True).clamp_min(1e-30)
                        / still.double().sum().clamp_min(1e-30))  # on the device: no sync
    gain = ((ratio - GATE_FROM) / GATE_SPAN).clamp_(min=0.0).clamp_(max=gate_max).float()
    e_m, e_s = (gaussian_blur(e, SIGMA, _RADIUS) + FLOOR for e in (moved, still))
    share = F.interpolate((gain * e_m / (e_m + e_s)).clamp_(max=1.0), size=made.shape[-2:],
                          mode="bilinear", align_corners=False)
    for j, t in enumerate(np.float32(times)):  # float32 numbers: nothing copied to the device
        blend = images[0] * float(1 - t) + images[1] * float(t)
        made[j].add_(share[j] * (blend - made[j]))
    return made, gain
