"""Process-wide worker thread pools, made on first use and kept (OpenCV, numba and torch
release the GIL, so their work spreads over threads)."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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
