"""The streaming ``deflicker`` filter: a thin wrapper over :mod:`.motion` and :mod:`.correction`."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import numpy as np

from framemend._torch import device_type, torch
from framemend.chain import TemporalFilter, register
from framemend.chain.filter import PASS_SIDES
from framemend.chain.frames import Frame
from framemend.chain.repeats import DistinctFrames
from framemend.cuda import host_kernels
from framemend.flow import motion
from framemend.options.deflicker import DeflickerOptions

from . import _host
from .correction import (NEIGHBOUR_SHARES, apply_fields, correction_fields, neighbour_passes,
                         neighbour_steadied, neighbour_weight, step_structure,
                         structure_scaled, structure_weights, temporal_offset)
from .motion import (Step, adjacent_steps, analysis_factor, analysis_image, cell_means,
                     chain_steps, content_differences, downscale, local_structure_mismatch,
                     structure_mismatch, summed_area)


@register
class Deflicker(DistinctFrames, TemporalFilter):
    """Remove global and local flicker while keeping fades, lights switching on and scene cuts.

    Three stages run at once, each a frame apart: worker threads compute the analysis image of
    the newest frame and the flow steps from its predecessor (:func:`.motion.adjacent_steps`;
    on the CPU path as soon as the frame enters the window, :meth:`entered`), and the gain
    fields of the next frame (chained steps, :func:`.correction.temporal_offset`),
    while this thread applies the current frame's fields (OpenCV, numba and torch release the
    GIL). So the window reaches two frames further ahead than ``radius``; in ``offset`` mode,
    whose offsets are steadied by the targets of the frames up to ``len(NEIGHBOUR_SHARES)``
    before and after (:func:`.correction.neighbour_steadied`), that many more. Each frame's
    analysis image and each adjacent pair's steps are computed once and kept while in the
    window. On the CPU every stage runs in numpy, OpenCV and numba (:mod:`._host`, no torch)
    and a decoded frame's output is its corrected 8/16-bit pixels, rounded as the writer rounds.
    Frames repeated to fake a frame rate are left out of the window and given their
    original's output (:class:`framemend.chain.repeats.DistinctFrames`).
    """

    name = "deflicker"
    sides = PASS_SIDES
    fewest_frames = 2

    Options = DeflickerOptions

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        # global, local and auto fit each cell's line through the frames' means and correct a
        # frame to it: through two frames the line meets both (BENCHMARKS.md, sweep 12)
        self.fewest_frames = 2 if options.mode == "offset" else 3
        # offset mode: the fields of the frames up to `reach` ahead are needed first
        self._reach = len(NEIGHBOUR_SHARES) if options.mode == "offset" else 0
        self.past, self.future = options.radius, options.radius + 2 + self._reach
        # on the CPU the window keeps decoded 8/16-bit frames and each is made float only
        # while its analysis image or its output is computed (Frame.float_image): a window of
        # 2 * radius + 3 float frames would take 0.7 GB at 1920x1080
        self.reads_raw = device_type(self.device) == "cpu"
        # two workers: at the start of a shot a whole window of pairs is waiting
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="deflicker")
        self._small: dict[int, tuple[Frame, Future]] = {}   # analysis image per frame
        self._pairs: dict[tuple[int, int], Future] = {}     # (there, back) steps per pair
        self._fields: dict[int, Future] = {}                # (gain, offset, near) per frame
        self._previous: list[tuple[Frame, object]] = []     # offset mode: the last offsets

    def reset(self) -> None:
        self._small.clear()
        self._pairs.clear()
        self._fields.clear()
        self._previous.clear()

    def process(self, window: list[Frame], center: int) -> torch.Tensor | np.ndarray:
        frame = window[center]
        host = host_kernels(self.device)  # asked each frame: tests force the device path
        raw = frame.raw if host else None
        if raw is None:
            made = frame.raw is not None  # float_image then makes a new tensor, ours to change
            image = frame.float_image()
            h, w = image.shape[-2:]
        else:
            h, w = raw.shape[:2]
        factor, cell = self._grid(h, w)
        self._forget(window)
        self._submit(window, factor, cell, host)
        # this frame's fields if not started, and those of the next frame(s) it reads
        for c in range(center, center + 2 + self._reach):
            if c < len(window) and id(window[c]) not in self._fields:
                self._fields[id(window[c])] = self._workers.submit(
                    self._estimate, *self._inputs(window, c), cell, host)
        gain, offset, near = self._fields.pop(id(frame)).result()
        if near is not None:
            offset = self._steadied(window, center, offset, near, factor * cell, host)
        if raw is not None:
            out = _host.apply_fields(frame, gain, offset, self.options.strength)
        else:
            if host:  # a float frame on the CPU: torch is imported already
                gain, offset = torch.from_numpy(gain), torch.from_numpy(offset)
            out = apply_fields(image, gain, offset, self.options.strength, in_place=made)
        # from here on the frame is a past frame of the window, read only through its analysis
        # (kept in self._small): its pixels go now, not when it leaves the window (a 12-frame
        # past of 3840x2160 8-bit frames is 0.3 GB)
        frame.release_pixels()
        return out

    def _steadied(self, window: list[Frame], center: int, offset, near, cell_pixels: int,
                  host: bool):
        """Offset mode: ``offset`` of ``window[center]`` pulled towards the targets of the
        frames up to ``len(NEIGHBOUR_SHARES)`` before and after it in its shot
        (:func:`.correction.neighbour_steadied`). ``near``: the frame's cells' means, its
        trend (:func:`.correction.temporal_offset`) and, per direction (-1, 1), the (shift,
        weight, difference) of each of those frames (:meth:`_estimate`). The frames before are
        read with the offsets they had before their own steadying (kept in ``_previous``), the
        frames after from their fields."""
        current, trend, sides = near
        neighbours = []
        for k, (shift, weight, diff) in enumerate(sides.get(-1, ()), 1):
            if k <= len(self._previous) and self._previous[-k][0] is window[center - k]:
                neighbours.append((self._previous[-k][1], shift, weight, diff,
                                   NEIGHBOUR_SHARES[k - 1], -k))
        for k, (shift, weight, diff) in enumerate(sides.get(1, ()), 1):
            later = self._fields[id(window[center + k])].result()[1]
            neighbours.append((later, shift, weight, diff, NEIGHBOUR_SHARES[k - 1], k))
        self._previous = (self._previous + [(window[center], offset)])[-self._reach:]
        ops = _host if host else _reference
        return ops.neighbour_steadied(offset, current, trend, neighbours,
                                      neighbour_passes(cell_pixels))

    def entered(self, frame: Frame) -> None:
        """On the CPU path, start the new frame's analysis image and the steps from the frame
        before it at once, and the fields of the frame ``radius`` before it, whose window of
        frames compared is now whole: the workers compute them while the earlier passes fill
        the window (``radius + 2 + len(NEIGHBOUR_SHARES)`` frames ahead of the first output
        in offset mode, 17 by default), when the core the chain's thread leaves is otherwise
        idle, instead of all together once it is full. The fields are those :meth:`process`
        would start: the same frames (a window never holds two shots) and the same steps."""
        if not host_kernels(self.device) or frame.raw is None:
            return
        window = list(self._window)
        factor, cell = self._grid(*frame.raw.shape[:2])
        self._submit(window[-2:], factor, cell, True)
        c = len(window) - 1 - self.options.radius
        if c < self._next or id(window[c]) in self._fields:
            return
        read = window[max(0, c - self.options.radius):]
        if all(id(f) in self._small for f in read) and all(
                (id(a), id(b)) in self._pairs for a, b in zip(read, read[1:])):
            self._fields[id(window[c])] = self._workers.submit(
                self._estimate, *self._inputs(window, c), cell, True)

    def _grid(self, h: int, w: int) -> tuple[int, int]:
        """The analysis downscale factor of ``h`` x ``w`` frames and the cell side (analysis
        pixels) of their gain fields."""
        factor = analysis_factor(w, h)
        return factor, max(1, round(h / factor / self.options.rows))

    def _estimate(self, forward: list[Future], backward: list[Future], ahead: list[Future],
                  behind: list[Future], small: Future, cell: int, host: bool
                  ) -> tuple[torch.Tensor, torch.Tensor, tuple | None]:
        """Gain and offset fields ``(3, gh, gw)`` of a frame from the steps of its pairs ahead
        (``forward``, nearest first) and behind, the analyses of the frames ahead and behind
        (nearest first) and its own analysis: arrays on the CPU path (``host``), tensors
        elsewhere; in offset mode also what :meth:`_steadied` reads (else None)."""
        image, own = small.result()
        ops = _host if host else _reference
        current = ops.cell_means(image[:3], cell)
        covers, reaches, chains, later = [], [], [], []
        for direction, side, pairs, frames in ((1, 0, forward, ahead), (-1, 1, backward, behind)):
            if pairs:  # side: there, back
                shifts, cover = ops.chain_steps([pair.result()[side] for pair in pairs])
                later += [frame.result() for frame in frames]  # (image, table) each
                covers.append(cover)
                chains.append(shifts)
                reaches.append((direction, len(pairs)))
        diffs, scaled = [], None
        if chains:  # both sides in one call: the frame's own samples are taken once
            shifts = ops.concatenate(chains)
            colours = [(image[:3], table[:3]) for image, table in later]
            # the modes without a gate on size weigh the samples by the structure mismatch;
            # local mode's is mostly the flicker-invariant grey's, so that strong local flicker
            # (a gain varying inside a cell) does not read as changed content
            if self.options.mode == "local":
                diff, mismatch = ops.content_and_structure(later, (image, own), shifts, cell,
                                                           True)
            elif self.options.mode == "offset":
                diff, mismatch = ops.content_and_structure(colours, (image[:3], own[:3]),
                                                           shifts, cell)
            else:
                diff, mismatch = ops.content_differences([t for _, t in colours], own[:3],
                                                         shifts, cell), None
            if mismatch is not None:  # scaled once, for the weights and offset mode's steps
                scaled = ops.structure_scaled(mismatch)
            ends = np.cumsum([k for _, k in reaches])
            diffs = [diff[end - k:end] for (_, k), end in zip(reaches, ends)]
        gain, offset, trend = ops.window_fields(diffs, covers, reaches, current, self.options,
                                                scaled)
        if not self._reach:
            return gain, offset, None
        # offset mode: what neighbour_steadied reads of the nearest frames on each side
        sides, first = {}, 0
        for (direction, k), diff, cover, shifts in zip(reaches, diffs, covers, chains):
            sides[direction] = [(shifts[j], ops.neighbour_weight(cover[j], scaled[first + j]),
                                 diff[j]) for j in range(min(k, self._reach))]
            first += k
        return gain, offset, (current, trend, sides)

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

    def _submit(self, window: list[Frame], factor: int, cell: int, host: bool) -> None:
        """Start the analysis image of each new frame and the steps of each new adjacent pair
        (on the CPU path if ``host``)."""
        analysis = _host.analysis if host else partial(_analysis, device=self.device)
        for frame in window:
            if id(frame) not in self._small:
                frame.raw  # noqa: B018 - decoded here, so workers only read the frame
                small = self._workers.submit(analysis, frame, factor)
                self._small[id(frame)] = (frame, small)
        for a, b in zip(window, window[1:]):
            if (id(a), id(b)) not in self._pairs:
                self._pairs[id(a), id(b)] = self._workers.submit(
                    _pair_steps, self._small[id(a)][1], self._small[id(b)][1], cell, b, a.time,
                    host)

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
    """A frame's :func:`analysis_image` and its :func:`summed_area` table (colours and grey), on
    the device (the frame is made float only here: at the start of a shot a whole window waits its
    turn)."""
    small = analysis_image(downscale(frame.float_image().to(device), factor), 1)
    return small, summed_area(small)


def _pair_steps(a: Future, b: Future, cell: int, later: Frame, earlier_time: float, host: bool
                ) -> tuple[Step, Step]:
    """:func:`adjacent_steps` of two analysis images still being computed, along the flow
    between their frames that an earlier pass of the chain published for the ``later`` frame
    (:mod:`framemend.flow.motion`) if it did; ``host``: on the CPU path."""
    a, b = a.result()[0], b.result()[0]
    size = tuple(b.shape[-2:])
    steps = _host.adjacent_steps if host else adjacent_steps
    back = motion.to_previous(later, earlier_time, size)
    if back is None:
        return steps(a, b, cell)
    there = motion.from_previous(later, earlier_time, size)
    flows = np.ascontiguousarray(np.stack([there, back]).transpose(0, 3, 1, 2))
    return steps(a, b, cell, flows if host else torch.from_numpy(flows).to(a.device))


class _reference:
    """The device path's steps of :meth:`Deflicker._estimate`, on tensors (the CPU path's are
    :mod:`._host`)."""

    chain_steps = staticmethod(chain_steps)
    content_differences = staticmethod(content_differences)
    structure_scaled = staticmethod(structure_scaled)
    neighbour_weight = staticmethod(neighbour_weight)
    neighbour_steadied = staticmethod(neighbour_steadied)

    @staticmethod
    def concatenate(tensors: list[torch.Tensor]) -> torch.Tensor:
        """``torch.cat`` (looked up when called: the CPU path never imports torch)."""
        return torch.cat(tensors)

    @staticmethod
    def content_and_structure(analyses: list[tuple[torch.Tensor, torch.Tensor]],
                              own: tuple[torch.Tensor, torch.Tensor], shifts: torch.Tensor,
                              cell: int, grey: bool = False
                              ) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`content_differences` of the later frames' colours and
        :func:`structure_mismatch` of their colours, or :func:`local_structure_mismatch` if
        ``grey`` (local mode), from the summed-area tables of their analyses (image, table)
        and the frame's own."""
        tables, own = [table for _, table in analyses], own[1]
        diffs = content_differences([t[:3] for t in tables], own[:3], shifts, cell)
        if grey:
            return diffs, local_structure_mismatch(tables, own, shifts, cell)
        return diffs, structure_mismatch(tables, own, shifts, cell)

    @staticmethod
    def cell_means(image: torch.Tensor, cell: int) -> torch.Tensor:
        return cell_means(image[None], torch.ones_like(image[None, :1]), cell)[0][0]

    @staticmethod
    def window_fields(diffs: list[torch.Tensor], covers: list[torch.Tensor],
                      reaches: list[tuple[int, int]], current: torch.Tensor, options,
                      scaled: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:func:`temporal_offset` of the window's differences ``(k, C, gh, gw)`` per
        direction, ``reaches`` ``(direction, k)``, and :func:`correction_fields`; the covers
        weighted by :func:`structure_weights` of ``scaled`` ``(N, 1, gh, gw)``, the
        :func:`structure_scaled` mismatches in ``diffs``' order, if given (offset and local
        modes), which guard the step test too (:func:`step_structure`). Returns the gain and
        offset fields and :func:`temporal_offset`'s trend, ``(C, gh, gw)`` each."""
        if diffs:
            # made on the device: a list copied there would make this thread wait for it
            times = torch.cat([d * torch.arange(1, k + 1, device=current.device)
                               for d, k in reaches])
            cover = torch.cat(covers)
            if scaled is not None:
                cover = cover * structure_weights(scaled)
            correction, support, variance, trend = temporal_offset(
                torch.cat(diffs), cover, times, current, options.tolerance,
                step_structure(scaled, options.mode))
        else:
            correction, support = torch.zeros_like(current), torch.zeros_like(current[:1])
            variance = trend = torch.zeros_like(current)
        return (*correction_fields(correction, current, support, variance, options.mode),
                trend)
