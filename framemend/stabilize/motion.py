"""Frame-to-frame motion from sparse tracked features.

Shi-Tomasi corners (Shi & Tomasi, "Good Features to Track", CVPR 1994) tracked with pyramidal
Lucas-Kanade (Bouguet 2000), then a 4-DOF similarity fitted robustly with RANSAC
(``cv2.estimateAffinePartial2D``), which rejects independently moving subjects as outliers.
Motion is estimated on 8-bit luma at most ``ANALYSIS_WIDTH`` pixels wide and returned in the
pixel coordinates of the full-size frame.
"""
from __future__ import annotations

import cv2
import numpy as np

from framemend._torch import torch
from framemend.kernels.buffers import frame_array
from framemend.kernels.colour import luma, luma_u8, luma_u8_planes
from framemend.video.colour import ycbcr_to_rgb_matrix
from framemend.video.planes import full_range, planar_yuv_bits, plane, sample_type

#: Frames wider than this are analysed at reduced size (the transform is rescaled).
ANALYSIS_WIDTH = 320
_MAX_CORNERS = 200
_MIN_INLIERS = 8
_GRID = 2  # cells a side of the grid over which the tracker spreads its corners
_CONTRAST_BOX = 15  # analysis pixels: the box of the local contrast LK tracks on
_INLIER_PX = 1.0  # analysis pixels: RANSAC's threshold, and how closely a point follows a motion
_DENSE_STEP = 4  # analysis pixels between the dense flow's samples that judge two layers
_DENSE_LEAST_SIDE = 32  # OpenCV's DIS fails on smaller frames (framemend.flow.estimate)
_CAMERA_AREA = 0.75  # the share of the dense flow a layer must carry to take the camera over


def analysis_luma(image: torch.Tensor) -> tuple[np.ndarray, float]:
    """``(3, H, W)`` float RGB in [0, 1] -> (uint8 luma at most ``ANALYSIS_WIDTH`` wide, scale).

    Luma has BT.601 weights; ``scale`` is full-size pixels per analysis pixel (1.0 when not
    reduced).
    """
    scale, size = _analysis_size(*image.shape[-2:])
    if image.device.type == "cpu" and image.dtype == torch.float32:
        planes = image.contiguous().numpy()
        if scale > 1.0:  # reduce first: the weighted sum then runs on fewer pixels
            planes = [cv2.resize(p, size, interpolation=cv2.INTER_AREA) for p in planes]
        return luma_u8_planes(*planes), scale
    y = luma(image[None])
    if scale > 1.0:
        y = torch.nn.functional.interpolate(y, size=size[::-1], mode="area")
    return luma_u8(y)[0], scale


def analysis_luma_raw(raw: np.ndarray, raw_scale: float) -> tuple[np.ndarray, float]:
    """:func:`analysis_luma` of a frame's decoded ``(H, W, 3)`` uint8/uint16 pixels (``Frame.raw``)
    without making its float image: the same values (the division by ``raw_scale`` as
    ``Frame.float_image`` does it, then the same reduction), so the same motion."""
    scale, size = _analysis_size(*raw.shape[:2])
    rgb = frame_array(raw.shape)  # pooled: no page faults for a new 11 MB array a frame
    np.copyto(rgb, raw)
    np.divide(rgb, np.float32(raw_scale), out=rgb)
    if scale > 1.0:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return luma_u8_planes(*cv2.split(rgb)), scale


