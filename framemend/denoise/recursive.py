"""Motion-compensated recursive (Kalman-like) temporal filtering, one flow per frame.

Each pixel carries an estimate ``x`` and its error variance ``p`` (in units of the noise
variance σ², which may differ between the channels of the opponent basis of :mod:`.spatial`:
``p`` is then in units of each channel's own σ², so one gain serves all three). For a new frame
``z`` with flow ``f`` from ``z`` to the previous estimate:

1. predict: ``x̂ = x(p + f)``, ``p̂ = p(p + f)`` (backward warp, bilinear), ``x̂`` sharpened by
   the correction term of Catmull-Rom interpolation (:func:`sharpen_reference`): bilinear
   resampling at a fraction ``t`` of a pixel blurs, and the state is resampled every frame;
2. check the prediction: the residual ``r = z - x̂`` should have variance ``σ² (1 + p̂)``. Its
   local mean square ``e`` (3x3 box, the mean over the opponent channels of each one's
   square in units of its σ²) beyond that is prediction
   error — flow failure, occlusion, or the blur that resampling adds — so ``p̂`` grows by
   ``soft · max(e - 1 - p̂, 0)``; pixels whose source lies outside the frame start afresh;
3. update: gain ``k = max(p̂ / (p̂ + 1), 1 / memory)``, ``x = x̂ + k r``, ``p = k``.

A change of light (a fade) moves every pixel alike, by less than the noise, so nothing in 2.
sees it and the estimate trails the frame by ``(1 - k) / k`` frames' worth of the change. The
prediction is therefore moved by a per-channel ``shift`` (:func:`light_shift`): the estimate's
lag behind its own frame plus the change of light the last step saw, both measured where the
gain stayed low (the scene matched the prediction).

This is the scalar Kalman filter of a constant signal observed in white noise, per pixel along
the motion, with an adaptive process noise (as in motion-compensated recursive video filters,
e.g. Dubois & Sabri, "Noise reduction in image sequences using motion-compensated temporal
filtering", IEEE Trans. Commun. 32(7), 1984; Brailean et al., Proc. IEEE 83(9), 1995). The gain
floor ``1 / memory`` bounds how long an error can persist and how much resampling blur builds up.
"""
from __future__ import annotations

from framemend._torch import F, torch
from framemend.flow import backward_warp, outside_mask
from framemend.kernels.blur import box_mean

from .spatial import sheared_basis

FRESH = 1e4  # prediction variance of a pixel with no usable history (gain ≈ 1)
SOFT = 2.0  # how strongly unexplained residual raises the prediction variance
# the flow the recursion follows when no earlier pass published one: DIS's finest level keeps at
# least this many pixels on the shorter side (framemend.flow.estimate.motion_luma_flow), so
# frames under 360 rows are solved an octave finer than the motion preset's quarter size (at
# 320x180 its 80x45 grid missed fine texture under zoom: brick walls lost 1.3 dB to bm3d)
FINEST_SIDE = 90
# pixels whose new gain is under this measure the light's shift: where the prediction held
LAG_GATE = 0.75
# how far each step moves the rate of change of light it assumes toward the one it saw
# (1: the last step's alone; 0.5 chosen on the tuning renderings of bench_families, where 1
# lost up to 0.03 dB to the noise of one frame's measure)
CHANGE_WEIGHT = 0.5


