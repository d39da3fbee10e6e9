"""The detail band of an in-between frame: what the two neighbours share, at its full strength.

A generator re-draws fine detail in every frame (waves, hair, snow and sparks, texture
"boiling"): the two motion-compensated candidates of an in-between frame, ``A = I0(p + Ft0)``
and ``B = I1(p + Ft1)``, then carry different detail, and the frame that was dropped carries a
third. Model the detail band (luma minus its Gaussian blur of :data:`BAND_SIGMA`) of the
neighbours as ``s + n_0`` and ``s + n_1`` and of the dropped frame as ``s + n_M``: ``s`` the
detail that follows the motion (variance ``S``), the ``n`` re-drawn in each frame, independent,
of variance ``N``. Warping samples between pixels: a bilinear sample at fractional offsets
``(fx, fy)`` scales a band of lag-1 autocorrelations ``(rx, ry)`` by
``a = sqrt(((1 - fx)² + fx² + 2 fx (1 - fx) rx) ((1 - fy)² + fy² + 2 fy (1 - fy) ry))`` (its
variance is the weights' quadratic form over the band's autocorrelation), so bilinear in-betweens
are softer than their neighbours; bicubic sampling keeps the band (``a = 1``). The blend
``X = w A + (1 - w) B`` then has detail ``ā s + w a_A n_0 + (1 - w) a_B n_1``
(``ā = w a_A + (1 - w) a_B``), and the gain ``g`` on it that minimises ``E[(g X_h - M_h)²]`` is

    ``g = W / ā``,  ``W = S / (S + k N)``,  ``k = w² + (1 - w)²``:

the attenuation undone, times the Wiener gain. ``W`` is measured over a window around each
pixel (:func:`detail_change`), the local-statistics form of Lee, "Digital image
enhancement and noise filtering by use of local statistics", IEEE PAMI 1980: the candidates'
disagreement ``D_h = A_h - B_h`` has ``E[D_h²] = 2 ā² N`` and the blend's detail
``E[X_h²] = ā² (S + k N)`` (taking ``a_A = a_B``), so

    ``W = max(0, 1 - k E[D_h²] / (2 E[X_h²]))``.

Where the candidates agree (a pan, an object that keeps its texture) ``W`` is 1 and bilinear
in-betweens get back the sharpness the warp took; where the detail is re-drawn it is shrunk
towards the blur, the least-squares guess of detail that no motion predicts. ``rx``, ``ry`` are
measured on each neighbour (:func:`detail_correlation`); no constant is fitted to a clip. The
gain is applied to the luma detail (the same correction added to R, G and B): a gain per channel
was within 0.13 dB of it on a pan and three generated clips, and costs a colour blur.

The statistics, ``ā`` and the gain are taken on the flow grid (:func:`detail_change`), so the
full-resolution work per new frame is the lumas, two Gaussian blurs of one plane, the squared
bands shrunk to the grid, the gain upsampled and the change added to each channel; the torch
functions are the reference and the CUDA path. Measured on
``shared/data/generated`` and on ``benchmarks/bench_interpolate.py``'s clips in BENCHMARKS.md
(issue 16, stop 18).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..kernels.blur import box_mean, gaussian_blur
from ..kernels.colour import luma

BAND_SIGMA = 1.0  # pixels: the detail band is the luma minus its Gaussian blur of this sigma
_RADIUS = 3  # taps either side (3 sigma, as kernels.blur; 3x3 taps at sigma 0.8 cost 0.1 ms less
# per blur at 640x360 and gave 0.02-0.06 dB less on three of the generated clips)
_SIZE = (2 * _RADIUS + 1,) * 2
#: ``ry`` is the even rows' products with the odd rows over the even rows' energy alone (rx
#: compares even rows with themselves, so it stays in [-1, 1]); on a frame a few pixels high
#: (4x4, 3x5 of random pixels) the odd rows can hold more of the band and ``ry`` falls under -1,
#: which is no correlation: the attenuation's square root went negative and the in-between
#: was NaN. Such a frame is measured as a band without one (``(1, 1)``: no attenuation), as a
#: flat band is. The generated clips and the real footage of ``shared/data`` give ry in
#: [-0.13, 0.58].
UNMEASURED = -1.0


def detail_correlation(luma_plane: np.ndarray) -> tuple[float, float]:
    """Lag-1 autocorrelations ``(rx, ry)`` of the detail band of a frame's luma ``(H, W)``
    float32 (any unit), across and down (a global statistic: every second row across, pairs
    of rows down; :func:`correlation_rows` of a frame will do)."""
    h = luma_plane - cv2.GaussianBlur(luma_plane, _SIZE, BAND_SIGMA,
                                      borderType=cv2.BORDER_REPLICATE)
    even, odd = h[0:-1:2], h[1::2]
    energy = float(cv2.multiply(even, even).sum())
    if energy <= 0:
        return 1.0, 1.0
    ry = float(cv2.multiply(even, odd).sum()) / energy
    if ry < UNMEASURED:
        return 1.0, 1.0
    return float(cv2.multiply(even[:, 1:], even[:, :-1]).sum()) / energy, ry


def correlation_rows(height: int) -> slice:
    """The rows of a frame :func:`detail_correlation` is measured on: the middle half."""
    return slice(height // 4, height // 4 + max(height // 2, 2))


def bilinear_attenuation(move0: np.ndarray, move1: np.ndarray,
                         correlations: list[tuple[float, float]], weight0: np.ndarray
                         ) -> np.ndarray:
    """``ā = w a_A + (1 - w) a_B`` ``(h, w)`` float32 (module docstring) of bilinear samples
    of the two neighbours at offsets ``move0``, ``move1`` ``(2, h, w)`` (x, y, in full-size
    pixels), whose detail bands have the lag-1 autocorrelations ``correlations[side]``
    (:func:`detail_correlation`); ``weight0`` ``(h, w)``. ``a`` is a continuous function of
    the offset (1 at whole pixels), so it is computed on the flow grid, where the flows are
    smooth."""
    sides = []
    for move, (rx, ry) in zip((move0, move1), correlations):
        frac = move - np.floor(move)
        frac *= 1 - frac
        frac *= np.float32([2 * rx - 2, 2 * ry - 2]).reshape(2, 1, 1)
        frac += 1  # (1 - f)² + f² + 2 f (1 - f) r = 1 + 2 f (1 - f) (r - 1), per axis
        sides.append(np.sqrt(frac[0] * frac[1]))
    return cv2.blendLinear(sides[0], sides[1], weight0, 1 - weight0)


def detail_change(luma0: np.ndarray, luma1: np.ndarray, weight0: np.ndarray,
                  weight_grid: np.ndarray, attenuation: np.ndarray | None,
                  weight1: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(g - 1) X_h`` ``(H, W)`` float32: what to add to each channel of the blend
    ``w A + (1 - w) B`` so that its luma detail ``X_h`` takes the gain ``g = W / ā`` of the
    module docstring; and the candidates' squared luma difference ``(A_Y - B_Y)²`` averaged
    over each cell of the flow grid ``(h, w)`` (for :func:`.still.still_share`).

    Args:
        luma0, luma1: the candidates' lumas ``(H, W)`` float32 (any unit; overwritten).
        weight0: ``w`` ``(H, W)``.
        weight_grid: ``w`` on the flow grid ``(h, w)``, where the statistics are taken: the
            squared bands averaged over each cell (area), then over 3x3 cells (12x12 pixels at
            the default ``flow_scale``), and the gain upsampled bilinearly.
        attenuation: ``ā`` on the flow grid (:func:`bilinear_attenuation`), or None for 1
            (bicubic).
        weight1: ``1 - w`` ``(H, W)`` where the caller has made it (for its own blend), else
            None: made here.
    """
    height, width = weight0.shape
    grid = weight_grid.shape[::-1]
    mix = cv2.blendLinear(luma0, luma1, weight0, 1 - weight0 if weight1 is None else weight1)
    mix -= cv2.GaussianBlur(mix, _SIZE, BAND_SIGMA, borderType=cv2.BORDER_REPLICATE)
    diff = cv2.subtract(luma0, luma1, dst=luma0)
    moved = cv2.resize(cv2.multiply(diff, diff), grid, interpolation=cv2.INTER_AREA)
    diff -= cv2.GaussianBlur(diff, _SIZE, BAND_SIGMA, borderType=cv2.BORDER_REPLICATE)
    disagree, detail = (
        cv2.blur(cv2.resize(cv2.multiply(band, band), grid, interpolation=cv2.INTER_AREA),
                 (3, 3), borderType=cv2.BORDER_REPLICATE) for band in (diff, mix))
    k = weight_grid * weight_grid + (1 - weight_grid) ** 2
    gain = np.divide(k * disagree, 2 * detail, out=np.zeros_like(detail), where=detail > 0)
    np.clip(1 - gain, 0, 1, out=gain)
    if attenuation is not None:
        gain /= attenuation
    gain -= 1
    return cv2.multiply(cv2.resize(gain, (width, height), interpolation=cv2.INTER_LINEAR), mix,
                        dst=mix), moved


