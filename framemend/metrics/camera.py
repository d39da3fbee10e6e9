"""Camera path and jitter estimated from the frames alone.

Between consecutive frames, dense DIS flow is sampled on a grid (every 8 px, 4 % border left
out) and a similarity transform (translation, rotation, scale) is fitted robustly with RANSAC
(``cv2.estimateAffinePartial2D``, 1 px threshold), so a moving subject does not pull the
camera. Chaining the transforms gives the path of the frame centre in the coordinates of the
shot's first frame; jitter is the RMS of its second difference (px/frame²): zero for a camera
at rest or moving at constant speed, large for shake.

The standard measures of a stabilizer (Liu et al., "Bundled camera paths for video
stabilization", SIGGRAPH 2013, section 6), from the affine map of each output frame to its input
frame (:func:`output_transforms`) and the output's own frame-to-frame motion:
:func:`cropping_ratio` (the scale of that map: 1 = nothing cropped), :func:`distortion` (its
anisotropy at the worst frame: 1 = none) and :func:`stability_score` (the share of the motion's
spectrum at the lowest frequencies: 1 = a steady or slowly moving camera).
"""
from __future__ import annotations

import cv2
import numpy as np

from framemend.flow import estimate_flow

from ._arrays import pair_valid, to_torch


def frame_motions(frames, quality: str = "medium", step: int = 8) -> np.ndarray:
    """``(T-1, 3, 3)`` similarity transforms from frame t pixels to frame t+1 pixels."""
    x = to_torch(frames, 2)
    flow = estimate_flow(x[:-1], x[1:], quality=quality).numpy()
    return _fit_on_grid(flow, cv2.estimateAffinePartial2D, step)


def _fit_on_grid(flow: np.ndarray, estimator, step: int) -> np.ndarray:
    """``(N, 3, 3)``: ``estimator`` (an OpenCV RANSAC fit) of each flow ``(N, 2, H, W)``
    sampled every ``step`` px with a 4 % border left out (every pixel inside it where that
    leaves fewer than the 3 points an affine fit needs: at step 8, a side of 10 px or less and
    the other of 18 or less, on which OpenCV raised "At least 2 points for partial affine
    transformation estimation"); identity where the fit fails or fewer points remain (3 px
    frames; none on a 1 px side, where np.mgrid raised "negative dimensions")."""
    _, _, h, w = flow.shape
    by, bx = max(1, int(0.04 * h)), max(1, int(0.04 * w))
    if len(range(by, h - by, step)) * len(range(bx, w - bx, step)) < 3:
        step = 1
    ys, xs = np.meshgrid(np.arange(by, h - by, step), np.arange(bx, w - bx, step), indexing="ij")
    src = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    out = np.tile(np.eye(3), (flow.shape[0], 1, 1))
    for t, f in enumerate(flow if len(src) >= 3 else ()):
        dst = src + f[:, ys.ravel(), xs.ravel()].T
        a, _ = estimator(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0, maxIters=2000,
                         confidence=0.999, refineIters=20)
        if a is not None:
            out[t, :2] = a
    return out


def camera_path(frames, cuts=None, quality: str = "medium") -> np.ndarray:
    """``(T, 2)`` position of the frame centre in the coordinates of its shot's first frame."""
    frames = np.asarray(frames)
    t_count, h, w = frames.shape[:3]
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0, 1.0])
    motions = frame_motions(frames, quality)
    valid = pair_valid(t_count, cuts)
    to_ref = np.eye(3)
    path = np.empty((t_count, 2))
    path[0] = centre[:2]
    for t in range(1, t_count):
        to_ref = to_ref @ np.linalg.inv(motions[t - 1]) if valid[t - 1] else np.eye(3)
        p = to_ref @ centre
        path[t] = p[:2] / p[2]
    return path


def path_acceleration(path: np.ndarray, cuts=None) -> np.ndarray:
    """``(T-2,)`` magnitude of the second difference of a path ``(T, 2)``; NaN across cuts."""
    acc = np.linalg.norm(path[2:] - 2 * path[1:-1] + path[:-2], axis=1)
    ok = pair_valid(len(path), cuts)
    acc[~(ok[:-1] & ok[1:])] = np.nan
    return acc


