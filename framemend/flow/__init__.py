"""Optical flow and warping shared by every pass.

Convention: a flow ``(T, 2, H, W)`` in pixels, x then y. ``estimate_flow(src, dst)`` returns
``f`` with ``src(p) ≈ dst(p + f(p))``, so ``backward_warp(dst, f)`` reconstructs ``src``.
"""
from .estimate import estimate_flow
from .warp import backward_warp, occlusion_mask

__all__ = ["estimate_flow", "backward_warp", "occlusion_mask"]
