"""``degrade(clip, "flicker,noise=20", seed=0)``: apply a comma list of artifacts to a clip.

Each item is ``name`` or ``name=strength``:

==============  =======================================  =========
name            strength                                 default
==============  =======================================  =========
flicker         gain sigma (offset sigma = gain / 4)     0.12
local-flicker   RMS of the gain field                    0.2
noise           sigma, 8-bit units                       20
boiling         RMS change, 8-bit units                  8
jitter          RMS shake in pixels (roll = pixels / 6°) 3
drift           identity drift amount (of the subject)   0.25
tone-drift      the same, colour and tone only           0.25
drop            keep one frame in N                      2
compress        H.264 CRF                                30
==============  =======================================  =========

Strengths past :data:`STRONGEST` (where an artifact only saturates or wraps round) are refused.

The returned clip keeps the clean frames in ``truth`` and its geometry follows the artifacts:
jitter updates ``camera``, ``flow_fwd``, ``occluded``, ``subject_box`` and records ``shake``;
dropping frames subsamples them (``flow_fwd`` and ``occluded`` become None, ``fps`` is
divided). Identity drift changes the subject slowly; the flow stays that of the clean motion
(``drift`` also stretches the subject, ``tone-drift`` changes only its colour and tone).
"""
from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np

from . import artifacts
from .camera import apply_homography
from .clip import Clip

ARTIFACTS = {"flicker": 0.12, "local-flicker": 0.2, "noise": 20.0, "boiling": 8.0,
             "jitter": 3.0, "drift": 0.25, "tone-drift": 0.25, "drop": 2, "compress": 30}

# The strongest value of each artifact that still means something: beyond it the result only
# saturates or wraps round (``noise=1e9`` made every pixel black or white, rely38).
STRONGEST = {
    "flicker": (1.0, "a gain sigma of 1 already turns frames black"),
    "local-flicker": (1.0, "a gain field of RMS 1 already turns regions black"),
    "noise": (255.0, "a sigma of the whole 8-bit range"),
    "boiling": (255.0, "an RMS change of the whole 8-bit range"),
    "jitter": (1080.0, "its roll, pixels / 6 degrees, wraps round past 180"),
    "drift": (4.0, "its hue turn, amount x 90 degrees, wraps round past 360"),
    "tone-drift": (4.0, "its hue turn, amount x 90 degrees, wraps round past 360"),
    "compress": (51.0, "x264's highest CRF"),
}


def parse_artifacts(spec: str | list[str] | tuple[str, ...]) -> list[tuple[str, float]]:
    """``"flicker,noise=20"`` (or ``["flicker", "noise=20"]``, as a chain may be listed) ->
    ``[("flicker", 0.12), ("noise", 20.0)]``; unknown names raise ValueError, what is neither
    a string nor a list of them TypeError (a list met "'list' object has no attribute
    'split'")."""
    if isinstance(spec, (list, tuple)) and all(isinstance(s, str) for s in spec):
        spec = ",".join(spec)
    if not isinstance(spec, str):
        raise TypeError(f"artifacts are a string such as 'flicker,noise=20' or a list of them "
                        f"(['flicker', 'noise=20']), not {type(spec).__name__} {spec!r}")
    items = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, value = item.partition("=")
        name = name.strip().replace("_", "-")
        if name not in ARTIFACTS:
            raise ValueError(f"unknown artifact '{name}'; choose from {', '.join(ARTIFACTS)}")
        try:
            strength = float(value) if value else float(ARTIFACTS[name])
        except ValueError:
            raise ValueError(f"artifact '{name}': strength '{value}' is not a number") from None
        if not 0 <= strength < math.inf or (name in ("drop",) and strength < 1):
            raise ValueError(f"artifact '{name}': strength {value} is out of range")
        if name in STRONGEST and strength > STRONGEST[name][0]:
            most, why = STRONGEST[name]
            raise ValueError(f"artifact '{name}': strength {value} is out of range (at most "
                             f"{most:g}: {why})")
        items.append((name, strength))
    return items


