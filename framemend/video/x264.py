"""x264's options that make its output the same run to run: its CPU flags without AVX-512.

x264 (core 165, as PyAV's wheels bundle it) reads memory it never wrote when its AVX-512 code
encodes with macroblock-tree rate control (on at preset medium) at some frame widths, so the
bitstream depends on what the process's heap held before: the same frames, options and thread
count gave different files from one encode to the next (``framemend clean --chain
deflicker,denoise`` of one 320x240 clip, twice: frames decoding up to 38 levels apart).
Measured on an AVX-512 CPU (AMD EPYC) by encoding identical YUV frames with pure PyAV under
``MALLOC_PERTURB_`` 0, 1 and 165: widths of 20, 21, 22, 30, 60 and 100 macroblocks changed
with the heap, widths of 40, 80 and 120 (640, 1280, 1920 pixels) did not; ``mbtree=0`` or x264's flags without AVX-512 made every width
reproducible. Without AVX-512 (its AVX2 code) the files are identical to AVX-512's where that
was reproducible (1280x720, 1920x1080) at the same CPU time (BENCHMARKS.md, the end).

:func:`x264_params` gives libx264 the flags x264 itself detects, less AVX-512, read from the
libx264 the process has loaded (:func:`x264_cpu_detect` and the bit of its ``x264_cpu_names``),
so no flag the CPU lacks is ever set.
"""
from __future__ import annotations

import ctypes
import functools


class _CpuName(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("flags", ctypes.c_uint32)]


def x264_params() -> dict[str, str]:
    """libx264's ``x264-params`` option (``{"x264-params": "asm=FLAGS"}``) that keeps x264 off
    its AVX-512 code, or ``{}`` when the CPU has none or the library cannot be read."""
    flags = _flags_without_avx512()
    return {} if flags is None else {"x264-params": f"asm={flags}"}


@functools.cache
def _flags_without_avx512() -> int | None:
    lib = _loaded_x264()
    if lib is None:
        return None
    try:
        lib.x264_cpu_detect.restype = ctypes.c_uint32
        detected = lib.x264_cpu_detect()
        names = {}
        for entry in (_CpuName * 64).in_dll(lib, "x264_cpu_names"):
            if not entry.flags:
                break
            names[entry.name] = entry.flags
        # each name's flags include those of the sets below it: AVX-512's own bit is what it
        # adds to AVX2
        avx512 = names[b"AVX512"] & ~names[b"AVX2"]
    except (AttributeError, KeyError, ValueError):
        return None
    return detected & ~avx512 if detected & avx512 else None


def _loaded_x264() -> ctypes.CDLL | None:
    """The libx264 that PyAV's libavcodec loaded (Linux: found in ``/proc/self/maps``)."""
    import av  # noqa: F401 - loads libavcodec and with it libx264

    try:
        with open("/proc/self/maps") as maps:
            path = next((line.split()[-1] for line in maps if "/libx264" in line), None)
    except OSError:
        return None
    if path is None:
        return None
    try:
        return ctypes.CDLL(path)
    except OSError:
        return None
