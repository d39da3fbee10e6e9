"""The streaming ``deboil`` filter: a thin wrapper over :mod:`.consistency` (the torch
reference, used on CUDA) and :mod:`._cpu` (the CPU path)."""
from __future__ import annotations

import numpy as np

from framemend._torch import torch
from framemend.chain import TemporalFilter, register
from framemend.chain.filter import PASS_SIDES
from framemend.chain.frames import Frame
from framemend.chain.palette import palette_source
from framemend.chain.repeats import DistinctFrames
from framemend.cuda import host_kernels
from framemend.flow import motion
from framemend.kernels.pools import shared_pool
from framemend.options.deboil import DeboilOptions

from .consistency import TorchState, auto_strength


@register
class Deboil(DistinctFrames, TemporalFilter):
    """Temporal consistency of fine texture and local tone along the motion (boiling, wobble).

    One recursive step per frame (:mod:`.consistency`): the previous output is warped onto the
    frame along DIS flow; where it agrees with the frame at low and mid scale, the frame's tone
    is pulled toward it and its texture blended toward it (contrast kept); where it does
    not (moving objects the flow missed, disocclusions, new content, real changes of light) the
    frame is kept, but where such a pixel moves fast its re-drawn texture is smeared along the
    motion as a camera's shutter would have. The mean colour of each frame is kept. Palette (GIF) input has its dither
    removed first. On the CPU the flow is published for the later passes of the chain
    (:mod:`framemend.flow.motion`), and the next frame's luma and flow are made on a worker
    thread while this frame's step runs (one frame of look-ahead). Memory: one output frame;
    nothing crosses a scene cut.
    """

    name = "deboil"
    sides = PASS_SIDES
    fewest_frames = 2

    Options = DeboilOptions

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        # on the CPU the kernels read decoded 8/16-bit pixels and write them back
        self.reads_raw = host_kernels(self.device)
        # the CPU path makes the next frame's luma and flow ahead (the device path holds no
        # frame more: its frames' repeat checks would read their host pixels every frame)
        self.future = 1 if self.reads_raw else 0
        self.reset()

    def reset(self) -> None:
        self._state = None  # the previous output (CpuState | TorchState)
        self._previous_time = None  # its frame's time
        self._dither = False
        self._strength = self.options.strength
        # (the next frame, its pixels, the future of its CpuState and flow), CPU path
        self._ahead = None

    def process(self, window: list[Frame], center: int) -> torch.Tensor | np.ndarray:
        frame = window[center]
        if frame.cut:  # (the window holds no frame of the last shot to trigger reset)
            self.reset()
        cpu = host_kernels(self.device)  # asked each frame: tests force the device path
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] is frame:  # made beside the last frame's step
            pixels, (current, flow) = ahead[1], ahead[2].result()
        else:
            pixels = self._pixels(frame, cpu)
            if self._state is None:
                self._dither = palette_source(frame, pixels)
            current = (self._cpu_state if cpu else TorchState.frame)(pixels, self._dither)
            flow = None
        # what is left of the dither is still palette noise to the passes after this one
        frame.aux["palette"] = self._dither
        if cpu:
            self._look_ahead(window, center, current)
        previous_time, self._previous_time = self._previous_time, frame.time
        if self._state is None:
            self._state = current
            return self._out(current.pixels(pixels.dtype) if cpu else current.pixels(), cpu)
        # on the CPU the flow is shared with the other passes of the chain
        # (framemend.flow.motion): followed if one before this published it, else published
        made = flow is not None  # ahead
        if cpu and not made:
            flow = motion.to_previous(frame, previous_time)
        if flow is None:
            flow, made = self._state.motion(current), True
        if cpu and made:
            motion.publish(frame, previous_time, flow)
        if self._strength is None:  # once a shot (on the device path a wait for the device)
            self._strength = auto_strength(float(self._advance(current, flow, 0.0, pixels,
                                                               cpu)[2]))
        self._state, out, _ = self._advance(current, flow, self._strength, pixels, cpu)
        return self._out(out, cpu)

    def _pixels(self, frame: Frame, cpu: bool) -> torch.Tensor | np.ndarray:
        """``frame``'s pixels as this pass reads them: decoded ``(H, W, 3)`` integers on the
        CPU path if the frame has them, else its image, ``(H, W, 3)`` float32 on the CPU or
        ``(3, H, W)`` on the device."""
        raw = frame.raw if self.reads_raw else None
        if raw is not None:
            return raw
        pixels = frame.image.to(self.device)
        if cpu:
            pixels = np.ascontiguousarray(pixels.permute(1, 2, 0).numpy(), np.float32)
        return pixels

    def _look_ahead(self, window: list[Frame], center: int, current) -> None:
        """Start the next frame of ``window`` (of this shot) on the ``deboil`` worker thread:
        its CpuState (:meth:`_cpu_state`) and, unless a pass before this one published it,
        its flow to ``current`` (the same :meth:`.CpuState.motion` the step would make), so
        that the step of ``window[center]`` runs beside them. DIS and the numba kernels
        release the GIL."""
        if center + 1 >= len(window):
            return
        following = window[center + 1]
        pixels, dither = self._pixels(following, True), self._dither
        published = motion.to_previous(following, window[center].time) is not None

        def made() -> tuple:
            state = self._cpu_state(pixels, dither)
            return state, None if published else current.motion(state)

        self._ahead = (following, pixels, shared_pool("deboil", 1).submit(made))

    @staticmethod
    def _cpu_state(pixels: np.ndarray, dither: bool):
        from ._cpu import CpuState  # noqa: PLC0415 - numba compiles on first use

        return CpuState.frame(pixels, dither)

    def _advance(self, current, flow, strength: float, pixels, cpu: bool) -> tuple:
        if cpu:
            return self._state.step(current, flow, strength, pixels.dtype)
        return self._state.step(current, flow, strength)

    @staticmethod
    def _out(out, cpu: bool) -> torch.Tensor | np.ndarray:
        """Integer pixels as they are; floats as a ``(3, H, W)`` tensor."""
        if cpu and out.dtype.kind == "f":
            return torch.from_numpy(np.ascontiguousarray(out.transpose(2, 0, 1)))
        return out