def jitter_per_frame(frames, cuts=None, quality: str = "medium") -> np.ndarray:
    """``(T-2,)`` acceleration of the estimated camera path at frames 1 .. T-2 (px/frame²)."""
    return path_acceleration(camera_path(frames, cuts, quality), cuts)


def jitter(frames, cuts=None, quality: str = "medium") -> float:
    """RMS acceleration of the estimated camera path (px/frame²)."""
    acc = jitter_per_frame(frames, cuts, quality)
    return float(np.sqrt(np.nanmean(acc ** 2)))


def output_transforms(inputs, outputs, quality: str = "medium", step: int = 8) -> np.ndarray:
    """``(T, 3, 3)`` affine maps from output frame t pixels to input frame t pixels.

    Estimated as :func:`frame_motions` does, with a full affine (``cv2.estimateAffine2D``): DIS
    flow from the output to the input frame sampled on a grid, fitted with RANSAC (1 px), so
    filled or mirrored borders do not pull the fit. Identity where the fit fails.
    """
    flow = estimate_flow(to_torch(outputs), to_torch(inputs), quality=quality).numpy()
    return _fit_on_grid(flow, cv2.estimateAffine2D, step)


def cropping_ratio(transforms: np.ndarray) -> float:
    """Mean over frames of the scale of the output -> input maps ``(T, 3, 3)``:
    ``sqrt(|det A|)`` of the 2x2 linear part ``A`` (Liu et al. 2013). A crop zoom ``z`` scores
    ``1 / z``; the frame area kept is its square."""
    return float(np.mean(np.sqrt(np.abs(np.linalg.det(transforms[:, :2, :2])))))


def distortion(transforms: np.ndarray) -> float:
    """Worst frame's anisotropy of the maps ``(T, 3, 3)``: the smallest ratio of the smaller to
    the larger singular value of the 2x2 linear part (1 for a similarity). Liu et al. take the
    ratio of the two largest eigenvalues of the affine part; for a map with rotation those are
    complex, so the singular values (the eigenvalues of its symmetric stretch) stand in."""
    s = np.linalg.svd(transforms[:, :2, :2], compute_uv=False)
    return float(np.min(s[:, 1] / s[:, 0]))


def _low_share(signals: np.ndarray, low: int, eps: float) -> float:
    """Energy of frequency bins 1..``low`` over all bins but DC, of rows of ``signals``."""
    power = np.abs(np.fft.rfft(signals, axis=-1)) ** 2
    return float((power[..., 1:low + 1].sum() + eps) / (power[..., 1:].sum() + eps))


def stability_score(motions: np.ndarray, size: tuple[int, int], low: int = 5,
                    eps: float = 1e-12) -> dict[str, float]:
    """Liu et al.'s stability of a camera from its frame-to-frame motions ``(T-1, 3, 3)``
    (pixels of frame t -> frame t+1, e.g. :func:`frame_motions` of the output).

    The motion of the frame centre (``size`` = ``(width, height)``) per frame, x and y, and the
    roll per frame are each seen as a signal over time; its one-sided power spectrum without DC
    is split into the ``low`` lowest bins (the 2nd to 6th frequency components, as Liu et al.)
    and the rest. ``translation`` is the low bins' share of the x and y energy together,
    ``rotation`` the same for the roll, ``score`` the lower of the two. A camera at rest or at
    constant speed has no energy off DC and scores 1 (``eps`` makes 0/0 one); i.i.d. shake
    spreads its energy evenly and scores about ``low / (T / 2)``.
    """
    w, h = size
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0, 1.0])
    moved = motions @ centre
    shift = (moved[:, :2] / moved[:, 2:] - centre[:2]).T
    roll = np.degrees(np.arctan2(motions[:, 1, 0], motions[:, 0, 0]))[None]
    translation, rotation = _low_share(shift, low, eps), _low_share(roll, low, eps)
    return {"translation": translation, "rotation": rotation,
            "score": min(translation, rotation)}
