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

A cast that changes the channels unevenly changes the luma's pattern, not only its gain and
offset, and ECC follows that change: a colour wheel whose red falls by 17 % (rendering 109 of
``benchmarks.bench_realign``) is registered 1.3-1.7 pixels off by its last frames, against
0.1-0.3 without the cast, and the subject's map reads the misregistration as colour. So
where ECC is trusted, its registration is refined in colour (:func:`_refined_in_colour`):
the similarity is fitted jointly with a change of colour (a gain and an offset per channel
and a change of saturation) from the keyframe's RGB to the frame's, by Gauss-Newton (a
similarity and a photometric model registered together, as in Bartoli, "Groupwise geometric
and photometric direct image registration", PAMI 2008), so that such a cast does not move
the subject; the frame's clipped channels are left out (:func:`.subject.unsaturated`'s rule:
a clipped value follows no such map).
"""
from __future__ import annotations

import cv2
import numpy as np

from .subject import RIDGE, SATURATED

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
#: The refinement in colour (:func:`_refined_in_colour`): the Gaussian sigma, in analysis
#: pixels, of the blur of both images (about ECC's Gaussian of 5), its iterations at most, and
#: the step (in pixels at the subject's rim) under which it stops.
COLOUR_SIGMA, COLOUR_ITERATIONS, COLOUR_STOP = 1.0, 30, 1e-3


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


def analysis_rgb(image, shape: tuple[int, int]) -> np.ndarray:
    """``(h, w, 3)`` float32: ``image`` ``(3, H, W)`` (a float tensor) reduced to the analysis
    size ``shape`` ``(h, w)`` by area averaging, as :func:`.motion.analysis_luma` reduces it."""
    planes = image.detach().cpu().float().numpy()
    if planes.shape[1:] != tuple(shape):
        planes = [cv2.resize(p, shape[::-1], interpolation=cv2.INTER_AREA) for p in planes]
    return np.ascontiguousarray(np.stack(planes, -1))


def register_subject(key_luma: np.ndarray, luma: np.ndarray, key_rgb: np.ndarray,
                     image, key_box: np.ndarray, predicted: np.ndarray,
                     scale: float) -> np.ndarray:
    """The keyframe's subject registered onto the frame, from ``predicted``.

    Args:
        key_luma, luma: ``(h, w)`` uint8 analysis luma of the keyframe and of the frame
            (:func:`framemend.stabilize.motion.analysis_luma`).
        key_rgb: ``(h, w, 3)`` float32 RGB of the keyframe at the analysis size
            (:func:`analysis_rgb`), for the refinement in colour.
        image: ``(3, H, W)`` float tensor, the frame; reduced to the analysis size only once
            ECC's registration is trusted.
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
    if correlation < MIN_CORRELATION:
        return predicted
    affine = np.vstack([warp.astype(np.float64), [0.0, 0.0, 1.0]]) @ np.linalg.inv(crop)
    rgb = analysis_rgb(image, luma.shape)
    found = _refined_in_colour(key_rgb[y0:y1, x0:x1], rgb, mask > 0, crop,
                               nearest_similarity(affine, box.mean(0)), box)
    corners = np.array([[box[i, 0], box[j, 1], 1.0] for i in (0, 1) for j in (0, 1)])
    moved = np.abs(corners @ (found - start)[:2].T).max()
    if moved > FAR * np.linalg.norm(box[1] - box[0]) * start_scale:
        return predicted
    return np.linalg.inv(to_analysis) @ found @ to_analysis


