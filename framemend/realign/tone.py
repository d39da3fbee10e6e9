"""Low-frequency local colour transfer through a confidence mask.

A per-region affine colour map ``out = A f + b`` (``A`` 3x3, ``b`` 3) is fitted by weighted
least squares so that the frame ``f`` matches an aligned reference ``k`` where the alignment is
trusted, regularised towards the identity (``A -> I``) — the colour-guided local linear model of
He et al., "Guided Image Filtering" (PAMI 2013), with the prior on ``I`` instead of 0, fitted on a
coarse grid of cells (normalised convolution, Knutsson & Westin 1993, fills cells without trusted
pixels from their neighbours) and interpolated bilinearly, so the correction carries colour and
tone but no detail: motion, expression and texture stay the frame's own. The statistics are taken
on slightly blurred images: a residual misalignment of a pixel or so between frame and reference
would otherwise dilute the fitted ``A`` (regression dilution) into a loss of contrast. The map is
only valid for the colours it was fitted on: each pixel's Mahalanobis distance to the trusted
colours around it says how far it can be applied (an occluder the reference does not show, in
colours of its own, keeps them).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..kernels.blur import gaussian_blur


def fit_colour_map(frame: torch.Tensor, reference: torch.Tensor, weight: torch.Tensor,
                   cell: int = 16, spread: float = 1.5, eps: float = 2e-3,
                   support: float = 0.05, fit_sigma: float = 1.5
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The local affine colour map from ``frame`` to ``reference`` on a grid of cells.

    Args:
        frame, reference: ``(T, 3, H, W)`` float RGB; ``reference`` aligned to ``frame``.
        weight: ``(T, 1, H, W)`` in [0, 1], confidence of the alignment per pixel.
        cell: size in pixels of the grid on which the colour map is fitted.
        spread: Gaussian sigma, in cells, of the neighbourhood of each fit.
        eps: regularisation of ``A`` towards the identity (in colour variance units).
        support: trusted-pixel fraction of a neighbourhood below which the map fades to identity.
        fit_sigma: Gaussian sigma, in pixels, of the blur applied to both images before fitting
            (the map is applied to the unblurred frame).
    Returns:
        ``coeffs`` ``(T, 12, ch, cw)``: per cell ``A`` (3x3, row-major) then ``b`` (3), mapping
        a colour ``f`` to ``A f + b``; ``stats`` ``(T, 12, ch, cw)``: the trusted colours' local
        mean (3) and covariance (3x3) per cell, for :func:`typical_colours`.
    """
    t, _, h, w = frame.shape
    ch, cw = max(1, round(h / cell)), max(1, round(w / cell))
    if fit_sigma > 0:
        frame, reference = gaussian_blur(frame, fit_sigma), gaussian_blur(reference, fit_sigma)

    def moments(x: torch.Tensor) -> torch.Tensor:  # weighted local mean of x on the grid
        return gaussian_blur(F.adaptive_avg_pool2d(x * weight, (ch, cw)), spread)

    wsum = moments(torch.ones_like(weight))
    den = wsum.clamp_min(1e-6)
    mf = moments(frame) / den
    mk = moments(reference) / den
    ff = frame[:, :, None] * frame[:, None]  # (T, 3, 3, H, W)
    kf = reference[:, :, None] * frame[:, None]
    cff = moments(ff.reshape(t, 9, h, w)).reshape(t, 3, 3, ch, cw) / den[:, None]
    ckf = moments(kf.reshape(t, 9, h, w)).reshape(t, 3, 3, ch, cw) / den[:, None]
    cff = cff - mf[:, :, None] * mf[:, None]
    ckf = ckf - mk[:, :, None] * mf[:, None]
    eye = torch.eye(3, device=frame.device, dtype=frame.dtype)
    # A (cff + eps I) = ckf + eps I, solved per cell: A^T = (cff + eps I)^-T (ckf + eps I)^T
    lhs = (cff.permute(0, 3, 4, 1, 2) + eps * eye)
    rhs = (ckf.permute(0, 3, 4, 1, 2) + eps * eye)
    # solve_ex: the ridge keeps every cell's system regular, and solve's check of that would
    # wait for the device every frame
    a = torch.linalg.solve_ex(lhs.transpose(-1, -2), rhs.transpose(-1, -2))[0].transpose(-1, -2)
    b = mk.permute(0, 2, 3, 1)[..., None] - a @ mf.permute(0, 2, 3, 1)[..., None]
    cover = (wsum / support).clamp(max=1.0).permute(0, 2, 3, 1)[..., None]  # (T, ch, cw, 1, 1)
    a = eye + cover * (a - eye)
    b = cover * b
    coeffs = torch.cat([a.reshape(t, ch, cw, 9), b.reshape(t, ch, cw, 3)], -1).permute(0, 3, 1, 2)
    return coeffs, torch.cat([mf, cff.reshape(t, 9, ch, cw)], 1)


def identity_map(frames: int, ch: int, cw: int, device=None) -> torch.Tensor:
    """``(frames, 12, ch, cw)`` coefficients of the map that changes nothing."""
    coeffs = torch.zeros(frames, 12, ch, cw, device=device)
    coeffs[:, [0, 4, 8]] = 1.0
    return coeffs


def compose_maps(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """Coefficients ``(T, 12, ch, cw)`` of ``outer(inner(f))``, cell by cell."""
    t, _, ch, cw = outer.shape
    a2, b2 = outer[:, :9].reshape(t, 3, 3, ch, cw), outer[:, 9:]
    a1, b1 = inner[:, :9].reshape(t, 3, 3, ch, cw), inner[:, 9:]
    a = torch.einsum("tijhw,tjkhw->tikhw", a2, a1)
    b = torch.einsum("tijhw,tjhw->tihw", a2, b1) + b2
    return torch.cat([a.reshape(t, 9, ch, cw), b], 1)


def apply_colour_map(coeffs: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """``frame`` ``(T, 3, H, W)`` through the cell map ``coeffs`` ``(T, 12, ch, cw)``,
    interpolated bilinearly between cells (not clipped)."""
    t, _, h, w = frame.shape
    coeffs = F.interpolate(coeffs, size=(h, w), mode="bilinear", align_corners=False)
    a, b = coeffs[:, :9].reshape(t, 3, 3, h, w), coeffs[:, 9:]
    return (a * frame[:, None]).sum(2) + b


def typical_colours(stats: torch.Tensor, frame: torch.Tensor, eps: float = 2e-3,
                    reach: float = 2.0) -> torch.Tensor:
    """``(T, 1, H, W)`` in [0, 1]: how typical each pixel's colour is of the trusted colours
    around it (``stats`` of :func:`fit_colour_map`): exp(-d²/2 reach²) of its Mahalanobis
    distance ``d``."""
    t, _, h, w = frame.shape
    eye = torch.eye(3, device=frame.device, dtype=frame.dtype)
    stats = F.interpolate(stats, size=(h, w), mode="bilinear", align_corners=False)
    d = (frame - stats[:, :3]).permute(0, 2, 3, 1)[..., None]  # (T, H, W, 3, 1)
    cov = stats[:, 3:].permute(0, 2, 3, 1).reshape(t, h, w, 3, 3) + 2 * eps * eye
    distance2 = (d.transpose(-1, -2) @ torch.linalg.solve_ex(cov, d)[0])[..., 0, 0]  # as above
    return torch.exp(-0.5 * distance2 / reach ** 2)[:, None]
