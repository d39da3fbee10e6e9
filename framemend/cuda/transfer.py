"""Frames between the host and a GPU: each decoded frame uploaded once, each output frame
downloaded once, through page-locked host buffers on copy streams of their own.

A copy from pageable memory (``torch.from_numpy(raw).to(device)``, ``tensor.cpu()``) makes the
host wait for it, and runs on the stream of the thread that asks, between the filters' kernels.
Here instead:

* **upload** (:meth:`Transfer.upload`): the decoded ``(H, W, 3)`` pixels are written into a
  pinned buffer and copied to the device with ``non_blocking=True`` on the upload stream, an
  event recorded after the copy. The engine starts it in its decode thread
  (:meth:`framemend.chain.frames.Frame.stage`), so the copy runs while the filters work on
  earlier frames; the filter thread's stream waits on the event (:meth:`Upload.tensor`), the
  host does not.
* **download** (:meth:`Transfer.download`): an output frame's integer pixels
  (:func:`framemend.video.writer.quantise`, made on the filter thread's stream) are copied into
  a pinned buffer on the download stream once that stream has made them (an event again); the
  writer waits for that frame's copy only when it encodes it (:class:`Download`).

Two copy streams, not one: a download waits for the filters' work on its frame, and an upload
queued behind it on the same stream would wait with it. Buffers come from a :class:`Pool` per
direction and are handed out again only once the copy that last used them has completed (its
event): a pool holds as many as are in use at once, whatever the clip's length (one for uploads,
each copy done long before the next frame is decoded; for downloads the frames between the
filters and the encoder: up to 4 with the engine's queues of 2).

A ``uint16`` (deep) frame is uploaded as float32, as ``Frame.float_image`` made it before this
module: the same values, twice the bytes of ``uint16``.

On the CPU nothing is copied: :func:`for_device` is None and the frames' and the writer's CPU
code runs as it did. Everything of CUDA is in :class:`CudaBackend`; the tests give
:class:`Transfer` a fake with the same methods and check the contract above on the CPU.
**Not measured on a GPU** (none has been available): ``benchmarks/bench_gpu.py``'s transfer
rows measure it the day one is.
"""
from __future__ import annotations

import functools
import threading
from collections import deque

import numpy as np

from framemend._torch import device_type, torch


