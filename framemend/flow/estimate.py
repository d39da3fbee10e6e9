"""Dense optical flow between frame batches.

Backends:

* ``dis``: OpenCV's DIS optical flow (Kroeger et al., "Fast Optical Flow using Dense Inverse
  Search", ECCV 2016) on 8-bit luma, frame pairs spread over threads (OpenCV releases the GIL).
* ``torch``: coarse-to-fine combined local-global flow in torch (:mod:`.torchflow`), for frames
  that already live on the GPU; runs unchanged on CPU.

``scale < 1`` computes the flow on frames resized by ``scale`` and upsamples it (values rescaled
to full-resolution pixels): about ``1/scale²`` times less work for a somewhat coarser field.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .torchflow import torch_flow
from .warp import resize_flow

BACKENDS = ("dis", "torch")
QUALITIES = ("ultrafast", "fast", "medium")

_DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
_local = threading.local()  # one DIS instance per thread and preset (instances are not shared)
_pools: dict[int, ThreadPoolExecutor] = {}


def _luma_u8(batch: torch.Tensor) -> np.ndarray:
    """``(T, 3, H, W)`` float RGB (or ``(T, 1, H, W)`` luma) in [0, 1] -> ``(T, H, W)`` uint8
    luma (BT.601 weights)."""
    if batch.shape[1] == 1:
        y = batch[:, 0]
    else:
        w = torch.tensor([0.299, 0.587, 0.114], dtype=batch.dtype, device=batch.device)
        y = torch.einsum("tchw,c->thw", batch, w)
    return (y.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


def _luma_u8_frame(rgb: np.ndarray) -> np.ndarray:
    """``(3, H, W)`` float32 RGB (or ``(1, H, W)`` luma) in [0, 1] -> ``(H, W)`` uint8 BT.601
    luma, with OpenCV."""
    if rgb.shape[0] == 1:
        y = rgb[0] * np.float32(255)
    else:
        y = cv2.addWeighted(rgb[0], 0.299 * 255, rgb[1], 0.587 * 255, 0.0)
        y = cv2.scaleAdd(rgb[2], 0.114 * 255, y)
    return cv2.convertScaleAbs(cv2.max(y, 0.0))  # rounds and saturates to [0, 255]


def _dis(preset: str):
    cache = _local.__dict__.setdefault("dis", {})
    if preset not in cache:
        cache[preset] = cv2.DISOpticalFlow_create(_DIS_PRESETS[preset])
    return cache[preset]


def _pool(threads: int) -> ThreadPoolExecutor:
    if threads not in _pools:
        _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="framemend-dis")
    return _pools[threads]


def dis_flow(src: torch.Tensor, dst: torch.Tensor, quality: str = "medium", scale: float = 1.0,
             threads: int | None = None) -> torch.Tensor:
    """DIS flow of each pair, computed at ``scale`` and upsampled, pairs spread over threads.

    Each worker converts its pair to 8-bit luma, resizes it (area), runs DIS and resizes the
    flow back (bilinear, values divided by ``scale``), all in OpenCV, which releases the GIL.

    Args:
        src, dst: ``(T, 3, H, W)`` float RGB or ``(T, 1, H, W)`` luma, in [0, 1].
        threads: worker threads (default: CPU count).
    Returns:
        ``(T, 2, H, W)`` float32 on the CPU.
    """
    t_count, _, h, w = src.shape
    if src.device.type == "cpu":
        a, b = src.float().contiguous().numpy(), dst.float().contiguous().numpy()
        luma = _luma_u8_frame
    else:  # convert on the device, move 8-bit luma only
        a, b = _luma_u8(src), _luma_u8(dst)
        luma = np.ascontiguousarray
    small = (max(8, round(w * scale)), max(8, round(h * scale)))
    out = np.empty((t_count, 2, h, w), np.float32)

    def pair(t: int) -> None:
        ya, yb = luma(a[t]), luma(b[t])
        if scale < 1:
            ya, yb = (cv2.resize(y, small, interpolation=cv2.INTER_AREA) for y in (ya, yb))
        flow = _dis(quality).calc(ya, yb, None)
        if scale < 1:
            flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
            flow *= np.array([w / small[0], h / small[1]], np.float32)
        out[t, 0], out[t, 1] = flow[..., 0], flow[..., 1]

    threads = min(t_count, threads or os.cpu_count() or 1)
    if threads <= 1:
        for t in range(t_count):
            pair(t)
    else:
        list(_pool(threads).map(pair, range(t_count)))
    return torch.from_numpy(out)


def estimate_flow(src: torch.Tensor, dst: torch.Tensor, backend: str = "dis",
                  quality: str = "medium", scale: float = 1.0,
                  threads: int | None = None) -> torch.Tensor:
    """Flow from each frame of ``src`` to the matching frame of ``dst``.

    Args:
        src, dst: ``(T, 3, H, W)`` float RGB or ``(T, 1, H, W)`` luma, in [0, 1].
        backend: ``dis`` | ``torch``.
        quality: ``ultrafast`` | ``fast`` | ``medium`` (DIS preset, or the torch solver preset).
        scale: in (0, 1]; compute at ``scale`` times the resolution, then upsample.
        threads: DIS worker threads (default: CPU count); ignored by ``torch``.
    Returns:
        ``(T, 2, H, W)`` float32 flow in pixels on ``src``'s device, ``src(p) ≈ dst(p + f(p))``.
    """
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

