"""The whole frame's colour map: one gain and one offset per channel, from the frame to an
aligned reference, measured on the cells that can tell a change of colour.

A drift of generated video is mostly global (slowly, everywhere). Measured where the keyframe
is seen and applied to the whole frame, it reaches what the keyframe no longer shows (new
content entering as the camera moves) and sparse colours (stars on a dark sky) that the local
maps of :mod:`.tone`, regularised towards the identity, leave alone. With hundreds of cells
per parameter it is measured far more precisely than a local map.

The fit is a weighted least-squares line per channel through the cells' mean colours (cell
means average out noise and a residual misalignment of a pixel or so, which would otherwise
dilute the gain: regression dilution), weighted by how much of each cell is trusted and
textured (:func:`.evidence.textured_cells`: on a smooth ramp the misalignment itself reads as a
colour change), made robust by Tukey's biweight (iteratively reweighted, scale from the MAD;
Beaton & Tukey 1974: what the keyframe shows differently, a moving subject, is left out), and
the gain is shrunk towards 1 while it is within its standard error (positive part, as in
:mod:`.evidence`); the offset then keeps the means matched.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .evidence import MAD_TO_SIGMA, textured_cells
from .tone import identity_map

#: Reweighting passes of :func:`fit_whole_map` and the Tukey biweight's constant (95 %
#: efficiency at the Gaussian).
ROBUST_PASSES, TUKEY = 4, 4.685
#: Fewer cells than this: no map (the identity).
MIN_CELLS = 8


def fit_whole_map(frame: torch.Tensor, reference: torch.Tensor, weight: torch.Tensor,
                  cell: int = 16) -> torch.Tensor:
    """The per-channel gain and offset from ``frame`` to ``reference`` (``(1, 3, H, W)``,
    aligned) where ``weight`` ``(1, 1, H, W)`` in [0, 1] trusts them, on ``cell``-pixel cells.

    Returns ``(1, 12, 1, 1)`` coefficients of :func:`.tone.apply_colour_map` (a diagonal ``A``
    and ``b``); the identity with fewer than ``MIN_CELLS`` cells mostly trusted and textured.
    """
    h, w = frame.shape[-2:]
    cells = (max(1, round(h / cell)), max(1, round(w / cell)))
    cover = F.adaptive_avg_pool2d(weight, cells)
    share = (cover * textured_cells(frame, cells)).reshape(-1)
    used = share > 0.5
    if int(used.sum()) < MIN_CELLS:
        return identity_map(1, 1, 1, frame.device)
    x, y = ((F.adaptive_avg_pool2d(z * weight, cells) / cover.clamp_min(1e-6))
            .reshape(3, -1).T[used] for z in (frame, reference))  # (n, 3) cell means
    prior = share[used][:, None].expand(-1, 3)
    robust = torch.ones_like(prior)
    for _ in range(ROBUST_PASSES):
        wn = prior * robust
        mx, my = (wn * x).sum(0) / wn.sum(0), (wn * y).sum(0) / wn.sum(0)
        xc, yc = x - mx, y - my
        sxx = (wn * xc * xc).sum(0).clamp_min(1e-12)
        gain = (wn * yc * xc).sum(0) / sxx
        r = yc - gain * xc
        scale = MAD_TO_SIGMA * (r - r.median(0).values).abs().median(0).values.clamp_min(1e-4)
        robust = (1 - (r / (TUKEY * scale)) ** 2).clamp_min(0) ** 2
    error2 = scale ** 2 * (wn * wn * xc * xc).sum(0) / sxx ** 2  # the gain's variance
    change = gain - 1
    gain = 1 + change * (1 - error2 / change.square().clamp_min(1e-12)).clamp_min(0)
    b = my - gain * mx
    return torch.cat([torch.diag(gain).reshape(9), b])[None, :, None, None]
