"""Artifact models of generated video, each with a strength, composable.

Every function takes and returns ``(T, H, W, 3)`` float32 RGB in [0, 1] (``jitter`` also returns
the shake it applied) and is deterministic by ``seed``. Strengths are the measured size of the
change, before clipping to [0, 1]:

- ``global_flicker``: per-frame, per-channel gain ``1 + N(0, gain_sigma)`` and offset
  ``N(0, offset_sigma)``; half of the gain is shared by the channels.
- ``local_flicker``: a smooth gain field per frame, RMS deviation from 1 = ``amplitude``.
- ``gaussian_noise``: i.i.d. noise of standard deviation ``sigma``.
- ``boiling``: fine texture re-synthesised each frame (detail displaced by a random sub-pixel
  field, plus fresh band-pass grain where there is detail), RMS change = ``strength``.
- ``jitter``: random per-frame shake, RMS translation ``pixels``, RMS roll ``roll_degrees``.
- ``identity_drift``: the subject's colour and shape change linearly over the clip, reaching
  ``amount`` (hue rotation ``amount`` x 90 degrees, saturation ``amount`` x 30 %, stretch
  ``shape`` x ``amount`` x 30 %; ``shape=0`` drifts colour and tone only).
- ``drop_frames``: keep one frame in ``keep``.
- ``compress``: H.264 (libx264, yuv420p) at ``crf`` through PyAV, in memory.
"""
from __future__ import annotations

import io

import cv2
import numpy as np


def global_flicker(frames: np.ndarray, gain_sigma: float = 0.12, offset_sigma: float = 0.03,
                   seed: int = 0) -> np.ndarray:
    """Per-frame gain/offset per channel: ``x * g[t, c] + o[t, c]``."""
    rng = np.random.default_rng(seed)
    t = frames.shape[0]
    shared = rng.standard_normal((t, 1))
    own = rng.standard_normal((t, 3))
    gain = 1.0 + gain_sigma * (shared + own) / np.sqrt(2.0)
    offset = offset_sigma * rng.standard_normal((t, 3))
    out = frames * gain[:, None, None, :].astype(np.float32) + offset[:, None, None, :].astype(np.float32)
    return np.clip(out, 0.0, 1.0)


def smooth_field(rng: np.random.Generator, height: int, width: int, cells: int = 4) -> np.ndarray:
    """A smooth random field ``(height, width)`` with zero mean and unit RMS (bicubic upsampling
    of a coarse ``cells`` x ``cells * W / H`` normal grid)."""
    grid = rng.standard_normal((cells, max(2, round(cells * width / height)))).astype(np.float32)
    field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    field -= field.mean()
    return field / max(float(np.sqrt((field ** 2).mean())), 1e-6)


def local_flicker(frames: np.ndarray, amplitude: float = 0.2, seed: int = 0) -> np.ndarray:
    """Multiply each frame by ``1 + amplitude * field_t`` (a new smooth field every frame)."""
    rng = np.random.default_rng(seed)
    t, h, w, _ = frames.shape
    gains = np.stack([1.0 + amplitude * smooth_field(rng, h, w) for _ in range(t)])
    return np.clip(frames * gains[..., None], 0.0, 1.0)


