"""glibc's heaps kept from shrinking under the many short-lived frame-sized temporaries of a
pass that makes them on worker threads (interpolate's in-betweens).

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
MMAP_THRESHOLD = 32 * 2**20  # the largest glibc allows on 64-bit: blocks up to it from the heaps
TRIM_THRESHOLD = 64 * 2**20  # free memory a heap's top keeps before it is given back


def keep_heap_tops() -> None:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` and its trim threshold at
    :data:`TRIM_THRESHOLD`, for the rest of the process (module docstring). Not glibc (macOS,
    musl): nothing to do."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
