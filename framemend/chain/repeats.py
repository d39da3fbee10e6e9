"""Frames repeated to fake a frame rate: temporal filters work on the distinct frames only.

Generators that save GIFs often repeat frames to reach a nominal rate (Open-Sora's 40-frame
GIF holds 32 distinct pictures, every fifth frame a copy of the one before). A temporal filter
fed the copies sees a pause in the motion: a recursion counts the same picture twice (so it
trusts it more, and its noise or boiling is averaged with itself), and a window holds fewer
distinct neighbours. :class:`DistinctFrames`, mixed into a temporal filter, passes it only
the first of each run of equal frames and gives each copy the output of its original, with
the copy's own time and cut flag: the output has the input's frame count and timestamps.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from framemend._torch import device_type, torch

from .frames import Frame

# a frame repeats the previous one when at most this fraction of its values differ from it
# by more than REPEAT_LEVELS (8-bit levels): exact copies (GIF) and copies that went through a
# lossy encoder (a few values off by a level or two) count; a small object moving does not
REPEAT_FRACTION = 1e-3
REPEAT_LEVELS = 2
# ... and when no channel's mean differs by more than REPEAT_MEAN_LEVELS: a lossy copy's
# errors cancel over the frame (0.005 levels at most on Open-Sora's GIF through x264, CRF 18 and
# 28, and MJPEG), a fade or an exposure drift moves every value the same way (0.3 % a frame:
# 0.36 levels on a mean of 120, no value more than 1 level off), so it is no copy however slow
REPEAT_MEAN_LEVELS = 0.1


def same_picture(a: Frame, b: Frame) -> bool:
    """Whether frame ``a`` repeats frame ``b`` (see :data:`REPEAT_FRACTION`), judged on their
    decoded pixels (``Frame.raw``, what the CPU path reads). Frames already made tensors (the
    output of a filter working in floats, whose copies of repeats are exact) are repeats when
    equal, on the CPU only: on a device the comparison would wait for it every frame. A change
    of the mean colour (:data:`REPEAT_MEAN_LEVELS`) is a change of light, never a copy."""
    ra, rb = a.raw, b.raw
    if ra is None and rb is None:
        return (device_type(a.device) == device_type(b.device) == "cpu"
                and torch.equal(a.image, b.image))
    if ra is None or rb is None or ra.shape != rb.shape:
        return False
    if ra.dtype == rb.dtype and a.raw_scale == b.raw_scale:
        # in integer levels: a float copy of each frame would take 4 (8-bit) or 2 (16-bit)
        # times its memory (50 MB at 1920x1080)
        return (not _more_differ(ra, rb, math.floor(REPEAT_LEVELS * a.raw_scale / 255),
                                 REPEAT_FRACTION * ra.size)
                and _same_mean(ra, a.raw_scale, rb, b.raw_scale))
    if ra.dtype == rb.dtype and np.array_equal(ra, rb):
        return True
    diff = np.abs(ra.astype(np.float32) / a.raw_scale - rb.astype(np.float32) / b.raw_scale)
    return (np.count_nonzero(diff > REPEAT_LEVELS / 255) <= REPEAT_FRACTION * diff.size
            and _same_mean(ra, a.raw_scale, rb, b.raw_scale))


def _same_mean(a: np.ndarray, a_scale: float, b: np.ndarray, b_scale: float) -> bool:
    """Whether the mean of each channel of the pixels ``a`` and ``b`` ``(H, W, C)`` (values up
    to ``a_scale`` and ``b_scale``, C <= 4) differs by at most :data:`REPEAT_MEAN_LEVELS` 8-bit
    levels. Run only on frames that passed the per-value test: 0.12 ms of CPU at 720x480 (9 ms
    for numpy's mean in float64)."""
    shift = np.divide(cv2.mean(a), a_scale) - np.divide(cv2.mean(b), b_scale)
    return bool(np.abs(shift).max() * 255 <= REPEAT_MEAN_LEVELS)


_BAND_ROWS = 64  # rows compared at a time


def _more_differ(a: np.ndarray, b: np.ndarray, levels: int, most: float) -> bool:
    """Whether more than ``most`` values of the integer pixels ``a`` and ``b`` ``(H, W, 3)``
    differ by more than ``levels``, counted a band of rows at a time: the differences of whole
    frames (two arrays of a frame's size, each pass every frame) left holes in the heap that
    later blocks split. The count stops at the band that passes ``most``: two distinct frames
    (most pairs) are told apart on their first band (720x480: 0.02 ms of CPU against 0.3 ms for
    the eight bands of a frame; the default chain's three passes compare every frame)."""
    count = 0
    for y in range(0, a.shape[0], _BAND_ROWS):
        count += np.count_nonzero(cv2.absdiff(a[y:y + _BAND_ROWS], b[y:y + _BAND_ROWS]) > levels)
        if count > most:
            return True
    return False


def _copy(output: Frame, repeat: Frame) -> Frame:
    """``output``'s pixels at ``repeat``'s time and cut flag."""
    pixels = output.raw.copy() if output.raw is not None else output.image.clone()
    copy = repeat.replace(pixels, keep_aux=False)
    copy.raw_scale = output.raw_scale
    return copy


class DistinctFrames:
    """Mixin for a :class:`framemend.chain.TemporalFilter` (list it first among the bases):
    the filter sees only the first frame of each run of repeated frames, and each repeat is
    given its original's output (module docstring). Each output is held until the next
    distinct frame (or the end) shows that no more repeats of it follow: one frame of latency.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._groups: deque[list[Frame]] = deque()  # [distinct frame, its repeats...]
        self._ready: deque[Frame] = deque()  # outputs whose group may still grow

    # the engine drives filters through emit / emit_rest (push / flush are lists of them), so
    # the repeats are caught there
    def emit(self, frame: Frame) -> Iterator[Frame]:
        # the last group is that of the last distinct frame: it is only given out at the end
        if self._groups and not frame.cut and same_picture(frame, self._groups[-1][0]):
            self._groups[-1].append(frame)
            return
        self._groups.append([frame])
        yield from self._release(super().emit(frame), final=False)

    def emit_rest(self) -> Iterator[Frame]:
        yield from self._release(super().emit_rest(), final=True)

    def _release(self, outputs: Iterable[Frame], final: bool) -> Iterator[Frame]:
        """Pair the filter's ``outputs`` (one per distinct frame, in order) with their
        groups; give out each group whose run of repeats is known to be over."""
        for output in outputs:
            self._ready.append(output)
            yield from self._ready_groups(final)
        yield from self._ready_groups(final)

    def _ready_groups(self, final: bool) -> Iterator[Frame]:
        while self._ready and (final or len(self._groups) > 1):
            output, group = self._ready.popleft(), self._groups.popleft()
            yield output
            yield from (_copy(output, repeat) for repeat in group[1:])
