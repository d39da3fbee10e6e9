"""The device path of stabilization: the camera's (or the subject's) motion, the smoothed path
and the crop as tensors on the frames' device, so that no frame waits for the host (what CUDA
runs; on the CPU inside :func:`framemend.cuda.device_path_on_cpu`). Mode ``subject`` finds the
face on the host once a shot (:func:`.face.detect_face` on 8-bit luma), then moves its box on
the device (:func:`subject_motion`).

Motion (:func:`camera_motion`): instead of corners tracked by Lucas-Kanade and a RANSAC fit
(:mod:`.motion`), the torch flow (:mod:`framemend.flow.torchflow`) from the previous analysis
luma to the current one, and a similarity fitted to the correspondences ``(p, p + f(p))`` of
every :data:`STEP`-th pixel by iteratively reweighted least squares with Cauchy weights
``1 / (1 + (r / s)²)`` (Holland & Welsch, "Robust regression using iteratively reweighted
least-squares", 1977), the scale ``s`` lowered from 8 px to 1 px over the iterations (as
RANSAC's 1 px threshold, without its sampling): a moving subject weighs little once the fit
follows the background. A fit that fewer than :data:`MIN_SUPPORT` of the samples follow
within 1 px is the identity, as the CPU path's "nothing reliable to track".

Path (:func:`smooth_correction`, :func:`required_zoom`, :func:`fit_inside`,
:func:`next_zoom`, :func:`zoom_about`): the twins of :mod:`.path` on ``(3, 3)`` float64
tensors, branches made selections and the bisection a fixed 30 steps; the regression weights
depend on frame offsets only and stay numbers on the host.
"""
from __future__ import annotations

import numpy as np

from framemend._torch import F, torch
from framemend.flow.torchflow import torch_flow
from framemend.kernels.colour import luma

from .motion import _MIN_INLIERS, _analysis_size
from .path import regression_weights

STEP = 4  # analysis pixels between the samples of the fit
SCALES = (8.0, 4.0, 2.0, 1.0, 1.0, 1.0)  # Cauchy scales of the IRLS iterations, px
MIN_SUPPORT = 0.1  # share of the samples the fit must follow within 1 px
#: Share of the box's own samples (those not following the camera) that the subject's fit must
#: follow within 1 px (:func:`subject_motion`). Measured through realign told the subject's
#: box: where the torch flow failed around a fast subject (an astronaut over grass under a
#: fast tilt, realign's test rendering 325; a coffee cup over the camera photograph under a
#: pan, bench_realign's 107) the fit is followed by 0.06 to 0.19 of them; on the other frames
#: of renderings 324, 119, 115, 19, 13 and 1 by 0.249 to 1 (a smooth colour wheel under a
#: zoom, 19: 0.34 to 0.60; gravel under a tilt, 1: 0.249 to 0.30 on its first frames, its
#: frame 3 falling back without changing its figure; the others 0.43 and more). Half, as
#: first tried, would drop most of 19's frames.
MIN_SUBJECT_SHARE = 0.25


