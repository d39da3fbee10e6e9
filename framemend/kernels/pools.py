"""Process-wide worker thread pools, made on first use and kept (OpenCV, numba and torch
release the GIL, so their work spreads over threads)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}


def shared_pool(name: str, threads: int) -> ThreadPoolExecutor:
    """The pool ``name`` with ``threads`` workers, its threads named ``framemend-NAME``; every
    caller asking for the same name and size gets the same pool."""
    key = (name, threads)
    if key not in _pools:
        _pools[key] = ThreadPoolExecutor(threads, thread_name_prefix=f"framemend-{name}")
    return _pools[key]
