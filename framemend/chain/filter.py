"""The Filter contract every pass implements, and a helper base for windowed temporal filters.

Contract (VapourSynth-like, but push-driven so the engine can stream):

* ``name`` — the chain name (``deflicker``); ``Options`` — a dataclass made with
  :func:`framemend.chain.options.option`; the class docstring's first line is its summary.
* ``push(frame)`` takes frames in presentation order and returns the frames that are now
  complete (zero, one or several); ``flush()`` returns the rest at end of stream.
* A filter holds at most ``past + future`` frames (plus its own small state): memory is bounded
  by its window, never by the video's length.
* ``output_rate(rate)`` gives the nominal output frame rate for an input rate (a filter that
  changes the frame count says so here, before the first frame, so the writer knows).
* ``emit(frame)`` and ``emit_rest()`` are ``push`` and ``flush`` as iterators, which the
  engine uses: a filter that completes many frames at once (a windowed filter at a scene cut
  or at the end) makes each only when the next filter asks for it, so they do not all exist at
  once (:class:`TemporalFilter` does this; by default they iterate ``push``'s and
  ``flush``'s lists).
* ``frame.cut`` marks the first frame of a new shot: a temporal filter must not use frames from
  before a cut for frames after it (:class:`TemporalFilter` does this for you).
* ``reads_pixels`` — False only for filters that pass frames on untouched; when no filter in
  a chain reads pixels the engine never converts decoded frames to tensors (nor looks for
  scene cuts, which only a filter that reads pixels can act on).
* ``reads_raw`` — True for filters that read the decoded uint8 pixels (``frame.raw``)
  themselves; otherwise the engine converts frames to tensors in its decode thread, ahead of
  the first filter that reads pixels.
* ``reads_yuv`` — True for filters that read and write the planes of a decoded planar YUV
  picture themselves (``frame.yuv``, with ``frame.yuv_matrix``), returning a new picture of the
  same format (``frame.replace(picture)``) that the writer encodes as it is: when the first
  filter that reads pixels says so, the engine hands it such pictures unconverted (any other
  frame as ``reads_raw`` says); a filter later in the chain gets what the one before it made.
* ``preserves_geometry`` — True when output pixels stay where they were (tone, noise); then
  ``frame.aux`` (cached flow, say) is carried to the next filter, else it is dropped.
* ``sides`` — the fewest and the most pixels on a side of the frames the filter takes, or None
  for any size; ``framemend clean`` and the API refuse other sizes with a one-line reason.
* ``fewest_frames`` — the fewest input frames the filter changes anything in: 2 for a
  filter that works from what changes between frames (flicker, boiling, motion, drift), more
  for a mode that fits a trend through each frame's neighbours (a line through two frames
  passes through both); the engine says so once a shorter stream ends, and names the shots
  (between scene cuts) of a longer one that are shorter, which the filter left as they are.
* ``display_rotation`` — the input's display rotation in degrees counter-clockwise (a phone's
  portrait video is stored on its side, 90 or 270), set by the file pipeline before the first
  frame; frames come as stored, and a filter that looks for what a viewer sees (a face) turns
  its picture by it first, and reads a position the user gives (a ``box``) as shown
  (:func:`framemend.stabilize.face.stored_box`). 0 for frames in memory.
* ``notes()`` — at the end of the stream, what the user should know of the run that the
  output does not show: an option that changed nothing on this input (a keyframe past the
  clip's end, no face found). The engine passes each on as a warning (``framemend: warning:``
  in the CLI, a ``UserWarning`` in Python, the batch report's warnings).
* A :class:`TemporalFilter` implements ``process(window, center)``; its ``entered(frame)`` is
  called as each frame joins the window, where work may start in worker threads before the
  window is full (deflicker's analysis, denoise's noise estimate).
"""
from __future__ import annotations

import abc
from collections import deque
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar, Iterator

import numpy as np

from .frames import Frame

if TYPE_CHECKING:
    import torch


# The frame sizes the built-in pixel passes take (measured per pass): the noise estimates and
# realign's texture measure read 3x3 neighbourhoods; every pass ran on 3x3, 3x5, 8x200, 200x8,
# 64x2048, 2048x64 and 256x4096 frames once optical flow grew the images OpenCV's DIS crashed on
# (flow.estimate.DIS_LEAST_SIDE); 8K ran in-process but its memory over a long clip was not
# measured (BENCHMARKS.md, "Frame sizes").
PASS_SIDES = (3, 4096)


