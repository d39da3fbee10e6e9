"""The streaming ``interpolate`` filter: a new frame rate by flow-based in-between frames."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..chain.filter import Filter
from ..chain.frames import Frame
from ..chain.options import option
from ..chain.registry import register
from .synthesis import flow_luma, intermediate_flows, pair_flows, warp_blend
from .timing import factor_times, grid_times, nominal_rate

_SAME_TIME = 1e-4  # fraction of an input interval under which an output time is the input's


@register
class Interpolate(Filter):
    """Raise (or change) the frame rate with motion-compensated in-between frames.

    Each pair of consecutive frames of one shot gets its in-between frames from bidirectional
    optical flow, softmax-splatted to the intermediate time with occlusion-aware blending of
    both neighbours (:mod:`.synthesis`). Output times (:mod:`.timing`): with ``factor=k``,
    ``k`` frames evenly spaced from each input frame to the next (the first is the input frame,
    unchanged); with ``fps=R`` (wins over ``factor``), every time ``n/R`` in the span of the
    input, the input's own frame where a grid time coincides with it. Times come from
    ``frame.time``, so variable frame intervals are honoured.

    Scene cuts: nothing is interpolated across a cut. The output times between the last frame
    of a shot and the cut repeat that last frame (a duplicate, never a blend of the two
    shots); the first output frame of the new shot carries the cut flag. The last frame of the
    stream is repeated in the same way over one more input interval, so the output lasts as
    long as the input and audio stays in sync. A frame whose timestamp repeats the next one's
    covers no time and is dropped.

    Memory: one input frame is held.
    """

    name = "interpolate"
    preserves_geometry = False

    @dataclass
    class Options:
        factor: int = option(2, "output frames per input frame", min=1, max=32)
        fps: float | None = option(None, "output frame rate (wins over factor); 59.94 means "
                                   "60000/1001", min=1.0, max=1000.0)
        flow_scale: float = option(0.25, "optical flow is estimated at this fraction of the "
                                   "frame size", min=0.05, max=1.0)

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        self._rate = nominal_rate(options.fps) if options.fps is not None else None
        self._input_rate: Fraction | None = None
        self._prev: Frame | None = None
        self._prev_luma = None  # the shrunk luma of _prev, once computed
        self._interval: float | None = None  # the latest input frame interval, seconds
        self._cut_pending = False

    def output_rate(self, rate: Fraction) -> Fraction:
        self._input_rate = rate
        return self._rate if self._rate is not None else rate * self.options.factor

    def push(self, frame: Frame) -> list[Frame]:
        out: list[Frame] = []
        if self._prev is not None:
            out = self._span(self._prev, frame.time, None if frame.cut else frame)
            self._interval = frame.time - self._prev.time
        self._prev = frame
        return out

    def _in_between(self, first: Frame, second: Frame, times: list[float], luma0):
        """``(K, 3, H, W)`` frames at fractional ``times`` between ``first`` and ``second``;
        ``luma0`` is ``first``'s shrunk luma if already known; ``second``'s is kept."""
        image0, image1 = first.image.to(self.device), second.image.to(self.device)
        scale = self.options.flow_scale
        luma0 = luma0 if luma0 is not None else flow_luma(image0, scale)
        self._prev_luma = flow_luma(image1, scale)
        flows, importance = pair_flows(luma0, self._prev_luma)
        flow_t, weight0 = intermediate_flows(flows, importance, times)
        return warp_blend(image0, image1, flow_t, weight0)

    def flush(self) -> list[Frame]:
        if self._prev is None:
            return []
        prev, self._prev, self._prev_luma = self._prev, None, None
        interval = self._interval
        if interval is None:
            interval = 1 / float(self._input_rate) if self._input_rate else 0.0
        out = self._span(prev, prev.time + interval, None) if interval > 0 else \
            [self._copy(prev, prev.time)]
        self._interval = None
        self._cut_pending = False
        return out

    def _times(self, start: float, end: float) -> list[float]:
        if self._rate is not None:
            return grid_times(start, end, self._rate)
        return factor_times(start, end, self.options.factor)

    def _span(self, first: Frame, end: float, second: Frame | None) -> list[Frame]:
        """Output frames in ``[first.time, end)``; in-betweens need ``second`` (same shot),
        without it ``first`` is repeated."""
        self._cut_pending |= first.cut
        length = end - first.time
        if length <= 0:  # a repeated or out-of-order timestamp: the next frame covers this time
            return []
        times = self._times(first.time, end)
        fractions = [(s - first.time) / length for s in times]
        new = [i for i, f in enumerate(fractions) if f > _SAME_TIME]
        images = {}
        luma0, self._prev_luma = self._prev_luma, None
        if second is not None and new:
            made = self._in_between(first, second, [fractions[i] for i in new], luma0)
            images = dict(zip(new, made))
        out = []
        for i, s in enumerate(times):
            frame = Frame(images.get(i, first.image), s, self._cut_pending)
            self._cut_pending = False
            out.append(frame)
        return out

    def _copy(self, frame: Frame, time: float) -> Frame:
        copy = Frame(frame.image, time, frame.cut or self._cut_pending)
        self._cut_pending = False
        return copy
