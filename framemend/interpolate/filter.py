"""The streaming ``interpolate`` filter: a new frame rate by flow-based in-between frames."""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from ..chain.filter import PASS_SIDES, Filter
from ..chain.frames import Frame
from ..chain.palette import palette_limited
from ..chain.registry import register
from ..cuda import host_kernels
from ..kernels.heap import keep_heap_tops
from ..kernels.pools import shared_pool
from ..options.interpolate import InterpolateOptions
from ..video.rates import nominal_rate
from . import device as device_path
from .dither import keep_screen_dither
from .hold import still_gate_max
from .quadratic import accelerations
from .synthesis import (fill_hidden, flow_planes, frame_correlation, frame_luma,
                        hidden_pixels, intermediate_flows, pair_flows, warp_blend)
from .timing import factor_times, grid_times, span_fraction

_SAME_TIME = 1e-4  # fraction of an input interval under which an output time is the input's
_HELD = 3  # spans held back: two whose in-betweens are being made, one awaiting the next pair


@dataclass
class _Span:
    """The output frames planned over one input interval and the work that makes them."""

    plan: list[tuple[float, bool, Frame | None]]  # (time, cut, the frame repeated or None: made)
    pair: tuple | None = None  # (image0, image1, fractional times) when in-betweens are made
    flows: Future | None = None  # the pair's flows, image1's luma, hidden pixels: _pair_flows
    before: Future | None = None  # the flows of the pair ending at image0, same shot
    made: Future | None = None  # the in-betweens


