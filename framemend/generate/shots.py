"""Labelled clips for scene-cut detection: hard cuts, and what must not be taken for one.

``shot_clip(kind, seed)`` returns ``(frames (T, H, W, 3) float32 in [0, 1], cuts)``, ``cuts``
the indices of the frames that start a new shot. Kinds (:data:`KINDS`):

- ``cut``: two shots over two different photographs, each with its own camera move;
- ``jump``: a jump cut within one photograph: the camera jumps by 25-45 % of the width, or
  zooms by 1.4-1.8x, from one frame to the next, moving smoothly before and after;
- ``fade``: a shot fading to black or from black (no cut);
- ``dissolve``: one photograph cross-fading into another over 8-16 frames (a gradual
  transition, no hard cut);
- ``flash``: one or two frames much brighter (x1.6-2.5 and lifted), as a photo flash (no cut);
- ``fast-pan``: a pan of 6-12 % of the width per frame (no cut);
- ``shake``: handheld sway with 2-8 px of shake per frame (no cut);
- ``subject``: a subject moving in front of a photograph, or a fast spinning ball (no cut).
"""
from __future__ import annotations

import numpy as np

from . import artifacts
from .camera import camera_path, pose_homographies
from .images import load_image
from .render import render_layers
from .scenes import scene

KINDS = ("cut", "jump", "fade", "dissolve", "flash", "fast-pan", "shake", "subject")
#: Photographs the clips are made of.
PICTURES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry",
            "brick", "grass", "gravel", "hubble_deep_field")


def _shot(picture: str, motion: str, frames: int, width: int, height: int, fps: float,
          rng: np.random.Generator) -> np.ndarray:
    camera = camera_path(motion, frames, width, height, fps, rng)
    return render_layers(load_image(picture), camera, [], width, height)[0]


def shot_clip(kind: str, seed: int = 0, width: int = 160, height: int = 90, frames: int = 24,
              fps: float = 24.0) -> tuple[np.ndarray, list[int]]:
    """A clip of ``kind`` (see the module docstring) and the indices of its cuts."""
    rng = np.random.default_rng(seed)
    a, b = rng.choice(PICTURES, 2, replace=False)
    motions = ("static", "pan", "zoom", "rotate", "handheld")
    at = int(rng.integers(frames // 3, 2 * frames // 3))
    if kind == "cut":
        first = _shot(a, rng.choice(motions), at, width, height, fps, rng)
        second = _shot(b, rng.choice(motions), frames - at, width, height, fps, rng)
        return np.concatenate([first, second]), [at]
    if kind == "jump":
        t = np.arange(frames, dtype=np.float64)
        step = 0.002 * width * rng.uniform(-1, 1, 2)
        tx, ty, zoom = step[0] * t, step[1] * t, np.ones(frames)
        if rng.random() < 0.5:
            tx[at:] += rng.choice([-1, 1]) * rng.uniform(0.25, 0.45) * width
        else:
            zoom[at:] *= rng.uniform(1.4, 1.8)
        camera = pose_homographies(width, height, tx, ty, 0.0, zoom)
        return render_layers(load_image(a), camera, [], width, height)[0], [at]
    if kind == "fade":
        out = _shot(a, rng.choice(motions), frames, width, height, fps, rng)
        ramp = np.linspace(1.0, 0.0, frames, dtype=np.float32)
        return out * (ramp if rng.random() < 0.5 else ramp[::-1])[:, None, None, None], []
    if kind == "dissolve":
        first = _shot(a, "pan", frames, width, height, fps, rng)
        second = _shot(b, "zoom", frames, width, height, fps, rng)
        length = int(rng.integers(8, 17))
        mix = np.clip((np.arange(frames) - at + length / 2) / length, 0, 1).astype(np.float32)
        return first + mix[:, None, None, None] * (second - first), []
    if kind == "flash":
        out = _shot(a, rng.choice(motions), frames, width, height, fps, rng)
        lit = slice(at, at + int(rng.integers(1, 3)))
        out[lit] = np.clip(out[lit] * rng.uniform(1.6, 2.5) + rng.uniform(0.05, 0.2), 0, 1)
        return out, []
    if kind == "fast-pan":
        t = np.arange(frames, dtype=np.float64)
        speed = rng.uniform(0.06, 0.12) * width * rng.choice([-1, 1])
        camera = pose_homographies(width, height, speed * t, 0.2 * speed * t, 0.0, 1.0)
        return render_layers(load_image(a), camera, [], width, height)[0], []
    if kind == "shake":
        out = _shot(a, "handheld", frames, width, height, fps, rng)
        pixels = rng.uniform(2, 8) * width / 320
        return artifacts.jitter(out, pixels, pixels / 6, seed)[0], []
    if kind == "subject":
        which = "subject" if rng.random() < 0.5 else "fast-object"
        return scene(which, width, height, frames, fps, seed, image=a).frames, []
    raise ValueError(f"unknown shot clip '{kind}'; choose from {', '.join(KINDS)}")
