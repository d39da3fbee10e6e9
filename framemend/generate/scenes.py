"""Procedural scenes with ground truth: ``scene(kind, ...) -> Clip``.

A photograph (or procedural texture) is the world; a camera path looks at it; sprites (the
astronaut's face, a post in front of it, a fast ball) move in the world; real lighting changes
(a fade, a light switching on) are applied last, so filters can be checked for *not* removing
them. Everything is deterministic by ``seed``; the flow, camera and subject box are exact.
"""
from __future__ import annotations

import cv2
import numpy as np

from .camera import camera_path, pose_homographies
from .clip import Clip
from .images import ASTRONAUT_HEAD, load_image
from .render import Sprite, render_layers

SCENES = ("static", "pan", "zoom", "rotate", "handheld", "subject", "fade", "light-on", "cut",
          "fast-object")


def scene(kind: str, width: int = 320, height: int = 180, frames: int = 24, fps: float = 24.0,
          seed: int = 0, image: str = "astronaut") -> Clip:
    """Generate a clean clip of ``kind`` (one of :data:`SCENES`) with its ground truth.

    Kinds: ``static``, ``pan``, ``zoom``, ``rotate``, ``handheld`` (camera motion over ``image``);
    ``subject`` (the astronaut's face moving over ``image``, passing behind a post: occlusion);
    ``fade`` (slow pan while the light fades to 15 %); ``light-on`` (static; a lamp switches on
    half-way); ``cut`` (two shots, a pan over ``image`` then a zoom over another photograph);
    ``fast-object`` (a spinning ball crossing the frame at 5 % of the width per frame).

    Returns a :class:`Clip` with ``frames`` ``(frames, height, width, 3)`` float32 in [0, 1].
    """
    if kind not in SCENES:
        raise ValueError(f"unknown scene '{kind}'; choose from {', '.join(SCENES)}")
    if frames < 2 or width < 16 or height < 16:
        raise ValueError("a scene needs at least 2 frames of 16x16 pixels")
    if not fps > 0:  # 0 divided by zero in the handheld shake; -24 or NaN reached the writer
        raise ValueError(f"fps must be a frame rate above 0, got {fps!r}")
    rng = np.random.default_rng(seed)
    picture = load_image(image, seed)
    if kind == "cut":
        return _cut(picture, image, width, height, frames, fps, seed)
    if kind == "fade":  # a pan at half the speed
        camera = pose_homographies(width, height, 0.005 * width * np.arange(frames), 0.0, 0.0, 1.0)
    else:
        motion = {"subject": "static", "light-on": "static", "fast-object": "static"}.get(kind, kind)
        camera = camera_path(motion, frames, width, height, fps, rng)
    sprites = []
    if kind == "subject":
        sprites = [_face(frames, width, height, rng), _post(frames, width, height, seed)]
    elif kind == "fast-object":
        sprites = [_ball(frames, width, height, rng)]
    out, flow, occluded, boxes = render_layers(picture, camera, sprites, width, height)
    if kind == "fade":
        out *= np.linspace(1.0, 0.15, frames, dtype=np.float32)[:, None, None, None]
    elif kind == "light-on":
        out = np.clip(out * _lamp(frames, width, height), 0.0, 1.0)
    return Clip(frames=out, fps=fps, flow_fwd=flow, camera=camera.astype(np.float32),
                subject_box=boxes if kind == "subject" else None, cuts=[], occluded=occluded)


def _cut(picture, image, width, height, frames, fps, seed) -> Clip:
    """Shot one pans over ``picture``; shot two zooms into another photograph."""
    first = frames // 2
    rng = np.random.default_rng(seed)
    cam_a = camera_path("pan", first, width, height, fps, rng)
    cam_b = camera_path("zoom", frames - first, width, height, fps, rng)
    other = load_image("chelsea" if image == "coffee" else "coffee")
    a, flow_a, occ_a, _ = render_layers(picture, cam_a, [], width, height)
    b, flow_b, occ_b, _ = render_layers(other, cam_b, [], width, height)
    flow = np.concatenate([flow_a, np.zeros((1, 2, height, width), np.float32), flow_b])
    occluded = np.concatenate([occ_a, np.ones((1, height, width), bool), occ_b])
    camera = np.concatenate([cam_a, cam_b]).astype(np.float32)
    return Clip(frames=np.concatenate([a, b]), fps=fps, flow_fwd=flow, camera=camera,
                subject_box=None, cuts=[first], occluded=occluded)