@register
class Interpolate(Filter):
    """Raise (or change) the frame rate with motion-compensated in-between frames.

    Each pair of consecutive frames of one shot gets its in-between frames from bidirectional
    optical flow, softmax-splatted to the intermediate time with occlusion-aware blending of
    both neighbours (:mod:`.synthesis`). Output times (:mod:`.timing`): with ``factor=k``,
    ``k`` frames evenly spaced from each input frame to the next (the first is the input frame,
    unchanged); with ``fps=R`` (instead of ``factor``), every time ``n/R`` in the span of the
    input, the input's own frame where a grid time coincides with it. Times come from
    ``frame.time``, so variable frame intervals are honoured.

    Scene cuts: nothing is interpolated across a cut. The output times between the last frame
    of a shot and the cut repeat that last frame (a duplicate, never a blend of the two
    shots); the first output frame of the new shot carries the cut flag. The last frame of the
    stream is repeated in the same way over one more input interval, so the output lasts as
    long as the input and audio stays in sync. A frame whose timestamp repeats the next one's
    covers no time and is dropped.

    A frame repeated (one picture twice, as a GIF pads its frame rate) gives a pair without
    motion: its in-betweens are that picture, and the pairs beside it take no motion from it.

    Palette (GIF) input, recognised on the first frame by its colours, keeps its dither where
    it is on the screen rather than moving it with the content (:mod:`.dither`).

    Decoded uint8 frames on the CPU stay uint8: the in-betweens are warped and blended in
    uint8 and leave as raw pixels, and repeated input frames are passed on unconverted.

    Concurrency and memory: each pair's flows are estimated on a worker thread (two pairs at a
    time) as soon as its second frame arrives, and its in-betweens are made on another (two
    pairs at a time) once the next pair's flows are on their way (pixels hidden in one frame
    of a pair take their motion from the neighbouring pairs of the same shot,
    :func:`.synthesis.fill_hidden`);
    output frames therefore come three input frames late, and at most five input frames, the
    flows of four pairs and the in-betweens of two pairs are held.
    """

    name = "interpolate"
    sides = PASS_SIDES
    fewest_frames = 2
    preserves_geometry = False
    reads_raw = True

    Options = InterpolateOptions

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        self._rate = nominal_rate(options.fps) if options.fps is not None else None
        self._input_rate: Fraction | None = None
        self._prev: Frame | None = None
        self._prev_small = None  # the shrunk luma and RGB of _prev, once computed
        self._interval: float | None = None  # the latest input frame interval, seconds
        self._cut_pending = False
        self._spans: deque[_Span] = deque()
        self._last: _Span | None = None  # the newest span; its in-betweens await the next pair
        self._dither: bool | None = None  # palette input, once the first frame is seen
        keep_heap_tops()  # the in-betweens' temporaries would fault pages in afresh each pair

    def output_rate(self, rate: Fraction) -> Fraction:
        self._input_rate = rate
        return self._rate if self._rate is not None else rate * self.options.factor

    def notes(self) -> list[str]:
        """An output rate that is the input's: no frame was made."""
        if self._input_rate and self.output_rate(self._input_rate) == self._input_rate:
            given = "factor=1" if self._rate is None else f"fps={self.options.fps:g}"
            rate = float(self._input_rate)
            return [f"{given} keeps the input's rate ({rate:.6g} fps): no frame was made"]
        return []

    def push(self, frame: Frame) -> list[Frame]:
        if self._dither is None:
            self._dither = palette_limited(frame.raw if frame.raw is not None else frame.image)
        if self._prev is not None:
            self._span(self._prev, frame.time, None if frame.cut else frame)
            self._interval = frame.time - self._prev.time
        self._prev = frame
        return self._ready(_HELD)

    def flush(self) -> list[Frame]:
        if self._prev is None:
            return self._ready(0)
        prev, self._prev, self._prev_small = self._prev, None, None
        interval = self._interval
        if interval is None:
            interval = 1 / float(self._input_rate) if self._input_rate else 0.0
        if interval > 0:
            self._span(prev, prev.time + interval, None)
        else:
            self._spans.append(_Span([(prev.time, prev.cut or self._cut_pending, prev)]))
        self._start(self._last, None)
        self._last = None
        self._interval = None
        self._cut_pending = False
        self._dither = None
        return self._ready(0)

    def _ready(self, keep: int) -> list[Frame]:
        """The output frames of all spans but the ``keep`` latest, waiting for their synthesis."""
        out = []
        while len(self._spans) > keep:
            span = self._spans.popleft()
            made = iter(span.made.result()) if span.made is not None else iter(())
            for time, cut, source in span.plan:
                out.append(_repeat(source, time, cut) if source is not None else
                           _made(next(made), time, cut, self.device))
        return out

    def _times(self, start: float, end: float) -> list[float]:
        if self._rate is not None:
            return grid_times(start, end, self._rate)
        return factor_times(start, end, self.options.factor)

    def _span(self, first: Frame, end: float, second: Frame | None) -> None:
        """Plan the output frames in ``[first.time, end)``, start the flows of the pair, and
        the synthesis of the span before; in-betweens need ``second`` (same shot), without it
        ``first`` is repeated."""
        self._cut_pending |= first.cut
        small0, self._prev_small = self._prev_small, None
        length = end - first.time
        if length <= 0:  # a repeated or out-of-order timestamp: the next frame covers this time
            self._start(self._last, None)  # and the pairs on either side do not meet
            self._last = None
            return
        plan, new = [], []
        for s in self._times(first.time, end):
            fraction = span_fraction(s, first.time, length)
            made = second is not None and fraction > _SAME_TIME
            plan.append((s, self._cut_pending, None if made else first))
            self._cut_pending = False
            if made:
                new.append(fraction)
        span = _Span(plan)
        if new:
            image0, image1 = self._pixels(first), self._pixels(second)
            scale = self.options.flow_scale
            small1 = flow_planes(image1, scale)
            self._prev_small = small1
            span.pair = (image0, image1, new)
            known = image1 if isinstance(image1, np.ndarray) else None  # its luma, for
            span.flows = _executor("flows").submit(  # warp_blend here and in the next pair
                _pair_flows, image0, small0, small1, scale, known,
                self.options.warp == "bilinear")
        last, self._last = self._last, span
        if last is not None:
            span.before = last.flows
            self._start(last, span.flows)
        self._spans.append(span)

    def _start(self, span: _Span | None, after: Future | None) -> None:
        """Start making ``span``'s in-betweens, given the flows of the pair after it."""
        if span is not None and span.pair is not None and span.made is None:
            span.made = _executor("synthesis").submit(_synthesize, span.flows, span.before, after,
                                                      *span.pair, self.options.warp, self._dither)

    def _pixels(self, frame: Frame):
        """``frame``'s decoded uint8 ``(H, W, 3)`` pixels when it still has them and the run is
        on the CPU (the in-betweens are then made in uint8), else its image on the device."""
        raw = frame.raw
        if raw is not None and raw.dtype == np.uint8 and host_kernels(self.device):
            return raw
        return frame.image.to(self.device)


def _pair_flows(image0, small0, small1, flow_scale: float, image1=None,
                correlate: bool = False):
    """``(planes, flows, importance, known, hidden)`` of a pair
    (:func:`.synthesis.pair_flows`);
    ``small0`` is ``image0``'s shrunk luma and RGB (:func:`.synthesis.flow_planes`) if known;
    ``known``: ``(luma, correlation)`` of ``image1`` when given (uint8 pixels; the next pair
    reuses them), its :func:`.synthesis.frame_luma` and, if ``correlate`` (bilinear warps),
    its :func:`.synthesis.frame_correlation` (else None), or None; ``hidden``: the flows'
    :func:`.synthesis.hidden_pixels`, which the pair's synthesis and the two pairs beside it
    read. Runs on a worker thread; on the device path (:mod:`.device`) everything stays on the
    device, and ``hidden`` is None (each step checks the flows there)."""
    small0 = small0 if small0 is not None else flow_planes(image0, flow_scale)
    if not _host(image0):
        return (torch.cat([small0, small1]), *device_path.pair_flows(small0, small1), None, None)
    known = None
    if image1 is not None:
        luma1 = frame_luma(image1)
        known = luma1, frame_correlation(image1, luma1) if correlate else None
    flows, importance = pair_flows(small0, small1)
    return (torch.cat([small0, small1]).cpu(), flows, importance, known,
            hidden_pixels(flows.numpy()))


