"""Motion-compensated brightness differences between frames, on a coarse grid of cells.

Deflicker needs, for each cell of frame ``t``, how much brighter the same scene content is in a
neighbour ``s``. Flow runs on small "analysis" images (about 160 pixels wide, DIS medium)
between consecutive frames only. Each consecutive pair is checked per pixel: pixels failing
the forward-backward check (Sundaram et al., "Dense point trajectories by GPU-accelerated large
displacement optical flow", ECCV 2010), leaving the frame, or whose flicker-invariant appearance
(luma over its local mean) does not match after warping (flow that is consistent but wrong, a
fast object) count as unreliable, and each cell keeps its mean flow and reliable fraction
(:class:`Step`). The cell flows of consecutive steps are chained to find where each cell's
content lies in frames up to ``k`` steps away (:func:`chain_steps`), and the brightness
difference is then measured directly between the two frames: the mean of frame ``s`` over the
cell's box moved there against the mean of frame ``t`` over the box, read from summed-area tables
(Crow, "Summed-area tables for texture mapping", SIGGRAPH 1984) at fractional positions
(:func:`content_differences`). Measuring each difference directly, rather than summing ``k``
differences of consecutive frames, keeps a small error of every step (interpolation, a sub-pixel
flow bias) from accumulating along the chain. The torch functions here are the reference and
the device path; the CPU path (:mod:`._host`) computes the same in numpy, OpenCV and numba
loops (:mod:`._cpu`) without torch.
"""
from __future__ import annotations

from dataclasses import dataclass

from framemend._torch import F, torch
from framemend.cuda import fused
from framemend.flow import backward_warp, estimate_flow, occlusion_mask
from framemend.kernels import colour
from framemend.kernels.blur import gaussian_blur

ANALYSIS_WIDTH = 160
MISMATCH = 0.08  # flicker-invariant difference beyond which a warped pixel is not the same content
FLOW_QUALITY = "medium"  # DIS preset on the analysis images
# structure_mismatch: the squared structure (linear RGB, summed over a cell's 2 x 2 quadrants
# and 3 channels) below which a cell counts as flat: 12 deviations of about 0.016 (4 levels)
STRUCTURE_FLOOR = 3e-3
# ... and on the flicker-invariant grey (local mode, 4 quadrants): tuned on bench_families'
# deflicker_local renderings 0-5 against bench_deflicker's local clips (at 3e-3 the pan loses
# 0.06 dB to the colour mismatch; at 1e-2 and more the renderings gain less)
GREY_STRUCTURE_FLOOR = 5e-3
# ... to which local mode adds this share of the colours' mismatch, with this floor: the grey,
# normalised by its local mean, sees less of a subject the flow missed than the colours do.
# Tuned on bench_families' deflicker_local renderings 0-5 (+0.54 dB in all, most on the
# subjects of 0 and 4) against bench_deflicker's local clips (within 0.05 dB of the grey
# alone: shares of 0.4 with a floor of 2e-2 and 0.5 with 3e-2 gain more, but the pan loses
# 0.048 and 0.057 dB)
COLOUR_STRUCTURE_SHARE = 0.3
COLOUR_STRUCTURE_FLOOR = 1e-2


def analysis_factor(width: int, height: int) -> int:
    """Integer downscale factor that brings ``width`` close to :data:`ANALYSIS_WIDTH` pixels,
    at most ``height``, so that a frame more than about 160 times as wide as high (640x3) keeps
    a row to analyse."""
    return min(max(1, round(width / ANALYSIS_WIDTH)), height)


