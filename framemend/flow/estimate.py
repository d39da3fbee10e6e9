"""Dense optical flow between frame batches.

Backends:

* ``dis``: OpenCV's DIS optical flow (Kroeger et al., "Fast Optical Flow using Dense Inverse
  Search", ECCV 2016) on 8-bit luma, frame pairs spread over threads (OpenCV releases the GIL).
* ``torch``: coarse-to-fine combined local-global flow in torch (:mod:`.torchflow`), for frames
  that already live on the GPU; runs unchanged on CPU.

:func:`flow_backend` picks between them by device, for every pass: DIS on the CPU, torch (with
its fused SOR kernel) on a GPU, so frames on a GPU never leave it for their flow.

``scale < 1`` computes the flow on frames resized by ``scale`` and upsamples it (values rescaled
to full-resolution pixels): about ``1/scale²`` times less work for a somewhat coarser field.
"""
from __future__ import annotations

import os
import threading

import cv2
import numpy as np

from framemend._torch import F, torch
from framemend.cuda import host_kernels
from framemend.kernels.colour import luma_u8, luma_u8_hwc, luma_u8_planes
from framemend.kernels.pools import shared_pool

from .torchflow import torch_flow
from .warp import resize_flow

BACKENDS = ("dis", "torch")
QUALITIES = ("ultrafast", "fast", "medium")

_DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
# DIS instances not in use, by preset, size, tuning and seeding (:func:`_dis`); one is used by
# one thread at a time
_idle_dis: dict[tuple, list] = {}
_idle_lock = threading.Lock()
_IDLE_DIS = 4  # instances kept per key: the threads that run DIS at once in a chain


