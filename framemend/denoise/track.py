"""What the filter carries along a shot: the recursion's estimate and variance, stepped frame
by frame and turned into output frames.

:class:`TorchTrack` is the reference and the GPU path (torch functions of :mod:`.recursive`,
:mod:`.spatial` and :mod:`.noise`); :class:`._cpu.CpuTrack` is the same on the CPU in numba and
OpenCV. Both are immutable: a step makes a new track, so the previous one can still be turned
into its output frame on another thread.
"""
from __future__ import annotations

import numpy as np

from framemend._torch import torch
from framemend.cuda import fused, host_kernels
from framemend.flow.estimate import motion_flow, motion_luma_flow

from .noise import declip_reference
from .recursive import FINEST_SIDE, LAG_GATE, light_shift, turned_shift
from .spatial import RADII, local_wiener_reference


class TorchTrack:
    """Estimate ``(3, H, W)`` RGB and its variance ``(1, H, W)`` in units of σ², on any device;
    ``shift`` and ``lag`` ``(3,)`` (RGB, or None: zero): the next prediction's move and the
    estimate's lag behind its frame (:func:`.recursive.light_shift`)."""

    def __init__(self, estimate: torch.Tensor, variance: torch.Tensor,
                 shift: torch.Tensor | None = None, lag: torch.Tensor | None = None):
        self.estimate, self.variance = estimate, variance
        zero = estimate.new_zeros(3)
        self.shift = zero if shift is None else shift
        self.lag = zero if lag is None else lag

    @classmethod
    def start(cls, frame: torch.Tensor) -> TorchTrack:
        """A track with no history: the frame ``(3, H, W)`` itself, variance 1."""
        return cls(frame, torch.ones_like(frame[:1]))

    def turn_around(self) -> None:
        """Make the next step go the other way in time (:func:`.recursive.turned_shift`): for
        the track a shot's warm-up leaves, before anything else reads it."""
        self.shift = turned_shift(self.shift, self.lag)

    def step(self, frame: torch.Tensor, noise_var: torch.Tensor, memory: int,
             flow: np.ndarray | None = None, shear: torch.Tensor | None = None,
             share=None) -> TorchTrack:
        """Take in the next frame ``(3, H, W)`` along ``flow`` ``(H, W, 2)`` from it to the
        estimate's frame, or if None along :func:`framemend.flow.estimate.motion_flow`;
        ``noise_var``: ``(3,)`` σ² per channel of the opponent basis sheared by ``shear``
        ``(2,)`` (:func:`.spatial.sheared_basis`; None: not sheared), [0, 1]² units, on its
        device. ``share`` is for the CPU track (its update in bands of rows, some made by the
        thread waiting for the step) and changes nothing here."""
        if flow is None:
            flow = motion_flow(frame, self.estimate, FINEST_SIDE)
        else:
            flow = torch.from_numpy(flow).permute(2, 0, 1).to(frame.device)
        estimate, variance = fused.recursive_step(self.estimate + self.shift[:, None, None],
                                                  self.variance, frame, flow, noise_var,
                                                  memory, shear=shear)
        # the sums of .recursive.light_shift
        inside = (variance < LAG_GATE).to(estimate.dtype)
        lag = (estimate - frame) * inside
        sums = lag.sum((1, 2)), (lag / (variance - 1)).sum((1, 2)), inside.sum()
        return TorchTrack(estimate, variance, *light_shift(*sums, self.shift, self.lag))

    def output(self, spatial: float, noise_var: torch.Tensor, table: torch.Tensor | None,
               levels: float | None = None, shear: torch.Tensor | None = None,
               chroma_radius: int = RADII[1], halves: bool = False) -> torch.Tensor:
        """RGB ``(3, H, W)``: the estimate through the local Wiener filter (noise variance of
        each channel of the basis sheared by ``shear``, then of the luma's coarse band,
        ``spatial`` times ``noise_var`` ``(4,)``
        times the track's, chroma window of ``chroma_radius``; none if ``spatial`` is 0),
        through the declip ``table`` if given,
        clamped to [0, 1]. ``levels`` is for the CPU track's integer output only (the filter
        reads raw pixels only on the CPU) and must be None here; ``halves`` is for the CPU
        track too (its output in two bands of rows at once) and changes nothing here."""
        assert levels is None, "integer output is made by the CPU track"
        out = self.estimate
        if spatial > 0:
            out = local_wiener_reference(out, spatial * noise_var[:, None, None] * self.variance,
                                         shear, chroma_radius)
        return (out if table is None else declip_reference(out, table)).clamp(0, 1)


def host_track(pixels) -> bool:
    """Whether :func:`start_track` makes a :class:`._cpu.CpuTrack` of ``pixels`` (which takes
    its noise variances and declip table as float32 arrays, :class:`TorchTrack` as tensors):
    arrays and :class:`._cpu.CpuFrame` s (which have no device) do."""
    return isinstance(pixels, np.ndarray) or not hasattr(pixels, "device") or host_kernels(
        pixels.device)


def start_track(pixels, shear: np.ndarray | None = None):
    """A new track on the frame's device: :class:`._cpu.CpuTrack` on the CPU path (``pixels``:
    a ``(3, H, W)`` float tensor, decoded ``(H, W, 3)`` uint8/uint16 pixels or a
    :class:`._cpu.CpuFrame` of them; its state in the
    basis sheared by ``shear`` ``(2,)``, :func:`.spatial.sheared_basis`), else
    :class:`TorchTrack` (its step the fused kernel of :mod:`framemend.cuda.denoise_step` on a
    GPU; its state is RGB)."""
    if host_track(pixels):
        from ._cpu import CpuTrack  # noqa: PLC0415
        return CpuTrack.start(pixels, shear)
    return TorchTrack.start(pixels)


def step_input(pixels: torch.Tensor | np.ndarray, reuse: list) -> object:
    """What a track's step takes in for ``pixels``: decoded integer pixels as a
    :class:`._cpu.CpuFrame` (their planes and luma made here), written into the older of the two
    in ``reuse`` (a list kept by the caller, empty at first), else ``pixels`` as they are. Two
    are used in turn: a step may still read one while the next is filled, never two."""
    if not isinstance(pixels, np.ndarray):
        return pixels
    if len(reuse) < 2:
        from ._cpu import CpuFrame  # noqa: PLC0415
        reuse.append(CpuFrame())
    reuse.reverse()
    return reuse[0].fill(pixels)


def warm_up_inputs(pixels: list, flows: list) -> tuple[list, list]:
    """What a shot's warm-up takes in (it runs the recursion backwards over the frames of
    ``pixels``): decoded integer pixels as :class:`._cpu.CpuFrame` s (their planes and luma
    made here) and ``flows``, from each frame to the next (``None`` where none is known), with
    the last pair's made here by DIS on their lumas as a step would (the first step of the
    warm-up, which needs no noise level); other pixels and ``flows`` as they are. The filter
    makes them on its own thread while the recursion's thread measures the shot's noise:
    at 640x360 the planes, luma and flow were 1.7 ms of the 27 ms before a clip's first
    output."""
    if not all(isinstance(p, np.ndarray) for p in pixels):
        return pixels, flows
    from ._cpu import CpuFrame  # noqa: PLC0415
    frames = [CpuFrame().fill(p) for p in pixels]
    if len(frames) > 1 and flows[-1] is None:
        flows = [*flows[:-1], motion_luma_flow(frames[-2].luma, frames[-1].luma, FINEST_SIDE)]
    return frames, flows
