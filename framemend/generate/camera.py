"""Camera paths as per-frame homographies ``(T, 3, 3)``: frame-t pixel -> reference pixel.

A pose is (translation ``tx, ty`` of the view in reference pixels, roll ``angle`` in degrees,
zoom ``z``); the frame pixel ``p`` sees the reference point ``c + t + R(angle) (p - c) / z`` with
``c`` the frame centre. Pan speed is per frame (long clips pan further); zoom and roll are spread
over the clip.
"""
from __future__ import annotations

import numpy as np


def pose_homographies(width: int, height: int, tx, ty, angle_deg, zoom) -> np.ndarray:
    """Stack the pose arrays (each ``(T,)``) into ``(T, 3, 3)`` float64 homographies."""
    tx, ty, angle, zoom = np.broadcast_arrays(*(np.asarray(v, np.float64)
                                                for v in (tx, ty, angle_deg, zoom)))
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    a = np.deg2rad(angle)
    cos, sin = np.cos(a) / zoom, np.sin(a) / zoom
    h = np.zeros(tx.shape + (3, 3))
    h[..., 0, 0], h[..., 0, 1] = cos, -sin
    h[..., 1, 0], h[..., 1, 1] = sin, cos
    h[..., 0, 2] = cx + tx - cos * cx + sin * cy
    h[..., 1, 2] = cy + ty - sin * cx - cos * cy
    h[..., 2, 2] = 1.0
    return h


def camera_path(kind: str, frames: int, width: int, height: int, fps: float,
                rng: np.random.Generator) -> np.ndarray:
    """Homographies ``(frames, 3, 3)`` of camera motion ``kind``.

    ``static``; ``pan`` (1 % of the width per frame, slightly downwards); ``zoom`` (in, 1 -> 1.35);
    ``rotate`` (roll 0 -> 12 degrees); ``handheld`` (smooth random sway: a few sinusoids of
    0.15-0.8 Hz, about 2 % of the width, 1.5 degrees of roll and 2 % zoom breathing, plus drift).
    The handheld path is smooth; shake is an artifact (:func:`framemend.generate.artifacts.jitter`).
    """
    t = np.arange(frames, dtype=np.float64)
    ramp = t / max(frames - 1, 1)
    zero = np.zeros(frames)
    if kind == "static":
        return pose_homographies(width, height, zero, zero, zero, 1.0)
    if kind == "pan":
        return pose_homographies(width, height, 0.01 * width * t, 0.003 * width * t, zero, 1.0)
    if kind == "zoom":
        return pose_homographies(width, height, zero, zero, zero, 1.35 ** ramp)
    if kind == "rotate":
        return pose_homographies(width, height, zero, zero, 12.0 * ramp, 1.0)
    if kind == "handheld":
        seconds = t / fps

        def sway(amplitude: float) -> np.ndarray:
            freqs = rng.uniform(0.15, 0.8, 3)
            phases = rng.uniform(0, 2 * np.pi, 3)
            waves = np.sin(2 * np.pi * freqs[:, None] * seconds + phases[:, None])
            return amplitude * (waves.sum(0) - np.sin(phases).sum()) / np.sqrt(3)

        drift = rng.uniform(-1, 1, 2) * 0.003 * width
        return pose_homographies(width, height, sway(0.02 * width) + drift[0] * t,
                                 sway(0.02 * width) + drift[1] * t, sway(1.5),
                                 np.exp(sway(0.02)))
    raise ValueError(f"unknown camera path '{kind}'")


def apply_homography(h: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Map points ``xy`` ``(..., 2)`` through homography ``h`` ``(3, 3)``."""
    p = xy @ h[:2, :2].T + h[:2, 2]
    w = xy @ h[2, :2] + h[2, 2]
    return p / w[..., None]