def _synthesize(flows: Future, before: Future | None, after: Future | None, image0, image1,
                times: list[float], warp: str, dither: bool):
    """The in-betweens at fractional ``times`` of a pair (:mod:`.synthesis`) from its
    ``flows`` and those of the pairs ``before`` and ``after`` it (futures of
    :func:`_pair_flows`), with a palette's dither kept on the screen if ``dither``
    (:mod:`.dither`); the in-betweens' motion follows the three frames' quadratic path
    (:mod:`.quadratic`), and a pair that holds a frame (:mod:`.hold`) lets the still blend
    take more. Runs on a worker thread."""
    planes, pair, importance, known1, hidden = flows.result()
    if _same_picture(image0, image1, planes):  # a frame repeated: nothing moves between the two
        return [image0] * len(times)
    neighbours = [None if other is None or _repeated(other.result()[0]) else other.result()
                  for other in (before, after)]
    around = [None if other is None else other[1] for other in neighbours]
    gate_max = still_gate_max(pair, *around, host=_host(image0))
    if _host(image0):  # each flow's check made once, by its pair's flows worker
        pair, importance = fill_hidden(planes, pair, importance, *around, hidden)
        checks = [None if other is None else other[4][1 - side:2 - side]
                  for side, other in enumerate(neighbours)]  # F0,-1's and F12's
        bend = accelerations(pair, *around, checks)
        flow_t, weight0 = intermediate_flows(pair, importance, times, bend)
    else:
        pair, importance = device_path.fill_hidden(planes, pair, importance, *around)
        flow_t, weight0 = device_path.intermediate_flows(pair, importance, times,
                                                         accelerations(pair, *around))
    known0 = None if before is None else before.result()[3]  # image0 was its image1
    lumas, correlations = zip(*(known or (None, None) for known in (known0, known1)))
    made = warp_blend(image0, image1, flow_t, weight0, times, warp, list(correlations),
                      gate_max, list(lumas))
    if dither:
        made = keep_screen_dither(image0, image1, made, flow_t, weight0, times, warp, gate_max)
    return made


def _repeated(planes: torch.Tensor) -> bool:
    """Whether a pair's two frames (``planes`` ``(2, 4, h, w)``, :func:`.synthesis.flow_planes`)
    are one picture: a frame repeated, as a GIF pads its frame rate. Such a pair shows no
    motion and is no sample of it: the pairs beside it neither fill hidden pixels from its
    flows nor bend their paths by them (:mod:`.quadratic`)."""
    return torch.equal(planes[0], planes[1])


def _same_picture(image0, image1, planes: torch.Tensor) -> bool:
    """Whether two frames (``(H, W, 3)`` uint8 arrays or ``(3, H, W)`` tensors) are equal;
    ``planes`` ``(2, 4, h, w)``: theirs (:func:`.synthesis.flow_planes`), compared first (equal
    frames have equal planes, and unequal planes answer most pairs without comparing the
    whole frames: 0.25 ms a pair at 640x360)."""
    if not torch.equal(planes[0], planes[1]):
        return False
    if isinstance(image0, np.ndarray):
        return np.array_equal(image0, image1)
    return torch.equal(image0, image1)


def _host(image) -> bool:
    """Whether a pair with ``image`` (``(H, W, 3)`` uint8 array or ``(3, H, W)`` tensor) takes
    the CPU path (:mod:`.synthesis`) rather than the device path (:mod:`.device`)."""
    return isinstance(image, np.ndarray) or host_kernels(image.device)


def _repeat(frame: Frame, time: float, cut: bool) -> Frame:
    """``frame``'s pixels at ``time``, still undecoded when they were."""
    if frame.raw is not None:
        return Frame(raw=frame.raw, raw_scale=frame.raw_scale, device=frame.device, time=time,
                     cut=cut)
    return Frame(frame.image, time, cut)


def _made(image, time: float, cut: bool, device) -> Frame:
    """A synthesized frame: a ``(3, H, W)`` tensor, or ``(H, W, 3)`` uint8 pixels kept raw."""
    if isinstance(image, np.ndarray):
        return Frame(raw=image, device=device, time=time, cut=cut)
    return Frame(image, time, cut)


def _executor(stage: str) -> ThreadPoolExecutor:
    """Workers of a ``stage`` (``flows``, ``synthesis``), two each: two pairs' flows at a time
    (a pair whose motion was lost spends most of its time in single-threaded searches), and
    the in-betweens of the two spans held back for them at a time (one worker made one pair's
    in-betweens after the other's, the CPU's longest path at 45 % of it). The synthesis
    workers wait on the flows workers, never the reverse (OpenCV, numba and torch release the
    GIL)."""
    return shared_pool(f"interp-{stage}", 2)
