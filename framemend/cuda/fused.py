"""The fused kernels as the passes call them: each a :class:`.checked.CheckedKernel` over its
torch reference, with the small input it checks itself on.

* :data:`recursive_step`: the denoise recursion step (:mod:`.denoise_step`);
* :data:`sor_sweeps`: the red-black SOR sweeps of the torch flow solver (:mod:`.sor`);
* :data:`box_differences`: deflicker's box comparisons (:mod:`.boxes`).

Tolerances: float32 arithmetic in a different order (bilinear weights, fused multiply-adds,
``lerp``'s two formulas) on inputs of order 1; the summed-area tables reach a few hundred, and
a box difference divides their differences by the box area.
"""
from __future__ import annotations

from framemend._torch import F, torch

from .checked import CheckedKernel


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _recursive_step_sample(device: torch.device, seed: int = 19) -> tuple[tuple, dict]:
    """A 3-channel 23 x 29 estimate and frame, a smooth flow that leaves the frame at one
    side, variances from 0.1 to 2, noise variances that differ per opponent channel, a shear
    of the basis like chroma noise's."""
    g = _generator(seed)
    h, w = 23, 29
    estimate, frame = torch.rand(3, h, w, generator=g), torch.rand(3, h, w, generator=g)
    variance = 0.1 + 1.9 * torch.rand(1, h, w, generator=g)
    flow = F.interpolate(6 * torch.rand(1, 2, 4, 5, generator=g) - 3, size=(h, w),
                         mode="bilinear", align_corners=False)[0]
    args = (estimate, variance, frame, flow, torch.tensor([0.02, 0.05, 0.01]))
    return tuple(t.to(device) for t in args) + (8,), {"shear": torch.tensor([-0.2, 0.5],
                                                                          device=device)}


def _sor_sample(device: torch.device, seed: int = 19) -> tuple[tuple, dict]:
    """Two 17 x 22 flow fields with the weights and 2x2 systems of a smooth solve."""
    g = _generator(seed)
    n, h, w = 2, 17, 22
    flow = torch.randn(n, 2, h, w, generator=g)
    edges = 0.0025 * torch.rand(n, 4, h, w, generator=g)
    j11, j22 = (0.01 * torch.rand(n, 1, h, w, generator=g) for _ in range(2))
    j12 = 0.5 * torch.sqrt(j11 * j22) * (2 * torch.rand(n, 1, h, w, generator=g) - 1)
    a11, a22 = j11 + edges.sum(1, keepdim=True), j22 + edges.sum(1, keepdim=True)
    det = a11 * a22 - j12 * j12
    inverse = torch.cat([a22 / det, -j12 / det, a11 / det], 1)
    q = 0.001 * torch.randn(n, 2, h, w, generator=g)
    return tuple(t.to(device) for t in (flow, edges, q, inverse)) + (5, 1.9), {}


def _box_differences_sample(device: torch.device, seed: int = 19) -> tuple[tuple, dict]:
    """Summed-area tables of four 3-channel 24 x 36 images (cells of 4 px) and shifts of up to
    half a cell. (Where a box leaves the frame its area is cut to nothing and both results are
    rounding noise over 1e-6, as the filter knows: it gives such boxes no weight.)"""
    g = _generator(seed)
    tables = [F.pad(torch.rand(3, 24, 36, generator=g).cumsum(1).cumsum(2), (1, 0, 1, 0))
              for _ in range(4)]
    shifts = torch.rand(3, 2, 6, 9, generator=g) - 0.5
    return ([t.to(device) for t in tables[1:]], tables[0].to(device), shifts.to(device), 4), {}


recursive_step = CheckedKernel(
    "denoise recursion step", "framemend.denoise.recursive:recursive_step_reference",
    "framemend.cuda.denoise_step:recursive_step", _recursive_step_sample, tolerance=1e-4)
sor_sweeps = CheckedKernel(
    "flow SOR sweeps", "framemend.flow.torchflow:sor_sweeps_reference",
    "framemend.cuda.sor:sor_sweeps", _sor_sample, tolerance=1e-4)
box_differences = CheckedKernel(
    "deflicker box comparison", "framemend.deflicker.motion:box_differences",
    "framemend.cuda.boxes:box_differences", _box_differences_sample, tolerance=1e-3)

KERNELS = (recursive_step, sor_sweeps, box_differences)
