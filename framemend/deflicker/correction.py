"""The deflicker correction: a smooth per-channel gain field from motion-compensated neighbours.

Model: frame ``t`` is the true frame times a slowly varying gain field that changes randomly from
frame to frame (flicker), while real lighting changes (a fade, a light turning on) are smooth or
persistent in time. On a coarse grid of cells, the local mean of each neighbour ``s`` over the same
scene content (found by optical flow, unreliable pixels left out; see :mod:`.motion`) minus the
local mean of frame ``t`` gives a difference ``L_s``. The differences over the window are fitted,
per cell and channel, by a robust straight line in time: its value at ``t`` is how far frame ``t`` sits
from the temporal trend there. A line keeps fades (linear ramps pass through unchanged, also at
the ends of a shot, where the window is one-sided); weights centred on the window's median drop neighbours on the other side of
a sudden persistent change, so a light switching on is not smeared; the straight line through
all the other samples averages the flicker away. The correction is a gain, applied to the
full-resolution frame after a smooth (bilinear) upsample, so only low frequencies change and no
pixel is ever copied from a neighbour (no ghosting).

This is blind temporal consistency in the spirit of Bonneel et al., "Blind video temporal
consistency", SIGGRAPH Asia 2015, and Lai et al., "Learning blind video temporal consistency",
ECCV 2018, with a symmetric window instead of a recursion so that real changes survive, and a
cell grid (as in a bilateral grid, Chen et al. 2007) instead of a per-pixel solve.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

_BLUR = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # binomial, sigma = 1 cell


def temporal_offset(diffs: torch.Tensor, covers: torch.Tensor, offsets: torch.Tensor,
                    current: torch.Tensor, tolerance: float = 0.25
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """How far the centre frame's local means sit from their robust temporal trend.

    Args:
        diffs: ``(N, C, gh, gw)`` neighbour minus centre local means (linear brightness);
            ``covers`` ``(N, 1, gh, gw)`` their reliabilities in [0, 1]; ``offsets`` ``(N,)``
            the neighbours' frame distances ``s - t``.
        current: ``(C, gh, gw)`` the centre frame's local means.
        tolerance: difference from the window median, as a fraction of the local mean, beyond
            which a neighbour counts as a real change rather than flicker.
    Returns:
        ``correction`` ``(C, gh, gw)``, the trend minus the centre (smoothed over neighbouring
        cells), and ``support`` ``(1, gh, gw)``, the total weight the neighbours received.
    """
    if diffs.shape[0] == 0:
        return torch.zeros_like(current), torch.zeros_like(current[:1])
    # The centre is a sample too: difference 0, full weight.
    samples = torch.cat([torch.zeros_like(diffs[:1]), diffs * (covers > 0.05)])
    cover = torch.cat([torch.ones_like(covers[:1]), covers])
    d = torch.cat([offsets.new_zeros(1), offsets]).to(diffs.dtype).view(-1, 1, 1, 1)
    median = samples.median(dim=0).values
    residual = (samples - median) / (current + 0.05)
    w = cover * torch.exp(-0.5 * (residual / tolerance) ** 2)
    intercept = _line_intercept(samples, w, d)
    support = w[1:].sum(0).mean(0, keepdim=True)
    return _blur(intercept[None])[0], support


def _line_intercept(y: torch.Tensor, w: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Value at ``d = 0`` of a weighted least-squares line ``y ≈ a + b d`` fitted over dim 0.

    The slope is shrunk by its significance, ``b * b² / (b² + se(b)²)`` (a Wiener / James-Stein
    factor): a real trend such as a fade is kept, while the slope that flicker alone produces is
    mostly dropped. It only matters where the window is one-sided (the ends of a shot); for a
    window balanced around ``d = 0`` the result is the weighted mean whatever the slope.
    """
    sw = w.sum(0).clamp_min(1e-9)
    dm = (w * d).sum(0) / sw
    ym = (w * y).sum(0) / sw
    dc = d - dm
    sdd = (w * dc * dc).sum(0).clamp_min(1e-9)
    b = (w * dc * (y - ym)).sum(0) / sdd
    resid = (w * (y - ym - b * dc) ** 2).sum(0) / (sw - 2).clamp_min(1.0)
    se2 = resid / sdd
    b = b * b * b / (b * b + se2 + 1e-12)
    return ym - b * dm