def keep_detail_torch(warped0: torch.Tensor, warped1: torch.Tensor, weight0: torch.Tensor,
                      weight_grid: torch.Tensor, attenuation: torch.Tensor | None
                      ) -> torch.Tensor:
    """The reference (and CUDA) path: the blend of candidates ``(K, 3, H, W)`` with frame 0's
    weight ``(K, 1, H, W)``, its luma detail scaled by ``g = W / ā`` (module docstring; the
    statistics on the flow grid as in :func:`detail_change`); ``weight_grid``: ``w`` on the
    grid ``(K, 1, h, w)``, ``attenuation``: ``ā`` there (:func:`attenuation_torch`), None for
    1 (bicubic). Returns ``(K, 3, H, W)``."""
    mix = (warped0 - warped1).mul_(weight0).add_(warped1)
    y0, y1 = luma(warped0), luma(warped1)
    diff = y0 - y1
    diff = diff - gaussian_blur(diff, BAND_SIGMA, _RADIUS)
    y = (y0 - y1).mul_(weight0).add_(y1)
    y = y - gaussian_blur(y, BAND_SIGMA, _RADIUS)
    grid = weight_grid.shape[-2:]
    disagree, detail = (box_mean(F.interpolate(band * band, size=grid, mode="area"), 1,
                                 "replicate") for band in (diff, y))
    share = weight_grid * weight_grid + (1 - weight_grid) ** 2
    shrink = torch.where(detail > 0, share * disagree / (2 * detail).clamp_min(1e-30),
                         torch.zeros_like(detail))
    gain = (1 - shrink).clamp_(0, 1)
    if attenuation is not None:
        gain = gain / attenuation
    gain = F.interpolate(gain - 1, size=y.shape[-2:], mode="bilinear", align_corners=False)
    return mix.add_(gain * y)


