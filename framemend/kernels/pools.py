"""Process-wide worker thread pools, made on first use and kept (OpenCV, numba and torch
release the GIL, so their work spreads over threads)."""
from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}


def shared_pool(name: str, threads: int) -> ThreadPoolExecutor:
    """The pool ``name`` with ``threads`` workers, its threads named ``framemend-NAME``; every
    caller asking for the same name and size gets the same pool."""
    key = (name, threads)
    if key not in _pools:
        _pools[key] = ThreadPoolExecutor(threads, thread_name_prefix=f"framemend-{name}")
    return _pools[key]


def in_halves(name: str, rows: int, make: Callable[[int, int], None]) -> None:
    """``make(first, end)`` for the rows ``0:rows // 2`` on this thread while the shared pool
    ``name``'s one worker makes ``rows // 2:rows``: a frame's rows in two bands at once, by a
    kernel that releases the GIL and writes each band's rows only."""
    middle = rows // 2
    lower = shared_pool(name, 1).submit(make, middle, rows)
    try:
        make(0, middle)
    finally:
        lower.result()


class RowShare:
    """A frame's rows made in bands by the thread that has them to make and by one thread
    waiting for that thread's result, which takes bands while it waits instead of idling.

    Denoise's recursion thread steps frame after frame (a chain: each step reads the one before)
    while the filter's thread makes each output frame from the step before; where a step
    takes longer than an output, the filter's thread waits for the step with its core idle
    (a 24-frame 640x360 run on the 2-core machine: 123-125 ms of the recursion thread's CPU
    against 71-72 of the filter's thread's). Here that thread makes bands of the step's update
    instead. Neither thread starts a band the other took, and :meth:`run` returns once no band
    is being made, so a kernel that writes each band's rows only (reading what neither writes)
    gives the same bits however the bands fall.
    """

    def __init__(self):
        self._posted = threading.Condition()
        self._job: _Bands | None = None

    def run(self, rows: int, make: Callable[[int, int], None], bands: int) -> None:
        """``make(first, end)`` over ``rows`` rows in ``bands`` bands, on this thread and on a
        thread in :meth:`result`; returns when all are made (an error of one is raised here)."""
        job = _Bands(make, [(rows * i // bands, rows * (i + 1) // bands) for i in range(bands)])
        with self._posted:
            self._job = job
            self._posted.notify_all()
        try:
            job.work()
        finally:
            with self._posted:
                self._job = None
            job.close()  # after an error here, the bands no thread took are left unmade
            job.wait()

    def result(self, future: Future):
        """``future.result()``, making bands of what :meth:`run` posts until the future is
        done."""
        future.add_done_callback(self._wake)
        done: _Bands | None = None  # the last job this thread took part in: no more bands
        while True:
            with self._posted:
                while not future.done() and (self._job is None or self._job is done):
                    self._posted.wait()
                job = self._job
            if future.done():
                return future.result()
            job.work()
            done = job

    def _wake(self, _future: Future) -> None:
        with self._posted:
            self._posted.notify_all()


class _Bands:
    """The bands of one :meth:`RowShare.run`: each taken once, by whichever thread asks
    first."""

    def __init__(self, make: Callable[[int, int], None], bounds: list[tuple[int, int]]):
        self._make, self._bounds = make, bounds
        self._next = itertools.count()  # next() is atomic under the GIL
        self._finished = threading.Condition()
        self._left = len(bounds)
        self._error: BaseException | None = None

    def work(self) -> None:
        """Make bands until none is left to take."""
        while (index := next(self._next)) < len(self._bounds):
            try:
                self._make(*self._bounds[index])
            except BaseException as error:  # the owner's wait raises it too
                self._error = error
                raise
            finally:
                self._band_done()

    def close(self) -> None:
        """Take every band no thread has taken, to leave it unmade."""
        while next(self._next) < len(self._bounds):
            self._band_done()

    def _band_done(self) -> None:
        with self._finished:
            self._left -= 1
            if not self._left:
                self._finished.notify_all()

    def wait(self) -> None:
        """Return once no band is being made; raise the error of one that failed."""
        with self._finished:
            while self._left:
                self._finished.wait()
        if self._error is not None:
            raise self._error
