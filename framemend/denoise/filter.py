"""The streaming ``denoise`` filter: a thin wrapper over :mod:`.track` (the recursion of
:mod:`.recursive` and the spatial stage of :mod:`.spatial`) and :mod:`.noise`."""
from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from framemend._torch import torch
from framemend.chain import TemporalFilter, register
from framemend.chain.filter import PASS_SIDES
from framemend.chain.frames import Frame
from framemend.chain.palette import palette_source
from framemend.chain.repeats import DistinctFrames
from framemend.cuda import host_kernels
from framemend.flow import motion
from framemend.kernels.pools import RowShare, shared_pool
from framemend.options.denoise import DenoiseOptions

from . import _noise_cpu
from .noise import declip_table, estimate_channel_noise
from .spatial import RADII
from .track import host_track, start_track, step_input, warm_up_inputs


@register
class Denoise(DistinctFrames, TemporalFilter):
    """Motion-compensated recursive temporal denoise with a light spatial stage, no ghosts.

    Per frame: one optical flow (DIS ultrafast) from the frame to the previous output, or the
    flow to the previous frame that an earlier pass of the chain published
    (:mod:`framemend.flow.motion`: the default chain estimates each pair's flow once), a
    Kalman-like update along it (:mod:`.recursive`: the gain rises where the warped
    estimate disagrees with the frame beyond the noise, so occlusions, fast objects and flow
    failures fall back to the frame instead of ghosting), then a local Wiener filter for the
    noise time leaves (:mod:`.spatial`, strength from each pixel's remaining variance and the
    share of the noise's variance its window holds, the rest taken from the window's mean over
    a wider window) and the
    clipped-noise bias correction (:mod:`.noise`). At the start of a shot the recursion first
    runs backwards over ``lookahead`` frames so the first frames are denoised as well as later
    ones. Memory: ``lookahead`` frames plus one estimate; nothing crosses a scene cut.
    """

    name = "denoise"
    sides = PASS_SIDES

    Options = DenoiseOptions

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        # on the CPU the kernels read decoded 8/16-bit pixels and write them back: no float
        # frame is made (the engine then hands frames over undecoded, see Filter.reads_raw)
        self.reads_raw = host_kernels(self.device)
        self.future = options.lookahead
        # the recursion runs on a worker thread, ahead of the output frames as far as the
        # lookahead lets it, while this thread makes each output frame (the spatial stage)
        # from its track (the kernels release the GIL; a step makes a new track and leaves
        # the previous one as it is)
        self._chain = ThreadPoolExecutor(max_workers=1, thread_name_prefix="denoise-recursion")
        # a step's update in bands, some made by this thread while it waits for the step
        self._share = RowShare()
        self.reset()

    def reset(self) -> None:
        self._shot: Future | None = None  # _start_shot begun as the shot's second frame came
        self._tail: Future | None = None  # the step of the last frame submitted
        self._tail_time: float | None = None  # that frame's time
        self._tracks: dict[Frame, Future] = {}  # (TorchTrack | CpuTrack, raw scale) per frame
        self._step_inputs: list = []  # the CpuFrames the steps read, in turn (.track.step_input)
        self._sigma: float | None = None  # RGB level (8-bit): root mean of the variances
        # (3,) of the opponent channels, [0, 1]², and the declip table: float32 arrays on the
        # CPU path (no torch there), tensors on the device
        self._variances: torch.Tensor | np.ndarray | None = None
        # (4,) the spatial stage's: the same with the luma's times its window share (.noise),
        # then the rest of the luma's, for the luma's coarse band (.spatial)
        self._window_variances: torch.Tensor | np.ndarray | None = None
        self._table: torch.Tensor | np.ndarray | None = None
        self._declip = False  # whether the shot's table is made (_start_shot)
        # (2,) the luma's shear of the tracks' basis (.spatial.sheared_basis), same kinds
        self._shear: torch.Tensor | np.ndarray | None = None
        self._chroma_radius = RADII[1]  # the Wiener stage's chroma window (.spatial)

    def process(self, window: list[Frame], center: int) -> torch.Tensor | np.ndarray:
        frame = window[center]
        first = self._tail is None  # the shot's first frame
        if first and self._shot is not None and self._sigma is None:
            # the warm-up's inputs made here while the recursion's thread measures the noise,
            # and the warm-up queued behind the measurement
            self._queue_warm_up(window[center:])
        if self._sigma is None:
            if self._shot is None:
                self._start_shot(window, center)
            else:
                self._shot.result()
        if self._sigma <= 0:
            return frame.raw if self._raw(frame) is not None else frame.image
        if first:
            if self._tail is None:
                self._queue_warm_up(window[center:])
            self._table = self._declip_table()  # on this thread, beside the warm-up
        # the next frame's step runs while this frame's output is made; one step ahead, not
        # the whole lookahead: two tracks alive instead of three (35 MB each at 1920x1080);
        # without a lookahead the frame's own step, which no frame before queued
        for ahead in window[center + 1:center + 2] or window[center:center + 1]:
            if ahead not in self._tracks:
                # its planes and luma made here, where this thread would wait for the step
                pixels = step_input(self._pixels(ahead), self._step_inputs)
                self._tail = self._tracks[ahead] = self._chain.submit(
                    self._step, self._tail, ahead, pixels, self._tail_time,
                    ahead is not window[-1])
                self._tail_time = ahead.time
        track, levels = self._share.result(self._tracks.pop(frame))
        if center + 1 < len(window):
            # its step is done and only the output is made from here on: its pixels go now,
            # not when it leaves the window (the newest frame keeps them: the next frame is
            # compared with it for repeats)
            frame.release_pixels()
        # the shot's last frame: no step runs beside its output, which is made in two halves
        return track.output(self.options.spatial, self._window_variances, self._table, levels,
                            self._shear, self._chroma_radius, center + 1 == len(window))

    def entered(self, frame: Frame) -> None:
        """Once the shot's first two frames are in the window, measure its noise
        (:meth:`_start_shot`) on the recursion's thread while the earlier passes make the rest
        of the lookahead: at the start of a clip this thread would otherwise wait for it
        (26 ms of CPU at 720x480) before its first output, with a core idle."""
        if self._sigma is None and self._shot is None and len(self._window) == 2:
            self._shot = self._chain.submit(self._start_shot, list(self._window), 0)

    def _queue_warm_up(self, frames: list[Frame]) -> None:
        """Queue the warm-up of the shot whose first frame is ``frames[0]`` on the recursion's
        thread (behind the shot's noise measurement if that is still running), its inputs made
        on this thread first (:func:`.track.warm_up_inputs`: at the start of a clip this thread
        waits for the measurement, and the recursion's thread is the one the output waits
        for)."""
        flows = [motion.from_previous(following, frame.time)
                 for frame, following in zip(frames[:-1], frames[1:])]
        pixels, flows = warm_up_inputs([self._pixels(f) for f in frames], flows)
        self._tail = self._tracks[frames[0]] = self._chain.submit(self._warm_up, frames, pixels,
                                                                  flows)
        self._tail_time = frames[0].time

    def _warm_up(self, frames: list[Frame], pixels: list, flows: list) -> tuple:
        """The track of ``frames[0]``, the first frame of a shot: the recursion first runs
        backwards from the last of the lookahead ``frames`` (their ``pixels`` and the ``flows``
        from each to the next as :func:`.track.warm_up_inputs` gives them). Nothing if the shot
        turned out noise-free (it was queued before that was known)."""
        if self._sigma <= 0:
            return None, None
        track = start_track(pixels[-1], self._shear)
        for index in range(len(frames) - 2, -1, -1):  # no output is made beside these steps
            track = track.step(pixels[index], self._variances, self.options.memory,
                               flows[index], self._shear, self._share)
        track.turn_around()
        return track, self._levels(frames[0])

    def _step(self, previous: Future, frame: Frame, pixels, previous_time: float,
              release: bool) -> tuple:
        """The track of ``frame`` (its ``pixels`` as :func:`.track.step_input` gives them)
        from the ``previous`` one's (that of the frame at ``previous_time``), along the flow an
        earlier pass published if it did; ``release``:
        the frame's pixels are read no more (it is not the newest frame, which the next
        frame's repeat check compares with) and go once the step has read them, not when the
        frame is the centre (a float frame from deflicker, 25 MB at 1920x1080)."""
        track = previous.result()[0].step(pixels, self._variances,
                                          self.options.memory,
                                          motion.to_previous(frame, previous_time),
                                          self._shear, self._share)
        levels = self._levels(frame)
        if release:
            frame.release_pixels()
        return track, levels

    def _levels(self, frame: Frame) -> float | None:
        """The output's integer range (that of the frame's raw pixels) or None for a tensor."""
        return None if self._raw(frame) is None else frame.raw_scale

    def _float_planes(self, frame: Frame, host: bool) -> torch.Tensor | np.ndarray:
        """The frame as floats in [0, 1], leaving its pixels raw: ``(3, H, W)``, float32 planes
        on the ``host`` (CPU) path (decoded pixels, each value times ``1 / max`` of their type
        in float32: :func:`._noise_cpu.pixel_planes`), else a tensor on the device."""
        pixels = self._pixels(frame)
        if not host:
            return pixels
        if not isinstance(pixels, np.ndarray):
            return np.ascontiguousarray(pixels.float().numpy(), np.float32)
        return _noise_cpu.pixel_planes(pixels)

    def _palette_pixels(self, frame: Frame, planes: torch.Tensor | np.ndarray
                        ) -> torch.Tensor | np.ndarray:
        """What :func:`.palette_source` reads of ``frame``: its decoded 8-bit pixels as they
        are (the same verdict as their floats, which it would round back to them: 0.9-1.6
        instead of 3.4 ms at 640x360), else its float ``planes`` (:meth:`_float_planes`), as
        ``(H, W, 3)`` on the host."""
        raw = self._raw(frame)
        if raw is not None and raw.dtype == np.uint8:
            return raw
        return planes.transpose(1, 2, 0) if isinstance(planes, np.ndarray) else planes

    def _raw(self, frame: Frame) -> np.ndarray | None:
        """The frame's decoded integer pixels if the kernels can read them (CPU, full range of
        their type), else None."""
        raw = frame.raw if self.reads_raw else None
        if raw is None or raw.dtype.kind != "u" or np.iinfo(raw.dtype).max != frame.raw_scale:
            return None
        return raw

    def _pixels(self, frame: Frame) -> torch.Tensor | np.ndarray:
        """What a track takes in: raw integer pixels (CPU) or the float image on the device."""
        raw = self._raw(frame)
        return frame.image.to(self.device) if raw is None else raw

    def _start_shot(self, window: list[Frame], center: int) -> None:
        """The shot's noise: the ``sigma`` option in every channel (white noise), or measured
        per opponent channel, with the luma's shear, the chroma window and the luma's window
        share (the spatial stage's luma variance is its σ² times that share), on its first frame
        and the next one if the window holds it (:func:`.noise.estimate_channel_noise`; palette
        input as the chain found it). The declip table is made for noise that was clipped: not
        for a measured palette (GIF) source, whose "noise" is its dither, which nothing clipped
        (declipping denoise's output moved Open-Sora's GIF by -0.80 levels of red, against -0.03
        without). On the CPU path all of it is made in numpy (:mod:`._noise_cpu`), without
        torch."""
        palette = False
        host = host_track(self._pixels(window[center]))  # the shot's tracks: CpuTrack
        shear, chroma_radius, share = None, RADII[1], 1.0
        if self.options.sigma is not None:
            sigmas = (float(self.options.sigma),) * 3
        else:
            frames = window[center:center + 2]
            if host:  # the second frame's planes on the other thread, beside the first's and
                # the palette check
                later = [shared_pool("denoise", 1).submit(self._float_planes, f, host)
                         for f in frames[1:]]
            pixels = [self._float_planes(frames[0], host)]
            palette = palette_source(window[center],
                                     self._palette_pixels(window[center], pixels[0]))
            pixels += ([f.result() for f in later] if host
                       else [self._float_planes(f, host) for f in frames[1:]])
            published = (motion.to_previous(window[center + 1], window[center].time)
                         if len(pixels) == 2 else None)
            if host:
                sigmas, shear, chroma_radius, share = _noise_cpu.estimate_planes_noise(
                    pixels[0], pixels[1] if len(pixels) == 2 else None, palette, published)
            else:
                sigmas, shear, chroma_radius, share = estimate_channel_noise(
                    *pixels, palette=palette, motion=None if published is None
                    else torch.from_numpy(published).permute(2, 0, 1).to(pixels[0].device))
        self._sigma = float(np.sqrt(np.mean(np.square(sigmas))))
        declip = self.options.declip and self._sigma > 0 and not palette
        # in [0, 1]² units: the per-frame steps take them from here
        self._shear, self._chroma_radius = shear, chroma_radius
        # the levels of the recursion, then of the spatial stage (the luma's times the root of
        # its window share, the chroma's, and the rest of the luma's for its coarse band)
        levels = (*sigmas, sigmas[0] * math.sqrt(share), *sigmas[1:],
                  sigmas[0] * math.sqrt(1 - share))
        self._declip = declip
        if host:
            variances = np.square(np.array(levels, np.float32) / np.float32(255.0))
            self._variances, self._window_variances = variances[:3], variances[3:]
            return
        variances = (torch.tensor(levels, dtype=torch.float32) / 255.0).pow(2).to(self.device)
        self._variances, self._window_variances = variances[:3], variances[3:]

    def _declip_table(self) -> torch.Tensor | np.ndarray | None:
        """The shot's declip table if its noise was clipped (:meth:`_start_shot`): a float32
        array on the CPU path, a tensor on the device, else None."""
        if not self._declip:
            return None
        if isinstance(self._variances, np.ndarray):
            return _noise_cpu.declip_table(self._sigma / 255.0)
        return declip_table(self._sigma / 255.0).to(self.device)
