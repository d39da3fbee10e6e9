"""The streaming ``deflicker`` filter: a thin wrapper over :mod:`.motion` and :mod:`.correction`."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from framemend.chain import TemporalFilter, register
from framemend.chain.filter import PASS_SIDES
from framemend.chain.frames import Frame
from framemend.chain.repeats import DistinctFrames
from framemend.cuda import host_kernels
from framemend.flow import motion
from framemend.options.deflicker import DeflickerOptions

from .correction import apply_fields, correction_fields, temporal_offset
from .motion import (Step, adjacent_steps, analysis_factor, analysis_image, cell_means,
                     chain_steps, content_differences, downscale, summed_area)


@register
class Deflicker(DistinctFrames, TemporalFilter):
    """Remove global and local flicker while keeping fades, lights switching on and scene cuts.

    Three stages run at once, each a frame apart: worker threads compute the analysis image of
    the newest frame and the flow steps from its predecessor (:func:`.motion.adjacent_steps`),
    and the gain fields of the next frame (chained steps, :func:`.correction.temporal_offset`),
    while this thread applies the current frame's fields (OpenCV, numba and torch release the
    GIL). So the window reaches two frames further ahead than ``radius``. Each frame's analysis
    image and each adjacent pair's steps are computed once and kept while in the window.
    Frames repeated to fake a frame rate are left out of the window and given their
    original's output (:class:`framemend.chain.repeats.DistinctFrames`).
    """

    name = "deflicker"
    sides = PASS_SIDES

    Options = DeflickerOptions

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        self.past, self.future = options.radius, options.radius + 2
        # on the CPU the window keeps decoded 8/16-bit frames and each is made float only
        # while its analysis image or its output is computed (Frame.float_image): a window of
        # 2 * radius + 3 float frames would take 0.7 GB at 1920x1080
        self.reads_raw = self.device.type == "cpu"
        # two workers: at the start of a shot a whole window of pairs is waiting
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="deflicker")
        self._small: dict[int, tuple[Frame, Future]] = {}   # analysis image per frame
        self._pairs: dict[tuple[int, int], Future] = {}     # (there, back) steps per pair
        self._fields: dict[int, Future] = {}                # (gain, offset) per frame

    def reset(self) -> None:
        self._small.clear()
        self._pairs.clear()
        self._fields.clear()

    def process(self, window: list[Frame], center: int) -> torch.Tensor:
        frame = window[center]
        made = frame.raw is not None  # float_image then makes a new tensor, ours to change
        image = frame.float_image()
        factor = analysis_factor(image.shape[-1])
        cell = max(1, round(image.shape[-2] / factor / self.options.rows))
        self._forget(window)
        self._submit(window, factor, cell)
        for c in (center, center + 1):  # this frame's fields if not started, the next frame's
            if c < len(window) and id(window[c]) not in self._fields:
                self._fields[id(window[c])] = self._workers.submit(
                    self._estimate, *self._inputs(window, c), cell)
        gain, offset = self._fields.pop(id(frame)).result()
        out = apply_fields(image, gain, offset, self.options.strength, in_place=made)
        # from here on the frame is a past frame of the window, read only through its analysis
        # (kept in self._small): its pixels go now, not when it leaves the window (a 12-frame
        # past of 3840x2160 8-bit frames is 0.3 GB)
        frame.release_pixels()
        return out

    def _estimate(self, forward: list[Future], backward: list[Future], ahead: list[Future],
                  behind: list[Future], small: Future, cell: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Gain and offset fields of a frame from the steps of its pairs ahead (``forward``,
        nearest first) and behind, the analyses of the frames ahead and behind (nearest first)
        and its own analysis."""
        image, own = small.result()
        current = cell_means(image[None, :3], torch.ones_like(image[None, :1]), cell)[0][0]
        diffs, covers, offsets = [], [], []
        for direction, side, pairs, frames in ((1, 0, forward, ahead), (-1, 1, backward, behind)):
            if pairs:  # side: there, back
                shifts, cover = chain_steps([pair.result()[side] for pair in pairs])
                tables = [frame.result()[1] for frame in frames]
                diffs.append(content_differences(tables, own, shifts, cell))
                covers.append(cover)
                # made on the device: a list copied there would make this thread wait for it
                offsets.append(direction * torch.arange(1, len(pairs) + 1,
                                                        device=current.device))
        if diffs:
            correction, support, variance = temporal_offset(
                torch.cat(diffs), torch.cat(covers),
                torch.cat(offsets), current, self.options.tolerance)
        else:
            correction, support = torch.zeros_like(current), torch.zeros_like(current[:1])
            variance = torch.zeros_like(current)
        return correction_fields(correction, current, support, variance, self.options.mode)

    def _inputs(self, window: list[Frame], c: int) -> tuple[list[Future], ...]:
        """What :meth:`_estimate` needs for ``window[c]``: its pairs within ``radius`` ahead and
        behind, the analyses of those frames, and its own analysis."""
        ids = [id(f) for f in window[max(0, c - self.options.radius):c + self.options.radius + 1]]
        c = ids.index(id(window[c]))
        forward = [self._pairs[a, b] for a, b in zip(ids[c:], ids[c + 1:])]
        backward = [self._pairs[a, b] for a, b in zip(ids[c - 1::-1], ids[c::-1])] if c else []
        ahead = [self._small[i][1] for i in ids[c + 1:]]
        behind = [self._small[i][1] for i in ids[c - 1::-1]] if c else []
        return forward, backward, ahead, behind, self._small[ids[c]][1]

    def _submit(self, window: list[Frame], factor: int, cell: int) -> None:
        """Start the analysis image of each new frame and the steps of each new adjacent pair."""
        for frame in window:
            if id(frame) not in self._small:
                frame.raw  # noqa: B018 - decoded here, so workers only read the frame
                small = self._workers.submit(_analysis, frame, factor, self.device)
                self._small[id(frame)] = (frame, small)
        for a, b in zip(window, window[1:]):
            if (id(a), id(b)) not in self._pairs:
                self._pairs[id(a), id(b)] = self._workers.submit(
                    _pair_steps, self._small[id(a)][1], self._small[id(b)][1], cell, b, a.time)

    def _forget(self, window: list[Frame]) -> None:
        """Drop what is cached for frames that left the window (entries hold their frame, so an
        ``id`` cannot be reused while it is cached)."""
        live = {id(f) for f in window}
        for key in [k for k in self._small if k not in live]:
            del self._small[key]
        for key in [k for k in self._pairs if k[0] not in live or k[1] not in live]:
            del self._pairs[key]


