"""The motion from each frame to the previous one, estimated once in a chain.

The first pass of a chain that follows the input's motion from each frame to the previous
distinct one (deboil, first in the default chain) publishes that flow in the frame's ``aux``
(:func:`publish`). The later passes that need the motion between the same two frames read it
instead of estimating it again: denoise's recursion (frame to previous: :func:`to_previous`),
its warm-up at a shot's start and its noise measure (previous to frame, the flow inverted:
:func:`from_previous`), deflicker's analysis steps (both directions, at its analysis size). A pass
alone in its chain finds nothing published and estimates its own flow, as before.

``aux`` travels only through passes that keep the geometry (:class:`framemend.chain.Filter`), and
an entry names the previous frame's time, so it is never read for another pair. Only the CPU
path publishes and reads it: on a device each pass's flow stays there.

Stored at a quarter of the frame's size in float16, sampled bilinearly (each stored value the
mean of the 2x2 pixels at the centre of its 4x4 block): DIS ultrafast (the motion preset,
:data:`.estimate.MOTION_QUALITY`) solves its finest level at a quarter of the size, so the stored
flow, upsampled again, is within 0.008 px of the estimate on average on CogVideo__1 (720x480,
99th percentile 0.07 px) and 0.012 px on the bedroom footage at 1280x720 (0.12 px); on a
synthetic zoom moving 18 px a frame, 0.2 px (float16 adds 0.0001). A 1920x1080 frame's flow
takes 0.5 MB instead of 16.6 while it rides through deflicker's window.
"""
from __future__ import annotations

import cv2
import numpy as np

from framemend.chain.frames import Frame

KEY = "motion"
STORED_SCALE = 4  # the stored flow's size is the frame's over this
INVERSE_ITERATIONS = 4  # converged: 3 and 12 round-trip alike on a synthetic zoom


def publish(frame: Frame, previous_time: float, flow: np.ndarray) -> None:
    """Publish ``flow`` ``(H, W, 2)`` float32 (pixels, x then y) from ``frame`` to the frame at
    ``previous_time``: ``frame(p) ≈ previous(p + flow(p))``."""
    h, w = flow.shape[:2]
    small = (max(1, w // STORED_SCALE), max(1, h // STORED_SCALE))
    stored = cv2.resize(flow, small, interpolation=cv2.INTER_LINEAR).astype(np.float16)
    frame.aux[KEY] = (previous_time, (h, w), stored)


def to_previous(frame: Frame, previous_time: float, size: tuple[int, int] | None = None
                ) -> np.ndarray | None:
    """The published flow from ``frame`` to the frame at ``previous_time``, ``(h, w, 2)``
    float32 at ``size`` ``(h, w)`` (default: the frame's) in pixels of that size; None if none
    was published for that pair."""
    stored = _stored(frame, previous_time)
    return None if stored is None else _resized(stored[1], stored[0], size)


def from_previous(frame: Frame, previous_time: float, size: tuple[int, int] | None = None
                  ) -> np.ndarray | None:
    """The flow the other way, from the frame at ``previous_time`` to ``frame``, as
    :func:`to_previous` gives it: the published flow inverted (:func:`inverse`)."""
    stored = _stored(frame, previous_time)
    if stored is None:
        return None
    full, small = stored
    return _resized(inverse(small, full[1] / small.shape[1], full[0] / small.shape[0]), full,
                    size)


def inverse(flow: np.ndarray, scale_x: float = 1.0, scale_y: float = 1.0) -> np.ndarray:
    """The inverse ``g`` of a flow ``f`` ``(h, w, 2)`` float32: ``g(p) = -f(p + g(p))``, found by
    fixed-point iteration (Chen et al., "A simple fixed-point approach to invert a deformation
    field", Medical Physics 2008), :data:`INVERSE_ITERATIONS` bilinear steps. The flow's values
    are in pixels of a grid ``scale_x``, ``scale_y`` times finer than its own (a stored flow's
    frame). Where content is covered or uncovered the inverse is not defined and the iteration
    gives some nearby motion, as an estimate would."""
    grid = np.array([1.0 / scale_x, 1.0 / scale_y], np.float32)
    step = flow * grid  # in the flow's own pixels
    back = -step
    for _ in range(INVERSE_ITERATIONS):
        back = -cv2.remap(step, back, None, cv2.INTER_LINEAR | cv2.WARP_RELATIVE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    return back / grid


def _stored(frame: Frame, previous_time: float) -> tuple[tuple[int, int], np.ndarray] | None:
    entry = frame.aux.get(KEY)
    if entry is None or entry[0] != previous_time:
        return None
    return entry[1], entry[2].astype(np.float32)


def _resized(flow: np.ndarray, full: tuple[int, int], size: tuple[int, int] | None
             ) -> np.ndarray:
    """A stored ``flow`` (values in pixels of the ``full`` size ``(H, W)``) at ``size`` ``(h, w)``
    in pixels of that size: bilinear up, area average down."""
    h, w = full if size is None else size
    small_h, small_w = flow.shape[:2]
    mode = cv2.INTER_LINEAR if w >= small_w else cv2.INTER_AREA
    out = cv2.resize(flow, (w, h), interpolation=mode)
    if (h, w) != tuple(full):
        out *= np.array([w / full[1], h / full[0]], np.float32)
    return out
