"""Video stabilization: estimate the camera (or subject) path, smooth or lock it, warp onto it.

Reference: the classic 2D pipeline (Matsushita et al., "Full-frame video stabilization", PAMI
2006; Grundmann et al., "Auto-directed video stabilization with robust L1 optimal camera paths",
CVPR 2011 for the crop-constrained view): robust frame-to-frame similarities from tracked
features (:mod:`.motion`; on the device path from the torch flow: :mod:`.device`), a smoothed
path with a bounded look-ahead (:mod:`.path`), and a crop/zoom that grows only as far as needed
and never past ``max_zoom`` — beyond it the correction is reduced, so no frame shows a black
edge.

Streaming: the filter holds at most ``2 * radius + 1`` frames (``radius`` ahead for the path
smoothing, ``radius`` more so the zoom can ramp in before a frame needs it) and per-frame 3x3
matrices for that window. On the CPU it takes the decoded pictures themselves where they are
planar YUV (``Frame.yuv``, :attr:`Filter.reads_yuv`): the analysis luma is made from their
planes (:func:`.motion.analysis_luma_yuv`) and the warp writes a new picture of the same format
(:func:`.warp.warp_yuv`, chroma warped in its own samples) that the writer encodes as it is: no
colour conversion on the way in or out. Other decoded frames come as uint8/uint16 pixels
(``Frame.raw``), kept so. Either way the window holds a quarter of the memory of float frames
or less (an eighth: 4:2:0 pictures), and no float image is made. A scene cut starts a new
path. Each output frame
carries in ``aux`` ``stabilize_warp`` (3, 3), the map from its pixels to the input frame's pixels,
and ``stabilize_zoom``, the crop zoom used (the frame area kept is ``1 / zoom**2``): numbers on the
CPU path; on the device path (:mod:`.device`) float64 tensors on the device, where the motion, the
path and the crop are computed.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from .._torch import torch
from ..chain.apply import apply_filter
from ..chain.filter import PASS_SIDES, Filter
from ..chain.frames import Frame
from ..chain.registry import register
from ..cuda import host_kernels
from .face import box_mask, check_box, detect_face, stored_box
from .motion import (CameraTracker, analysis_luma, analysis_luma_raw, analysis_luma_yuv,
                     corner_shift, subject_and_camera_motion)
from ..options.stabilize import StabilizeOptions
from . import path as host_path
from .path import frame_centre
from .warp import warp_affine, warp_raw, warp_yuv

def _device_path():
    """:mod:`.device`, imported on first use: it brings the torch flow and, through
    :mod:`framemend.flow`, numba (0.19 s of start-up) that the CPU path does not use."""
    from . import device

    return device


@register
class Stabilize(Filter):
    """Remove camera shake: smooth the camera path, lock it (tripod), or keep a subject still."""

    name = "stabilize"
    sides = PASS_SIDES
    fewest_frames = 2
    preserves_geometry = False

    Options = StabilizeOptions

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        check_box(self.name, options.box)
        # the smooth path is a local line through the path (.path.regression_weights): through
        # two frames it meets both
        self.fewest_frames = 3 if options.mode == "smooth" else 2
        # the engine hands over decoded frames: YUV pictures as they are, others as pixels
        self.reads_raw = self.reads_yuv = host_kernels(self.device)
        self._sigma = options.radius / 2.0
        self._slope = (options.max_zoom - 1.0) / options.radius
        # mode subject: the shots of 2 frames or more, and those where no step found the
        # subject moving apart from the camera (so none was corrected)
        self._subject_shots = self._subject_lost = 0
        self._held = ""  # what the shot's subject is: the box, a face or the picture
        self._lost_held = ""  # what it was in the last shot where it was not found
        self._start_shot()

    def _start_shot(self) -> None:
        self._pending: deque[Frame] = deque()  # frames not yet emitted; first is index _emit
        self._emit = 0            # shot index of the next frame to emit
        self._count = 0           # frames of this shot seen so far
        self._hw = (0, 0)         # the frames' height and width, read on the shot's first
        self._path: dict[int, np.ndarray] = {}
        self._correction: dict[int, np.ndarray] = {}
        self._smooth: dict[int, np.ndarray] = {}
        self._need: dict[int, float] = {}
        self._zoom: float | None = None
        self._luma: np.ndarray | None = None
        self._box: np.ndarray | None = None  # subject box corners (2, 2) in full-size pixels
        self._first_centre: np.ndarray | None = None
        self._last_motion = np.eye(3)
        self._found = False  # mode subject: whether a step found the subject (on the device
        # path a bool tensor there, read once the shot ends)
        # mode subject: the camera's path from the shot's first frame (analysis pixels), and
        # whether it ever moved a corner by a pixel or more (the features' own threshold): in
        # a shot that never moved (a still clip) there was nothing to correct, and a subject
        # not found is not said (was: the "found nothing" note where lock and smooth say none)
        self._camera_path = np.eye(3)
        self._moved = False
        self._camera = CameraTracker()
        self._device = False  # the device path (.device), decided on the shot's first frame
        # (the device path keeps _box, _last_motion and the path as tensors there)

    def notes(self) -> list[str]:
        """``max_zoom=1``: no crop to hide a correction's border in, so none was made. Mode
        subject: shots where nothing in the subject's box (the given one, a face, or else the
        whole picture) moved apart from the camera's motion: its features were all dropped as
        the camera's, the subject's path stayed still and nothing was corrected (a shaken
        texture; BENCHMARKS.md, sweep 13); not where the camera never moved a corner of the
        picture by a pixel either (a still clip: nothing to correct, as lock and smooth find)."""
        if self.options.max_zoom <= 1.0:
            return ["max_zoom=1 allows no crop, and no frame is given a black border: nothing "
                    "was corrected (max_zoom=1.08, the default, keeps 85 % of the frame)"]
        if not self._subject_lost:
            return []
        lost, shots = self._subject_lost, self._subject_shots
        said = (": nothing was corrected" if shots == 1 else
                f" in {lost} of {shots} shots: {'that shot was' if lost == 1 else 'those were'} "
                "not corrected")
        return [f"mode=subject found nothing in {self._lost_held} that moves apart from the "
                f"camera{said} (mode=lock holds the whole picture still; box= names the subject)"]

    def push(self, frame: Frame) -> list[Frame]:
        out = self._drain() if frame.cut and self._count else []
        if not self._takes_planes(frame) and frame.raw is None:
            frame = frame.replace(frame.image.contiguous())  # one layout for analysis and warp
        self._observe(frame)
        while self._count - 1 - self._emit >= 2 * self.options.radius:
            out.append(self._emit_next())
        return out

    def flush(self) -> list[Frame]:
        return self._drain()

    def _takes_planes(self, frame: Frame) -> bool:
        """Whether ``frame`` is a decoded YUV picture this filter reads and warps as planes."""
        return self.reads_yuv and frame.yuv is not None

    def _drain(self) -> list[Frame]:
        out = [self._emit_next() for _ in range(len(self._pending))]
        if self.options.mode == "subject" and self._count > 1:
            self._subject_shots += 1
            found, moved = self._found, self._moved  # bools, or on the device path tensors
            if bool(moved and not found if isinstance(found, bool) else moved & ~found):
                self._subject_lost += 1
                self._lost_held = self._held
        self._start_shot()
        return out

    def _observe(self, frame: Frame) -> None:
        """Track ``frame`` against the previous one and extend the path."""
        t = self._count
        yuv = frame.yuv if self._takes_planes(frame) else None
        raw = None if yuv is not None else frame.raw
        if t == 0:  # asked each shot: tests force the device path
            decoded = yuv is not None or raw is not None
            self._device = not host_kernels(frame.device if decoded else frame.image.device)
            self._hw = ((yuv.height, yuv.width) if yuv is not None
                        else raw.shape[:2] if raw is not None else tuple(frame.image.shape[-2:]))
        if self._device:
            self._observe_on_device(frame)
            return
        if yuv is not None:
            luma, scale = analysis_luma_yuv(yuv, frame.yuv_matrix)
        elif raw is not None:
            luma, scale = analysis_luma_raw(raw, frame.raw_scale)
        else:
            luma, scale = analysis_luma(frame.image)
        if t == 0:
            self._camera.step(luma, scale)
            self._path[0] = np.eye(3)
            if self.options.mode == "subject":
                self._box = self._first_box(luma, scale)
                self._first_centre = self._box.mean(0)
        else:
            if self._box is None:
                m = self._camera.step(luma, scale)
                if m is None:
                    m = np.eye(3)  # nothing reliable to track: assume no motion
                self._path[t] = self._path[t - 1] @ np.linalg.inv(m)
            else:  # the subject's path: its centre, relative to where it was in the first frame
                m, camera = subject_and_camera_motion(
                    self._luma, luma, box_mask((self._box / scale).ravel(), *luma.shape), scale)
                if camera is not None:
                    self._camera_path = camera @ self._camera_path
                    self._moved = self._moved or corner_shift(self._camera_path,
                                                              *luma.shape[::-1]) >= 1.0
                if m is None:  # hidden for a moment: it keeps its last motion
                    m = self._last_motion
                else:
                    self._found = True
                self._last_motion = m
                self._box = _move_box(self._box, m)
                self._path[t] = _translation(self._first_centre - self._box.mean(0))
        self._luma = luma
        self._pending.append(frame)
        self._count += 1

    def _observe_on_device(self, frame: Frame) -> None:
        """:meth:`_observe` on the device path (:mod:`.device`): the path a tensor there; the
        subject's box (mode subject) found on the host once a shot, then moved on the
        device."""
        device_path = _device_path()
        luma, scale = device_path.analysis_luma(frame.image)
        t, eye = self._count, torch.eye(3, dtype=torch.float64, device=luma.device)
        if t == 0:
            self._path[0] = eye
            if self.options.mode == "subject":
                box = self._first_box(*analysis_luma(frame.image))
                self._first_centre = box.mean(0)
                self._box = torch.as_tensor(box, device=luma.device)
                self._last_motion = self._camera_path = eye
        elif self._box is None:
            self._path[t] = self._path[t - 1] @ device_path.inverse(
                device_path.camera_motion(self._luma, luma, scale))
        else:  # the subject's path, as on the CPU path
            m, usable, camera = device_path.subject_fit(self._luma, luma, self._box, scale)
            m = torch.where(usable, m, self._last_motion)  # device_path.subject_motion
            self._found = usable | self._found
            self._camera_path = camera @ self._camera_path
            self._moved = (device_path.corner_shift(self._camera_path, *luma.shape[:-3:-1])
                           >= 1.0) | self._moved
            self._last_motion = m
            self._box = self._box @ m[:2, :2].T + m[:2, 2]
            shift = torch.stack([float(c) - v for c, v in
                                 zip(self._first_centre, self._box.mean(0).unbind())])
            self._path[t] = torch.cat([torch.cat([eye[:2, :2], shift[:, None]], 1), eye[2:]])
        self._luma = luma
        self._pending.append(frame)
        self._count += 1

    def _first_box(self, luma: np.ndarray, scale: float) -> np.ndarray:
        self._held = "the box" if self.options.box is not None else "the face it found"
        if self.options.box is not None:  # given as the picture is shown
            box = stored_box(self.options.box, self.display_rotation, *self._hw[::-1])
        else:
            found = detect_face(luma, self.display_rotation)
            if found is None:  # no face: hold the whole picture still
                h, w = luma.shape
                found = (0.0, 0.0, float(w), float(h))
                self._held = "the picture (no face found, no box given)"
            box = tuple(v * scale for v in found)
        return np.array(box, np.float64).reshape(2, 2)

    def _correction_at(self, t: int) -> np.ndarray:
        """``W_t`` for the mode; also fills the smooth-path correction and the zoom it needs."""
        if t not in self._correction:
            lo = max(0, t - self.options.radius)
            hi = min(self._count - 1, t + self.options.radius)
            ops = self._ops
            self._smooth[t] = ops.smooth_correction([self._path[j] for j in range(lo, hi + 1)],
                                                    t - lo, self._sigma)
            if self.options.mode == "smooth":
                self._correction[t] = self._smooth[t]
            else:  # lock / subject: back to the shot's first frame
                inverse = _device_path().inverse if self._device else np.linalg.inv
                self._correction[t] = inverse(self._path[t])
            h, w = self._hw
            self._need[t] = ops.required_zoom(self._correction[t], w, h, self._zoom_centre(w, h))
        return self._correction[t]

    @property
    def _ops(self):
        """The path's functions: :mod:`.path` on arrays, or their twins in :mod:`.device`."""
        return _device_path() if self._device else host_path

    def _zoom_centre(self, w: int, h: int) -> np.ndarray:
        """Zoom about the frame centre, or about the subject so that zooming does not move it."""
        if self._first_centre is None:
            return frame_centre(w, h)
        return np.clip(self._first_centre, 0, [w - 1, h - 1])

    def _emit_next(self) -> Frame:
        t = self._emit
        h, w = self._hw
        ahead = range(t, min(self._count, t + self.options.radius + 1))
        for j in ahead:
            self._correction_at(j)
        frame = self._pending.popleft()
        ops = self._ops
        self._zoom = ops.next_zoom(self._zoom, [self._need[j] for j in ahead],
                                   self.options.max_zoom, self._slope)
        # What the crop cannot hide is given up: a lock falls back towards the smooth path,
        # the smooth path towards the input.
        centre = self._zoom_centre(w, h)
        smooth = ops.fit_inside(self._smooth[t], self._zoom, w, h, centre)
        corrected = ops.fit_inside(self._correction[t], self._zoom, w, h, centre, toward=smooth)
        warp = corrected @ ops.zoom_about(self._zoom, centre)
        if self._takes_planes(frame):  # the device path's frames are tensors by now
            image = warp_yuv(frame.yuv, warp)
        elif frame.raw is not None and not self._device:
            image = warp_raw(frame.raw, warp)
        else:
            image = warp_affine(frame.image[None], warp[None])[0]
        for store in (self._path, self._correction, self._smooth, self._need):
            store.pop(t - self.options.radius, None)
        self._emit += 1
        out = frame.replace(image, keep_aux=False)
        out.aux["stabilize_warp"] = warp
        out.aux["stabilize_zoom"] = self._zoom
        return out


def _move_box(box: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Corners (2, 2) moved by the similarity ``m`` (3, 3)."""
    return box @ m[:2, :2].T + m[:2, 2]


def _translation(shift: np.ndarray) -> np.ndarray:
    return np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]], [0.0, 0.0, 1.0]])


def stabilize(frames: torch.Tensor, fps: float = 24.0, cuts: list[int] | None = None,
              device: str | torch.device | None = None, **options) -> torch.Tensor:
    """Stabilize ``frames`` ``(T, 3, H, W)`` float RGB in [0, 1]; same shape out.

    Options as :class:`Stabilize` (``mode``, ``radius``, ``max_zoom``, ``box``); ``cuts`` are the
    indices of frames that start a new shot.
    """
    return apply_filter("stabilize", frames, fps, cuts=cuts, device=device, **options)
