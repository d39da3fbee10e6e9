"""Rendering of layered scenes with exact flow: a background seen through a camera path, and
sprites (RGBA pictures) moving in the world on top of it, composited back to front.

Flow is analytic: a background pixel ``p`` of frame t sees reference point ``H_t p``, which frame
t+1 shows at ``H_{t+1}^{-1} H_t p``; a sprite pixel moves with ``S_{t+1} S_t^{-1}`` where
``S_t = H_t^{-1} W_t`` maps sprite pixels to frame pixels (``W_t``: sprite -> reference).
Where a sprite's alpha exceeds 0.5 its motion is the flow (the top layer wins). A pixel is
occluded when the layer it belongs to is not the one seen where it lands in the next frame (or it
lands outside the frame).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .camera import apply_homography


@dataclass
class Sprite:
    """An RGBA picture moving in the world.

    ``rgba``: ``(h, w, 4)`` float32, straight (not premultiplied) alpha.
    ``world``: ``(T, 3, 3)`` homographies sprite pixel -> reference pixel.
    ``box``: ``(x0, y0, x1, y1)`` of the visible part inside ``rgba`` (for the subject box).
    """

    rgba: np.ndarray
    world: np.ndarray
    box: tuple[float, float, float, float]


def fit_picture(picture: np.ndarray, camera: np.ndarray, width: int, height: int,
                margin: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``picture`` so it covers everything the camera path sees.

    Returns ``(picture', A)`` with ``A`` ``(3, 3)`` mapping reference pixels to pixels of
    ``picture'`` (pre-shrunk with area averaging when the picture is larger than needed, so
    small clips are not aliased).
    """
    corners = np.array([[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]],
                       np.float64)
    seen = np.concatenate([apply_homography(h, corners) for h in camera])
    lo, hi = seen.min(0) - margin, seen.max(0) + margin
    ph, pw = picture.shape[:2]
    k = min(pw / (hi[0] - lo[0]), ph / (hi[1] - lo[1]))  # picture pixels per reference pixel
    if k > 1.0:
        pw, ph = max(2, int(round(pw / k))), max(2, int(round(ph / k)))
        picture = cv2.resize(picture, (pw, ph), interpolation=cv2.INTER_AREA)
        k = min(pw / (hi[0] - lo[0]), ph / (hi[1] - lo[1]))
    centre = (lo + hi) / 2.0
    a = np.array([[k, 0, (pw - 1) / 2.0 - k * centre[0]],
                  [0, k, (ph - 1) / 2.0 - k * centre[1]],
                  [0, 0, 1.0]])
    return picture, a


def render_layers(background: np.ndarray, camera: np.ndarray, sprites: list[Sprite],
                  width: int, height: int):
    """Render ``T = len(camera)`` frames.

    Returns ``frames`` ``(T, H, W, 3)`` float32 in [0, 1], ``flow_fwd`` ``(T-1, 2, H, W)``
    float32, ``occluded`` ``(T-1, H, W)`` bool, and the first sprite's box per frame ``(T, 4)``
    (None without sprites).
    """
    picture, a = fit_picture(background, camera, width, height)
    count = len(camera)
    frames = np.empty((count, height, width, 3), np.float32)
    owner = np.zeros((count, height, width), np.uint8)  # 0 background, i+1 sprite i
    premultiplied = []
    for sprite in sprites:
        rgba = sprite.rgba.astype(np.float32).copy()
        rgba[..., :3] *= rgba[..., 3:]
        premultiplied.append(rgba)
    for t, h in enumerate(camera):
        frame = cv2.warpPerspective(picture, a @ h, (width, height),
                                    flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                    borderMode=cv2.BORDER_REFLECT101)
        for i, (sprite, rgba) in enumerate(zip(sprites, premultiplied)):
            to_frame = np.linalg.inv(h) @ sprite.world[t]
            roi = _footprint(to_frame, rgba.shape[1], rgba.shape[0], width, height)
            if roi is None:
                continue
            x0, y0, x1, y1 = roi
            to_roi = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1.0]]) @ to_frame
            layer = cv2.warpPerspective(rgba, to_roi, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            alpha = layer[..., 3:]
            part = frame[y0:y1, x0:x1]
            part *= 1.0 - alpha
            part += layer[..., :3]
            owner[t, y0:y1, x0:x1][alpha[..., 0] > 0.5] = i + 1
        np.clip(frame, 0.0, 1.0, out=frames[t])
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    grid = np.stack([xs, ys], -1)
    flow = np.empty((count - 1, 2, height, width), np.float32)
    occluded = np.empty((count - 1, height, width), bool)
    for t in range(count - 1):
        back = np.linalg.inv(camera[t + 1])
        land = cv2.perspectiveTransform(grid, back @ camera[t])
        for i, s in enumerate(sprites):
            sel = owner[t] == i + 1
            if sel.any():
                move = back @ s.world[t + 1] @ np.linalg.inv(s.world[t]) @ camera[t]
                land[sel] = cv2.perspectiveTransform(grid[sel][None], move)[0]
        flow[t] = (land - grid).transpose(2, 0, 1)
        seen = cv2.remap(owner[t + 1], land[..., 0], land[..., 1], cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=255)
        occluded[t] = seen != owner[t]
    boxes = None
    if sprites:
        s = sprites[0]
        x0, y0, x1, y1 = s.box
        corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float64)
        boxes = np.empty((count, 4), np.float32)
        for t, h in enumerate(camera):
            c = apply_homography(np.linalg.inv(h) @ s.world[t], corners)
            boxes[t] = [max(c[:, 0].min(), 0), max(c[:, 1].min(), 0),
                        min(c[:, 0].max(), width - 1), min(c[:, 1].max(), height - 1)]
    return frames, flow, occluded, boxes


def _footprint(to_frame: np.ndarray, w: int, h: int, width: int,
               height: int) -> tuple[int, int, int, int] | None:
    """Integer bounds ``x0, y0, x1, y1`` (exclusive) of a ``w`` x ``h`` sprite placed by
    ``to_frame`` inside the frame, one pixel of margin; None when it is outside."""
    corners = np.array([[-1, -1], [w, -1], [-1, h], [w, h]], np.float64)
    c = apply_homography(to_frame, corners)
    x0, y0 = max(int(np.floor(c[:, 0].min())), 0), max(int(np.floor(c[:, 1].min())), 0)
    x1 = min(int(np.ceil(c[:, 0].max())) + 1, width)
    y1 = min(int(np.ceil(c[:, 1].max())) + 1, height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None
