"""The keyframe's subject registered directly onto the frame (``region=face``, host path).

The subject's keyframe-to-frame similarity is predicted by composing frame-to-frame motions
tracked on features (:func:`framemend.stabilize.motion.subject_motion`): each step's error
stays in the composition, and on a subject that travels for seconds the box ends a few pixels
off and its scale wanders (rendering 105 of ``benchmarks.bench_realign``: 1.6 px median,
scale 0.95-1.05), which the subject's colour map reads as a change of colour. Here the
keyframe's subject, inside its ellipse, is registered onto the frame directly, starting from
that prediction, by maximising the enhanced correlation coefficient (ECC; Evangelidis &
Psarakis, "Parametric image alignment using enhanced correlation coefficient maximization",
PAMI 2008; ``cv2.findTransformECCWithMask``) over an affine warp, then taken to the nearest
similarity about the box's centre. ECC correlates zero-mean, normalised luma, so it does not
see a gain and offset of the luma: a cast that grows on the subject does not pull it.

The prediction is kept where ECC does not converge, where its correlation is under
``MIN_CORRELATION`` (a subject without texture of its own: a grey rocket over gravel reads
0.66 at its first frame and falls to 0.27 as ECC slides onto the background) or where it
moves the box more than ``FAR`` of its diagonal from the prediction.

Measured on the luma that the motion is tracked on (:func:`.motion.analysis_luma`, at most
320 pixels wide): the template is the keyframe's, cropped to the subject's box, so a frame
costs an ECC over a few thousand pixels.
"""
from __future__ import annotations

import cv2
import numpy as np

#: ECC's correlation under which its registration is not trusted (textured subjects of the
#: tuning renderings: 0.98-1.00 frame after frame; a grey rocket over gravel 0.27-0.74).
MIN_CORRELATION = 0.9
#: Share of the box's diagonal (as predicted) by which a registration may move a corner of
#: the box away from the prediction (on tuning renderings 11 and 13, a pan and a tilt whose
#: tracked motion lags, the corrections reach 0.066 of it).
FAR = 0.1
#: Share of the ellipse inscribed in the box that is registered (the rim shows background).
RADIUS = 0.9
#: ECC's iterations at most, and the gain of correlation at which it stops.
ITERATIONS, EPSILON = 50, 1e-5
#: Fewer template pixels than this: no registration.
MIN_PIXELS = 64
#: Pixels of the keyframe around the box kept in the template (its Gaussian smoothing's reach).
MARGIN = 4


def _ellipse(box: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(H, W)`` uint8 mask, 255 inside ``RADIUS`` of the ellipse inscribed in ``box``."""
    (x0, y0), (x1, y1) = box
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.hypot((xs - (x0 + x1) / 2) / max((x1 - x0) / 2, 1.0),
                 (ys - (y0 + y1) / 2) / max((y1 - y0) / 2, 1.0))
    return np.where(r < RADIUS, 255, 0).astype(np.uint8)


def nearest_similarity(affine: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``(3, 3)``: the similarity nearest ``affine`` ``(3, 3)`` (the mean of its rotation-scale
    parts, Frobenius norm), mapping ``centre`` ``(2,)`` where ``affine`` does."""
    a = 0.5 * (affine[0, 0] + affine[1, 1])
    b = 0.5 * (affine[1, 0] - affine[0, 1])
    out = np.eye(3)
    out[:2, :2] = [[a, -b], [b, a]]
    out[:2, 2] = affine[:2, :2] @ centre + affine[:2, 2] - out[:2, :2] @ centre
    return out


def register_subject(key_luma: np.ndarray, luma: np.ndarray, key_box: np.ndarray,
                     predicted: np.ndarray, scale: float) -> np.ndarray:
    """The keyframe's subject registered onto the frame, from ``predicted``.

    Args:
        key_luma, luma: ``(h, w)`` uint8 analysis luma of the keyframe and of the frame
            (:func:`framemend.stabilize.motion.analysis_luma`).
        key_box: ``(2, 2)`` corners of the subject's box in the keyframe, full-size pixels.
        predicted: ``(3, 3)`` similarity from keyframe to frame pixels (full size) tracked so far.
        scale: full-size pixels per analysis pixel.
    Returns:
        ``(3, 3)`` similarity from keyframe to frame pixels, full size: the registration, or
        ``predicted`` where it is not trusted (see the module's docstring).
    """
    to_analysis = np.diag([1 / scale, 1 / scale, 1.0])
    start = to_analysis @ predicted @ np.linalg.inv(to_analysis)
    box = key_box / scale
    start_scale = abs(np.linalg.det(start[:2, :2])) ** 0.5
    h, w = key_luma.shape
    x0, y0 = (max(int(np.floor(v)) - MARGIN, 0) for v in box[0])
    x1, y1 = min(int(np.ceil(box[1, 0])) + MARGIN, w), min(int(np.ceil(box[1, 1])) + MARGIN, h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return predicted
    template = np.ascontiguousarray(key_luma[y0:y1, x0:x1])
    mask = _ellipse(box - [x0, y0], y1 - y0, x1 - x0)
    if np.count_nonzero(mask) < MIN_PIXELS:
        return predicted
    crop = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    try:
        correlation, warp = cv2.findTransformECCWithMask(
            template, luma, mask, np.full(luma.shape, 255, np.uint8),
            (start @ crop)[:2].astype(np.float32), cv2.MOTION_AFFINE,
            (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ITERATIONS, EPSILON), 5)
    except cv2.error:  # did not converge
        return predicted
    affine = np.vstack([warp.astype(np.float64), [0.0, 0.0, 1.0]]) @ np.linalg.inv(crop)
    found = nearest_similarity(affine, box.mean(0))
    corners = np.array([[box[i, 0], box[j, 1], 1.0] for i in (0, 1) for j in (0, 1)])
    moved = np.abs(corners @ (found - start)[:2].T).max()
    if correlation < MIN_CORRELATION or moved > FAR * np.linalg.norm(box[1] - box[0]) * start_scale:
        return predicted
    return np.linalg.inv(to_analysis) @ found @ to_analysis
