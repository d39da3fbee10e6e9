"""The device path of realign: the tracking, the refit, the masks, the drift statistic and the
decisions as tensors on the frames' device, so that no frame waits for the host (what CUDA runs;
on the CPU inside :func:`framemend.cuda.device_path_on_cpu`). The twins of the CPU path's host
steps in :mod:`.filter`, :mod:`.evidence` and :mod:`.whole`:

- motion: :func:`framemend.stabilize.device.camera_motion` (and ``subject_motion``) from the
  torch flow, instead of tracked corners and RANSAC;
- the refit of the keyframe's similarity to the dense correspondence (:func:`refit`): weighted
  least squares by iteratively reweighted Cauchy weights, as
  :class:`framemend.stabilize.device._Samples` (Holland & Welsch 1977), instead of RANSAC;
- medians over the cells a mask covers: ``nanmedian`` with the others NaN, instead of indexing
  (which on a GPU waits for the count); "too few cells" is a 0-d flag applied by arithmetic;
- the jump, the keyframe's visibility and the shrinkage stay 0-d tensors, applied by
  ``torch.where`` in :meth:`.filter.Realign._correct_on_device`.

The residual flow onto the keyframe is estimated over the whole frame (the CPU path crops it to
the subject's box with ``region=face``: a crop's size would be read back every frame).

Known defect (issue 19): where the torch flow fails (a fast pan over a brick wall, a tilt over a
photograph with a large flat sky, both at 4-5 fps), the motion and the drift statistic built on
it are wrong, and the device path harms a clip without a cast (-3.3 and -7.9 dB at 192x108 where
the CPU path loses nothing; the CPU path's own steps fed the torch flow lose 1.8 and 2.0 dB):
see BENCHMARKS.md, "Realign's device path, stop 20".
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..stabilize.device import STEP, inverse
from .evidence import CHANNELS, MAD_TO_SIGMA, MEDIAN_ERROR, textured_cells
from .tone import identity_map
from .whole import MIN_CELLS, ROBUST_PASSES, TUKEY

#: Cauchy scales (px) of the refit's reweighting passes, lowered to RANSAC's 1 px threshold
#: (:func:`refit`).
SCALES = (8.0, 4.0, 2.0, 1.0, 1.0, 1.0)
#: Fewer trusted samples than this: no refit (as the CPU path's).
MIN_SAMPLES = 20


def inside(to_key: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``(1, 1, H, W)``: 1 where the similarity ``to_key`` ``(3, 3)`` lands inside the
    keyframe (:func:`.filter._inside`)."""
    ys, xs = _grid(h, w, to_key.device, to_key.dtype)
    kx = to_key[0, 0] * xs + to_key[0, 1] * ys + to_key[0, 2]
    ky = to_key[1, 0] * xs + to_key[1, 1] * ys + to_key[1, 2]
    return ((kx >= 0) & (kx <= w - 1) & (ky >= 0) & (ky <= h - 1)).float()[None, None]


def change(frame: torch.Tensor, reference: torch.Tensor, weight: torch.Tensor,
           cell: int) -> torch.Tensor:
    """0-d: :func:`.filter._change` (median over the covered cells of the largest channel
    difference; 0 where no cell is covered)."""
    h, w = frame.shape[-2:]
    cells = (max(1, round(h / cell)), max(1, round(w / cell)))
    total = F.adaptive_avg_pool2d(weight, cells)
    diff = F.adaptive_avg_pool2d((frame - reference) * weight, cells) / total.clamp_min(1e-6)
    largest = diff.abs().amax(1, keepdim=True)
    median = torch.where(total > 0.5, largest, torch.full_like(largest, float("nan"))).nanmedian()
    return torch.nan_to_num(median, nan=0.0)