def _luma_u8_frame(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` float RGB (or ``(1, H, W)`` luma) in [0, 1] on the CPU -> ``(H, W)`` uint8
    BT.601 luma, with OpenCV (no copy of a channels-last or planar float32 frame)."""
    image = image.float()
    if image.shape[0] == 1:
        return cv2.convertScaleAbs(cv2.max(image[0].contiguous().numpy(), 0.0), alpha=255.0)
    if image.permute(1, 2, 0).is_contiguous():  # channels last: (H, W, 3) in memory
        return luma_u8_hwc(image.permute(1, 2, 0).numpy())
    return luma_u8_planes(*image.contiguous().numpy())


def _dis(preset: str, shape: tuple[int, int], tuning: tuple = (), seeded: bool = False):
    """A DIS instance for a preset, image size and ``tuning`` that no other thread uses, to
    hand back with :func:`_dis_done` (an instance first used on a small image stays ~10x slower
    on larger ones in OpenCV 5.0, so sizes do not share one); a separate one for calls with an
    initial flow (``seeded``): once given one, an instance computes differently in later calls
    without.

    Instances are kept for the next call from any thread: a thread made per run (denoise's
    recursion) once made its own, whose first call (below) cost about one call's time a run.

    Each instance is warmed by a first call on a blank pair: OpenCV 5.1's DIS computes its
    first call differently from all later ones where the image's longer side is under about
    90 pixels (two pyramid levels or fewer; up to 0.06 px of flow at 40x40, 0.1 at 90x90
    ultrafast), whatever the later calls' pairs, so without it a pass's output on small frames
    depended on the calls made before in the process and on which thread met which pair
    (BENCHMARKS.md, "Reliability sweep 11"). The blank call costs about one call's time, once
    per instance."""
    key = (preset, shape, tuning, seeded)
    with _idle_lock:
        idle = _idle_dis.get(key)
        if idle:
            return idle.pop()
    dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[preset])
    for name, value in tuning:
        getattr(dis, "set" + name)(value)
    blank = np.zeros(shape, np.uint8)
    dis.calc(blank, blank, np.zeros(shape + (2,), np.float32) if seeded else None)
    return dis


def _dis_done(dis, preset: str, shape: tuple[int, int], tuning: tuple, seeded: bool) -> None:
    """Keep ``dis`` (from :func:`_dis` with these arguments) for a later call."""
    with _idle_lock:
        idle = _idle_dis.setdefault((preset, shape, tuning, seeded), [])
        if len(idle) < _IDLE_DIS:
            idle.append(dis)


# OpenCV 5.1's DIS refuses images under 8 pixels a side, and crashes the process (a segfault,
# or a failed assertion in its pyramid) on wide images under 32 rows at its ultrafast and fast
# presets (16 at medium), e.g. 28x1920; at 32 pixels a side or more no size tried failed
DIS_LEAST_SIDE = 32


def dis_luma_flow(src: np.ndarray, dst: np.ndarray, quality: str = "medium",
                  tuning: tuple = (), init: np.ndarray | None = None) -> np.ndarray:
    """DIS flow ``(H, W, 2)`` float32 (x, y interleaved) from 8-bit luma ``src`` to ``dst``
    (both ``(H, W)`` uint8), with a DIS instance no other thread uses (:func:`_dis`);
    ``src(p) ≈ dst(p + f(p))``.

    Images with a side under :data:`DIS_LEAST_SIDE` pixels are grown to it by repeating their
    border (OpenCV's DIS refuses or crashes on some of them) and the flow cut back to their
    size.

    ``tuning``: ``(name, value)`` pairs that change the preset, each through OpenCV's
    ``DISOpticalFlow.set<name>`` (e.g. ``(("PatchStride", 5),)``). ``init``: a first guess
    ``(H, W, 2)`` float32 (OpenCV takes any flow array it is given as one, so output buffers
    cannot be passed here).
    """
    h, w = src.shape
    if h < DIS_LEAST_SIDE or w < DIS_LEAST_SIDE:
        grow = (0, max(0, DIS_LEAST_SIDE - h), 0, max(0, DIS_LEAST_SIDE - w))
        src, dst = (cv2.copyMakeBorder(x, *grow, cv2.BORDER_REPLICATE) for x in (src, dst))
        if init is not None:
            init = cv2.copyMakeBorder(init, *grow, cv2.BORDER_REPLICATE)
        return dis_luma_flow(src, dst, quality, tuning, init)[:h, :w].copy()
    dis = _dis(quality, src.shape, tuning, init is not None)
    flow = dis.calc(src, dst, None if init is None else init.copy())
    _dis_done(dis, quality, src.shape, tuning, init is not None)
    return flow


# the motion deboil and denoise follow from each frame to the previous one: DIS ultrafast with 6
# instead of 12 descent iterations and patches every 5 px instead of 4: 1.5 ms cheaper per
# 640x360 frame and within 0.07 dB of the preset on every clip of benchmarks/bench_denoise.py
# (half size is 1 ms cheaper but up to 0.8 dB worse at low noise)
MOTION_QUALITY = "ultrafast"
MOTION_TUNING = (("GradientDescentIterations", 6), ("PatchStride", 5))


_PRESET_FINEST_SCALE = 2  # the octave of the finest level MOTION_QUALITY solves


def motion_luma_flow(luma: np.ndarray, previous: np.ndarray, finest_side: int = 0
                     ) -> np.ndarray:
    """:func:`dis_luma_flow` ``(H, W, 2)`` from 8-bit luma ``luma`` to ``previous`` (both
    ``(H, W)`` uint8) with :data:`MOTION_QUALITY` and :data:`MOTION_TUNING`; with a
    ``finest_side``, DIS's finest level keeps at least that many pixels on the shorter side
    (one octave finer, or two, than the preset's quarter size on frames under 4x that side)."""
    tuning = MOTION_TUNING
    if finest_side:
        octaves = int(np.log2(max(min(luma.shape) / finest_side, 1.0)))
        if octaves < _PRESET_FINEST_SCALE:
            tuning = tuning + (("FinestScale", octaves),)
    return dis_luma_flow(luma, previous, MOTION_QUALITY, tuning)


def motion_flow(frame: torch.Tensor, previous: torch.Tensor, finest_side: int = 0
                ) -> torch.Tensor:
    """The flow ``(2, H, W)`` on ``frame``'s device from ``frame`` to ``previous`` (two
    ``(3, H, W)`` RGB frames in [0, 1]): :func:`motion_luma_flow` of their :func:`luma_u8`
    (and ``finest_side``) on the CPU path, the torch flow at :data:`MOTION_QUALITY` on the
    device path (:func:`flow_backend`), where the frames do not leave the device."""
    if flow_backend(frame.device) == "torch":
        return estimate_flow(frame[None], previous[None], "torch", MOTION_QUALITY)[0]
    lumas = luma_u8(torch.stack([frame, previous]))
    return torch.from_numpy(motion_luma_flow(*lumas, finest_side)).permute(2, 0, 1).to(
        frame.device)


def _address(frame: torch.Tensor) -> tuple:
    """Where a frame's pixels are: equal for views of the same memory."""
    return frame.data_ptr(), frame.stride()


def dis_flow(src: torch.Tensor, dst: torch.Tensor, quality: str = "medium", scale: float = 1.0,
             threads: int | None = None) -> torch.Tensor:
    """DIS flow of each pair, computed at ``scale`` and upsampled, spread over threads.

    The workers first turn every distinct frame into 8-bit luma at ``scale`` (read in place,
    whatever the memory layout; a frame shared by ``src`` and ``dst``, as in
    ``dis_flow(x[:-1], x[1:])``, is converted once), then run DIS on each pair and resize its
    flow back (bilinear, values divided by ``scale``), all in OpenCV, which releases the GIL.

    Args:
        src, dst: ``(T, 3, H, W)`` float RGB or ``(T, 1, H, W)`` luma, in [0, 1].
        threads: worker threads (default: CPU count).
    Returns:
        ``(T, 2, H, W)`` float32 on the CPU.
    """
    t_count, _, h, w = src.shape
    small = (max(8, round(w * scale)), max(8, round(h * scale)))
    if src.device.type == "cpu":
        frames = {_address(x): x for x in (*src, *dst)}  # distinct frames
        to_luma = _luma_u8_frame
    else:  # convert on the device, move 8-bit luma only
        frames = {("src", t): y for t, y in enumerate(luma_u8(src))}
        frames.update({("dst", t): y for t, y in enumerate(luma_u8(dst))})
        to_luma = np.ascontiguousarray
    keys = list(frames)

    def luma(key) -> np.ndarray:
        y = to_luma(frames[key])
        return cv2.resize(y, small, interpolation=cv2.INTER_AREA) if scale < 1 else y

    out = np.empty((t_count, 2, h, w), np.float32)
    if src.device.type == "cpu":
        pairs = [(_address(src[t]), _address(dst[t])) for t in range(t_count)]
    else:
        pairs = [(("src", t), ("dst", t)) for t in range(t_count)]

    def flow(t: int) -> None:
        ya, yb = lumas[pairs[t][0]], lumas[pairs[t][1]]
        planes = cv2.split(dis_luma_flow(ya, yb, quality))  # (h, w, 2) -> x, y planes
        for c, factor in ((0, w / small[0]), (1, h / small[1])):
            if scale < 1:
                cv2.resize(planes[c], (w, h), dst=out[t, c], interpolation=cv2.INTER_LINEAR)
                out[t, c] *= factor
            else:
                out[t, c] = planes[c]

    threads = min(t_count, threads or os.cpu_count() or 1)
    run = map if threads <= 1 else shared_pool("dis", threads).map
    lumas = dict(zip(keys, run(luma, keys)))
    list(run(flow, range(t_count)))
    return torch.from_numpy(out)


def flow_backend(device: torch.device | str) -> str:
    """The flow backend a pass uses on ``device``: ``dis`` on the CPU path, ``torch`` on the
    device path (frames on a GPU stay there; see :func:`framemend.cuda.host_kernels`)."""
    return "dis" if host_kernels(device) else "torch"


def estimate_flow(src: torch.Tensor, dst: torch.Tensor, backend: str | None = None,
                  quality: str = "medium", scale: float = 1.0,
                  threads: int | None = None) -> torch.Tensor:
    """Flow from each frame of ``src`` to the matching frame of ``dst``.

    Args:
        src, dst: ``(T, 3, H, W)`` float RGB or ``(T, 1, H, W)`` luma, in [0, 1].
        backend: ``dis`` | ``torch``, or None for :func:`flow_backend` of ``src``'s device.
        quality: ``ultrafast`` | ``fast`` | ``medium`` (DIS preset, or the torch solver preset).
        scale: in (0, 1]; compute at ``scale`` times the resolution, then upsample.
        threads: DIS worker threads (default: CPU count); ignored by ``torch``.
    Returns:
        ``(T, 2, H, W)`` float32 flow in pixels on ``src``'s device, ``src(p) ≈ dst(p + f(p))``.
    """
    backend = flow_backend(src.device) if backend is None else backend
    if backend not in BACKENDS:
        raise ValueError(f"unknown flow backend '{backend}'; choose from {BACKENDS}")
    if quality not in QUALITIES:
        raise ValueError(f"unknown flow quality '{quality}'; choose from {QUALITIES}")
    if not 0 < scale <= 1:
        raise ValueError(f"flow scale must be in (0, 1], got {scale}")
    if backend == "dis":
        return dis_flow(src, dst, quality, scale, threads).to(src.device)
    h, w = src.shape[-2:]
    if scale < 1:
        size = (max(8, round(h * scale)), max(8, round(w * scale)))
        src, dst = (F.interpolate(x, size=size, mode="bilinear", antialias=True,
                                  align_corners=False) for x in (src, dst))
    return resize_flow(torch_flow(src, dst, quality), (h, w))

