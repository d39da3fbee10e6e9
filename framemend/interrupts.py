"""Signal handlers that raise an exception (Ctrl-C's KeyboardInterrupt, SIGTERM's), kept out of
llvmlite's ctypes callbacks.

Python runs a signal's handler in the main thread at its next bytecode. While numba compiles a
kernel (a first run, before ``framemend warmup``), that next bytecode is, often, the first one
of llvmlite's object-cache callback, which LLVM calls from C when a kernel's code is made; an
exception raised there is printed ("Exception ignored on calling ctypes callback function")
and dropped, so the run went on to its end as if no Ctrl-C came, or numba failed later with
"RuntimeError: no compiled object yet" (a traceback, exit 1; seen with SIGINT 6-8 s into a
first run). A handler made here sends its signal again 50 ms later instead of raising there.
Only the standard library is imported: the CLI's start stays light.
"""
from __future__ import annotations

import os
import threading

# llvmlite.binding.executionengine's ctypes callbacks (CFUNCTYPE), which LLVM calls from C
_CALLBACKS = {"_raw_object_cache_notify", "_raw_object_cache_getbuffer"}


def in_dropping_callback(frame) -> bool:
    """Whether ``frame`` (a handler's) is inside a callback whose exceptions Python prints and
    drops: one of llvmlite's ctypes callbacks, or a ``weakref.finalize`` callback (a frame
    buffer given back, :mod:`.kernels.buffers`: "Exception ignored in: <finalize object>",
    seen once in four CI runs of a batch's Ctrl-C)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name in _CALLBACKS and "llvmlite" in code.co_filename:
            return True
        if code.co_name == "__call__" and code.co_filename.endswith("weakref.py"):
            return True
        frame = frame.f_back
    return False


def raising(exception: type[BaseException]):
    """A signal handler that raises ``exception``, or, inside an llvmlite callback or a weakref
    finalizer (where the exception would be dropped), sends the same signal to this process
    again 50 ms later."""

    def handler(signum, frame):
        if in_dropping_callback(frame):
            threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
            return
        raise exception

    return handler
