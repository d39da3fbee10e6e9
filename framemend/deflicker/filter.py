"""The streaming ``deflicker`` filter: a thin wrapper over :mod:`.motion` and :mod:`.correction`."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from framemend.chain import TemporalFilter, option, register
from framemend.chain.frames import Frame

from .correction import apply_fields, correction_fields, temporal_offset
from .motion import Step, adjacent_steps, analysis_factor, analysis_image, cell_means, chain_steps


@register
class Deflicker(TemporalFilter):
    """Remove global and local flicker while keeping fades, lights switching on and scene cuts."""

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
        self.past = self.future = options.radius
        self._small: dict[int, tuple[Frame, torch.Tensor]] = {}
        self._steps: dict[tuple[int, int], Step] = {}

    def reset(self) -> None:
        self._small.clear()
        self._steps.clear()

    def process(self, window: list[Frame], center: int) -> torch.Tensor:
        frame = window[center]
        factor = analysis_factor(frame.image.shape[-1])
        cell = max(1, round(frame.image.shape[-2] / factor / self.options.rows))
        self._forget(window)
        diffs, covers, offsets = [], [], []
        for direction in (1, -1):
            steps = [self._step(window, i, i + direction, factor, cell)
                     for i in range(center, len(window) - 1 if direction > 0 else 0, direction)]
            if steps:
                d, c = chain_steps(steps)
                diffs.append(d)
                covers.append(c)
                offsets += [direction * k for k in range(1, len(steps) + 1)]
        small = self._analysis(frame, factor)[:3]
        current = cell_means(small[None], torch.ones_like(small[None, :1]), cell)[0][0]
        if diffs:
            correction, support = temporal_offset(
                torch.cat(diffs), torch.cat(covers),
                torch.tensor(offsets, device=current.device), current, self.options.tolerance)
        else:
            correction, support = torch.zeros_like(current), torch.zeros_like(current[:1])
        gain, offset = correction_fields(correction, current, support, self.options.mode)
        return apply_fields(frame.image, gain, offset, self.options.strength)

    def _analysis(self, frame: Frame, factor: int) -> torch.Tensor:
        key = id(frame)
        if key not in self._small:
            self._small[key] = (frame, analysis_image(frame.image.to(self.device), factor))
        return self._small[key][1]

    def _step(self, window: list[Frame], i: int, j: int, factor: int, cell: int) -> Step:
        """The :class:`Step` from ``window[i]`` to the adjacent ``window[j]`` (computed once per pair)."""
        key = (id(window[i]), id(window[j]))
        if key not in self._steps:
            there, back = adjacent_steps(self._analysis(window[i], factor),
                                         self._analysis(window[j], factor), cell)
            self._steps[key] = there
            self._steps[(key[1], key[0])] = back
        return self._steps[key]

    def _forget(self, window: list[Frame]) -> None:
        """Drop what is cached for frames that left the window (entries hold their frame, so an
        ``id`` cannot be reused while it is cached)."""
        live = {id(f) for f in window}
        for key in [k for k in self._small if k not in live]:
            del self._small[key]
        for key in [k for k in self._steps if k[0] not in live or k[1] not in live]:
            del self._steps[key]
