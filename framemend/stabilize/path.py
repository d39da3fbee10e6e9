"""Camera paths: smoothing with a bounded look-ahead, and the crop that hides the borders.

A path is a list of (3, 3) similarities ``C_t`` mapping pixels of frame ``t`` to the pixels of
the first frame of its shot. The stabilized view of frame ``t`` is given by ``W_t``, mapping an
output pixel to the input pixel it shows (``cv2.warpAffine(..., WARP_INVERSE_MAP)`` convention).

Smoothing is a Gaussian-weighted local *linear* regression of the path around ``t`` (a
Savitzky-Golay-style kernel): in the middle of a shot it equals the Gaussian average, and at the
shot's ends it does not lag behind a pan the way a truncated average does. The correction is
taken as ``W_t = sum_j lambda_j C_t^-1 C_j``, the neighbours' cameras seen from frame ``t``
(exact for translations, first-order for rotation and zoom, and free of angle wrapping).
"""
from __future__ import annotations

import numpy as np


def regression_weights(offsets: np.ndarray, sigma: float) -> np.ndarray:
    """Weights ``lambda`` of a Gaussian-weighted local linear fit evaluated at offset 0.

    ``offsets`` are frame offsets ``j - t`` of the available neighbours (integers, may be
    one-sided). The weights sum to 1 and reproduce straight lines exactly.
    """
    x = offsets.astype(np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    s0, s1, s2 = g.sum(), (g * x).sum(), (g * x * x).sum()
    det = s0 * s2 - s1 * s1
    if det <= 1e-9 * s0 * s0:  # a single frame, or too few to fit a slope
        return g / s0
    return g * (s2 - s1 * x) / det


def smooth_correction(path: list[np.ndarray], center: int, sigma: float) -> np.ndarray:
    """``W`` (3, 3) taking frame ``center`` of ``path`` onto the smoothed path."""
    lam = regression_weights(np.arange(len(path)) - center, sigma)
    inv = np.linalg.inv(path[center])
    return sum(l * (inv @ c) for l, c in zip(lam, path))


def zoom_about(zoom: float, centre: np.ndarray) -> np.ndarray:
    """(3, 3) map from an output pixel to the pixel it shows when zooming in by ``zoom`` about
    the pixel ``centre`` (x, y), which stays in place."""
    cx, cy = centre
    return np.array([[1 / zoom, 0, cx * (1 - 1 / zoom)], [0, 1 / zoom, cy * (1 - 1 / zoom)],
                     [0, 0, 1]])


def frame_centre(width: int, height: int) -> np.ndarray:
    return np.array([(width - 1) / 2.0, (height - 1) / 2.0])


def _corner_terms(w: np.ndarray, width: int, height: int,
                  centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corners of ``W @ zoom_about(1/u, centre)`` as ``a + b u``: ``a`` (2,), ``b`` (2, 4)."""
    c = np.array([centre[0], centre[1], 1.0])
    corners = np.array([[0, width - 1, 0, width - 1], [0, 0, height - 1, height - 1]], float)
    a = (w @ c)[:2]
    b = w[:2, :2] @ (corners - c[:2, None])
    return a, b


def required_zoom(w: np.ndarray, width: int, height: int, centre: np.ndarray) -> float:
    """Smallest zoom (>= 1) about ``centre`` at which ``W`` shows no pixel outside the input
    frame (inf if none)."""
    a, b = _corner_terms(w, width, height, centre)
    hi = np.array([width - 1.0, height - 1.0])[:, None]
    if np.any(a < 0) or np.any(a > hi[:, 0]):
        return np.inf
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 where b is 0: not chosen
        bound = np.where(b > 0, (hi - a[:, None]) / b, np.where(b < 0, -a[:, None] / b, np.inf))
    u = min(1.0, bound.min())
    return np.inf if u <= 0 else 1.0 / u


def fit_inside(w: np.ndarray, zoom: float, width: int, height: int, centre: np.ndarray,
               toward: np.ndarray | None = None) -> np.ndarray:
    """``W`` moved towards ``toward`` (default the identity) just enough that zooming by ``zoom``
    about ``centre`` shows no border.

    Returns ``toward + alpha (W - toward)`` with the largest ``alpha`` in [0, 1] that fits
    (bisection); ``toward`` itself must fit.
    """
    if required_zoom(w, width, height, centre) <= zoom * (1 + 1e-9):
        return w
    base = np.eye(3) if toward is None else toward
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if required_zoom(base + mid * (w - base), width, height, centre) <= zoom:
            lo = mid
        else:
            hi = mid
    return base + lo * (w - base)


def next_zoom(previous: float | None, required: list[float], max_zoom: float,
              slope: float) -> float:
    """Zoom for the current frame given the zooms ``required`` now and at the next frames.

    The zoom only grows within a shot, by at most ``slope`` per frame, starting early enough
    (ramping in over the look-ahead) that each frame's need is met when it comes; needs above
    ``max_zoom`` are capped (those frames' corrections are then reduced by :func:`fit_inside`).
    """
    need = max(min(r, max_zoom) - slope * k for k, r in enumerate(required))
    return min(max_zoom, max(previous or 1.0, need, 1.0))
