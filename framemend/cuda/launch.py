"""Handing torch tensors to numba.cuda kernels without copies, and the device functions the
kernels share (bilinear sampling, min and max).

A CUDA tensor is viewed through ``__cuda_array_interface__`` (``numba.cuda.as_cuda_array``: no
copy, same memory) and kernels are queued on torch's current stream, so they order with the
torch operations around them. Under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, the
tests) a CPU tensor is handed over as its numpy view, which the simulator reads and writes in
place.

The kernels use :func:`lesser` and :func:`greater` instead of Python's ``min`` and ``max``:
numba's CUDA target types those through a generic overload that its ahead-of-time compiler
(``numba.cuda.compile_ptx``, with which the tests build every kernel for sm_80 and sm_90) fails
on.
"""
from __future__ import annotations

import contextlib
import math

import torch
from numba import cuda, float32

BLOCK = (16, 16, 1)  # threads per block: x along a row, y down the rows, z over the batch


@cuda.jit(device=True, inline=True)
def lesser(a, b):
    """``min(a, b)``."""
    return a if a < b else b


@cuda.jit(device=True, inline=True)
def greater(a, b):
    """``max(a, b)``."""
    return a if a > b else b


@cuda.jit(device=True, inline=True)
def bilinear(image, c, x, y):
    """``image[c]`` of ``(C, H, W)`` read bilinearly at ``(x, y)`` (pixels), the position
    clamped to the frame: ``grid_sample(padding_mode="border", align_corners=True)``."""
    h, w = image.shape[1], image.shape[2]
    x = lesser(greater(x, float32(0.0)), float32(w - 1))
    y = lesser(greater(y, float32(0.0)), float32(h - 1))
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    x1 = x0 + 1 if x0 + 1 < w else w - 1
    y1 = y0 + 1 if y0 + 1 < h else h - 1
    fx, fy = x - float32(x0), y - float32(y0)
    top = image[c, y0, x0] + fx * (image[c, y0, x1] - image[c, y0, x0])
    bottom = image[c, y1, x0] + fx * (image[c, y1, x1] - image[c, y1, x0])
    return top + fy * (bottom - top)


def view(tensor: torch.Tensor):
    """A numba device array over ``tensor``'s memory (contiguous float32 expected). No wait on
    the tensor's stream (``sync=False``): the kernels are queued behind it anyway."""
    if tensor.is_cuda:
        return cuda.as_cuda_array(tensor.detach(), sync=False)
    return tensor.detach().numpy()  # the simulator only


def on_device(tensor: torch.Tensor):
    """The context in which numba works on ``tensor``'s GPU (``cuda:N``)."""
    return cuda.gpus[tensor.device.index or 0] if tensor.is_cuda else contextlib.nullcontext()


def stream_of(tensor: torch.Tensor):
    """torch's current stream on ``tensor``'s device, as a numba stream (0 in the simulator)."""
    pointer = torch.cuda.current_stream(tensor.device).cuda_stream if tensor.is_cuda else 0
    return cuda.external_stream(pointer) if pointer else 0  # 0: the legacy default stream


def grid(width: int, height: int, depth: int = 1) -> tuple[int, int, int]:
    """Blocks of :data:`BLOCK` covering ``width`` x ``height`` x ``depth`` threads."""
    return (math.ceil(width / BLOCK[0]), math.ceil(height / BLOCK[1]), depth)
