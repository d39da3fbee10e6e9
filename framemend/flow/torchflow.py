"""Coarse-to-fine dense optical flow written in torch: runs unchanged on CPU and CUDA.

Algorithm: the combined local-global (CLG) method of Bruhn, Weickert & Schnörr ("Lucas/Kanade
meets Horn/Schunck", IJCV 2005), solved coarse to fine with image warping (Brox et al., ECCV
2004). At every pyramid level and warp, the brightness-constancy equation is linearised around
the current flow; its terms are robustly weighted (Charbonnier, so occlusions and outliers count
less), averaged over a Gaussian window (the Lucas-Kanade part) and combined with a smoothness
term (the Horn-Schunck part, made robust with lagged Charbonnier weights so the flow may jump at
object boundaries) solved by red-black SOR iterations, followed by a median filter of the flow
(Sun, Roth & Black, CVPR 2010). Every step is a batched tensor operation, so all frame pairs of
a batch are solved at once; on a GPU the SOR sweeps run as a fused kernel
(:func:`framemend.cuda.sor.sor_sweeps`, checked against :func:`sor_sweeps_reference`). The input is
structure-texture decomposed luma (Wedel et al., "An improved algorithm for TV-L1 optical
flow", 2009) with dst's contrast matched to src's, which makes the flow tolerant of slow
illumination changes and global gain changes such as flicker.

Before each level but the coarsest is solved, the flow brought up from the coarser level goes
through a candidate selection (the propagation step of PatchMatch, Barnes et al., SIGGRAPH 2009,
used on flow fields as in Bao, Yang & Jin, "Fast edge-preserving PatchMatch for large
displacement optical flow", CVPR 2014): each pixel tries the flow vectors of the pixels 2 and 8
pixels of the level away along the axes and keeps the one whose Gaussian-windowed Charbonnier
luma difference is least. Coarse levels and the smoothness term spread a moving object's flow
over its surroundings; the selection moves the flow edge back onto the object's edge. Its cost
compares luma with dst's mean and contrast matched to src's, not the texture images: their
smooth structure part spreads an object's brightness ~12 px around it, and that halo moves with
it.
"""
from __future__ import annotations

from dataclasses import dataclass

from framemend._torch import F, torch
from framemend.cuda import fused
from framemend.kernels import colour
from framemend.kernels.blur import gaussian_blur

from .warp import backward_warp, resize_flow


@dataclass(frozen=True)
class TorchFlowParams:
    """Solver settings of one quality preset.

    ``finest_level``: pyramid level the solve stops at (0 = full resolution, 1 = half, the
    result is upsampled); ``warps``: linearisations per level (two more on levels coarser than
    the finest two); ``iterations``: SOR sweeps per warp; ``smoothness``: weight of the
    smoothness term; ``window``: sigma (px) of the local Gaussian window; ``flow_eps``: flow
    step (px) above which the robust smoothness lets go (flow may jump at object boundaries);
    ``median``: size of the separable median filter applied to the flow after each warp (Sun,
    Roth & Black, "Secrets of optical flow", CVPR 2010), 0 for none.
    """

    finest_level: int
    warps: int
    iterations: int
    smoothness: float = 0.01
    window: float = 1.0
    flow_eps: float = 0.2
    median: int = 0


PRESETS = {
    "ultrafast": TorchFlowParams(finest_level=1, warps=2, iterations=8),
    "fast": TorchFlowParams(finest_level=0, warps=1, iterations=15),
    "medium": TorchFlowParams(finest_level=0, warps=2, iterations=25, median=5),
}

_MIN_SIZE = 16  # the coarsest pyramid level is at least this many pixels on its short side
_SOR_OMEGA = 1.9  # over-relaxation of the red-black SOR solver
_ROBUST_EPS = 0.02  # Charbonnier epsilon of the data term, in luma units [0, 1]
_SELECT_SHIFTS = (2, 8)  # distances (px of the level) of the neighbours whose flow is tried


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """:func:`framemend.kernels.blur.gaussian_blur` of ``(N, C, H, W)``, truncated at
    ``2.5 sigma``."""
    return gaussian_blur(x, sigma, max(1, round(2.5 * sigma)))


def _texture(y: torch.Tensor) -> torch.Tensor:
    """Structure-texture decomposed luma ``(T, 1, H, W)``."""
    return y - 0.9 * _blur(y, 6.0)


def _gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Central differences of ``(N, 1, H, W)`` (one-sided at the borders)."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    gx = 0.5 * (p[..., 1:-1, 2:] - p[..., 1:-1, :-2])
    gy = 0.5 * (p[..., 2:, 1:-1] - p[..., :-2, 1:-1])
    return gx, gy


def _flow_edge_weights(flow: torch.Tensor, eps: float) -> tuple[torch.Tensor, ...]:
    """Charbonnier weights ``eps / sqrt(|Δflow|² + eps²)`` towards the 4 neighbours (E, W, S, N)
    of each pixel of ``flow`` ``(N, 2, H, W)``."""
    dx = (flow[..., :, 1:] - flow[..., :, :-1]).pow(2).sum(1, keepdim=True)
    dy = (flow[..., 1:, :] - flow[..., :-1, :]).pow(2).sum(1, keepdim=True)
    wx, wy = eps / torch.sqrt(dx + eps * eps), eps / torch.sqrt(dy + eps * eps)
    return (F.pad(wx, (0, 1)), F.pad(wx, (1, 0)), F.pad(wy, (0, 0, 0, 1)), F.pad(wy, (0, 0, 1, 0)))


