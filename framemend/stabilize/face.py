"""Find the main face in a frame, for ``stabilize mode=subject`` and ``realign region=face``.

Uses scikit-image's bundled LBP frontal-face cascade (Viola & Jones 2001 detector structure with
local binary pattern features, Liao et al. 2007). OpenCV's Haar cascades are not used because
OpenCV 5 no longer ships ``CascadeClassifier`` or the cascade files.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..chain.options import OptionError


@lru_cache(maxsize=1)
def _cascade():
    import skimage.data
    import skimage.feature

    return skimage.feature.Cascade(skimage.data.lbp_frontal_face_cascade_filename())


def detect_face(luma: np.ndarray, rotation: int = 0) -> tuple[float, float, float, float] | None:
    """The largest face in ``luma`` ``(H, W)`` uint8 as a box ``(x0, y0, x1, y1)`` in its
    pixels, or None. ``rotation``: the display rotation (degrees counter-clockwise) a player
    turns the picture by; the face is looked for upright as shown (the cascade finds upright
    faces: none was found in a phone's portrait video, stored on its side) and its box given
    in ``luma``'s own pixels."""
    turns = rotation // 90 % 4 if rotation % 90 == 0 else 0
    if turns:
        found = detect_face(np.ascontiguousarray(np.rot90(luma, turns)))
        return None if found is None else stored_box(found, rotation, *luma.shape[::-1])
    h, w = luma.shape
    side = min(h, w)
    found = _cascade().detect_multi_scale(img=luma, scale_factor=1.2, step_ratio=1,
                                          min_size=(max(24, side // 12),) * 2,
                                          max_size=(side, side))
    if not found:
        return None
    best = max(found, key=lambda d: d["width"] * d["height"])
    return (float(best["c"]), float(best["r"]), float(best["c"] + best["width"]),
            float(best["r"] + best["height"]))


def stored_box(box: tuple[float, ...], rotation: int, width: int, height: int
               ) -> tuple[float, float, float, float]:
    """``box`` (x0, y0, x1, y1) in the pixels of the picture as a player shows it, turned by
    the display ``rotation`` (degrees counter-clockwise; ``np.rot90(stored, rotation // 90)``),
    as the box in the stored picture's, ``width`` x ``height`` (as it is at rotation 0). The
    boxes users give (realign's and stabilize's ``box``) are read off a player, or off the
    frames :func:`framemend.read` gives, which are turned so too."""
    turns = rotation // 90 % 4 if rotation % 90 == 0 else 0
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = (height, width) if turns % 2 else (width, height)  # the shown picture's
    for _ in range(turns):  # one quarter turn back (clockwise): (x, y) -> (h - y, x)
        x0, y0, x1, y1, w, h = h - y1, x0, h - y0, x1, h, w
    return x0, y0, x1, y1


def check_box(filter_name: str, box: tuple[float, ...] | None) -> None:
    """Raise :class:`OptionError` unless the ``box`` option is None or 4 numbers
    x0+y0+x1+y1 with x1 > x0 and y1 > y0 (an empty box held nothing and was ignored)."""
    if box is not None and len(box) != 4:
        raise OptionError(f"{filter_name}: option 'box' needs 4 numbers x0+y0+x1+y1, "
                          f"got {len(box)}")
    if box is not None and not (box[2] > box[0] and box[3] > box[1]):
        raise OptionError(f"{filter_name}: option 'box' x0+y0+x1+y1 needs x1 > x0 and y1 > y0, "
                          f"got {'+'.join(f'{v:g}' for v in box)}")


def box_mask(box: tuple[float, float, float, float], height: int, width: int) -> np.ndarray:
    """``(H, W)`` uint8 mask, 255 inside ``box`` (clipped to the frame)."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    mask = np.zeros((height, width), np.uint8)
    mask[max(0, y0):max(0, min(height, y1)), max(0, x0):max(0, min(width, x1))] = 255
    return mask
