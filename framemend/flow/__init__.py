"""Optical flow and warping shared by every pass.

Convention: a flow ``(T, 2, H, W)`` in pixels, x then y. ``estimate_flow(src, dst)`` returns
``f`` with ``src(p) ≈ dst(p + f(p))``, so ``backward_warp(dst, f)`` reconstructs ``src`` and
``forward_splat(src, f)`` pushes ``src`` onto ``dst``'s pixel grid.
"""
from .cache import cached_flow, cached_flows
from .estimate import estimate_flow
from framemend.kernels.splat import forward_splat, splat_sum
from .truth import camera_flow, homography_flow
from .warp import backward_warp, occlusion_mask, outside_mask, resize_flow

__all__ = ["estimate_flow", "backward_warp", "occlusion_mask", "outside_mask", "resize_flow",
           "forward_splat", "splat_sum",
           "cached_flow", "cached_flows", "camera_flow", "homography_flow"]