def check_frames_left(items: list[tuple[str, float]], frames: int) -> None:
    """ValueError when the ``drop`` artifacts of ``items`` (:func:`parse_artifacts`) would leave
    a clip of ``frames`` frames with fewer than two (``drop=5`` on 2 frames left 1 at fps / 5)."""
    left = frames
    for name, strength in items:
        if name == "drop":
            left = -(-left // int(strength))  # the first of every ``strength`` frames is kept
    if left < 2 <= frames:
        keep = [int(s) for name, s in items if name == "drop"]
        drops = ",".join(f"drop={k}" for k in keep)
        raise ValueError(f"artifacts '{drops}' would leave {left} frame of {frames}: needs "
                         f"--frames {math.prod(keep) + 1} or more")


def degrade(clip: Clip, spec: str | list[str], seed: int = 0) -> Clip:
    """Apply the artifacts of ``spec`` in order (each with its own seed derived from ``seed``);
    ValueError when dropped frames would leave fewer than two; TypeError for what is not a
    :class:`Clip` (an array met "'numpy.ndarray' object has no attribute 'truth'")."""
    if not isinstance(clip, Clip):
        raise TypeError(f"degrade() takes a generate.Clip (from generate.scene or "
                        f"generate.sample), not {type(clip).__name__}: the artifacts follow "
                        "its camera, subject and frame rate")
    out = replace(clip, truth=clip.frames if clip.truth is None else clip.truth)
    items = parse_artifacts(spec)
    check_frames_left(items, len(clip.frames))
    for i, (name, strength) in enumerate(items):
        s = seed * 1000 + i
        f = out.frames
        if name == "flicker":
            out = replace(out, frames=artifacts.global_flicker(f, strength, strength / 4, s))
        elif name == "local-flicker":
            out = replace(out, frames=artifacts.local_flicker(f, strength, s))
        elif name == "noise":
            out = replace(out, frames=artifacts.gaussian_noise(f, strength / 255, s))
        elif name == "boiling":
            out = replace(out, frames=artifacts.boiling(f, strength / 255, s))
        elif name == "drift":
            out = replace(out, frames=artifacts.identity_drift(f, strength, out.subject_box, s))
        elif name == "tone-drift":
            out = replace(out, frames=artifacts.identity_drift(f, strength, out.subject_box, s,
                                                               shape=0.0))
        elif name == "compress":
            out = replace(out, frames=artifacts.compress(f, int(strength), out.fps))
        elif name == "jitter":
            out = _jittered(out, strength, s)
        elif name == "drop":
            out = _dropped(out, int(strength))
    return out


def _jittered(clip: Clip, pixels: float, seed: int) -> Clip:
    frames, shake = artifacts.jitter(clip.frames, pixels, pixels / 6.0, seed)
    t, h, w, _ = frames.shape
    total = shake if clip.shake is None else shake @ clip.shake
    camera = (clip.camera.astype(np.float64) @ np.linalg.inv(shake)).astype(np.float32)
    flow = occluded = None
    if clip.flow_fwd is not None:
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        grid = np.stack([xs, ys], -1)
        flow = np.empty_like(clip.flow_fwd)
        occluded = np.empty((t - 1, h, w), bool) if clip.occluded is not None else None
        for i in range(t - 1):
            p = cv2.perspectiveTransform(grid, np.linalg.inv(shake[i]))
            f = cv2.remap(np.ascontiguousarray(clip.flow_fwd[i].transpose(1, 2, 0)), p[..., 0],
                          p[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            flow[i] = (cv2.perspectiveTransform(p + f, shake[i + 1]) - grid).transpose(2, 0, 1)
            if occluded is not None:
                hidden = cv2.remap(clip.occluded[i].astype(np.uint8), p[..., 0], p[..., 1],
                                   cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=1)
                land = grid + flow[i].transpose(1, 2, 0)
                outside = ((land[..., 0] < 0) | (land[..., 0] > w - 1) | (land[..., 1] < 0)
                           | (land[..., 1] > h - 1))
                occluded[i] = hidden.astype(bool) | outside
    boxes = None
    if clip.subject_box is not None:
        boxes = np.empty_like(clip.subject_box)
        for i, (x0, y0, x1, y1) in enumerate(clip.subject_box):
            c = apply_homography(shake[i], np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]]))
            boxes[i] = [max(c[:, 0].min(), 0), max(c[:, 1].min(), 0),
                        min(c[:, 0].max(), w - 1), min(c[:, 1].max(), h - 1)]
    return replace(clip, frames=frames, camera=camera, flow_fwd=flow, occluded=occluded,
                   subject_box=boxes, shake=total)


def _dropped(clip: Clip, keep: int) -> Clip:
    sub = slice(None, None, keep)
    return replace(clip, frames=artifacts.drop_frames(clip.frames, keep), fps=clip.fps / keep,
                   flow_fwd=None, occluded=None, camera=clip.camera[sub],
                   subject_box=None if clip.subject_box is None else clip.subject_box[sub],
                   cuts=sorted({-(-c // keep) for c in clip.cuts}),
                   shake=None if clip.shake is None else clip.shake[sub])
