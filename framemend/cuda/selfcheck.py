"""Whether a GPU may be chosen by ``--device auto``: its device path checked once per process.

:func:`gpu_ready` runs the torch flow (the device path's heaviest step, with the fused SOR
kernel where that passed its own check) on a small synthetic pair on the GPU and on the CPU; if
the GPU fails or disagrees, ``auto`` uses the CPU and one warning says why. The other fused
kernels check themselves here too (:meth:`.checked.CheckedKernel.trusted`): one that fails only
falls back to its reference, it does not rule out the GPU.
"""
from __future__ import annotations

import functools
import warnings

import torch
import torch.nn.functional as F

TOLERANCE = 0.02  # mean end-point difference (px) between the GPU's and the CPU's torch flow


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    """Two ``(1, 3, 48, 64)`` frames: smooth random texture and the same moved by a smooth
    flow of up to 2 px."""
    from framemend.flow import backward_warp  # noqa: PLC0415 - framemend.flow imports this package

    g = torch.Generator().manual_seed(19)
    texture = F.interpolate(torch.rand(1, 3, 12, 16, generator=g), size=(48, 64),
                            mode="bicubic", align_corners=False).clamp(0, 1)
    motion = F.interpolate(4 * torch.rand(1, 2, 3, 4, generator=g) - 2, size=(48, 64),
                           mode="bilinear", align_corners=False)
    return texture, backward_warp(texture, -motion)


@functools.cache
def gpu_ready(device: torch.device) -> bool:
    """True when the torch flow on CUDA ``device`` runs and agrees with the CPU's."""
    from framemend.cuda import fused  # noqa: PLC0415
    from framemend.flow.torchflow import torch_flow  # noqa: PLC0415

    src, dst = _pair()
    want = torch_flow(src, dst, "fast")
    try:
        got = torch_flow(src.to(device), dst.to(device), "fast").cpu()
        for kernel in fused.KERNELS:
            kernel.trusted(device)
    except Exception as e:  # noqa: BLE001 - any failure of the GPU means: do not choose it
        problem = f"failed ({type(e).__name__}: {e})"
    else:
        error = float((got - want).pow(2).sum(1).sqrt().mean())
        if error <= TOLERANCE:
            return True
        problem = f"computes a flow {error:.3g} px away from the CPU's"
    warnings.warn(f"framemend: {device} {problem}; --device auto uses the CPU "
                  "(--device cuda forces it)", RuntimeWarning, stacklevel=3)
    return False