def downscale(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Area-average ``(C, H, W)`` by ``factor`` to ``(C, H // factor, W // factor)``
    (``avg_pool2d``; the CPU path's OpenCV area resize, :func:`._host.downscaled`, gives the same
    where ``factor`` divides the size)."""
    if factor == 1:
        return image
    return F.avg_pool2d(image[None], factor)[0]


@dataclass
class Step:
    """Motion from one frame to an adjacent one, per cell.

    ``flow`` ``(2, gh, gw)`` mean flow in cells; ``cover`` ``(1, gh, gw)`` fraction of the cell's
    pixels whose motion is reliable (see :func:`compared_cells`). Tensors, or float32 arrays on
    the CPU path.
    """

    flow: torch.Tensor
    cover: torch.Tensor


def cell_means(images: torch.Tensor, masks: torch.Tensor, cell: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked means ``(N, C, gh, gw)`` over ``cell``-pixel cells and the mask's mean ``(N, 1, gh, gw)``.

    ``images`` ``(N, C, h, w)``, ``masks`` ``(N, 1, h, w)`` in [0, 1]; partial edge cells count.
    """
    pooled = F.avg_pool2d(torch.cat([images * masks, masks], dim=1), cell, ceil_mode=True)
    sums, coverage = pooled[:, :-1], pooled[:, -1:]
    return sums / coverage.clamp_min(1e-6), coverage


def analysis_image(image: torch.Tensor, factor: int) -> torch.Tensor:
    """``(3, H, W)`` frame -> ``(4, H // factor, W // factor)``: the area-averaged RGB and, as a
    fourth channel, its :func:`flicker_invariant` grey (what flow is computed on)."""
    small = downscale(image, factor)
    return torch.cat([small, flicker_invariant(small)])


def flicker_invariant(image: torch.Tensor, sigma: float = 2.5) -> torch.Tensor:
    """Luma divided by its local mean, ``(3, h, w)`` -> ``(1, h, w)`` in [0, 1].

    A gain field that is smooth at the scale ``sigma`` (pixels) cancels, so flow between
    flickering frames follows the content rather than the flicker.
    """
    luma = colour.luma(image[None])
    mean = gaussian_blur(luma, sigma, int(3 * sigma))
    return (0.5 * luma / (mean + 0.02)).clamp(0.0, 1.0)[0]


def adjacent_steps(a: torch.Tensor, b: torch.Tensor, cell: int,
                   flows: torch.Tensor | None = None) -> tuple[Step, Step]:
    """The :class:`Step` from analysis frame ``a`` to ``b`` and from ``b`` to ``a``.

    ``a``, ``b``: ``(4, h, w)`` :func:`analysis_image` of consecutive frames of one shot;
    ``flows`` ``(2, 2, h, w)`` from ``a`` to ``b`` and back if already known, else DIS on their
    flicker-invariant greys.
    """
    grey = torch.stack([a[3:], b[3:]])
    if flows is None:
        flows = estimate_flow(grey.expand(-1, 3, -1, -1), grey.flip(0).expand(-1, 3, -1, -1),
                              quality=FLOW_QUALITY, threads=1)
    cover, cell_flow = compared_cells(grey, flows, cell)
    return Step(cell_flow[0], cover[0]), Step(cell_flow[1], cover[1])


def compared_cells(grey: torch.Tensor, flows: torch.Tensor, cell: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per cell, how reliably each frame of a pair maps onto the other.

    Args:
        grey: ``(2, 1, h, w)`` the pair's flicker-invariant greys; ``flows`` ``(2, 2, h, w)`` from
            each to the other.
    Returns:
        ``cover`` ``(2, 1, gh, gw)`` the fraction of pixels inside the frame after the flow,
        forward-backward consistent and of the same grey within :data:`MISMATCH`;
        ``cell_flow`` ``(2, 2, gh, gw)`` the mean flow in cells. The torch reference of
        :func:`._cpu.compared_cells`.
    """
    warped = backward_warp(grey.flip(0), flows)
    mismatch = (warped - grey).abs() > MISMATCH
    valid = (~(occlusion_mask(flows, flows.flip(0)) | mismatch)).float()  # outside included
    cover = F.avg_pool2d(valid, cell, ceil_mode=True)
    ones = torch.ones_like(flows[:, :1])
    return cover, cell_means(flows, ones, cell)[0] / cell


def chain_steps(steps: list[Step]) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each cell's content of the first frame of a chain lies in each later frame.

    The composed flow ``D_j = sum_{i<j} f_i(x + D_i)`` is found in two batched passes (first
    with every ``f_i`` read at ``x``, then at the first pass's positions), exact to second
    order for the smooth cell-resolution flows, instead of ``k`` sequential warps.

    Args:
        steps: ``k`` steps, ``steps[j]`` from frame ``j`` of the chain to frame ``j + 1``.
    Returns:
        ``shifts`` ``(k, 2, gh, gw)``: the displacement in cells of each cell's content from
        frame 0 to frame ``j + 1``; ``covers`` ``(k, 1, gh, gw)``: the smallest reliability met
        along the way (0 once the content's box has left the frame).
    """
    return chain_maps(torch.stack([torch.cat([s.flow, s.cover]) for s in steps]))


def chain_maps(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`chain_steps` of the steps' stacked ``(flow, cover)`` maps ``(k, 3, gh, gw)``; the
    torch reference of :func:`._cpu.chain_maps`."""
    flows = maps[:, :2]
    moves = backward_warp(flows, _exclusive_cumsum(flows))  # each step read at the first pass
    reach = _exclusive_cumsum(moves)                           # content's position in frame j
    shifts = reach + moves                                     # ... and in frame j + 1
    inside = _inside(shifts, margin=1.0).to(maps.dtype)
    covers = (backward_warp(maps[:, 2:], reach) * inside).cummin(0).values
    return shifts, covers


def summed_area(image: torch.Tensor) -> torch.Tensor:
    """Summed-area table ``(C, h + 1, w + 1)`` of ``(C, h, w)``: ``out[:, y, x]`` is the sum of
    ``image[:, :y, :x]``."""
    return F.pad(image.cumsum(1).cumsum(2), (1, 0, 1, 0))


def content_differences(tables: list[torch.Tensor], own: torch.Tensor, shifts: torch.Tensor,
                        cell: int) -> torch.Tensor:
    """Mean of each later frame over each cell's content minus the first frame's mean over it.

    Args:
        tables: ``k`` :func:`summed_area` tables ``(C, h + 1, w + 1)`` of the frames the content
            moved to; ``own`` the first frame's table; ``shifts`` ``(k, 2, gh, gw)`` from
            :func:`chain_steps`, in cells of ``cell`` pixels.
    Returns:
        ``(k, C, gh, gw)``. Each cell's box is moved by its shift (a fractional box: the tables
        are read bilinearly) and both boxes are cut to the part of the content that lies inside
        both frames, so the two means are over the same content. :func:`box_differences` (on a
        GPU its fused kernel, :mod:`framemend.cuda.boxes`).
    """
    return fused.box_differences(tables, own, shifts, cell)


def box_differences(tables: list[torch.Tensor], own: torch.Tensor, shifts: torch.Tensor,
                    cell: int) -> torch.Tensor:
    """:func:`content_differences` in torch (the reference of :func:`._cpu.content_differences`).
    """
    px, py, x0, y0, x1, y1 = _cut_boxes(own, shifts, cell)
    area = ((x1 - x0) * (y1 - y0)).clamp_min(1e-6)
    return torch.stack([
        (_box_sums(table, x0[j] + px[j], y0[j] + py[j], x1[j] + px[j], y1[j] + py[j])
         - _box_sums(own, x0[j], y0[j], x1[j], y1[j])) / area[j]
        for j, table in enumerate(tables)])


def structure_mismatch(tables: list[torch.Tensor], own: torch.Tensor, shifts: torch.Tensor,
                       cell: int, floor: float = STRUCTURE_FLOOR) -> torch.Tensor:
    """How much each cell's content changed along its shift apart from its tone, ``(k, 1, gh,
    gw)`` (arguments as :func:`content_differences`).

    The boxes of :func:`content_differences` are split into 2 x 2 quadrants; ``a`` and ``b``
    are the quadrants' means less their box's mean in the first frame and in the later one
    (the cell's structure at half its size, per channel). The mismatch is
    ``sum (b - a)² / (sum a² + b² + floor)`` over the quadrants and channels: about
    ``(g - 1)² / (1 + g²)`` where the content only changed its brightness by a gain ``g``
    (0.003 for 8 %), about 1 where the box holds other content (a subject the flow did not
    follow), 0 on flat content, which cannot tell. The torch reference of
    :func:`._cpu.content_and_structure`'s mismatch.
    """
    px, py, x0, y0, x1, y1 = _cut_boxes(own, shifts, cell)
    xm, ym = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    quarter = (0.25 * (x1 - x0) * (y1 - y0)).clamp_min(1e-6)
    quadrants = [(x0, y0, xm, ym), (xm, y0, x1, ym), (x0, ym, xm, y1), (xm, ym, x1, y1)]
    out = []
    for j, table in enumerate(tables):
        a = torch.stack([_box_sums(own, qx0[j], qy0[j], qx1[j], qy1[j])
                         for qx0, qy0, qx1, qy1 in quadrants]) / quarter[j]
        b = torch.stack([_box_sums(table, qx0[j] + px[j], qy0[j] + py[j], qx1[j] + px[j],
                                   qy1[j] + py[j])
                         for qx0, qy0, qx1, qy1 in quadrants]) / quarter[j]
        a, b = a - a.mean(0), b - b.mean(0)  # (4, C, gh, gw)
        out.append(((b - a) ** 2).sum((0, 1))
                   / ((a * a + b * b).sum((0, 1)) + floor))
    return torch.stack(out)[:, None]


def local_structure_mismatch(tables: list[torch.Tensor], own: torch.Tensor,
                             shifts: torch.Tensor, cell: int) -> torch.Tensor:
    """Local mode's :func:`structure_mismatch` ``(k, 1, gh, gw)`` of analysis tables ``(4, h + 1,
    w + 1)`` (arguments as :func:`content_differences`): that of the flicker-invariant grey
    (the fourth channel, floor :data:`GREY_STRUCTURE_FLOOR`), which a gain varying inside a
    cell keeps, plus :data:`COLOUR_STRUCTURE_SHARE` times that of the colours (floor
    :data:`COLOUR_STRUCTURE_FLOOR`), which sees more of a subject the flow missed. The torch
    reference of :func:`._cpu.content_and_structure` with a ``grey_floor``."""
    grey = structure_mismatch([t[3:] for t in tables], own[3:], shifts, cell,
                              GREY_STRUCTURE_FLOOR)
    colours = structure_mismatch([t[:3] for t in tables], own[:3], shifts, cell,
                                 COLOUR_STRUCTURE_FLOOR)
    return grey + COLOUR_STRUCTURE_SHARE * colours


def _cut_boxes(own: torch.Tensor, shifts: torch.Tensor, cell: int) -> tuple[torch.Tensor, ...]:
    """The shifts ``px, py`` in pixels and the boxes ``x0, y0, x1, y1`` ``(k, gh, gw)`` of
    :func:`content_differences`: each cell cut to the part of its content inside both frames
    (the later frame's box is the same moved by ``px, py``)."""
    _, h1, w1 = own.shape
    gh, gw = shifts.shape[-2:]
    gy, gx = torch.meshgrid(torch.arange(gh, device=own.device, dtype=own.dtype),
                            torch.arange(gw, device=own.device, dtype=own.dtype), indexing="ij")
    px, py = shifts[:, 0] * cell, shifts[:, 1] * cell
    x0 = torch.maximum(gx * cell, -px)
    x1 = torch.minimum((gx * cell + cell).clamp(max=w1 - 1), w1 - 1 - px)
    y0 = torch.maximum(gy * cell, -py)
    y1 = torch.minimum((gy * cell + cell).clamp(max=h1 - 1), h1 - 1 - py)
    return px, py, x0, y0, torch.maximum(x1, x0), torch.maximum(y1, y0)


def _box_sums(table: torch.Tensor, x0, y0, x1, y1) -> torch.Tensor:
    """Sums ``(C, gh, gw)`` of the image over the boxes ``[x0, x1) x [y0, y1)`` (pixel units,
    fractional: the table ``(C, h + 1, w + 1)`` read bilinearly, border clamped)."""
    _, h1, w1 = table.shape
    xs = torch.stack([x1, x0, x1, x0]) * (2.0 / (w1 - 1)) - 1.0
    ys = torch.stack([y1, y1, y0, y0]) * (2.0 / (h1 - 1)) - 1.0
    grid = torch.stack([xs, ys], dim=-1).flatten(1, 2)[None]          # (1, 4, gh * gw, 2)
    corners = F.grid_sample(table[None], grid, mode="bilinear", padding_mode="border",
                            align_corners=True)[0].view(table.shape[0], 4, *x0.shape)
    return corners[:, 0] - corners[:, 1] - corners[:, 2] + corners[:, 3]


def _inside(flow: torch.Tensor, margin: float) -> torch.Tensor:
    """``(T, 1, h, w)`` bool: ``p + flow(p)`` within ``margin`` (in grid units) of the grid of
    ``flow`` ``(T, 2, h, w)``; a cell reaches half a cell beyond its centre."""
    h, w = flow.shape[-2:]
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype) + flow[:, :1]
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype)[:, None] + flow[:, 1:]
    return ((xs >= -margin) & (xs <= w - 1 + margin) & (ys >= -margin) & (ys <= h - 1 + margin))


def _exclusive_cumsum(x: torch.Tensor) -> torch.Tensor:
    """``out[j] = sum_{i<j} x[i]`` along dim 0."""
    out = torch.zeros_like(x)
    out[1:] = x[:-1].cumsum(0)
    return out