class CudaBackend:
    """What the copies take from ``torch.cuda``, in one place: pinned host memory, streams,
    events, the current stream and the caching allocator's stream bookkeeping."""

    def __init__(self, device):
        self.device = torch.device(device)

    def pinned(self, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
        return torch.empty(shape, dtype=dtype, pin_memory=True)

    def stream(self):
        return torch.cuda.Stream(self.device)

    def event(self):
        return torch.cuda.Event()

    def current(self):
        """The calling thread's stream (the filters' work)."""
        return torch.cuda.current_stream(self.device)

    def using(self, stream):
        """A context in which the calling thread's work goes to ``stream``."""
        return torch.cuda.stream(stream)

    def hold(self, tensor: torch.Tensor, stream) -> None:
        """Keep ``tensor``'s memory from being reused until ``stream``'s work queued so far is
        done (it was made on another stream)."""
        tensor.record_stream(stream)


class Pool:
    """Pinned host buffers of one shape and dtype at a time (others are let go), each with its
    numpy view, reused: a buffer comes back with the event of the copy that last used it and is
    handed out again only once that event has completed. ``made``: buffers allocated."""

    def __init__(self, backend):
        self._cuda = backend
        self._free: deque = deque()  # (buffer, view, event)
        self._lock = threading.Lock()
        self.made = 0

    def take(self, shape: tuple, dtype) -> tuple:
        """A free ``(buffer, view)`` of ``shape`` and torch ``dtype``, or a new one."""
        with self._lock:
            while self._free:
                buffer, view, event = self._free.popleft()
                if tuple(buffer.shape) == tuple(shape) and buffer.dtype == dtype:
                    break
            else:
                self.made += 1
                buffer = self._cuda.pinned(tuple(shape), dtype)
                return buffer, buffer.numpy()
        if not event.query():
            event.synchronize()  # the host waits for that one copy (a frame ago, done by now)
        return buffer, view

    def give(self, buffer, view, event) -> None:
        with self._lock:
            self._free.append((buffer, view, event))


class Upload:
    """A frame's ``(H, W, 3)`` pixels on their way to the device (:meth:`Transfer.upload`)."""

    __slots__ = ("_image", "_done", "_cuda")

    def __init__(self, image, done, backend):
        self._image, self._done, self._cuda = image, done, backend

    def tensor(self) -> torch.Tensor:
        """The pixels on the device, for work on the calling thread's stream: that stream waits
        for the copy's event (the device waits, not the host)."""
        stream = self._cuda.current()
        stream.wait_event(self._done)
        self._cuda.hold(self._image, stream)
        return self._image


class Download:
    """An output frame's ``(H, W, 3)`` integer pixels on their way to the host
    (:meth:`Transfer.download`). ``with download as pixels:`` waits for this frame's copy and
    gives the numpy view of its pinned buffer, which goes back to the pool when the block ends
    (use it once)."""

    __slots__ = ("_pool", "_buffer", "_view", "_done")

    def __init__(self, pool: Pool, buffer, view: np.ndarray, done):
        self._pool, self._buffer, self._view, self._done = pool, buffer, view, done

    def __enter__(self) -> np.ndarray:
        self._done.synchronize()
        return self._view

    def __exit__(self, *exc) -> None:
        self._pool.give(self._buffer, self._view, self._done)

    def take(self) -> np.ndarray:
        """The pixels as an array of their own, the buffer given back."""
        with self as pixels:
            return pixels.copy()


class Transfer:
    """Uploads and downloads of frames for one device (module docstring); ``backend`` is a
    :class:`CudaBackend` or a test's fake."""

    def __init__(self, backend):
        self._cuda = backend
        self._up, self._down = backend.stream(), backend.stream()
        self.uploads, self.downloads = Pool(backend), Pool(backend)

    def upload(self, raw: np.ndarray) -> Upload:
        """Start copying ``(H, W, 3)`` uint8 (or uint16, copied as float32) pixels to the
        device; the caller may change or drop ``raw`` once this returns."""
        dtype = torch.uint8 if raw.dtype == np.uint8 else torch.float32
        buffer, view = self.uploads.take(raw.shape, dtype)
        np.copyto(view, raw)
        cuda = self._cuda
        with cuda.using(self._up):
            image = torch.empty(raw.shape, dtype=dtype, device=cuda.device)
            image.copy_(buffer, non_blocking=True)
            done = cuda.event()
            done.record(self._up)
        self.uploads.give(buffer, view, done)
        return Upload(image, done, cuda)

    def download(self, pixels: torch.Tensor) -> Download:
        """Start copying ``(H, W, 3)`` integer ``pixels``, made on the calling thread's stream,
        to the host."""
        cuda = self._cuda
        made = cuda.event()
        made.record(cuda.current())
        buffer, view = self.downloads.take(pixels.shape, pixels.dtype)
        with cuda.using(self._down):
            self._down.wait_event(made)
            buffer.copy_(pixels, non_blocking=True)
            cuda.hold(pixels, self._down)
            done = cuda.event()
            done.record(self._down)
        return Download(self.downloads, buffer, view, done)


def for_device(device) -> Transfer | None:
    """The :class:`Transfer` of a CUDA ``device`` (one per device and process), None for the
    CPU, where frames are not copied."""
    return _cuda_transfer(str(device)) if device_type(device) == "cuda" else None


@functools.cache
def _cuda_transfer(device: str) -> Transfer:
    return Transfer(CudaBackend(device))