def _median(x: torch.Tensor, size: int) -> torch.Tensor:
    """Separable ``size`` x ``size`` median filter (the median of ``size`` along rows, then
    along columns) of each channel of ``(N, C, H, W)``, replicate borders."""
    r = size // 2
    p = F.pad(x, (r, r, 0, 0), mode="replicate")
    w = x.shape[-1]
    x = torch.stack([p[..., i:i + w] for i in range(size)]).median(dim=0).values
    p = F.pad(x, (0, 0, r, r), mode="replicate")
    h = x.shape[-2]
    return torch.stack([p[..., i:i + h, :] for i in range(size)]).median(dim=0).values


def _neighbour_sum(x: torch.Tensor, weights: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """``Σ_n w_n x(n)`` over the 4 neighbours of each pixel of ``(N, C, H, W)``."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    e, w, s, n = weights
    return (e * p[..., 1:-1, 2:] + w * p[..., 1:-1, :-2] + s * p[..., 2:, 1:-1]
            + n * p[..., :-2, 1:-1])


def sor_sweeps_reference(flow: torch.Tensor, edges: torch.Tensor, q: torch.Tensor,
                         inverse: torch.Tensor, iterations: int, omega: float) -> torch.Tensor:
    """``iterations`` red-black SOR sweeps of ``u = B (Σ_n w_n u(n) + q)`` from ``flow``.

    Args:
        flow: ``(N, 2, H, W)`` the starting flow.
        edges: ``(N, 4, H, W)`` the weights ``w_n`` towards the E, W, S and N neighbours
            (replicate borders).
        q: ``(N, 2, H, W)`` the constant part of the right-hand side.
        inverse: ``(N, 3, H, W)`` the symmetric 2x2 ``B`` per pixel: ``b11, b12, b22``.
        omega: over-relaxation of each update (red pixels, ``x + y`` even, first).
    Returns:
        ``(N, 2, H, W)``. The torch reference of :func:`framemend.cuda.sor.sor_sweeps`.
    """
    h, w = flow.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, device=flow.device),
                            torch.arange(w, device=flow.device), indexing="ij")
    red = ((xs + ys) % 2 == 0).to(flow.dtype)
    steps = (omega * red, omega * (1 - red))  # over-relaxed red, then black update
    weights = edges.split(1, 1)
    b11, b12, b22 = inverse.split(1, 1)
    u = flow
    for _ in range(iterations):
        for step in steps:
            r = _neighbour_sum(u, weights) + q
            r1, r2 = r[:, 0:1], r[:, 1:2]
            u = torch.lerp(u, torch.cat([b11 * r1 + b12 * r2, b12 * r1 + b22 * r2], 1), step)
    return u


def _select_candidates(y0: torch.Tensor, y1: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """PatchMatch propagation: each pixel of ``flow`` ``(N, 2, H, W)`` takes the flow of the
    pixel ``s`` px to its E, W, S or N (``s`` in :data:`_SELECT_SHIFTS`, replicate borders)
    where that lowers the data cost ``G * sqrt((y1(p + f) - y0(p))² + eps²)`` (``G``: Gaussian
    window of sigma 1 px) below the current flow's; luma ``y0``, ``y1`` are ``(N, 1, H, W)``.
    The window sums the cost of each candidate field, the flow shifted as a whole, not of one
    vector held over the window."""
    h, w = flow.shape[-2:]
    r = max(_SELECT_SHIFTS)
    pad = F.pad(flow, (r, r, r, r), mode="replicate")

    def cost(f: torch.Tensor) -> torch.Tensor:
        d = backward_warp(y1, f) - y0
        return _blur(torch.sqrt(d * d + _ROBUST_EPS ** 2), 1.0)

    best, best_cost = flow, cost(flow)
    for s in _SELECT_SHIFTS:
        for dx, dy in ((s, 0), (-s, 0), (0, s), (0, -s)):
            c = pad[..., r + dy:r + dy + h, r + dx:r + dx + w]
            c_cost = cost(c)
            better = c_cost < best_cost  # ties keep the earlier candidate, the flow first
            best_cost = torch.where(better, c_cost, best_cost)
            best = torch.where(better, c, best)
    return best


def _pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    pyr = [x]
    for _ in range(levels - 1):
        pyr.append(F.interpolate(pyr[-1], scale_factor=0.5, mode="bilinear",
                                 antialias=True, align_corners=False))
    return pyr


def _solve_level(i0: torch.Tensor, i1: torch.Tensor, flow: torch.Tensor,
                 p: TorchFlowParams, warps: int) -> torch.Tensor:
    """Refine ``flow`` ``(N, 2, H, W)`` from ``i0`` to ``i1`` (``(N, 1, H, W)``) at one level."""
    h, w = i0.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, device=i0.device, dtype=i0.dtype),
                            torch.arange(w, device=i0.device, dtype=i0.dtype), indexing="ij")
    g0x, g0y = _gradients(i0)
    for _ in range(warps):
        i1w = backward_warp(i1, flow)
        g1x, g1y = _gradients(i1)
        g1x, g1y = backward_warp(torch.cat([g1x, g1y], 1), flow).split(1, 1)
        ix, iy = 0.5 * (g0x + g1x), 0.5 * (g0y + g1y)
        it = i1w - i0
        tx, ty = xs + flow[:, 0:1], ys + flow[:, 1:2]
        inside = ((tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)).to(i0.dtype)
        weight = inside * _ROBUST_EPS / torch.sqrt(it * it + _ROBUST_EPS ** 2)
        # Structure tensor of the linearised constancy: J = G * (w [Ix, Iy, It]^T [Ix, Iy, It]).
        j = _blur(weight * torch.cat([ix * ix, ix * iy, iy * iy, ix * it, iy * it], 1), p.window)
        j11, j12, j22, j13, j23 = j.split(1, 1)
        # Robust (Charbonnier) smoothness by lagged weights λ w_n: small across flow jumps.
        edges = tuple(0.25 * p.smoothness * e for e in _flow_edge_weights(flow, p.flow_eps))
        lam_sum = sum(edges)
        # For the new flow u = flow + d:  (J + λ Σ w_n) u = λ Σ w_n u(n) + J flow - J[:, 3:]
        # (J's 2x2 part times flow), solved per pixel with the inverse B of the 2x2 matrix.
        a11, a22 = j11 + lam_sum, j22 + lam_sum
        det = a11 * a22 - j12 * j12
        q = torch.cat([j11 * flow[:, 0:1] + j12 * flow[:, 1:2] - j13,
                       j12 * flow[:, 0:1] + j22 * flow[:, 1:2] - j23], 1)
        flow = fused.sor_sweeps(flow, torch.cat(edges, 1), q,
                                torch.cat([a22 / det, -j12 / det, a11 / det], 1), p.iterations,
                                _SOR_OMEGA)
        if p.median:
            flow = _median(flow, p.median)
    return flow


def torch_flow(src: torch.Tensor, dst: torch.Tensor, quality: str = "medium",
               init: torch.Tensor | None = None, coarsest: int = _MIN_SIZE) -> torch.Tensor:
    """Coarse-to-fine CLG flow from each frame of ``src`` to the matching frame of ``dst``.

    Args:
        src, dst: ``(T, 3, H, W)`` float RGB or ``(T, 1, H, W)`` luma in [0, 1], on any device.
        quality: ``ultrafast`` | ``fast`` | ``medium`` (see :data:`PRESETS`).
        init: ``(T, 2, H, W)`` a first guess in pixels (as DIS takes one), or None: the solve
            then starts from it at the finest level (coarser levels would smooth a small
            object's motion away; starting one or two levels above lost 0.2-0.8 dB in
            interpolation).
        coarsest: the least short side of the coarsest pyramid level (deeper pyramids reach
            farther motion on small images).
    Returns:
        ``(T, 2, H, W)`` float32 flow in pixels on the input's device, ``src(p) ≈ dst(p + f(p))``.
    """
    if quality not in PRESETS:
        raise ValueError(f"unknown torch flow quality '{quality}'; choose from {sorted(PRESETS)}")
    p = PRESETS[quality]
    h, w = src.shape[-2:]
    levels = 1
    while min(h, w) / 2 ** levels >= coarsest:
        levels += 1
    y0, y1 = colour.luma(src.float()), colour.luma(dst.float())
    i0, i1 = _texture(y0), _texture(y1)
    # A global gain change (flicker) scales the texture: match dst's contrast to src's.
    rms = lambda x: x.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(1e-6)
    pyr = _pyramid(torch.cat([i0, i1 * (rms(i0) / rms(i1))]), levels)
    # Gain and offset (flicker) matched for the candidate selection: dst's luma mean and
    # contrast set to src's.
    mean = lambda x: x.mean(dim=(1, 2, 3), keepdim=True)
    std = lambda x: x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    luma = _pyramid(torch.cat([y0, (y1 - mean(y1)) * (std(y0) / std(y1)) + mean(y0)]), levels)
    n = src.shape[0]
    start = levels - 1 if init is None else p.finest_level
    flow = torch.zeros(n, 2, *pyr[-1].shape[-2:], device=src.device, dtype=torch.float32) \
        if init is None else resize_flow(init.float(), pyr[start].shape[-2:])
    for level in range(start, p.finest_level - 1, -1):
        img = pyr[level]
        flow = resize_flow(flow, img.shape[-2:])
        if level < levels - 1:
            flow = _select_candidates(luma[level][:n], luma[level][n:], flow)
        # Levels two and more above the finest are cheap: relinearise more often there, so
        # motions of several coarse pixels converge.
        warps = p.warps + (2 if level >= p.finest_level + 2 else 0)
        flow = _solve_level(img[:n], img[n:], flow, p, warps)
    return resize_flow(flow, (h, w))
