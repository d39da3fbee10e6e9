"""Fused CUDA kernels for the passes' hot loops, each behind its torch reference.

The kernels are ``numba.cuda`` functions (:mod:`.denoise_step`, :mod:`.sor`, :mod:`.boxes`)
working in place on torch's CUDA memory (``__cuda_array_interface__``, torch's current stream),
called through :mod:`.fused`, where each checks itself against its reference on first use on a
device and falls back to it, with one warning, if they disagree (:mod:`.checked`). Which path a
pass takes on a device, and ``FRAMEMEND_KERNELS=reference``, are in :mod:`.policy`;
:func:`.selfcheck.gpu_ready` decides whether ``--device auto`` may use a GPU.

Importing this package imports neither numba's CUDA target nor any kernel; the first fused call
on a GPU does.
"""
from .policy import device_constant, device_path_on_cpu, fused_kernels_allowed, host_kernels

__all__ = ["host_kernels", "device_path_on_cpu", "fused_kernels_allowed", "device_constant"]