def _refined_in_colour(template: np.ndarray, rgb: np.ndarray, mask: np.ndarray,
                       crop: np.ndarray, similarity: np.ndarray, box: np.ndarray) -> np.ndarray:
    """``similarity`` ``(3, 3)`` (keyframe to frame, analysis pixels) refined by registering
    the keyframe's ``template`` ``(th, tw, 3)`` RGB (its part ``crop`` ``(3, 3)`` moves to
    keyframe pixels) where ``mask`` ``(th, tw)`` bool onto the frame's ``rgb`` ``(h, w, 3)``,
    jointly with a change of colour, by Gauss-Newton.

    The change of colour is a drift's usual form: a gain ``g`` and an offset ``b`` per channel
    and a change of saturation ``s`` (the chroma ``K - luma(K)`` scaled, to first order), not
    the subject map's full 3x3: a hue rotation of a colour wheel is nearly its rotation, and a
    map that may rotate hue leaves the registration's rotation free (realign9's unseen
    rendering 31, an astronaut+colorwheel tilt: +7.42 dB with the full map against +7.85 with
    this one and +7.86 with ECC alone; 35 +2.47 against +2.59). Each iteration warps the
    blurred frame onto the template's pixels by the similarity ``S`` and solves, by least
    squares (``g``, ``b``, ``s`` ridge-regularised by ``RIDGE`` towards no change, as the
    subject's map), ``F(S(x + d(x))) ~ F(S(x)) + grad F(S(x)) . d(x) = g K(x) + b +
    s (K(x) - luma(K(x)))`` for them and ``d``: a shift, a scale and a rotation about the
    subject's centre (forward compositional: ``S <- S (I + d)``), over the template's pixels
    whose warped frame is inside the frame and has no channel within ``SATURATED`` of 0 or 1.
    Returns ``similarity`` where fewer than ``MIN_PIXELS`` pixels are left."""
    th, tw = mask.shape
    key = cv2.GaussianBlur(template, (0, 0), COLOUR_SIGMA).reshape(-1, 3).astype(np.float64)
    chroma = key - key @ np.array([[0.299], [0.587], [0.114]])  # BT.601 luma, as the analysis'
    frame = cv2.GaussianBlur(rgb, (0, 0), COLOUR_SIGMA)
    ones = np.ones(rgb.shape[:2], np.float32)
    ys, xs = np.mgrid[0:th, 0:tw].astype(np.float64)
    centre = box.mean(0)
    rim = max(0.5 * float(np.linalg.norm(box[1] - box[0])), 1.0)
    u = ((xs + crop[0, 2] - centre[0]) / rim).ravel()
    v = ((ys + crop[1, 2] - centre[1]) / rim).ravel()
    prior = np.array([1.0, 1.0, 1.0] + [0.0] * 8)
    ridge = np.diag([RIDGE] * 7 + [0.0] * 4)
    s = similarity
    for _ in range(COLOUR_ITERATIONS):
        warp = (s @ crop)[:2].astype(np.float32)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        warped = cv2.warpAffine(frame, warp, (tw, th), flags=flags).astype(np.float64)
        inside = cv2.warpAffine(ones, warp, (tw, th), flags=flags) > 0.999
        gy, gx = np.gradient(warped, axis=(0, 1))
        warped, gx, gy = warped.reshape(-1, 3), gx.reshape(-1, 3), gy.reshape(-1, 3)
        keep = (mask.ravel() & inside.ravel()
                & ((warped > SATURATED) & (warped < 1.0 - SATURATED)).all(1))
        n = int(keep.sum())
        if n < MIN_PIXELS:
            return similarity
        uk, vk = u[keep], v[keep]
        design = np.zeros((3, n, 11))
        for c in range(3):  # unknowns: g (3), b (3), s, d: shift x, y, scale, rotation
            jx, jy = gx[keep, c], gy[keep, c]
            design[c, :, c] = key[keep, c]
            design[c, :, 3 + c] = 1.0
            design[c, :, 6] = chroma[keep, c]
            design[c, :, 7:] = -np.stack([jx, jy, jx * uk + jy * vk, jy * uk - jx * vk], 1)
        design = design.reshape(3 * n, 11)
        target = warped[keep].T.reshape(-1)
        beta = np.linalg.solve(design.T @ design / n + ridge,
                               design.T @ target / n + ridge @ prior)
        dx, dy, ds, dr = beta[7:]
        a, b = ds / rim, dr / rim
        s = s @ np.array([[1 + a, -b, dx - a * centre[0] + b * centre[1]],
                          [b, 1 + a, dy - a * centre[1] - b * centre[0]], [0.0, 0.0, 1.0]])
        if max(abs(dx), abs(dy), abs(ds), abs(dr)) < COLOUR_STOP:
            break
    return s
