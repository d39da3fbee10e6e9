"""The streaming ``denoise`` filter: a thin wrapper over :mod:`.recursive`, :mod:`.spatial` and
:mod:`.noise`."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from framemend.chain import TemporalFilter, option, register
from framemend.chain.frames import Frame

from .noise import declip, declip_table, estimate_sigma
from .recursive import motion_flow, recursive_step
from .spatial import local_wiener


@register
class Denoise(TemporalFilter):
    """Motion-compensated recursive temporal denoise with a light spatial stage, no ghosts.

    Per frame: one optical flow (DIS ultrafast) from the frame to the previous
    output, a Kalman-like update along it (:mod:`.recursive`: the gain rises where the warped
    estimate disagrees with the frame beyond the noise, so occlusions, fast objects and flow
    failures fall back to the frame instead of ghosting), then a local Wiener filter for the
    noise time leaves (:mod:`.spatial`, strength from each pixel's remaining variance) and the
    clipped-noise bias correction (:mod:`.noise`). At the start of a shot the recursion first
    runs backwards over ``lookahead`` frames so the first frames are denoised as well as later
    ones. Memory: ``lookahead`` frames plus one estimate; nothing crosses a scene cut.
    """

    name = "denoise"

    @dataclass
    class Options:
        sigma: float | None = option(None, "noise standard deviation in 8-bit units "
                                     "(20 = 20/255); auto: white noise estimated at the start "
                                     "of each shot (give it for boiling texture: about its "
                                     "frame-to-frame RMS change)",
                                     min=0.0, max=100.0)
        memory: int = option(8, "frames averaged at most along the motion (a longer memory "
                             "removes more noise on steady shots)", min=1, max=64)
        spatial: float = option(1.0, "strength of the spatial stage on what time leaves "
                                "(0: temporal only)", min=0.0, max=8.0)
        lookahead: int = option(6, "frames read ahead at the start of a shot so its first "
                                "frames are denoised too (0: none, lowest latency)", min=0, max=30)
        declip: bool = option(True, "undo the brightening/darkening that clipped noise leaves "
                              "near black and white after averaging")

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        self.future = options.lookahead
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="denoise-spatial")
        self.reset()

    def reset(self) -> None:
        self._estimate: torch.Tensor | None = None
        self._variance: torch.Tensor | None = None
        self._sigma: float | None = None
        self._table: torch.Tensor | None = None
        self._stepped: Frame | None = None  # the frame the recursion has already taken in

    def process(self, window: list[Frame], center: int) -> torch.Tensor:
        frame = window[center].image.to(self.device)
        if self._sigma is None:
            self._start_shot(window, center)
        if self._sigma <= 0:
            return frame
        noise_var = (self._sigma / 255.0) ** 2
        if self._estimate is None:
            self._estimate, self._variance = frame, torch.ones_like(frame[:1])
            for ahead in reversed(window[center + 1:]):  # warm up backwards from the lookahead
                self._step(ahead.image.to(self.device), noise_var)
            if len(window) > center + 1:
                self._step(frame, noise_var)
        elif self._stepped is not window[center]:
            self._step(frame, noise_var)
        self._stepped = None
        if self.options.spatial <= 0:
            out = self._estimate if self._table is None else declip(self._estimate, self._table)
            return out.clamp(0, 1)
        # the spatial stage of this frame runs in a worker thread while this thread already
        # advances the recursion to the next frame of the shot (the kernels release the GIL)
        spatial = self._worker.submit(local_wiener, self._estimate,
                                      self.options.spatial * noise_var * self._variance,
                                      self._table)
        if len(window) > center + 1:
            self._step(window[center + 1].image.to(self.device), noise_var)
            self._stepped = window[center + 1]
        return spatial.result()

    def _start_shot(self, window: list[Frame], center: int) -> None:
        if self.options.sigma is not None:
            self._sigma = self.options.sigma
        else:
            self._sigma = estimate_sigma(window[center].image.to(self.device))
        if self.options.declip and self._sigma > 0:
            self._table = declip_table(self._sigma / 255.0).to(self.device)

    def _step(self, frame: torch.Tensor, noise_var: float) -> None:
        flow = motion_flow(frame, self._estimate)
        self._estimate, self._variance = recursive_step(
            self._estimate, self._variance, frame, flow, noise_var, self.options.memory)
