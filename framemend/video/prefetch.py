"""Decoding ahead: a reader's frames decoded in a thread of their own, a bounded number of bytes
ahead of whoever takes them.

``framemend clean`` starts this as soon as the input is open, before it imports the chain's
filters (their modules and the numba machinery take about 0.4 s of one core, issue 18), so the
other core decodes the first frames meanwhile instead of waiting for the engine to start.
Memory: the decoded pictures waiting here take at most :data:`BUDGET` bytes (one frame when a
frame is larger), whatever the video's length.
"""
from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator

#: Bytes of decoded frames held ahead: a 720x480 clip of 49 frames (0.5 MB per 4:2:0 picture)
#: fits whole, 1920x1080 10 frames, 3840x2160 2.
BUDGET = 32 << 20

_END = object()


def frame_bytes(frame) -> int:
    """The bytes a decoded :class:`~framemend.chain.frames.Frame` holds: its picture's planes,
    else its raw pixels (a frame the reader scaled)."""
    if frame.picture is not None:
        return sum(plane.buffer_size for plane in frame.picture.planes)
    return frame.raw.nbytes


class Prefetch:
    """Iterate ``frames`` in a daemon thread, at most ``budget`` bytes ahead of the consumer
    (:func:`frame_bytes`). Iterating this gives the same frames in order, then re-raises what
    stopped the source early, if anything. :meth:`paused` holds the thread back;
    :meth:`close` stops it after the frame it is decoding. Only one consumer may iterate."""

    def __init__(self, frames: Iterable, budget: int = BUDGET):
        self._budget = budget
        self._held = 0
        self._stopped = False
        self._room = threading.Condition()
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        self._decoding = threading.Lock()  # held while the source makes a frame
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(frames,), daemon=True,
                                        name="framemend-prefetch")
        self._thread.start()

    def _run(self, frames: Iterable) -> None:
        source = iter(frames)
        try:
            while True:
                with self._decoding:
                    frame = next(source, _END)
                if frame is _END:
                    break
                size = frame_bytes(frame)
                with self._room:
                    self._room.wait_for(lambda: self._stopped or not self._held
                                        or self._held + size <= self._budget)
                    if self._stopped:
                        return
                    self._held += size
                self._ready.put((frame, size))
        except BaseException as e:  # noqa: BLE001 - re-raised to the consumer
            self.error = e
        finally:
            self._ready.put((_END, 0))

    def __iter__(self) -> Iterator:
        while True:
            frame, size = self._ready.get()
            if frame is _END:
                break
            with self._room:
                self._held -= size
                self._room.notify()
            yield frame
        if self.error is not None:
            raise self.error

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No frame is made while this is held (the thread waits after the frame it is making):
        for work on the reader's file from another thread, such as a writer copying its audio
        stream's parameters (FFmpeg's demuxer is not safe to read while it runs)."""
        with self._decoding:
            yield

    def close(self) -> None:
        with self._room:
            self._stopped = True
            self._room.notify()
