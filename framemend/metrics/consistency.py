"""No-reference temporal-consistency metrics built on optical flow.

- Warping error (Lai et al., "Learning Blind Video Temporal Consistency", ECCV 2018): mean
  squared difference between frame t and frame t+1 warped back along the flow, over pixels that
  are neither occluded (forward-backward check, Sundaram et al. 2010) nor carried out of frame.
- Flicker index: the same motion-compensated difference of luma, low-passed (Gaussian, sigma =
  1/24 of the frame height) before squaring, so noise averages out and brightness changes remain;
  RMS per frame pair, in [0, 1] luma units.
- Motion smoothness: how well each frame is re-predicted from its two neighbours under linear
  motion (flow t-1 -> t+1, halved, applied from both sides); mean squared error.

All take ``(T, H, W, 3)`` numpy clips (float in [0, 1] or uint8). Flow and occlusion come from
:func:`estimate_motion` (DIS flow) on ``flow_from`` (default: the clip itself; pass the original
clip to measure a filtered one along the original motion, as Lai et al. do) unless a forward flow
``flow`` ``(T-1, 2, H, W)`` is given, with its ``occluded`` ``(T-1, H, W)`` mask if known (e.g.
``Clip.flow_fwd`` and ``Clip.occluded``); pixels carried out of frame never count. Frame pairs
that straddle a cut count as NaN per frame and are left out of the mean.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from framemend.flow import backward_warp, estimate_flow, occlusion_mask, outside_mask

from framemend.kernels.colour import luma

from ._arrays import pair_valid, to_torch


def estimate_motion(frames, quality: str = "medium") -> tuple[np.ndarray, np.ndarray]:
    """Forward flow ``(T-1, 2, H, W)`` and occlusion ``(T-1, H, W)`` bool of a clip.

    Occluded: the forward-backward check fails or the pixel leaves the frame. Pass both to the
    metrics (``flow=``, ``occluded=``) to score several things along the same motion.
    """
    x = to_torch(frames, 2)
    fwd = estimate_flow(x[:-1], x[1:], quality=quality)
    bwd = estimate_flow(x[1:], x[:-1], quality=quality)
    occluded = occlusion_mask(fwd, bwd) | outside_mask(fwd)
    return fwd.numpy(), occluded[:, 0].numpy()


def _aligned_next(frames, flow_from, flow, occluded, quality):
    """Frames t, frames t+1 warped onto t, and the valid mask, all ``(T-1, ., H, W)``."""
    x = to_torch(frames, 2)
    if flow is None:
        flow, occluded = estimate_motion(frames if flow_from is None else flow_from, quality)
    fwd = torch.from_numpy(np.ascontiguousarray(flow, np.float32))
    invalid = outside_mask(fwd)
    if occluded is not None:
        invalid |= torch.from_numpy(np.asarray(occluded, bool))[:, None]
    return x[:-1], backward_warp(x[1:], fwd), ~invalid


def warping_error_per_frame(frames, flow_from=None, flow=None, occluded=None, cuts=None,
                            quality: str = "medium") -> np.ndarray:
    """``(T-1,)`` warping error of each pair (t, t+1), mean squared error in [0, 1] units."""
    cur, nxt, valid = _aligned_next(frames, flow_from, flow, occluded, quality)
    sq = (nxt - cur).pow(2).mean(1, keepdim=True) * valid
    err = (sq.sum((1, 2, 3)) / valid.sum((1, 2, 3)).clamp(min=1)).numpy().astype(np.float64)
    err[~pair_valid(len(err) + 1, cuts)] = np.nan
    return err


def warping_error(frames, flow_from=None, flow=None, occluded=None, cuts=None,
                  quality: str = "medium") -> float:
    """Mean over frame pairs of :func:`warping_error_per_frame` (Lai et al. 2018)."""
    return float(np.nanmean(warping_error_per_frame(frames, flow_from, flow, occluded, cuts,
                                                    quality)))


def flicker_index_per_frame(frames, flow_from=None, flow=None, occluded=None, cuts=None,
                            quality: str = "medium") -> np.ndarray:
    """``(T-1,)`` RMS of the low-passed, motion-compensated luma change per frame pair."""
    cur, nxt, valid = _aligned_next(frames, flow_from, flow, occluded, quality)
    diff = luma(nxt - cur)[:, 0] * valid[:, 0]
    mask = valid[:, 0].float()
    sigma = max(cur.shape[2] / 24.0, 1.0)
    out = np.empty(diff.shape[0])
    for t in range(diff.shape[0]):
        m = cv2.GaussianBlur(mask[t].numpy(), (0, 0), sigma)
        low = cv2.GaussianBlur(diff[t].numpy(), (0, 0), sigma) / np.maximum(m, 1e-3)
        keep = m > 0.5
        out[t] = np.sqrt((low[keep] ** 2).mean()) if keep.any() else np.nan
    out[~pair_valid(len(out) + 1, cuts)] = np.nan
    return out


def flicker_index(frames, flow_from=None, flow=None, occluded=None, cuts=None,
                  quality: str = "medium") -> float:
    """Mean over frame pairs of :func:`flicker_index_per_frame`."""
    return float(np.nanmean(flicker_index_per_frame(frames, flow_from, flow, occluded, cuts,
                                                    quality)))


def motion_smoothness_per_frame(frames, cuts=None, quality: str = "medium") -> np.ndarray:
    """``(T-2,)`` error of predicting frame t (1 <= t <= T-2) from frames t-1 and t+1.

    With ``f`` the flow from t-1 to t+1 (taken at p, a linear-motion approximation), the
    prediction is ``(I[t-1](p - f/2) + I[t+1](p + f/2)) / 2``; the error is its mean squared
    difference from ``I[t]``. NaN where t-1, t, t+1 are not in one shot.
    """
    x = to_torch(frames, 2)
    f = estimate_flow(x[:-2], x[2:], quality=quality) / 2
    pred = 0.5 * (backward_warp(x[:-2], -f) + backward_warp(x[2:], f))
    err = (pred - x[1:-1]).pow(2).mean((1, 2, 3)).numpy().astype(np.float64)
    ok = pair_valid(x.shape[0], cuts)
    err[~(ok[:-1] & ok[1:])] = np.nan
    return err


def motion_smoothness(frames, cuts=None, quality: str = "medium") -> float:
    """Mean over frames of :func:`motion_smoothness_per_frame` (lower is smoother)."""
    return float(np.nanmean(motion_smoothness_per_frame(frames, cuts, quality)))


__all__ = ["estimate_motion", "warping_error", "warping_error_per_frame", "flicker_index",
           "flicker_index_per_frame", "motion_smoothness", "motion_smoothness_per_frame"]