def analysis_luma_yuv(picture, matrix: str) -> tuple[np.ndarray, float]:
    """:func:`analysis_luma_raw` of a decoded planar YUV picture (``Frame.yuv``, ``av.VideoFrame``
    ``H x W``) read from its planes, without making its RGB at full size: Y, Cb and Cr are each
    reduced to the analysis size (area average; a plane smaller than that, chroma of a small
    frame, is enlarged bilinearly, as the reader does), made RGB there with the YCbCr
    ``matrix`` (:func:`framemend.video.colour.ycbcr_to_rgb_matrix`), clipped to [0, 1] as the
    reader's integer RGB is, and weighted as :func:`analysis_luma`. Differs from the RGB path
    by that path's rounding of RGB to integers (within a level) and where clipping varies
    inside one analysis pixel (tests/test_stabilize_yuv.py)."""
    scale, size = _analysis_size(picture.height, picture.width)
    dtype = sample_type(picture)
    planes = []
    for index in range(3):
        values = plane(picture, index, dtype).astype(np.float32)
        if values.shape != size[::-1]:
            shrink = values.shape[0] >= size[1] and values.shape[1] >= size[0]
            values = cv2.resize(values, size,
                                interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        planes.append(values)
    to_rgb = ycbcr_to_rgb_matrix(matrix, full_range(picture), planar_yuv_bits(picture.format),
                                 1.0)
    rgb = cv2.transform(cv2.merge(planes), to_rgb)
    return luma_u8_planes(*cv2.split(np.clip(rgb, 0.0, 1.0, out=rgb))), scale


def _analysis_size(h: int, w: int) -> tuple[float, tuple[int, int]]:
    """Full-size pixels per analysis pixel, and the analysis size ``(w, h)``."""
    scale = max(1.0, w / ANALYSIS_WIDTH)
    return scale, (round(w / scale), round(h / scale))


def _track(prev: np.ndarray, cur: np.ndarray, mask: np.ndarray | None
           ) -> tuple[np.ndarray, np.ndarray] | None:
    """Corners of ``prev`` (inside ``mask``) and where they are in ``cur``: two (N, 1, 2)
    arrays; None with fewer than ``_MIN_INLIERS``."""
    pts = _corners(prev, mask)
    if pts is None or len(pts) < _MIN_INLIERS:
        return None
    nxt, ok = _lucas_kanade(prev, cur, pts)
    return (pts[ok], nxt[ok]) if ok.sum() >= _MIN_INLIERS else None


def _corners(luma: np.ndarray, mask: np.ndarray | None = None,
             most: int = _MAX_CORNERS) -> np.ndarray | None:
    """Shi-Tomasi corners (N, 1, 2) of ``luma`` (inside ``mask``), the ``most`` strongest (0:
    every one above the quality floor), strongest first."""
    return cv2.goodFeaturesToTrack(luma, most, 0.01, 7, mask=mask, blockSize=7)


def _spread_corners(luma: np.ndarray) -> np.ndarray | None:
    """Shi-Tomasi corners (N, 1, 2) of ``luma`` above :func:`_corners`'s quality floor, at most
    ``_MAX_CORNERS / _GRID**2`` in each cell of a ``_GRID`` x ``_GRID`` grid over the frame
    (the strongest of each), so that each part of the picture has its say in which layer is
    the camera: on a forward follow-cam the 200 strongest corners lay on the ground's gravel
    near the camera, whose expansion RANSAC then read as the camera's zoom, or on the followed
    subject, whose bounce it read as shake (BENCHMARKS.md, stop 45's stabfc2)."""
    pts = _corners(luma, most=0)
    if pts is None:
        return None
    h, w = luma.shape
    xy = pts.reshape(-1, 2)
    cell = (np.minimum(xy[:, 1] * _GRID // h, _GRID - 1) * _GRID
            + np.minimum(xy[:, 0] * _GRID // w, _GRID - 1)).astype(np.int64)
    order = np.argsort(cell, kind="stable")  # by cell, strongest first within each
    first = np.searchsorted(cell[order], cell[order])
    rank = np.empty(len(cell), np.int64)
    rank[order] = np.arange(len(cell)) - first
    return pts[rank < -(-_MAX_CORNERS // _GRID ** 2)]


def _lucas_kanade(prev: np.ndarray, cur: np.ndarray, pts: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Where the points ``pts`` (N, 1, 2) of ``prev`` are in ``cur`` (pyramidal Lucas-Kanade):
    (N, 1, 2), and an (N,) bool mask of those found."""
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None, winSize=(21, 21), maxLevel=3)
    return nxt, status.ravel() == 1


def _contrast(luma: np.ndarray) -> np.ndarray:
    """``luma`` (uint8) as its local contrast: minus the mean and over the spread of a
    ``_CONTRAST_BOX`` box, as uint8 around 128, so that a change of light (a lamp switching
    on) does not read as motion to Lucas-Kanade's brightness constancy."""
    y = luma.astype(np.float32)
    mean = cv2.blur(y, (_CONTRAST_BOX, _CONTRAST_BOX))
    y -= mean
    spread = cv2.sqrt(np.maximum(cv2.blur(y * y, (_CONTRAST_BOX, _CONTRAST_BOX)), 0.0))
    return np.clip(128.0 + 48.0 * y / (spread + 4.0), 0, 255).astype(np.uint8)


def _fit(src: np.ndarray, dst: np.ndarray, inliers_out: list | None = None
         ) -> np.ndarray | None:
    """Similarity (3, 3) with ``dst ≈ M src``, RANSAC; None without enough inliers.
    ``inliers_out``, if given, receives the inlier mask."""
    if len(src) < _MIN_INLIERS:
        return None
    m, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                             ransacReprojThreshold=_INLIER_PX, maxIters=500,
                                             confidence=0.995, refineIters=10)
    if m is None or inliers.sum() < _MIN_INLIERS:
        return None
    if inliers_out is not None:
        inliers_out.append(inliers.ravel() == 1)
    return np.vstack([m, [0.0, 0.0, 1.0]])


def _to_full(m: np.ndarray | None, scale: float) -> np.ndarray | None:
    if m is None or scale == 1.0:
        return m
    s = np.diag([scale, scale, 1.0])
    return s @ m @ np.linalg.inv(s)


def similarity_motion(prev: np.ndarray, cur: np.ndarray, scale: float = 1.0,
                      mask: np.ndarray | None = None) -> np.ndarray | None:
    """The similarity ``M`` (3, 3) with ``cur(M p) ≈ prev(p)``: where each pixel of ``prev`` went.

    Args:
        prev, cur: ``(h, w)`` uint8 luma from :func:`analysis_luma`.
        scale: full-size pixels per analysis pixel; ``M`` is returned in full-size pixels.
        mask: optional ``(h, w)`` uint8, non-zero where features may be taken in ``prev``.
    Returns:
        ``M`` as float64 (3, 3), or None when too few features agree (flat or occluded frame).
    """
    tracked = _track(prev, cur, mask)
    return None if tracked is None else _to_full(_fit(*tracked), scale)


def subject_motion(prev: np.ndarray, cur: np.ndarray, mask: np.ndarray,
                   scale: float = 1.0) -> np.ndarray | None:
    """Like :func:`similarity_motion` for the subject inside ``mask``, ignoring what moves with
    the camera there (the background behind it, or something static passing in front of it).

    The camera's similarity is fitted on the whole frame; features in ``mask`` that follow it
    within 1 px are dropped and the subject's similarity is fitted to the rest. When nothing in
    the mask moves differently (a still subject, or one hidden behind something), None.
    """
    return subject_and_camera_motion(prev, cur, mask, scale)[0]


def subject_and_camera_motion(prev: np.ndarray, cur: np.ndarray, mask: np.ndarray,
                              scale: float = 1.0) -> tuple[np.ndarray | None, np.ndarray | None]:
    """:func:`subject_motion` and the camera's similarity it was told from, in analysis pixels
    (None where too few features agree)."""
    camera = similarity_motion(prev, cur, 1.0)
    tracked = _track(prev, cur, mask)
    if tracked is None:
        return None, camera
    src, dst = tracked
    if camera is not None:
        predicted = src @ camera[:2, :2].T + camera[:2, 2]
        own = np.linalg.norm(dst - predicted, axis=-1).ravel() > 1.0
        src, dst = src[own], dst[own]
    return _to_full(_fit(src, dst), scale), camera


def corner_shift(m: np.ndarray, w: int, h: int) -> float:
    """The farthest the similarity ``m`` (3, 3) moves a corner of a ``w`` x ``h`` frame along
    x or y, in pixels."""
    corners = np.array([[0.0, 0.0], [w - 1.0, 0.0], [0.0, h - 1.0], [w - 1.0, h - 1.0]])
    return float(np.abs(corners @ m[:2, :2].T + m[:2, 2] - corners).max())


class CameraTracker:
    """:func:`similarity_motion` over a stream, carrying the inlier features from frame to frame
    (Kanade-Lucas-Tomasi tracking) and detecting corners again only when fewer than half of
    ``_MAX_CORNERS`` survive. The features are tracked on the frames' local contrast
    (:func:`_contrast`): a change of light is no motion of the camera (realign's registration,
    tuned on the plain luma and refined in colour after it, keeps tracking that).

    Which layer of the picture is the camera is carried by the features themselves: those
    tracked since before the latest detection (the seniors) give the camera's motion, and any
    other feature is kept only where it follows that motion within ``_INLIER_PX``
    (:meth:`_camera`); at the next detection every feature kept becomes a senior. RANSAC's
    largest set decides only where no senior gives a fit (a shot's start, or all of them lost).
    Corners gather on strong texture: where a textured subject moves in jerks over a ground
    that boils (a generated toy ship on its carpet), the ground's features are lost fast, the
    subject's are found again at each detection, and the largest set took the subject's jerks
    for the camera's at some detections and the ground's stillness at others, so a clip that
    barely shook came out shakier; and a subject standing still at a detection would join the
    camera's features and outvote them when it moves on.

    Where the features that do not follow the seniors' motion make a layer of their own (a
    RANSAC fit) that three quarters of the frame follow, that layer becomes the camera's
    (:meth:`_judged`): a subject the camera follows keeps its corners while the background's
    leave the picture, so the seniors can drift onto it (a follow-cam behind a car) and the
    camera would then carry the subject's own bounce."""

    def __init__(self):
        self._prev: np.ndarray | None = None
        self._pts: np.ndarray | None = None     # (N, 1, 2) features carried to the next step
        self._senior: np.ndarray | None = None  # (N,) bool: tracked since before a detection
        self._contrasts: tuple[np.ndarray, np.ndarray] | None = None  # the step's two frames
        self._dis = None

    def step(self, luma: np.ndarray, scale: float) -> np.ndarray | None:
        """Motion (3, 3) from the previous frame to ``luma`` as in :func:`similarity_motion`;
        None on the first frame or when too few features agree."""
        prev, self._prev = self._prev, luma
        if prev is None:
            return None
        pts, senior = self._pts, self._senior
        self._pts = self._senior = None
        detected = pts is None or len(pts) < _MAX_CORNERS // 2
        if detected:  # what is carried becomes senior; the fresh corners join as juniors
            fresh = _spread_corners(prev)
            parts = [p for p in (pts, fresh) if p is not None]
            if not parts:
                return None
            senior = np.arange(sum(map(len, parts))) < (0 if pts is None else len(pts))
            pts = np.concatenate(parts).astype(np.float32)
        if len(pts) < _MIN_INLIERS:
            return None
        self._contrasts = (_contrast(prev), _contrast(luma))
        nxt, ok = _lucas_kanade(*self._contrasts, pts)
        if ok.sum() < _MIN_INLIERS:
            return None
        return _to_full(self._camera(pts[ok], nxt[ok], senior[ok], detected), scale)

    def _camera(self, src: np.ndarray, dst: np.ndarray, senior: np.ndarray, detected: bool
                ) -> np.ndarray | None:
        """The similarity (3, 3, analysis pixels) of the tracked features ``src`` -> ``dst``
        (N, 1, 2) fitted to the ``senior`` ones (N,) and then to every feature that follows
        that fit, which are carried on; where the seniors give no fit, RANSAC over all, its
        inliers carried on as seniors unless corners were ``detected`` at this step. Where the
        features left over fit a similarity of their own that most of the frame follows
        (:meth:`_judged`), that one, its inliers carried on as the seniors."""
        camera = _fit(src[senior], dst[senior])
        if camera is None:
            inliers: list = []
            m = _fit(src, dst, inliers_out=inliers)
            if m is not None:
                self._pts = dst[inliers[0]]
                self._senior = np.full(len(self._pts), not detected)
            return m
        follows = _follows(camera, src, dst)
        m = _fit(src[follows], dst[follows])
        m = camera if m is None else m
        inliers: list = []
        other = _fit(src[~follows], dst[~follows], inliers_out=inliers)
        if other is not None and self._judged(other, m):
            self._pts = dst[~follows][inliers[0]]
            self._senior = np.ones(len(self._pts), bool)
            return other
        self._pts, self._senior = dst[follows], senior[follows]
        return m

    def _judged(self, other: np.ndarray, camera: np.ndarray) -> bool:
        """Whether ``_CAMERA_AREA`` or more of a dense DIS flow (Kroeger et al., "Fast optical
        flow using dense inverse search", ECCV 2016) between the step's contrast images,
        sampled every ``_DENSE_STEP`` pixels, follows the similarity ``other`` (3, 3) within
        ``_INLIER_PX``, and more of it than follows ``camera``: a layer covering most of the
        frame is the camera's. Generated clips' layers boil, stretch and recede, and there the
        dense flow followed a layer of the left-over features by 0.58 of the frame at most:
        taking it whenever it covered more than the seniors' made those clips shakier."""
        if min(self._contrasts[0].shape) < _DENSE_LEAST_SIDE:
            return False
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        flow = self._dis.calc(*self._contrasts, None)
        h, w = flow.shape[:2]
        ys, xs = np.mgrid[4:h - 4:_DENSE_STEP, 4:w - 4:_DENSE_STEP]
        grid = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)[:, None]
        moved = grid + flow[ys.ravel(), xs.ravel()][:, None]
        area = _follows(other, grid, moved).mean()
        return area >= _CAMERA_AREA and area > _follows(camera, grid, moved).mean()


def _follows(m: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(N,) bool: the points ``src`` (N, 1, 2) that the similarity ``m`` (3, 3) takes to within
    ``_INLIER_PX`` of ``dst``."""
    predicted = src.reshape(-1, 2) @ m[:2, :2].T + m[:2, 2]
    return np.linalg.norm(dst.reshape(-1, 2) - predicted, axis=1) < _INLIER_PX