def colour_step(frame: torch.Tensor, reference: torch.Tensor, weight: torch.Tensor,
                cell: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`.evidence.colour_step`: the step ``(3,)``, its standard deviation ``(3,)`` and
    a 0-d flag, true where at least two cells were measured (the step and deviation are 0
    where not)."""
    h, w = frame.shape[-2:]
    cells = (max(1, round(h / cell)), max(1, round(w / cell)))
    total = F.adaptive_avg_pool2d(weight, cells)
    means = F.adaptive_avg_pool2d((frame - reference) * weight, cells) / total.clamp_min(1e-6)
    covered = ((total > 0.5) & (textured_cells(frame, cells) > 0.5))[0, 0].reshape(-1)
    n = covered.sum()
    values = torch.where(covered, means[0].reshape(3, -1), float("nan"))  # (3, cells)
    median = values.nanmedian(1).values
    mad = (values - median[:, None]).abs().nanmedian(1).values
    measured = n >= 2
    sd = MEDIAN_ERROR * MAD_TO_SIGMA * mad / n.clamp_min(1).sqrt()
    return (torch.where(measured, median, 0.0), torch.where(measured, sd, 0.0), measured)


def both_ways(backward: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
              forward: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`.evidence.both_ways` of two :func:`colour_step`: the average of those measured
    (nothing, flagged so, where neither was)."""
    wb, wf = backward[2].float(), forward[2].float()
    total = (wb + wf).clamp_min(1.0)
    return ((wb * backward[0] + wf * forward[0]) / total,
            (wb * backward[1] + wf * forward[1]) / total, backward[2] | forward[2])


class DriftEvidence:
    """:class:`.evidence.DriftEvidence` on the device: the drift ``(3,)`` and its bound ``(3,)``
    added up there, the shrinkage a 0-d tensor."""

    def __init__(self, device) -> None:
        self.drift = torch.zeros(CHANNELS, device=device)
        self.error = torch.zeros(CHANNELS, device=device)

    def add(self, step: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
            counted: torch.Tensor) -> None:
        """Add one frame's :func:`both_ways` step where it was measured and the 0-d bool
        ``counted`` holds (false on a jump, whose step is not drift)."""
        use = (step[2] & counted).float()
        self.drift = self.drift + use * step[0]
        self.error = self.error + use * step[1]

    def shrinkage(self) -> torch.Tensor:
        """0-d in [0, 1]: ``max(0, 1 - p / z²)`` (0 where ``z² = 0``)."""
        z2 = (self.drift ** 2 / self.error.clamp_min(1e-12) ** 2).sum()
        return torch.where(z2 > 0, (1.0 - CHANNELS / z2).clamp_min(0.0), 0.0)


def fit_whole_map(frame: torch.Tensor, reference: torch.Tensor, weight: torch.Tensor,
                  cell: int = 16) -> torch.Tensor:
    """:func:`.whole.fit_whole_map` with the cells left out weighted 0 (their medians NaN):
    ``(1, 12, 1, 1)``, the identity where fewer than ``MIN_CELLS`` cells are used."""
    h, w = frame.shape[-2:]
    cells = (max(1, round(h / cell)), max(1, round(w / cell)))
    cover = F.adaptive_avg_pool2d(weight, cells)
    share = (cover * textured_cells(frame, cells)).reshape(-1)
    used = (share > 0.5)[:, None]  # (n, 1)
    x, y = ((F.adaptive_avg_pool2d(z * weight, cells) / cover.clamp_min(1e-6)).reshape(3, -1).T
            for z in (frame, reference))  # (n, 3) cell means
    prior = torch.where(used, share[:, None], 0.0).expand(-1, 3)
    robust = torch.ones_like(prior)
    for _ in range(ROBUST_PASSES):
        wn = prior * robust
        total = wn.sum(0).clamp_min(1e-12)
        mx, my = (wn * x).sum(0) / total, (wn * y).sum(0) / total
        xc, yc = x - mx, y - my
        sxx = (wn * xc * xc).sum(0).clamp_min(1e-12)
        gain = (wn * yc * xc).sum(0) / sxx
        r = torch.where(used, yc - gain * xc, float("nan"))
        spread = (r - r.nanmedian(0).values).abs().nanmedian(0).values
        scale = MAD_TO_SIGMA * torch.nan_to_num(spread, nan=0.0).clamp_min(1e-4)
        robust = torch.nan_to_num((1 - (r / (TUKEY * scale)) ** 2).clamp_min(0) ** 2, nan=0.0)
    error2 = scale ** 2 * (wn * wn * xc * xc).sum(0) / sxx ** 2
    shift = gain - 1
    gain = 1 + shift * (1 - error2 / shift.square().clamp_min(1e-12)).clamp_min(0)
    b = my - gain * mx
    fitted = torch.cat([torch.diag(gain).reshape(9), b])[None, :, None, None]
    return torch.where(used.sum() >= MIN_CELLS, fitted, identity_map(1, 1, 1, frame.device))


def refit(to_key: torch.Tensor, weight: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """The keyframe-to-frame similarity ``(3, 3)`` float64 refitted to the dense
    correspondence ``to_key`` ``(1, 2, H, W)`` (frame pixel to keyframe pixel, minus its
    position) where ``weight`` ``(1, 1, H, W)`` > 0.5, sampled every ``STEP`` pixels: the
    similarity frame -> keyframe by IRLS (:data:`SCALES`), then least squares on the samples
    it follows within 1 px (a Cauchy weight leaves an outlier some pull), inverted;
    ``predicted`` where fewer than ``MIN_SAMPLES`` samples are trusted or the fit is not
    finite (:func:`.filter.fit_similarity`'s None)."""
    _, _, h, w = to_key.shape
    ys, xs = _grid(h, w, to_key.device, torch.float64)
    xs, ys = xs[::STEP, ::STEP].reshape(-1), ys[::STEP, ::STEP].reshape(-1)
    keep = (weight[0, 0, ::STEP, ::STEP] > 0.5).reshape(-1).double()
    offset = to_key[0, :, ::STEP, ::STEP].reshape(2, -1).double()
    cx, cy = (w - 1) / 2, (h - 1) / 2
    px, py = xs - cx, ys - cy  # centred: a well-conditioned system
    qx, qy = px + offset[0], py + offset[1]
    ones, zeros = torch.ones_like(px), torch.zeros_like(px)
    design = torch.cat([torch.stack([px, -py, ones, zeros], 1),
                        torch.stack([py, px, zeros, ones], 1)])  # (2N, 4): a, b, tx, ty
    target = torch.cat([qx, qy])

    def solve(weights: torch.Tensor) -> torch.Tensor:  # (4,) weighted least squares
        weighted = design * weights.repeat(2)[:, None]
        return torch.linalg.solve_ex(design.T @ weighted, weighted.T @ target)[0]

    def squared_residuals(theta: torch.Tensor) -> torch.Tensor:  # (N,)
        d = (design @ theta - target).view(2, -1)
        return d[0] ** 2 + d[1] ** 2

    theta = solve(keep)
    for s in SCALES:
        theta = solve(keep / (1 + squared_residuals(theta) / s ** 2))
    theta = solve(keep * (squared_residuals(theta) < 1.0))  # the 1 px inliers, as RANSAC's
    a, b, tx, ty = theta.unbind()
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    to_key_sim = torch.stack([torch.stack([a, -b, tx + cx - a * cx + b * cy]),
                              torch.stack([b, a, ty + cy - b * cx - a * cy]),
                              torch.stack([zero, zero, one])])
    fitted = inverse(to_key_sim)
    usable = torch.isfinite(fitted).all() & (keep.sum() >= MIN_SAMPLES)
    return torch.where(usable, fitted, predicted)


def ellipse_mask(box: torch.Tensor, height: int, width: int,
                 feather: float = 0.15) -> torch.Tensor:
    """:func:`.filter.ellipse_mask` of a ``(2, 2)`` tensor ``box``: ``(1, 1, H, W)``."""
    ys, xs = _grid(height, width, box.device, torch.float32)
    box = box.float()
    centre, half = box.mean(0), ((box[1] - box[0]) / 2).clamp_min(1.0)
    r = torch.hypot((xs - centre[0]) / half[0], (ys - centre[1]) / half[1])
    return ((1.0 - r) / feather + 0.5).clamp(0, 1)[None, None]


def _grid(h: int, w: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``(H, W)`` row and column indices."""
    return torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                          torch.arange(w, device=device, dtype=dtype), indexing="ij")