def attenuation_torch(images: torch.Tensor, moves: torch.Tensor,
                      weight0: torch.Tensor) -> torch.Tensor:
    """:func:`detail_correlation` of the neighbours ``images`` ``(2, 3, H, W)`` and
    :func:`bilinear_attenuation` on the flow grid, in torch: ``ā`` ``(K, 1, h, w)`` for the
    offsets ``moves`` ``(K, 4, h, w)`` (full-size pixels) and weights ``(K, 1, h, w)``."""
    band = luma(images[..., correlation_rows(images.shape[-2]), :])
    band = band - gaussian_blur(band, BAND_SIGMA, _RADIUS)
    even, odd = band[:, :, 0:-1:2], band[:, :, 1::2]
    energy = even.square().sum((1, 2, 3)).clamp_min(1e-30)
    rx = (even[..., 1:] * even[..., :-1]).sum((1, 2, 3)) / energy
    ry = (even * odd).sum((1, 2, 3)) / energy
    measured = ry >= UNMEASURED
    rx, ry = (torch.where(measured, x, torch.ones_like(x)) for x in (rx, ry))
    r = torch.stack([rx, ry], 1).reshape(1, 4, 1, 1)  # x, y of frame 0, then of frame 1
    frac = moves - moves.floor()
    gain = 1 + 2 * frac * (1 - frac) * (r - 1)
    a0 = (gain[:, 0:1] * gain[:, 1:2]).sqrt()
    a1 = (gain[:, 2:3] * gain[:, 3:4]).sqrt()
    return weight0 * a0 + (1 - weight0) * a1
