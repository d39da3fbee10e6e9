"""Frame-sized arrays that are reused once nothing refers to them any more.

A 1920x1080 float frame is 25 MB and an 8-bit one 6.2 MB, and the CPU path makes several of
each per frame (the decoder's RGB, deboil's floats, output and pixels, deflicker's float frame
and output, denoise's output), each living for a different time and freed on a different
thread. Left to glibc, whose mmap threshold rises to the size of the first such block freed
(up to 32 MiB), they come from its heaps, where the holes they leave are split by smaller
blocks and kept: at the peak of the default chain at 1920x1080, 0.45 GB of the heaps was free
(``mallinfo2``). Above the threshold (a float frame at 3840x2160) each is mapped and faulted
in afresh, as with a fixed threshold (system time +2.5-3 s over 60 1080p frames, BENCHMARKS.md
"Memory, stop 17"). :func:`frame_array` hands out arrays over anonymous memory maps of their
own, and when the last view of one is dropped (the array, a view of it, a tensor made with
``torch.from_numpy``) its map goes back to a free list for the next frame: no heap holes, and
no page faults once the pool holds as many maps as are in use at once. Maps that stay free
while a size's next 32 arrays come and go are unmapped (1080p: 1.175-1.219 GB peak RSS with
this trim against 1.230-1.231 without it, in interleaved runs).

Arrays larger than glibc's largest mmap threshold are left to glibc: it maps each afresh and
gives it back when freed, which leaves no holes, and a pool would hold the most ever in use
at once (3840x2160 default chain: 3.15-3.16 GB peak RSS pooled against 2.98-3.06 unpooled,
though 4-6 s less system time).
"""
from __future__ import annotations

import math
import mmap
import threading
import weakref
from collections import OrderedDict

import numpy as np

_SIZES = 4  # byte sizes whose free maps are kept (the frame sizes in use at once)
_LARGEST = 32 * 2**20  # glibc's largest mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
_TRIM_EVERY = 32  # maps given back of a size between two trims of its free list
_free: OrderedDict[int, _Free] = OrderedDict()  # per byte size, the newest last
# reentrant: an array's finaliser may run in this thread while it holds the lock (a collection
# of reference cycles started by an allocation)
_lock = threading.RLock()


class _Free:
    """The free maps of one byte size, and the fewest that were free at once since the last
    trim: that many went unused (the start of a shot needs more frames at once than the rest
    of it), and they are unmapped at the next trim."""

    def __init__(self):
        self.maps: list[mmap.mmap] = []
        self.fewest = 0
        self.returns = 0


def frame_array(shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` whose memory returns to
    the pool when neither it nor any view of it is referred to any more. Use it for arrays of a
    whole frame's size made every frame (the pool keeps free maps of the last :data:`_SIZES`
    byte sizes asked for, as many of each as were in use at once lately: :class:`_Free`).
    Arrays of more than :data:`_LARGEST` bytes are plain ``np.empty`` ones (module
    docstring)."""
    dtype = np.dtype(dtype)
    size = math.prod(shape) * dtype.itemsize
    if not 0 < size <= _LARGEST:  # (a map has bytes)
        return np.empty(shape, dtype)
    with _lock:
        free = _free.setdefault(size, _Free())
        _free.move_to_end(size)
        while len(_free) > _SIZES:
            _free.popitem(last=False)
        block = free.maps.pop() if free.maps else None
        free.fewest = min(free.fewest, len(free.maps))
    if block is None:
        block = mmap.mmap(-1, size)
    # every view made of the array has ``lease`` as its base (numpy collapses a view's bases
    # up to the first array over memory it does not own whose base is not an array), so it
    # lives exactly as long as the last of them
    lease = np.frombuffer(block, np.uint8)
    weakref.finalize(lease, _give_back, block).atexit = False
    return lease.view(dtype)[:math.prod(shape)].reshape(shape)


def _give_back(block: mmap.mmap) -> None:
    with _lock:
        free = _free.get(len(block))
        if free is None:
            return
        free.maps.append(block)
        free.returns += 1
        if free.returns == _TRIM_EVERY:
            del free.maps[:free.fewest]  # the oldest free ones
            free.fewest, free.returns = len(free.maps), 0
