"""Source pictures for the procedural scenes: photographs from ``skimage.data`` and textures.

Every picture is returned as ``(H, W, 3)`` float32 RGB in [0, 1]; grey photographs are repeated
over the three channels. ``texture`` is procedural (coloured fractal noise, deterministic by seed).
"""
from __future__ import annotations

import cv2
import numpy as np

#: Photographs bundled with scikit-image (no download needed).
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "immunohistochemistry",
          "hubble_deep_field", "colorwheel", "brick", "grass", "gravel")
#: Every name :func:`load_image` accepts.
IMAGES = PHOTOS + ("texture",)

#: Where the astronaut's head is in ``skimage.data.astronaut()``: centre (x, y) and half-axes.
ASTRONAUT_HEAD = ((225.0, 105.0), (74.0, 92.0))


def load_image(name: str, seed: int = 0) -> np.ndarray:
    """Picture ``name`` (one of :data:`IMAGES`) as ``(H, W, 3)`` float32 RGB in [0, 1]."""
    if name == "texture":
        return fractal_texture(512, 768, seed)
    if name not in PHOTOS:
        raise ValueError(f"unknown image '{name}'; choose from {', '.join(IMAGES)}")
    import skimage.data

    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return img[..., :3].astype(np.float32) / 255.0


def fractal_texture(height: int, width: int, seed: int = 0, octaves: int = 6) -> np.ndarray:
    """Coloured 1/f ("pink") value noise: a sum of octaves of bicubically upsampled random grids.

    Returns ``(height, width, 3)`` float32 in [0, 1], with detail at every scale, so flow and
    denoisers have texture to lock on to everywhere.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), np.float32)
    for k in range(octaves):
        cells = 2 ** (k + 2)
        grid = rng.standard_normal((cells, max(2, cells * width // height), 3)).astype(np.float32)
        out += cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC) * 0.7 ** k
    out -= out.mean(axis=(0, 1))
    out /= 4.0 * out.std()
    return np.clip(out + 0.5, 0.0, 1.0)
