"""Colour drift while the camera moves: the degradation ``realign`` is measured on.

A generated clip drifts slowly and everywhere while the camera moves, so the content of the first
frame (the keyframe) leaves the picture long before the drift is at its worst.
:func:`drifting_scene` renders a photograph seen through a travelling camera (``pan``, ``tilt``
or ``zoom``, far enough that the first frame's content leaves the frame) with a subject (a
photograph cut out in an ellipse) crossing it, then applies a colour cast that grows from nothing
to its full strength: per-channel gain, offset and saturation (:func:`colour_cast`), over the
whole frame or over the subject only. The clean frames are the clip's ``truth``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from framemend.kernels.colour import luma_np

from .camera import pose_homographies
from .clip import Clip
from .images import load_image
from .render import Sprite, render_layers
from .scenes import _similarity, _soft_ellipse

#: Camera moves of :func:`drifting_scene`.
MOTIONS = ("pan", "tilt", "zoom")
#: Where the cast of :func:`drifting_scene` applies.
CASTS = ("frame", "subject", "none")


@dataclass(frozen=True)
class Cast:
    """A colour cast at full strength: ``gain`` and ``offset`` per channel (RGB, ``gain`` 0.1 is
    +10 %, ``offset`` in [0, 1] units) and ``saturation`` (0.2: 20 % more saturated)."""

    gain: tuple[float, float, float] = (0.0, 0.0, 0.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    saturation: float = 0.0

    @classmethod
    def random(cls, rng: np.random.Generator, gain: float = 0.25, offset: float = 0.05,
               saturation: float = 0.2) -> "Cast":
        """Each parameter uniform in ``[-limit, limit]``, the largest gain at least half its
        limit (so every cast is visible)."""
        g = rng.uniform(-gain, gain, 3)
        g[np.argmax(np.abs(g))] = np.sign(g[np.argmax(np.abs(g))] or 1.0) * max(
            np.abs(g).max(), gain / 2)
        return cls(tuple(g), tuple(rng.uniform(-offset, offset, 3)),
                   float(rng.uniform(-saturation, saturation)))


def colour_cast(frames: np.ndarray, cast: Cast, amount: np.ndarray,
                mask: np.ndarray | None = None) -> np.ndarray:
    """Apply ``cast`` scaled by ``amount`` ``(T,)`` in [0, 1] to ``frames`` ``(T, H, W, 3)``.

    Per pixel: saturation ``y + (1 + s k) (x - y)`` around the BT.601 luma ``y``, then gain
    ``(1 + g k) x`` and offset ``+ o k`` per channel, clipped to [0, 1]; ``mask`` ``(T, H, W)``
    in [0, 1] blends it in (None: everywhere).
    """
    k = np.asarray(amount, np.float32)[:, None, None, None]
    luma = luma_np(frames)
    out = luma[..., None] + (1.0 + cast.saturation * k) * (frames - luma[..., None])
    out = out * (1.0 + np.asarray(cast.gain, np.float32) * k) + np.asarray(cast.offset, np.float32) * k
    out = np.clip(out, 0.0, 1.0)
    if mask is not None:
        out = frames + mask[..., None] * (out - frames)
    return out.astype(np.float32)


def travelling_camera(motion: str, frames: int, width: int, height: int,
                      rng: np.random.Generator) -> np.ndarray:
    """``(frames, 3, 3)`` homographies of a camera that leaves its first view: ``pan`` travels
    1.2-2 widths sideways (either way, with a little vertical drift), ``tilt`` 1.2-2 heights,
    ``zoom`` in by 2.5-4x (towards a point off the centre)."""
    ramp = np.linspace(0.0, 1.0, frames)
    sign = rng.choice([-1.0, 1.0])
    if motion == "pan":
        return pose_homographies(width, height, sign * rng.uniform(1.2, 2.0) * width * ramp,
                                 rng.uniform(-0.2, 0.2) * height * ramp, 0.0, 1.0)
    if motion == "tilt":
        return pose_homographies(width, height, rng.uniform(-0.2, 0.2) * width * ramp,
                                 sign * rng.uniform(1.2, 2.0) * height * ramp, 0.0, 1.0)
    if motion == "zoom":
        target = rng.uniform(-0.25, 0.25, 2) * np.array([width, height])
        return pose_homographies(width, height, target[0] * ramp, target[1] * ramp, 0.0,
                                 rng.uniform(2.5, 4.0) ** ramp)
    raise ValueError(f"unknown camera motion '{motion}'; choose from {', '.join(MOTIONS)}")


def crossing_subject(image: str, frames: int, width: int, height: int,
                     camera: np.ndarray, rng: np.random.Generator) -> Sprite:
    """A photograph cut out in a soft ellipse, a third of the frame high, crossing the frame
    (in frame coordinates, whatever the camera does) with a slight bob and roll."""
    picture = load_image(image)
    side = min(picture.shape[:2])
    crop = picture[:side, :side]
    alpha = _soft_ellipse(side, side, side * 0.45, side * 0.45, feather=3.0)
    rgba = np.concatenate([crop, alpha[..., None]], -1)
    ramp = np.linspace(0.0, 1.0, frames)
    start, end = (0.2, 0.8) if rng.random() < 0.5 else (0.8, 0.2)
    phase = rng.uniform(0, 2 * np.pi)
    x = width * (start + (end - start) * ramp)
    y = height * (0.5 + 0.08 * np.sin(5 * ramp + phase))
    in_frame = _similarity(x, y, 6.0 * np.sin(4 * ramp + phase), 0.35 * height / side, side, side)
    return Sprite(rgba, camera @ in_frame, (0.05 * side, 0.05 * side, 0.95 * side, 0.95 * side))


def drifting_scene(image: str = "astronaut", subject: str = "coffee", motion: str = "pan",
                   cast: Cast | None = None, where: str = "frame", width: int = 320,
                   height: int = 180, seconds: float = 2.0, fps: float = 24.0,
                   seed: int = 0) -> tuple[Clip, np.ndarray]:
    """A travelling shot over ``image`` with ``subject`` crossing it, drifting in colour.

    The cast (default: :meth:`Cast.random`) grows linearly from none at the first frame to its
    full strength at the last, ``seconds`` later, over the whole frame (``where="frame"``), the
    subject only (``"subject"``) or nowhere (``"none"``: the clean clip, degraded by nothing).

    Returns the clip (``truth``: the clean frames) and the subject's coverage ``(T, H, W)`` in
    [0, 1].
    """
    if where not in CASTS:
        raise ValueError(f"unknown cast region '{where}'; choose from {', '.join(CASTS)}")
    rng = np.random.default_rng(seed)
    count = max(2, int(round(seconds * fps)))
    camera = travelling_camera(motion, count, width, height, rng)
    sprite = crossing_subject(subject, count, width, height, camera, rng)
    frames, flow, occluded, boxes = render_layers(load_image(image, seed), camera, [sprite],
                                                  width, height)
    white = replace(sprite, rgba=np.concatenate([np.ones_like(sprite.rgba[..., :3]),
                                                 sprite.rgba[..., 3:]], -1))
    coverage = render_layers(np.zeros((8, 8, 3), np.float32), camera, [white], width, height)[0][..., 0]
    clean = Clip(frames=frames, fps=fps, flow_fwd=flow, camera=camera.astype(np.float32),
                 subject_box=boxes, occluded=occluded)
    if where == "none":
        return replace(clean, truth=frames), coverage
    cast = Cast.random(rng) if cast is None else cast
    drifted = colour_cast(frames, cast, np.linspace(0.0, 1.0, count),
                          coverage if where == "subject" else None)
    return replace(clean, frames=drifted, truth=frames), coverage
