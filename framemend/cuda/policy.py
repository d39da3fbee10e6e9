"""Which path a pass takes on a device, and whether fused kernels may run.

Two paths run every pass: the *host path* on the CPU (numba loops, OpenCV, DIS flow, decoded
integer pixels) and the *device path* (torch operations on tensors that stay on the device,
torch flow, fused kernels behind :class:`.checked.CheckedKernel`). :func:`host_kernels` is the
one switch the passes consult: the host path on the CPU, the device path elsewhere. Tests run
the device path on the CPU inside :func:`device_path_on_cpu`, through the same code as CUDA.

``FRAMEMEND_KERNELS=reference`` (environment) keeps the fused kernels off: every kernel call
takes its torch reference, the device path stays on the device. :func:`device_constant` keeps
the passes' constants on the device once made there.
"""
from __future__ import annotations

import contextlib
import functools
import os
from typing import Iterator

from framemend._torch import device_type, torch

_forced = False  # the device path on the CPU (tests); read by every thread of a run


def host_kernels(device: torch.device | str) -> bool:
    """True where a pass takes its CPU path: ``device`` is the CPU and the device path is not
    forced there."""
    return device_type(device) == "cpu" and not _forced


@contextlib.contextmanager
def device_path_on_cpu() -> Iterator[None]:
    """Run the passes' device path (torch flow, torch references of the kernels, no host
    copies) on CPU tensors while inside the block: what CUDA runs, checkable without a GPU."""
    global _forced
    previous, _forced = _forced, True
    try:
        yield
    finally:
        _forced = previous


def fused_kernels_allowed() -> bool:
    """False when ``FRAMEMEND_KERNELS=reference`` asks for the torch references everywhere
    (read at each call, so a benchmark can compare both paths in one process)."""
    mode = os.environ.get("FRAMEMEND_KERNELS", "fused")
    if mode not in ("fused", "reference"):
        raise ValueError(f"FRAMEMEND_KERNELS={mode!r}: choose 'fused' or 'reference'")
    return mode == "fused"


@functools.cache
def device_constant(values: tuple, device: torch.device | str,
                    dtype: torch.dtype) -> torch.Tensor:
    """A module-level constant (weights, a basis), a nested tuple of floats (hashable, and no
    torch import where it is defined), as a tensor on ``device`` as ``dtype``, made there once
    per process: a tensor made or copied in a per-frame function would be copied to the GPU
    every frame, and the host would wait for each copy."""
    return torch.tensor(values, dtype=dtype, device=device)