def sharpen_reference(pred: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``pred`` ``(N, C, H, W)``, sampled bilinearly at ``p + flow`` (``flow`` ``(N, 2, H, W)``),
    with the Catmull-Rom correction ``-t(1-t)/2 · Δ²`` along each axis, ``t`` the fraction of
    the sample position and ``Δ²`` the second difference (edges repeated). Catmull-Rom
    interpolation is the bilinear one minus ``t(1-t)/2 ((1-t) Δ²₀ + t Δ²₁)`` (second differences
    at the two source pixels; Keys, "Cubic convolution interpolation for digital image
    processing", IEEE Trans. ASSP 29(6), 1981); here they are read off the bilinear prediction
    itself, which needs no second warp: on 320x180 renderings it gained what cubic
    resampling does (brick under zoom +1.0 dB, cubic +0.7) at a fraction of its cost."""
    t = flow - flow.floor()
    weight = t * (1 - t) / 2
    padded = F.pad(pred, (1, 1, 1, 1), mode="replicate")
    across = padded[..., 1:-1, :-2] - 2 * pred + padded[..., 1:-1, 2:]
    down = padded[..., :-2, 1:-1] - 2 * pred + padded[..., 2:, 1:-1]
    return pred - weight[:, :1] * across - weight[:, 1:] * down


def recursive_step_reference(estimate: torch.Tensor, variance: torch.Tensor,
                             frame: torch.Tensor, flow: torch.Tensor, noise_var: torch.Tensor,
                             memory: int, soft: float = SOFT, shear: torch.Tensor | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """One Kalman-like update along the motion (module docstring).

    Args:
        estimate: ``(3, H, W)`` previous output; variance: ``(1, H, W)`` its error variance / σ².
        frame: ``(3, H, W)`` new noisy frame.
        flow: ``(2, H, W)`` from ``frame`` to ``estimate``: ``frame(p) ≈ estimate(p + f(p))``.
        noise_var: ``(3,)`` σ² of each opponent channel (luma, red-blue, green-magenta of
            :func:`.spatial.sheared_basis`) in [0, 1]² units (> 0), on the frame's device.
        memory: the gain never drops below ``1 / memory``.
        soft: how strongly unexplained residual raises the prediction variance.
        shear: ``(2,)`` the luma's shear (:mod:`.spatial`), or None.
    Returns:
        the new estimate ``(3, H, W)`` and its variance ``(1, H, W)``.
    """
    flow = flow[None]
    pred = sharpen_reference(backward_warp(estimate[None], flow), flow)
    pred_var = backward_warp(variance[None], flow)
    residual = frame[None] - pred
    basis = sheared_basis(shear, frame)
    power = torch.einsum("oc,nchw->nohw", basis, residual).pow(2)
    power = (power / noise_var.to(frame.dtype)[:, None, None]).mean(1, keepdim=True)
    excess = box_mean(power, 1) - 1 - pred_var
    pred_var = pred_var + soft * excess.clamp(min=0)
    pred_var = torch.where(outside_mask(flow), torch.full_like(pred_var, FRESH), pred_var)
    gain = (pred_var / (pred_var + 1)).clamp(min=1.0 / memory)
    return (pred + gain * residual)[0], gain[0]


def light_shift(lag_sum, residual_sum, count, shift, previous_lag):
    """The per-channel move of the next step's prediction and the new estimate's lag.

    At a pixel the update leaves ``e = x - z = (1 - k)(x̂ - z)`` (estimate minus frame) and the
    residual was ``r = z - x̂ = e / (k - 1)``; with the prediction moved by ``shift`` from an
    estimate that lagged its frame by ``previous_lag``, the frame changed by ``r + shift +
    previous_lag`` since the last one. The rate of change of light assumed so far
    (``shift + previous_lag``) moves :data:`CHANGE_WEIGHT` of the way toward that one; if the
    light keeps changing at that rate, the next prediction ``x + shift'`` meets the next frame
    for ``shift' = change - lag``. Means
    over the pixels whose gain stayed under :data:`LAG_GATE` (the others are motion the flow
    missed, occlusion, new content; a constant change of light below the noise does not raise
    the gain). A constant-velocity (alpha-beta) predictor of the global level, in the spirit of
    the motion-compensated Kalman filters of the module docstring.

    Args:
        lag_sum, residual_sum: ``(3,)`` sums of ``e`` and ``r`` per channel over those pixels
            (any basis; arrays or tensors).
        count: how many pixels (0: no shift, no lag).
        shift, previous_lag: ``(3,)`` the step's shift and the previous estimate's lag.
    Returns:
        ``(shift', lag)``, each ``(3,)``.
    """
    seen = count > 0  # no branch on a tensor (no wait on the device)
    inverse = seen / (count + (count <= 0))
    lag = lag_sum * inverse
    # the rate the last shift assumed, and the one this step saw
    assumed = shift + previous_lag
    seen_change = (residual_sum * inverse + assumed) * seen
    change = assumed + CHANGE_WEIGHT * (seen_change - assumed)
    return change - lag, lag


def turned_shift(shift, lag):
    """The shift of :func:`light_shift` for a track that turns around (a shot's warm-up runs
    backwards, then the recursion goes forward from its first frame): the change of light
    (``shift + lag``) reversed, less the lag."""
    return -shift - 2 * lag
