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


def _luma_u8(batch: torch.Tensor) -> np.ndarray:
    """``(T, 3, H, W)`` float RGB in [0, 1] -> ``(T, H, W)`` uint8 luma (BT.601 weights)."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=batch.dtype, device=batch.device)
    y = torch.einsum("tchw,c->thw", batch, w)
    return (y.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


def _dis(preset: str):
    cache = _local.__dict__.setdefault("dis", {})
    if preset not in cache:
        cache[preset] = cv2.DISOpticalFlow_create(_DIS_PRESETS[preset])
    return cache[preset]


def dis_flow(src: torch.Tensor, dst: torch.Tensor, quality: str = "medium",
             threads: int | None = None) -> torch.Tensor:
    """DIS flow of each pair, pairs spread over ``threads`` threads (default: CPU count).

    Args:
        src, dst: ``(T, 3, H, W)`` float RGB in [0, 1].
    Returns:
        ``(T, 2, H, W)`` float32 on the CPU.
    """
    a, b = _luma_u8(src), _luma_u8(dst)
    threads = min(a.shape[0], threads or os.cpu_count() or 1)

    def pair(t: int) -> np.ndarray:
        return _dis(quality).calc(a[t], b[t], None)

    if threads <= 1:
        flows = [pair(t) for t in range(a.shape[0])]
    else:
        with ThreadPoolExecutor(threads) as pool:
            flows = list(pool.map(pair, range(a.shape[0])))
    return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).contiguous()


def estimate_flow(src: torch.Tensor, dst: torch.Tensor, backend: str = "dis",
                  quality: str = "medium", scale: float = 1.0,
                  threads: int | None = None) -> torch.Tensor:
    """Flow from each frame of ``src`` to the matching frame of ``dst``.

    Args:
        src, dst: ``(T, 3, H, W)`` float RGB in [0, 1].
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
    h, w = src.shape[-2:]
    if scale < 1:
        size = (max(8, round(h * scale)), max(8, round(w * scale)))
        src, dst = (F.interpolate(x, size=size, mode="bilinear", antialias=True,
                                  align_corners=False) for x in (src, dst))
    if backend == "dis":
        flow = dis_flow(src, dst, quality, threads).to(src.device)
    else:
        flow = torch_flow(src, dst, quality)
    return resize_flow(flow, (h, w))