def analysis_luma(image: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``(3, H, W)`` RGB in [0, 1] -> ``(1, 1, h, w)`` luma at most :data:`.motion.ANALYSIS_WIDTH` wide
    (area average) on its device, and the full-size pixels per analysis pixel (as
    :func:`.motion.analysis_luma`, without the host's 8-bit copy)."""
    scale, (w, h) = _analysis_size(*image.shape[-2:])
    y = luma(image[None].float())
    if scale > 1.0:
        y = F.interpolate(y, size=(h, w), mode="area")
    return y, scale


def camera_motion(previous: torch.Tensor, current: torch.Tensor, scale: float) -> torch.Tensor:
    """The similarity ``M`` ``(3, 3)`` float64 with ``current(M p) ≈ previous(p)`` in full-size
    pixels (as :func:`.motion.similarity_motion`), from two ``(1, 1, h, w)`` analysis lumas
    (module docstring); the identity where the fit is not supported."""
    samples = _Samples(previous, current)
    theta = samples.fit(samples.inside)
    followed = ((samples.residuals(theta) < 1.0).double() * samples.inside).mean()
    m = samples.matrix(theta, scale)
    usable = torch.isfinite(m).all() & (followed >= MIN_SUPPORT)
    return torch.where(usable, m, torch.eye(3, dtype=m.dtype, device=m.device))


def subject_motion(previous: torch.Tensor, current: torch.Tensor, box: torch.Tensor,
                   scale: float, last: torch.Tensor) -> torch.Tensor:
    """The twin of :func:`.motion.subject_motion`: the similarity ``(3, 3)`` of the subject in
    ``box`` (``(2, 2)`` corners in full-size pixels, on the device), fitted as
    :func:`camera_motion` to the samples in the box that do not follow the camera's motion
    within 1 px; ``last`` where fewer than ``_MIN_INLIERS`` samples follow that fit (a still
    or hidden subject keeps its last motion, as on the CPU path) or less than
    :data:`MIN_SUBJECT_SHARE` of the box's own samples (a fit of a flow that failed around
    the subject; the CPU path's RANSAC over KLT features keeps ``last`` where fewer than
    ``_MIN_INLIERS`` agree: on 325's frame 11, none of 31)."""
    m, usable, _ = subject_fit(previous, current, box, scale)
    return torch.where(usable, m, last)


def subject_fit(previous: torch.Tensor, current: torch.Tensor, box: torch.Tensor,
                scale: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`subject_motion`'s fit ``(3, 3)``, whether it is usable (a bool tensor, left on
    the device: reading it waits for the device), and the camera's similarity it was told
    from ``(3, 3)`` in analysis pixels (the identity where unsupported, as in
    :func:`camera_motion`)."""
    samples = _Samples(previous, current)
    camera = samples.fit(samples.inside)
    supported = ((samples.residuals(camera) < 1.0).double() * samples.inside).mean() >= MIN_SUPPORT
    camera_m = samples.matrix(camera, 1.0)
    camera_m = torch.where(supported & torch.isfinite(camera_m).all(), camera_m,
                           torch.eye(3, dtype=camera_m.dtype, device=camera_m.device))
    corner = torch.round(box / scale)  # the box's pixels as motion.box_mask takes them
    in_box = ((samples.x >= corner[0, 0]) & (samples.x < corner[1, 0])
              & (samples.y >= corner[0, 1]) & (samples.y < corner[1, 1])).double()
    own = samples.inside * in_box * (samples.residuals(camera) > 1.0).double()
    theta = samples.fit(own)
    followed = ((samples.residuals(theta) < 1.0).double() * own).sum()
    m = samples.matrix(theta, scale)
    usable = (torch.isfinite(m).all() & (followed >= _MIN_INLIERS)
              & (followed >= MIN_SUBJECT_SHARE * own.sum()))
    return m, usable, camera_m


def corner_shift(m: torch.Tensor, w: int, h: int) -> torch.Tensor:
    """:func:`.motion.corner_shift` as a 0-d tensor on ``m``'s device."""
    a = m[:2, :2] - torch.eye(2, dtype=m.dtype, device=m.device)  # a corner p moves by a p + t
    t, x, y = m[:2, 2], a[:, 0] * (w - 1.0), a[:, 1] * (h - 1.0)
    return torch.stack([t, t + x, t + y, t + x + y]).abs().max()


class _Samples:
    """The correspondences ``(p, p + f(p))`` of every :data:`STEP`-th analysis pixel along the
    torch flow from ``previous`` to ``current`` (``(1, 1, h, w)``), centred on the frame:
    ``x``, ``y`` ``(N,)`` their positions, ``inside`` 1 where ``p + f(p)`` is in the frame."""

    def __init__(self, previous: torch.Tensor, current: torch.Tensor):
        flow = torch_flow(previous, current, "medium")[0, :, ::STEP, ::STEP].double()
        h, w = previous.shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(0, h, STEP, device=flow.device, dtype=flow.dtype),
                                torch.arange(0, w, STEP, device=flow.device, dtype=flow.dtype),
                                indexing="ij")
        self.x, self.y = xs.flatten(), ys.flatten()
        self.centre = ((w - 1) / 2, (h - 1) / 2)
        px, py = self.x - self.centre[0], self.y - self.centre[1]
        qx, qy = px + flow[0].flatten(), py + flow[1].flatten()
        self.inside = ((qx + self.centre[0] >= 0) & (qx + self.centre[0] <= w - 1)
                       & (qy + self.centre[1] >= 0) & (qy + self.centre[1] <= h - 1)).double()
        ones, zeros = torch.ones_like(px), torch.zeros_like(px)
        self.design = torch.cat([torch.stack([px, -py, ones, zeros], 1),
                                 torch.stack([py, px, zeros, ones], 1)])  # (2N, 4): a, b, tx, ty
        self.target = torch.cat([qx, qy])

    def fit(self, weight: torch.Tensor) -> torch.Tensor:
        """``(4,)`` ``a, b, tx, ty`` by IRLS over the samples of ``weight`` ``(N,)``
        (:data:`SCALES`)."""
        theta, w = None, weight.repeat(2)
        for s in SCALES:
            weighted = self.design * w[:, None]
            theta = torch.linalg.solve_ex(self.design.T @ weighted, weighted.T @ self.target)[0]
            w = (weight / (1 + (self.residuals(theta) / s) ** 2)).repeat(2)
        return theta

    def residuals(self, theta: torch.Tensor) -> torch.Tensor:
        """``(N,)`` distance of each correspondence from the similarity ``theta``."""
        d = (self.design @ theta - self.target).view(2, -1)
        return (d[0] ** 2 + d[1] ** 2).sqrt()

    def matrix(self, theta: torch.Tensor, scale: float) -> torch.Tensor:
        """``theta`` as ``(3, 3)`` in full-size pixels: ``p' = R (p - c) + t + c``, scaled."""
        a, b, tx, ty = theta.unbind()
        cx, cy = self.centre
        zero, one = torch.zeros_like(a), torch.ones_like(a)
        return torch.stack([torch.stack([a, -b, (tx + cx - a * cx + b * cy) * scale]),
                            torch.stack([b, a, (ty + cy - b * cx - a * cy) * scale]),
                            torch.stack([zero, zero, one])])


def inverse(m: torch.Tensor) -> torch.Tensor:
    """``(3, 3)`` inverse, without the host check of a singular matrix."""
    return torch.linalg.inv_ex(m)[0]


def smooth_correction(path: list[torch.Tensor], center: int, sigma: float) -> torch.Tensor:
    """:func:`.path.smooth_correction` of ``(3, 3)`` tensors."""
    lam = regression_weights(np.arange(len(path)) - center, sigma)
    inv = inverse(path[center])
    return sum(float(l) * (inv @ c) for l, c in zip(lam, path))


def zoom_about(zoom: torch.Tensor, centre: np.ndarray) -> torch.Tensor:
    """:func:`.path.zoom_about` for a 0-d ``zoom`` tensor."""
    cx, cy = (float(v) for v in centre)
    u, one, zero = 1 / zoom, torch.ones_like(zoom), torch.zeros_like(zoom)
    return torch.stack([torch.stack([u, zero, cx * (1 - u)]), torch.stack([zero, u, cy * (1 - u)]),
                        torch.stack([zero, zero, one])])


def required_zoom(w: torch.Tensor, width: int, height: int, centre: np.ndarray) -> torch.Tensor:
    """:func:`.path.required_zoom` as a 0-d tensor (``inf`` where no zoom fits)."""
    cx, cy = (float(v) for v in centre)
    a = w[:2, 0] * cx + w[:2, 1] * cy + w[:2, 2]  # (2,)
    corners = ((0.0, 0.0), (width - 1.0, 0.0), (0.0, height - 1.0), (width - 1.0, height - 1.0))
    b = torch.stack([w[:2, 0] * (x - cx) + w[:2, 1] * (y - cy) for x, y in corners], 1)  # (2, 4)
    hi = torch.stack([torch.full_like(a[0], width - 1.0), torch.full_like(a[0], height - 1.0)])
    outside = ((a < 0) | (a > hi)).any()
    inf = torch.full_like(b, float("inf"))
    bound = torch.where(b > 0, (hi[:, None] - a[:, None]) / b,
                        torch.where(b < 0, -a[:, None] / b, inf))
    u = bound.min().clamp(max=1.0)
    return torch.where(outside | (u <= 0), torch.full_like(u, float("inf")), 1 / u)


def fit_inside(w: torch.Tensor, zoom: torch.Tensor, width: int, height: int, centre: np.ndarray,
               toward: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`.path.fit_inside` with the bisection's 30 steps always taken."""
    base = torch.eye(3, dtype=w.dtype, device=w.device) if toward is None else toward
    lo, hi = torch.zeros_like(zoom), torch.ones_like(zoom)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        fits = required_zoom(base + mid * (w - base), width, height, centre) <= zoom
        lo, hi = torch.where(fits, mid, lo), torch.where(fits, hi, mid)
    fits = required_zoom(w, width, height, centre) <= zoom * (1 + 1e-9)
    return torch.where(fits, w, base + lo * (w - base))


def next_zoom(previous: torch.Tensor | None, required: list[torch.Tensor], max_zoom: float,
              slope: float) -> torch.Tensor:
    """:func:`.path.next_zoom` of 0-d tensors."""
    need = torch.stack([r.clamp(max=max_zoom) - slope * k for k, r in enumerate(required)]).max()
    least = need if previous is None else torch.maximum(previous, need)
    return least.clamp(min=1.0).clamp(max=max_zoom)