def _blur(grid: torch.Tensor) -> torch.Tensor:
    """Separable 5-tap binomial blur of ``(N, C, gh, gw)`` with replicated edges."""
    n, c, h, w = grid.shape
    k = _BLUR.to(grid.device, grid.dtype)
    x = F.pad(grid.reshape(n * c, 1, h, w), (2, 2, 2, 2), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, 5))
    x = F.conv2d(x, k.view(1, 1, 5, 1))
    return x.reshape(n, c, h, w)


def channel_affine(correction: torch.Tensor, current: torch.Tensor, support: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """One gain and offset per channel, ``(C,)`` each, taking ``current`` towards
    ``current + correction`` in the least-squares sense over the cells, weighted by ``support``
    (cells the neighbours could not see count little). Falls back to a gain alone when the cells
    span too little brightness to separate the two."""
    w = support + 1e-3
    x, y = current, current + correction
    sw = w.sum((1, 2))
    mx = (w * x).sum((1, 2)) / sw
    my = (w * y).sum((1, 2)) / sw
    vx = (w * (x - mx.view(-1, 1, 1)) ** 2).sum((1, 2)) / sw
    cxy = (w * (x - mx.view(-1, 1, 1)) * (y - my.view(-1, 1, 1))).sum((1, 2)) / sw
    gain = torch.where(vx > 1e-4, cxy / vx.clamp_min(1e-4), my / mx.clamp_min(1e-3))
    gain = gain.clamp(0.5, 2.0)
    return gain, my - gain * mx


def correction_fields(correction: torch.Tensor, current: torch.Tensor, support: torch.Tensor,
                      mode: str, threshold: float = 0.03, floor: float = 0.02
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gain and offset fields ``(C, gh, gw)`` so that ``gain * x + offset`` corrects a frame.

    ``global``: one gain and offset per channel (:func:`channel_affine`). ``local``: a gain per
    cell moving each cell's mean to its target (``floor`` keeps near-black cells tame).
    ``auto``: the global correction, times whatever local gain remains beyond ``threshold``
    (log-gain soft threshold), so frames with only global flicker get no local noise.
    """
    if mode == "local":
        gain = ((current + correction + floor) / (current + floor)).clamp(0.5, 2.0)
        return gain, torch.zeros_like(gain)
    a, b = channel_affine(correction, current, support)
    a, b = a.view(-1, 1, 1).expand_as(current), b.view(-1, 1, 1).expand_as(current)
    if mode == "global":
        return a, b
    residual = ((current + correction + floor) / (a * current + b + floor)).clamp(0.5, 2.0).log()
    residual = residual.sign() * (residual.abs() - threshold).clamp_min(0.0)
    local = residual.exp()
    return a * local, b * local


def apply_fields(image: torch.Tensor, gain: torch.Tensor, offset: torch.Tensor,
                 strength: float) -> torch.Tensor:
    """``image + strength * (gain * image + offset - image)``, the fields ``(C, gh, gw)``
    upsampled bilinearly to the size of ``image`` ``(C, H, W)``.

    OpenCV's bilinear resize on CPU (same sampling as ``align_corners=False``), torch elsewhere.
    """
    h, w = image.shape[-2:]
    fields = torch.cat([gain, offset])
    if image.device.type == "cpu":
        planes = fields.contiguous().numpy()
        fields = torch.from_numpy(np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR)
                                            for p in planes]))
    else:
        fields = F.interpolate(fields[None], size=(h, w), mode="bilinear", align_corners=False)[0]
    c = image.shape[0]
    g, o = fields[:c], fields[c:]
    if strength != 1.0:
        g.sub_(1.0).mul_(strength).add_(1.0)
        o.mul_(strength)
    return g.mul_(image).add_(o).clamp_(0.0, 1.0)
