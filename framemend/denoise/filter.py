"""The streaming ``denoise`` filter: a thin wrapper over :mod:`.track` (the recursion of
:mod:`.recursive` and the spatial stage of :mod:`.spatial`) and :mod:`.noise`."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from framemend.chain import TemporalFilter, option, register
from framemend.chain.frames import Frame

from .noise import declip_table, estimate_sigma
from .track import start_track


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
        # 3: on the bench clips the first frames come out as well as with 6 (within 0.1 dB,
        # mostly better) for half the warm-up steps; without any they lose 2.4-3.2 dB
        lookahead: int = option(3, "frames read ahead at the start of a shot so its first "
                                "frames are denoised too (0: none, lowest latency)", min=0, max=30)
        declip: bool = option(True, "undo the brightening/darkening that clipped noise leaves "
                              "near black and white after averaging")

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        self.future = options.lookahead
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="denoise-spatial")
        self.reset()

    def reset(self) -> None:
        self._track = None  # TorchTrack | CpuTrack of the shot so far
        self._sigma: float | None = None
        self._table: torch.Tensor | None = None
        self._stepped: Frame | None = None  # the frame the recursion has already taken in

    def process(self, window: list[Frame], center: int) -> torch.Tensor:
        frame = window[center].image.to(self.device)
        if self._sigma is None:
            self._start_shot(window, center)
        if self._sigma <= 0:
            return frame
        if self._track is None:
            ahead = [f.image.to(self.device) for f in window[center + 1:]]
            self._track = start_track(ahead[-1] if ahead else frame)
            for image in reversed(ahead[:-1]):  # warm up backwards from the lookahead
                self._step(image)
            if ahead:
                self._step(frame)
        elif self._stepped is not window[center]:
            self._step(frame)
        self._stepped = None
        # this frame's output (the spatial stage) is made on a worker thread while this thread
        # already advances the recursion to the next frame of the shot (the kernels release
        # the GIL; a step makes a new track and leaves this one as it is)
        output = self._worker.submit(self._track.output,
                                     self.options.spatial * (self._sigma / 255.0) ** 2,
                                     self._table)
        if len(window) > center + 1:
            self._step(window[center + 1].image.to(self.device))
            self._stepped = window[center + 1]
        return output.result()

    def _start_shot(self, window: list[Frame], center: int) -> None:
        if self.options.sigma is not None:
            self._sigma = self.options.sigma
        else:
            self._sigma = estimate_sigma(window[center].image.to(self.device))
        if self.options.declip and self._sigma > 0:
            self._table = declip_table(self._sigma / 255.0).to(self.device)

    def _step(self, frame: torch.Tensor) -> None:
        self._track = self._track.step(frame, (self._sigma / 255.0) ** 2, self.options.memory)