def _similarity(cx, cy, angle_deg, scale, sprite_w, sprite_h) -> np.ndarray:
    """``(T, 3, 3)``: sprite pixel -> world, sprite centre to ``(cx, cy)``, rotated and scaled."""
    cx, cy, angle, scale = np.broadcast_arrays(*(np.asarray(v, np.float64)
                                                 for v in (cx, cy, angle_deg, scale)))
    a = np.deg2rad(angle)
    cos, sin = np.cos(a) * scale, np.sin(a) * scale
    ox, oy = (sprite_w - 1) / 2.0, (sprite_h - 1) / 2.0
    m = np.zeros(cx.shape + (3, 3))
    m[..., 0, 0], m[..., 0, 1], m[..., 0, 2] = cos, -sin, cx - cos * ox + sin * oy
    m[..., 1, 0], m[..., 1, 1], m[..., 1, 2] = sin, cos, cy - sin * ox - cos * oy
    m[..., 2, 2] = 1.0
    return m


def _soft_ellipse(h: int, w: int, ry: float, rx: float, feather: float) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xs - (w - 1) / 2) / rx, (ys - (h - 1) / 2) / ry)
    return np.clip((1.0 - r) * min(rx, ry) / feather + 0.5, 0.0, 1.0)


def _face(frames, width, height, rng) -> Sprite:
    """The astronaut's head, drifting across the frame with a slight bob, roll and growth."""
    (cx, cy), (ax, ay) = ASTRONAUT_HEAD
    astro = load_image("astronaut")
    x0, y0 = int(cx - ax) - 4, max(int(cy - ay) - 4, 0)
    crop = astro[y0:int(cy + ay) + 5, x0:int(cx + ax) + 5]
    h, w = crop.shape[:2]
    alpha = _soft_ellipse(h, w, ay, ax, feather=3.0)
    rgba = np.concatenate([crop, alpha[..., None]], -1)
    ramp = np.linspace(0.0, 1.0, frames)
    phase = rng.uniform(0, 2 * np.pi)
    scale = 0.5 * height / h * (1.0 + 0.1 * ramp)
    world = _similarity(width * (0.2 + 0.6 * ramp), height * (0.5 + 0.05 * np.sin(6 * ramp + phase)),
                        5.0 * np.sin(4 * ramp + phase), scale, w, h)
    half = np.array([ax, ay])
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    return Sprite(rgba, world, tuple(np.concatenate([centre - half, centre + half])))


def _post(frames, width, height, seed) -> Sprite:
    """A textured post standing in front of the scene at 62 % of the width (occludes the face)."""
    w, h = max(4, int(0.06 * width)), int(1.2 * height)
    brick = cv2.resize(load_image("brick"), (w, h), interpolation=cv2.INTER_AREA) * 0.6
    alpha = np.ones((h, w, 1), np.float32)
    alpha[:, [0, -1]] = 0.5
    rgba = np.concatenate([brick, alpha], -1)
    world = _similarity(np.full(frames, 0.62 * width), 0.5 * height, 0.0, 1.0, w, h)
    return Sprite(rgba, world, (0.0, 0.0, w - 1.0, h - 1.0))


def _ball(frames, width, height, rng) -> Sprite:
    """A spinning colour-wheel ball bouncing across the frame at 5 % of the width per frame."""
    wheel = load_image("colorwheel")
    side = min(wheel.shape[:2])
    wheel = wheel[:side, :side]
    alpha = _soft_ellipse(side, side, side * 0.45, side * 0.45, feather=2.0)
    rgba = np.concatenate([wheel, alpha[..., None]], -1)
    t = np.arange(frames)
    span = 0.8 * width
    travel = (0.05 * width * t + rng.uniform(0, span)) % (2 * span)
    x = 0.1 * width + np.where(travel < span, travel, 2 * span - travel)
    y = height * (0.45 + 0.15 * np.sin(0.3 * t + rng.uniform(0, 2 * np.pi)))
    scale = 0.22 * height / side
    world = _similarity(x, y, 15.0 * t, scale, side, side)
    r = side * 0.45
    c = (side - 1) / 2
    return Sprite(rgba, world, (c - r, c - r, c + r, c + r))


def _lamp(frames, width, height) -> np.ndarray:
    """``(T, H, W, 1)`` gain: dim ambient light, then at ``T // 2`` a lamp at the top left."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    d2 = ((xs - 0.25 * width) ** 2 + (ys - 0.1 * height) ** 2) / (0.6 * width) ** 2
    lit = 0.35 + 0.9 * np.exp(-d2)
    gain = np.full((frames, height, width, 1), 0.35, np.float32)
    gain[frames // 2:] = lit[..., None]
    return gain
