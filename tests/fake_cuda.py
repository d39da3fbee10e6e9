"""A fake of :class:`framemend.cuda.transfer.CudaBackend` on the CPU, which behaves as a slow GPU:
a ``non_blocking`` copy from or to a pinned buffer made on a copy stream is only queued, and
runs when an event recorded after it is synchronized or waited on by another stream. A buffer
written by the host before its copy ran, or read before it, gives wrong pixels.

:func:`install` puts a :class:`~framemend.cuda.transfer.Transfer` on this fake behind
``transfer.for_device`` for every device, so the frames' and the writer's GPU code runs on CPU
tensors; ``log`` records every copy touching a pinned buffer (stream, ``non_blocking``,
thread), every host wait (``synchronize``, with the thread) and every stream's wait on an event
(with the thread)."""
import contextlib
import threading

import torch

from framemend.cuda import transfer

_copy = torch.Tensor.copy_


class _Queued:
    """A copy the fake device has queued and not yet run."""

    def __init__(self, dst, src):
        self.dst, self.src, self.ran, self._lock = dst, src, False, threading.Lock()

    def run(self):
        with self._lock:
            if not self.ran:
                _copy(self.dst, self.src)
                self.ran = True


class FakeStream:
    def __init__(self, name: str, cuda: "FakeCuda"):
        self.name, self._cuda, self.pending = name, cuda, []

    def wait_event(self, event):
        """What this stream runs next sees the event's copies done: the fake runs them now."""
        self._cuda.log.append(("wait_event", self.name, threading.current_thread().name))
        for copy in event.work:
            copy.run()


class FakeEvent:
    def __init__(self, cuda: "FakeCuda"):
        self._cuda, self.work = cuda, []

    def record(self, stream):
        stream.pending = [c for c in stream.pending if not c.ran]
        self.work = list(stream.pending)

    def query(self) -> bool:
        return all(c.ran for c in self.work)

    def synchronize(self):
        self._cuda.log.append(("synchronize", threading.current_thread().name))
        for copy in self.work:
            copy.run()


class FakeCuda:
    """The backend's methods (``transfer.CudaBackend``) on the CPU."""

    device = torch.device("cpu")

    def __init__(self):
        self.compute = FakeStream("compute", self)
        self.copy_streams: list[FakeStream] = []
        self.pinned_buffers: list[torch.Tensor] = []
        self.log: list[tuple] = []
        self._local = threading.local()

    def pinned(self, shape, dtype):
        buffer = torch.zeros(shape, dtype=dtype)
        self.pinned_buffers.append(buffer)
        return buffer

    def stream(self):
        stream = FakeStream(f"copy{len(self.copy_streams)}", self)
        self.copy_streams.append(stream)
        return stream

    def event(self):
        return FakeEvent(self)

    def current(self):
        return getattr(self._local, "stream", None) or self.compute

    @contextlib.contextmanager
    def using(self, stream):
        previous, self._local.stream = getattr(self._local, "stream", None), stream
        try:
            yield
        finally:
            self._local.stream = previous

    def hold(self, tensor, stream):
        self.log.append(("hold", stream.name))

    def copy_(self, dst, src, non_blocking=False):
        """``Tensor.copy_`` while installed: a copy touching a pinned buffer is logged, and
        queued on the current stream when it is a non-blocking copy on a copy stream."""
        if not any(t is b for t in (dst, src) for b in self.pinned_buffers):
            return _copy(dst, src, non_blocking)
        stream = self.current()
        self.log.append(("copy", stream.name, non_blocking, threading.current_thread().name))
        if non_blocking and stream is not self.compute:
            stream.pending.append(_Queued(dst, src))
            return dst
        return _copy(dst, src, non_blocking)

    def entries(self, kind: str) -> list[tuple]:
        return [e for e in self.log if e[0] == kind]


def install(monkeypatch) -> tuple[FakeCuda, transfer.Transfer]:
    """A fake GPU behind ``transfer.for_device`` (every device) and ``Tensor.copy_``."""
    cuda = FakeCuda()
    copies = transfer.Transfer(cuda)
    monkeypatch.setattr(transfer, "for_device", lambda device: copies)
    monkeypatch.setattr(torch.Tensor, "copy_", lambda dst, src, non_blocking=False:
                        cuda.copy_(dst, src, non_blocking))
    return cuda, copies