def _analysis(frame: Frame, factor: int, device: torch.device
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """A frame's :func:`analysis_image` and the :func:`summed_area` table of its colours (the
    frame is made float only here: at the start of a shot a whole window waits its turn)."""
    small = analysis_image(_downscaled(frame, factor, device), 1)
    return small, summed_area(small[:3])


def _downscaled(frame: Frame, factor: int, device: torch.device) -> torch.Tensor:
    """:func:`.motion.downscale` of the frame as floats ``(3, H // factor, W // factor)``. Raw
    pixels on the CPU whose size the factor divides are made float a band of rows at a time
    (the area average of a block reads only that block, so the result is the same): a whole
    float frame per worker would take 100 MB at 3840x2160."""
    h, w = frame.raw.shape[:2] if frame.raw is not None else frame.image.shape[-2:]
    if frame.raw is None or not host_kernels(device) or h % factor or w % factor:
        return downscale(frame.float_image().to(device), factor)
    band = factor * _BAND_BLOCKS
    return torch.cat([downscale(frame.float_image(slice(y, y + band)).to(device), factor)
                      for y in range(0, h, band)], dim=1)


_BAND_BLOCKS = 16  # rows of analysis blocks made float at a time


def _pair_steps(a: Future, b: Future, cell: int, later: Frame, earlier_time: float
                ) -> tuple[Step, Step]:
    """:func:`adjacent_steps` of two analysis images still being computed, along the flow
    between their frames that an earlier pass of the chain published for the ``later`` frame
    (:mod:`framemend.flow.motion`) if it did."""
    a, b = a.result()[0], b.result()[0]
    size = tuple(b.shape[-2:])
    back = motion.to_previous(later, earlier_time, size)
    if back is None:
        return adjacent_steps(a, b, cell)
    there = motion.from_previous(later, earlier_time, size)
    flows = torch.from_numpy(np.stack([there, back])).permute(0, 3, 1, 2).to(a.device)
    return adjacent_steps(a, b, cell, flows)
