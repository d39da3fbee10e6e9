"""The streaming ``deflicker`` filter: a thin wrapper over :mod:`.motion` and :mod:`.correction`."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import torch

from framemend.chain import TemporalFilter, option, register
from framemend.chain.frames import Frame

from .correction import apply_fields, correction_fields, temporal_offset
from .motion import Step, adjacent_steps, analysis_factor, analysis_image, cell_means, chain_steps


@register
class Deflicker(TemporalFilter):
    """Remove global and local flicker while keeping fades, lights switching on and scene cuts.

    The window reaches one frame further ahead than ``radius``: the analysis image of that frame
    and the flow to it (:func:`.motion.adjacent_steps`) are computed on worker threads while this
    thread corrects the current frame (OpenCV and torch release the GIL). Each frame's analysis
    image and each adjacent pair's steps are computed once and kept while in the window.
    """

    name = "deflicker"

    @dataclass
    class Options:
        mode: str = option("auto", "global: a gain and offset per channel; local: a smooth gain "
                           "field; auto: global, plus local gains where they clearly differ",
                           choices=("auto", "global", "local"))
        strength: float = option(1.0, "fraction of the correction applied", min=0.0, max=1.0)
        radius: int = option(12, "frames on each side compared with each frame", min=1, max=30)
        rows: int = option(24, "rows of the grid of cells the gain field is estimated on "
                           "(finer follows sharper flicker, coarser is steadier)", min=2, max=200)
        tolerance: float = option(0.5, "relative brightness difference from the window's "
                                  "median beyond which a neighbour counts as a real change",
                                  min=0.01, max=10.0)

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        self.past, self.future = options.radius, options.radius + 1
        # two workers: at the start of a shot a whole window of pairs is waiting
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="deflicker-flow")
        self._small: dict[int, tuple[Frame, Future]] = {}          # analysis image per frame
        self._pairs: dict[tuple[int, int], Future] = {}            # (there, back) per pair

    def reset(self) -> None:
        self._small.clear()
        self._pairs.clear()

    def process(self, window: list[Frame], center: int) -> torch.Tensor:
        frame = window[center]
        factor = analysis_factor(frame.image.shape[-1])
        cell = max(1, round(frame.image.shape[-2] / factor / self.options.rows))
        self._forget(window)
        self._submit(window, factor, cell)
        window = window[:center + self.options.radius + 1]  # the look-ahead frame is not used yet
        diffs, covers, offsets = [], [], []
        for direction in (1, -1):
            steps = [self._step(window, i, i + direction)
                     for i in range(center, len(window) - 1 if direction > 0 else 0, direction)]
            if steps:
                d, c = chain_steps(steps)
                diffs.append(d)
                covers.append(c)
                offsets += [direction * k for k in range(1, len(steps) + 1)]
        small = self._small[id(frame)][1].result()[:3]
        current = cell_means(small[None], torch.ones_like(small[None, :1]), cell)[0][0]
        if diffs:
            correction, support = temporal_offset(
                torch.cat(diffs), torch.cat(covers),
                torch.tensor(offsets, device=current.device), current, self.options.tolerance)
        else:
            correction, support = torch.zeros_like(current), torch.zeros_like(current[:1])
        gain, offset = correction_fields(correction, current, support, self.options.mode)
        return apply_fields(frame.image, gain, offset, self.options.strength)

    def _submit(self, window: list[Frame], factor: int, cell: int) -> None:
        """Start the analysis image of each new frame and the steps of each new adjacent pair."""
        for frame in window:
            if id(frame) not in self._small:
                small = self._workers.submit(analysis_image, frame.image.to(self.device), factor)
                self._small[id(frame)] = (frame, small)
        for a, b in zip(window, window[1:]):
            if (id(a), id(b)) not in self._pairs:
                self._pairs[id(a), id(b)] = self._workers.submit(
                    _pair_steps, self._small[id(a)][1], self._small[id(b)][1], cell)

    def _step(self, window: list[Frame], i: int, j: int) -> Step:
        """The :class:`Step` from ``window[i]`` to the adjacent ``window[j]``."""
        if i < j:
            return self._pairs[id(window[i]), id(window[j])].result()[0]
        return self._pairs[id(window[j]), id(window[i])].result()[1]

    def _forget(self, window: list[Frame]) -> None:
        """Drop what is cached for frames that left the window (entries hold their frame, so an
        ``id`` cannot be reused while it is cached)."""
        live = {id(f) for f in window}
        for key in [k for k in self._small if k not in live]:
            del self._small[key]
        for key in [k for k in self._pairs if k[0] not in live or k[1] not in live]:
            del self._pairs[key]


def _pair_steps(a: Future, b: Future, cell: int) -> tuple[Step, Step]:
    """:func:`adjacent_steps` of two analysis images still being computed."""
    return adjacent_steps(a.result(), b.result(), cell)