class Filter(abc.ABC):
    """Base of all streaming filters; see the module docstring for the contract."""

    name: ClassVar[str]
    Options: ClassVar[type]
    preserves_geometry: ClassVar[bool] = True
    reads_pixels: ClassVar[bool] = True  # False for passthrough filters: frames stay undecoded
    reads_raw: ClassVar[bool] = False  # True if it takes frame.raw (uint8) rather than tensors
    reads_yuv: ClassVar[bool] = False  # True if it takes frame.yuv, the decoded YUV planes
    sides: ClassVar[tuple[int, int] | None] = None  # (fewest, most) pixels on a side; None: any
    fewest_frames: int = 1  # the fewest input frames it changes anything in (its mode's)
    display_rotation: int = 0  # the input's, degrees counter-clockwise (module docstring)

    def __init__(self, options, device: torch.device | str = "cpu"):
        self.options = options
        self.device = device  # what torch takes: framemend._torch.device_type tells which

    def output_rate(self, rate: Fraction) -> Fraction:
        return rate

    @abc.abstractmethod
    def push(self, frame: Frame) -> list[Frame]:
        """Take the next input frame; return the output frames that are now complete."""

    def flush(self) -> list[Frame]:
        """End of stream: return every output frame still held."""
        return []

    def emit(self, frame: Frame) -> Iterator[Frame]:
        """:meth:`push` as an iterator (see the module docstring)."""
        yield from self.push(frame)

    def notes(self) -> list[str]:
        """After :meth:`flush`: what the run did not do that the user asked for (see the
        module docstring), each a sentence without the filter's name."""
        return []

    def emit_rest(self) -> Iterator[Frame]:
        """:meth:`flush` as an iterator (see the module docstring)."""
        yield from self.flush()


class TemporalFilter(Filter):
    """A filter that computes each output frame from a window of input frames of the same shot.

    Subclasses set ``self.past`` and ``self.future`` (frames of context) in ``__init__`` and
    implement :meth:`process`; :meth:`reset` clears any recursive state and is called at each
    scene cut. Output frames keep the input's time and cut flag.
    """

    past: int = 0
    future: int = 0

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        self._window: deque[Frame] = deque()
        self._next = 0  # index in _window of the next frame to emit

    @abc.abstractmethod
    def process(self, window: list[Frame], center: int) -> torch.Tensor | np.ndarray:
        """Return the output image ``(C, H, W)`` for ``window[center]`` (or, for a filter that
        ``reads_raw``, raw ``(H, W, 3)`` pixels on the input frame's ``raw_scale``).

        ``window`` holds up to ``past`` frames before and ``future`` frames after the centre,
        fewer at the start or end of a shot. Frames are input frames (never outputs).
        """

    def reset(self) -> None:
        """Forget recursive state; called at a scene cut and at end of stream."""

    def entered(self, frame: Frame) -> None:
        """``frame`` has joined the window (after the frames of an earlier shot left it), before
        any output is made from it: a filter may start work on it here, in worker threads,
        while the window fills (deflicker's analysis)."""

    def push(self, frame: Frame) -> list[Frame]:
        return list(self.emit(frame))

    def flush(self) -> list[Frame]:
        return list(self.emit_rest())

    def emit(self, frame: Frame) -> Iterator[Frame]:
        if frame.cut and self._window:
            yield from self._drain()
        self._window.append(frame)
        self.entered(frame)
        while len(self._window) - 1 - self._next >= self.future:
            yield self._emit()

    def emit_rest(self) -> Iterator[Frame]:
        return self._drain()

    def _emit(self) -> Frame:
        i = self._next
        lo = max(0, i - self.past)
        window = list(self._window)[lo:i + 1 + self.future]
        frame = self._window[i]
        image = self.process(window, i - lo)
        self._next += 1
        while self._next > self.past:
            self._window.popleft()
            self._next -= 1
        return frame.replace(image, keep_aux=self.preserves_geometry)

    def _drain(self) -> Iterator[Frame]:
        while self._next < len(self._window):
            yield self._emit()
        self._window.clear()
        self._next = 0
        self.reset()
