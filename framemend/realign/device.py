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

Where the torch flow is wrong (issue 19: a fast pan over a brick wall, a tilt over a photograph
with a large flat sky, both at 4-5 fps), a frame's colour step is a misregistration read as a
change of colour, alike frame after frame, and the drift statistic built on it applied a wrong
correction to clips without a cast (-3.3 and -7.9 dB at 192x108). A frame's step is evidence of
drift only where the consecutive flow is pinned: its median within :data:`SHIFT_TOLERANCE` of
the global shift found by phase correlation (:func:`follows`, :mod:`.shift`: a flow settled a
brick's period away), and the cells the step is measured on moving as one similarity
(:func:`coherent`: a weakly textured background dragged along with the subject). Both are 0-d
tensors folded into the evidence's flag: nothing is read back.

Known defect (issue 19): a frame that is not pinned is no evidence, but the correction is still
learnt through it; where the flow is wrong for many frames and the clip does drift, the
correction that comes out once the drift is measured is wrong (the flat-sky tilt at 320x180
with its cast: -2.16 dB where the CPU path gains 6.08; see BENCHMARKS.md).
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
#: A frame's colour step is evidence of drift only where at least this share of the cells it
#: is measured on follow one similarity within ``COHERENT_PX`` (:func:`coherent`; on the tuning
#: renderings at 192x108 the drifting ones' frames 0.72-0.95, the flat-sky tilt's wrong ones
#: 0.11-0.61) ...
MIN_COHERENT = 0.7
COHERENT_PX = 0.5
#: ... and the consecutive flow's median is within this many analysis pixels of the global
#: shift (:func:`follows`).
SHIFT_TOLERANCE = 1.5


def inside(to_key: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``(1, 1, H, W)``: 1 where the similarity ``to_key`` ``(3, 3)`` lands inside the
    keyframe (:func:`.filter._inside`)."""
    ys, xs = _grid(h, w, to_key.device, to_key.dtype)
    kx = to_key[0, 0] * xs + to_key[0, 1] * ys + to_key[0, 2]
    ky = to_key[1, 0] * xs + to_key[1, 1] * ys + to_key[1, 2]
    return ((kx >= 0) & (kx <= w - 1) & (ky >= 0) & (ky <= h - 1)).float()[None, None]


def box_visible(box: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """0-d: :func:`.filter.box_visible` of a ``(2, 2)`` tensor ``box``."""
    lo, hi = box.min(0).values, box.max(0).values
    area = (hi - lo).prod().clamp_min(1e-6)
    top = torch.stack([hi[0].clamp(max=w), hi[1].clamp(max=h)])
    seen = (top - lo.clamp_min(0)).clamp_min(0).prod()
    return seen / area


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
        ``counted`` holds (false on a jump, whose step is not drift, and where the flow is not
        pinned: :func:`follows`, :func:`coherent`)."""
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
    fit = _SimilarityFit(xs - cx, ys - cy, offset)  # centred: a well-conditioned system
    theta = fit.irls(keep)
    theta = fit.solve(keep * (fit.squared_residuals(theta) < 1.0))  # the 1 px inliers, as RANSAC's
    a, b, tx, ty = theta.unbind()
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    to_key_sim = torch.stack([torch.stack([a, -b, tx + cx - a * cx + b * cy]),
                              torch.stack([b, a, ty + cy - b * cx - a * cy]),
                              torch.stack([zero, zero, one])])
    fitted = inverse(to_key_sim)
    usable = torch.isfinite(fitted).all() & (keep.sum() >= MIN_SAMPLES)
    return torch.where(usable, fitted, predicted)


def coherent(flow: torch.Tensor, trust: torch.Tensor, frame: torch.Tensor,
             cell: int) -> torch.Tensor:
    """0-d bool: at least :data:`MIN_COHERENT` of the cells (``cell`` pixels) of ``frame``
    ``(1, 3, H, W)`` that :func:`colour_step` measures (trusted by ``trust`` ``(1, 1, H, W)``,
    textured) move, by their mean ``flow`` ``(1, 2, H, W)`` (from ``frame``), within
    :data:`COHERENT_PX` of one similarity fitted to them all by IRLS; false with fewer than two
    such cells. Where they do not, the flow is not pinned by the texture the colour step reads
    (a weakly textured background dragged along with a subject by the flow's smoothness), and
    a misregistration on a gradient reads as a change of colour."""
    h, w = frame.shape[-2:]
    cells = (max(1, round(h / cell)), max(1, round(w / cell)))
    total = F.adaptive_avg_pool2d(trust, cells)
    used = ((total > 0.5) & (textured_cells(frame, cells) > 0.5))[0, 0].reshape(-1).double()
    motion = (F.adaptive_avg_pool2d(flow * trust, cells) / total.clamp_min(1e-6))[0]
    ch, cw = cells
    ys, xs = _grid(ch, cw, frame.device, torch.float64)
    fit = _SimilarityFit((xs.reshape(-1) + 0.5) * w / cw - 0.5 - (w - 1) / 2,
                         (ys.reshape(-1) + 0.5) * h / ch - 0.5 - (h - 1) / 2,
                         motion.reshape(2, -1).double())
    near = fit.squared_residuals(fit.irls(used)) < COHERENT_PX ** 2
    return (used.sum() >= 2) & ((near * used).sum() >= MIN_COHERENT * used.sum())


def follows(flow: torch.Tensor, trust: torch.Tensor, shift: torch.Tensor,
            scale: float) -> torch.Tensor:
    """0-d bool: the median of ``flow`` ``(1, 2, H, W)`` over the pixels ``trust``
    ``(1, 1, H, W)`` > 0.5 is within :data:`SHIFT_TOLERANCE` analysis pixels (``scale``
    full-size pixels each) of ``shift`` ``(2,)`` (:func:`.shift.global_shift`, full-size
    pixels); false where nothing is trusted. A coarse-to-fine flow on a repeating texture
    can settle a period away from the motion, everywhere alike: :func:`coherent` does not see
    that."""
    values = torch.where(trust[0] > 0.5, flow[0], float("nan")).reshape(2, -1)
    median = values.nanmedian(1).values
    return torch.nan_to_num((median - shift).norm() / scale, nan=float("inf")) <= SHIFT_TOLERANCE


class _SimilarityFit:
    """A similarity ``q = [[a, -b], [b, a]] p + t`` fitted to correspondences: points ``p``
    ``(px, py)``, each ``(N,)`` float64 (centred, for a well-conditioned system), and
    ``offset`` ``(2, N)`` (``q - p``); ``theta`` is ``(4,)``: ``a, b, tx, ty``."""

    def __init__(self, px: torch.Tensor, py: torch.Tensor, offset: torch.Tensor) -> None:
        ones, zeros = torch.ones_like(px), torch.zeros_like(px)
        self.design = torch.cat([torch.stack([px, -py, ones, zeros], 1),
                                 torch.stack([py, px, zeros, ones], 1)])  # (2N, 4)
        self.target = torch.cat([px + offset[0], py + offset[1]])

    def solve(self, weights: torch.Tensor) -> torch.Tensor:
        """``theta`` by least squares weighted by ``weights`` ``(N,)``."""
        weighted = self.design * weights.repeat(2)[:, None]
        return torch.linalg.solve_ex(self.design.T @ weighted, weighted.T @ self.target)[0]

    def irls(self, keep: torch.Tensor) -> torch.Tensor:
        """``theta`` by IRLS over the points ``keep`` ``(N,)`` weighs, Cauchy weights of the
        scales :data:`SCALES`."""
        theta = self.solve(keep)
        for s in SCALES:
            theta = self.solve(keep / (1 + self.squared_residuals(theta) / s ** 2))
        return theta

    def squared_residuals(self, theta: torch.Tensor) -> torch.Tensor:
        """``(N,)`` squared distance of each point's match from the fit's."""
        d = (self.design @ theta - self.target).view(2, -1)
        return d[0] ** 2 + d[1] ** 2


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