def gaussian_noise(frames: np.ndarray, sigma: float = 20 / 255, seed: int = 0) -> np.ndarray:
    """Add i.i.d. Gaussian noise of standard deviation ``sigma`` (in [0, 1] units)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(frames.shape, dtype=np.float32) * np.float32(sigma)
    return np.clip(frames + noise, 0.0, 1.0)


def boiling(frames: np.ndarray, strength: float = 8 / 255, seed: int = 0) -> np.ndarray:
    """Re-synthesise the fine texture each frame ("boiling"), RMS change ``strength``.

    The detail band (frame minus a Gaussian blur of sigma 1.5) is resampled at a random smooth
    displacement (about 1 px) and grain (noise blurred with sigma 0.8) is added in proportion to
    the local detail; the total change of each frame is scaled to RMS ``strength``.
    """
    rng = np.random.default_rng(seed)
    t, h, w, _ = frames.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty_like(frames)
    for i in range(t):
        base = cv2.GaussianBlur(frames[i], (0, 0), 1.5)
        detail = frames[i] - base
        cells = max(4, h // 16)
        dx, dy = smooth_field(rng, h, w, cells), smooth_field(rng, h, w, cells)
        moved = cv2.remap(detail, xs + dx, ys + dy, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT101)
        energy = cv2.GaussianBlur(np.abs(detail).mean(2), (0, 0), 3.0)
        energy /= max(float(np.sqrt((energy ** 2).mean())), 1e-6)
        grain = cv2.GaussianBlur(rng.standard_normal((h, w, 3)).astype(np.float32), (0, 0), 0.8)
        grain *= energy[..., None] / max(float(grain.std()), 1e-6)
        change = (moved - detail) + 0.5 * float(np.sqrt(((moved - detail) ** 2).mean())) * grain
        change *= strength / max(float(np.sqrt((change ** 2).mean())), 1e-9)
        out[i] = frames[i] + change
    return np.clip(out, 0.0, 1.0)


def shake_homographies(count: int, width: int, height: int, pixels: float, roll_degrees: float,
                       seed: int) -> np.ndarray:
    """``(count, 3, 3)`` random shakes (clean pixel -> shaken pixel): i.i.d. translations of RMS
    ``pixels`` (over both axes together) and rolls of RMS ``roll_degrees`` about the centre."""
    rng = np.random.default_rng(seed)
    shift = rng.standard_normal((count, 2)) * pixels / np.sqrt(2.0)
    angle = np.deg2rad(rng.standard_normal(count) * roll_degrees)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    h = np.zeros((count, 3, 3))
    cos, sin = np.cos(angle), np.sin(angle)
    h[:, 0, 0], h[:, 0, 1], h[:, 0, 2] = cos, -sin, cx - cos * cx + sin * cy + shift[:, 0]
    h[:, 1, 0], h[:, 1, 1], h[:, 1, 2] = sin, cos, cy - sin * cx - cos * cy + shift[:, 1]
    h[:, 2, 2] = 1.0
    return h


def jitter(frames: np.ndarray, pixels: float = 3.0, roll_degrees: float = 0.5,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Shake each frame by a random translation and roll.

    Returns ``(shaken, shake)``: ``shaken[t](shake[t] p) = frames[t](p)``, ``shake`` ``(T, 3, 3)``
    float64. Borders are filled by reflection.
    """
    t, h, w, _ = frames.shape
    shake = shake_homographies(t, w, h, pixels, roll_degrees, seed)
    out = np.stack([cv2.warpPerspective(frames[i], shake[i], (w, h), flags=cv2.INTER_CUBIC,
                                        borderMode=cv2.BORDER_REFLECT101) for i in range(t)])
    return np.clip(out, 0.0, 1.0), shake


def identity_drift(frames: np.ndarray, amount: float = 0.25, box: np.ndarray | None = None,
                   seed: int = 0, shape: float = 1.0) -> np.ndarray:
    """Slowly change the subject's colour and shape, linearly from none to ``amount``.

    Inside ``box`` (``(T, 4)`` or ``(4,)`` x0, y0, x1, y1; default: the centre half of the frame)
    the hue turns by up to ``amount`` x 90 degrees, saturation grows by up to ``amount`` x 30 %,
    and the content is stretched by up to ``shape`` x ``amount`` x 30 % along a random axis
    (``shape=0``: no geometric change, colour and tone only), blended in with a soft elliptical
    mask.
    """
    rng = np.random.default_rng(seed)
    t, h, w, _ = frames.shape
    if box is None:
        box = np.array([w / 4, h / 4, 3 * w / 4, 3 * h / 4])
    boxes = np.broadcast_to(np.asarray(box, np.float64), (t, 4))
    axis = rng.uniform(0, np.pi)
    direction = np.array([np.cos(axis), np.sin(axis)])
    hue_sign = rng.choice([-1.0, 1.0])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = frames.copy()
    for i in range(t):
        k = amount * i / max(t - 1, 1)
        x0, y0, x1, y1 = boxes[i]
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 1), max((y1 - y0) / 2, 1)
        mask = np.clip((1.0 - np.hypot((xs - cx) / rx, (ys - cy) / ry)) * 4.0, 0.0, 1.0)
        stretch = np.eye(2) + 0.3 * shape * k * np.outer(direction, direction)
        inv = np.linalg.inv(stretch)
        centre = np.array([cx, cy])
        m = np.hstack([inv, (centre - inv @ centre)[:, None]]).astype(np.float32)
        warped = cv2.warpAffine(frames[i], m, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT101)
        hsv = cv2.cvtColor(warped, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0] + hue_sign * 90.0 * k) % 360.0
        hsv[..., 1] = np.clip(hsv[..., 1] * (1.0 + 0.3 * k), 0.0, 1.0)
        changed = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        out[i] = frames[i] * (1.0 - mask[..., None]) + changed * mask[..., None]
    return np.clip(out, 0.0, 1.0)


def drop_frames(frames: np.ndarray, keep: int = 2) -> np.ndarray:
    """Keep every ``keep``-th frame (a low frame rate: divide the fps by ``keep``)."""
    return frames[::keep].copy()


def compress(frames: np.ndarray, crf: int = 30, fps: float = 24.0) -> np.ndarray:
    """Round-trip through H.264 (libx264, yuv420p, ``crf``, preset medium) in memory."""
    import av

    from framemend.video.x264 import x264_params

    t, h, w, _ = frames.shape
    u8 = (np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8)
    even = u8[:, : h - h % 2, : w - w % 2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=round(fps) or 1)
        stream.width, stream.height = even.shape[2], even.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium", **x264_params()}
        for frame in even:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    buf.seek(0)
    with av.open(buf, "r") as container:
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    out = u8.copy()
    out[:, : even.shape[1], : even.shape[2]] = decoded
    return out.astype(np.float32) / 255.0
