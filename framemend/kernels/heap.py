"""glibc's malloc set for frame-sized buffers: few arenas for the ``framemend`` program
(:func:`limit_arenas`), and heaps kept from shrinking under the many short-lived temporaries of
a pass that makes them on worker threads, interpolate's in-betweens (:func:`keep_heap_tops`).

glibc raises its mmap threshold to the size of the largest block freed so far and its trim
threshold to twice that, so past the first frame a 640x360 float plane (0.9 MB) comes from a
heap; but each worker thread's arena gives the top of its heap back to the kernel as soon as
more than twice the largest block lies free there, which happens after every pair of frames,
and the next pair's temporaries fault those pages in afresh. ``interpolate=factor=2`` on
640x360 frames of a camera pan over a moving subject took about 4,000 minor page faults and
9-13 ms of system time per input frame, about a third of its CPU; with the thresholds below,
4-20 faults and 0.4-3 ms, for 40 MB more peak RSS (600 against 558 MB; BENCHMARKS.md,
stop 44, ispeed7). The process keeps the thresholds: glibc has no way back to its moving ones.
"""
from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 32 * 2**20  # the largest glibc allows on 64-bit: blocks up to it from the heaps
TRIM_THRESHOLD = 64 * 2**20  # free memory a heap's top keeps before it is given back
ARENAS = 2  # the arenas a process of decode, encode, pass and worker threads keeps


def _mallopt(*settings: tuple[int, int]) -> None:
    """glibc's ``mallopt(parameter, value)`` for each pair; not glibc (macOS, musl): nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    for parameter, value in settings:
        mallopt(parameter, value)


def keep_heap_tops() -> None:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` and its trim threshold at
    :data:`TRIM_THRESHOLD`, for the rest of the process (module docstring)."""
    _mallopt((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def limit_arenas() -> None:
    """Let glibc keep :data:`ARENAS` malloc arenas instead of eight per core: the decode, encode,
    pass and worker threads each free tens of frame-sized buffers, and an arena per thread keeps
    what it freed (1920x1080 default chain: 1.84 GB peak RSS against 1.67 GB, the same CPU
    time). The ``framemend`` program's, set before any thread starts."""
    _mallopt((_M_ARENA_MAX, ARENAS))
