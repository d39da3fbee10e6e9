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
    frames = np.empty((len(camera), height, width, 3), np.float32)
    owner = np.zeros((len(camera), height, width), np.int8)  # 0 background, i+1 sprite i
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    for t, h in enumerate(camera):
        frame = cv2.warpPerspective(picture, a @ h, (width, height), flags=flags,
                                    borderMode=cv2.BORDER_REFLECT101)
        for i, sprite in enumerate(sprites):
            to_frame = np.linalg.inv(h) @ sprite.world[t]
            rgba = sprite.rgba.copy()
            rgba[..., :3] *= rgba[..., 3:]
            layer = cv2.warpPerspective(rgba, to_frame, (width, height), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            alpha = layer[..., 3:]
            frame = frame * (1.0 - alpha) + layer[..., :3]
            owner[t][alpha[..., 0] > 0.5] = i + 1
        frames[t] = np.clip(frame, 0.0, 1.0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    grid = np.stack([xs, ys], -1)
    flow = np.empty((len(camera) - 1, 2, height, width), np.float32)
    occluded = np.empty((len(camera) - 1, height, width), bool)
    for t in range(len(camera) - 1):
        moves = [np.linalg.inv(camera[t + 1]) @ camera[t]]
        moves += [np.linalg.inv(camera[t + 1]) @ s.world[t + 1] @ np.linalg.inv(s.world[t])
                  @ camera[t] for s in sprites]
        f = apply_homography(moves[0], grid) - grid
        for i in range(1, len(moves)):
            sel = owner[t] == i
            f[sel] = apply_homography(moves[i], grid[sel]) - grid[sel]
        flow[t] = f.transpose(2, 0, 1)
        land = np.rint(grid + f).astype(np.int64)
        inside = ((land[..., 0] >= 0) & (land[..., 0] < width) & (land[..., 1] >= 0)
                  & (land[..., 1] < height))
        lx, ly = np.clip(land[..., 0], 0, width - 1), np.clip(land[..., 1], 0, height - 1)
        occluded[t] = ~inside | (owner[t + 1][ly, lx] != owner[t])
    boxes = None
    if sprites:
        s = sprites[0]
        x0, y0, x1, y1 = s.box
        corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float64)
        boxes = np.empty((len(camera), 4), np.float32)
        for t, h in enumerate(camera):
            c = apply_homography(np.linalg.inv(h) @ s.world[t], corners)
            boxes[t] = [max(c[:, 0].min(), 0), max(c[:, 1].min(), 0),
                        min(c[:, 0].max(), width - 1), min(c[:, 1].max(), height - 1)]
    return frames, flow, occluded, boxes
