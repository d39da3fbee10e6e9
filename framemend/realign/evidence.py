"""How significant the measured drift is: the correction is shrunk towards nothing while the
colour change it corrects is within what the measurement can get wrong.

Between two consecutive frames the colour of the same content changes by the drift's step plus
the error of the measurement (noise, and flow errors, which read as a change of colour). The
step is measured per channel as the median over the frame's textured cells
(:func:`textured_cells`; on a smooth ramp, a sky's gradient, the flow falls short and that reads
as a change of colour) of the mean difference of the trusted pixels in each, and its standard
deviation from the spread of those cell means (MAD, over the square root of the number of
cells, times 1.2533 for a median); it is measured both ways (the current frame against the previous one warped by the backward flow, and the
current frame warped by the forward flow against the previous one) and the two averaged, which
halves the part of the flow's error that is not symmetric (on the tuning renderings it took
the loss on clips without a cast from -0.17 to -0.09 dB at worst). Since the
keyframe the steps add up to the drift ``D`` (per channel). Their errors are not independent
(the same content, seen through similar flow, frame after frame: on clean renderings the steps
keep one sign), so the standard deviation of ``D`` is bounded by the sum ``S`` of the steps'
standard deviations (the triangle inequality; equality when the errors are fully correlated),
and ``S`` is taken. The correction is multiplied by the positive-part James-Stein factor
``max(0, 1 - p / z²)`` with ``z² = Σ D² / S²`` over the ``p = 3`` channels (the estimated
share of ``z²`` that is signal; James & Stein 1961, Efron & Morris 1973): nothing while the
drift is within its error, nearly all of it once it is many times its error.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..cuda import device_constant
from ..kernels.blur import gaussian_blur
from ..kernels.colour import luma

#: Channels of the drift statistic (the ``p`` of the shrinkage factor).
CHANNELS = 3
#: MAD to the standard deviation of a Gaussian, and the standard error of a median over that
#: of a mean (sqrt(pi / 2)).
MAD_TO_SIGMA, MEDIAN_ERROR = 1.4826, 1.2533
#: Gaussian sigma, in pixels, of the blur whose residual is a cell's detail
#: (:func:`textured_cells`).
DETAIL_SIGMA = 1.5
#: The Laplacian-difference kernel of Immerkaer's noise estimator (:func:`textured_cells`).
LAPLACIAN = ((1.0, -2.0, 1.0), (-2.0, 4.0, -2.0), (1.0, -2.0, 1.0))


def textured_cells(frame: torch.Tensor, cells: tuple[int, int]) -> torch.Tensor:
    """``(1, 1, *cells)`` in [0, 1]: the share of the detail of each cell of ``frame``
    ``(1, 3, H, W)`` that is texture, not noise: ``1 - n / e`` of the mean energy ``e`` of its
    luma's detail (luma minus its blur, sigma ``DETAIL_SIGMA``) and the energy ``n`` that
    noise alone leaves there (the noise's sigma from Immerkaer's Laplacian-difference
    estimator, "Fast noise variance estimation", CVIU 1996).

    A cell's mean colour, compared with an aligned reference, tells a colour change only where
    the alignment is pinned by texture: on a smooth ramp (a sky's gradient) or a flat area the
    flow is unsure by a pixel or so, and on a ramp that reads as a change of colour. White
    noise leaves ``0.89 σ²`` after this blur; ``σ²`` is taken, and Immerkaer's ``σ`` is raised
    by texture (2.4x on a textured 96x64 frame), so the callers' rule, a share above one half
    (more than twice the noise's energy), leans towards leaving cells out.
    """
    y = luma(frame)
    laplacian = device_constant(LAPLACIAN, frame.device, frame.dtype)[None, None]
    h, w = y.shape[-2:]
    sigma = (torch.pi / 2) ** 0.5 * F.conv2d(y, laplacian).abs().sum() / (6 * (h - 2) * (w - 2))
    detail = y - gaussian_blur(y, DETAIL_SIGMA)
    energy = F.adaptive_avg_pool2d(detail * detail, cells)
    return (1.0 - sigma ** 2 / energy.clamp_min(1e-12)).clamp(0, 1)


def colour_step(frame: torch.Tensor, reference: torch.Tensor, weight: torch.Tensor,
                cell: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The colour change from ``reference`` to ``frame`` (both ``(1, 3, H, W)``, aligned)
    where ``weight`` ``(1, 1, H, W)`` trusts them: per channel ``(3,)`` the median over the
    cells of ``cell`` pixels that ``weight`` mostly covers of their mean difference, and its
    standard deviation ``(3,)``; None with fewer than two such cells."""
    h, w = frame.shape[-2:]
    cells = (max(1, round(h / cell)), max(1, round(w / cell)))
    total = F.adaptive_avg_pool2d(weight, cells)
    means = F.adaptive_avg_pool2d((frame - reference) * weight, cells) / total.clamp_min(1e-6)
    covered = ((total > 0.5) & (textured_cells(frame, cells) > 0.5))[0, 0]
    n = int(covered.sum())
    if n < 2:
        return None
    values = means[0][:, covered]  # (3, n)
    median = values.median(1).values
    mad = (values - median[:, None]).abs().median(1).values
    return median, MEDIAN_ERROR * MAD_TO_SIGMA * mad / n ** 0.5


def both_ways(backward: tuple[torch.Tensor, torch.Tensor] | None,
              forward: tuple[torch.Tensor, torch.Tensor] | None
              ) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The average of the :func:`colour_step` measured along the backward and the forward flow
    (step ``(3,)`` and standard deviation ``(3,)``, each averaged); whichever there is when only
    one could be measured. The average of the standard deviations bounds that of the average
    (the triangle inequality, as for the sum over frames)."""
    if backward is None or forward is None:
        return backward if forward is None else forward
    return (backward[0] + forward[0]) / 2, (backward[1] + forward[1]) / 2


class DriftEvidence:
    """The colour steps of a shot since its keyframe, added up: the drift ``(3,)`` and the
    bound on its standard deviation ``(3,)``."""

    def __init__(self) -> None:
        self.drift = torch.zeros(CHANNELS)
        self.error = torch.zeros(CHANNELS)

    def add(self, step: tuple[torch.Tensor, torch.Tensor] | None) -> None:
        """Add one frame's :func:`colour_step` (None: not measured, nothing added)."""
        if step is not None:
            self.drift = self.drift + step[0].cpu()
            self.error = self.error + step[1].cpu()

    def shrinkage(self) -> float:
        """In [0, 1]: the share of the correction to apply, ``max(0, 1 - p / z²)``."""
        z2 = float((self.drift ** 2 / self.error.clamp_min(1e-12) ** 2).sum())
        return max(0.0, 1.0 - CHANNELS / z2) if z2 > 0 else 0.0
