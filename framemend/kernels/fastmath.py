"""Fast-math flags under which a numba kernel gives the same bits whichever code path LLVM takes
through a loop.

LLVM's loop vectoriser keeps a scalar copy of each loop it vectorises and picks one at run time
by checking the addresses of the arrays the loop reads and writes (``vector.memcheck``): where
it cannot rule out an overlap it runs the scalar copy. Under ``fastmath=True`` the two copies
round differently: with ``arcp`` a division is a reciprocal estimate refined by a Newton step
in the vector loop and a correctly rounded ``divss`` in the scalar one (``afn`` allows the like
for functions). The copy taken depends on where the allocator put the arrays, which other
threads' allocations move, so a kernel gave different results on the same input: denoise's
recursion update (its gain ``v / (v + 1)``) came out one ulp off on 89 values of a 320x180
frame in 3 of 200 runs beside two busy processes, one 8-bit level after the recursion (the scalar
copy, built with ``numba.config.LOOP_VECTORIZE`` off, reproduced that output exactly).

Without ``arcp`` and ``afn`` (:data:`NO_ESTIMATES`) each division and function is correctly
rounded in both copies, and the denoise kernels built both ways give the same bits
(tests/test_denoise_determinism.py); their loops still vectorise (``nnan``, ``ninf``, ``nsz``
let ``min``/``max`` become vector instructions) at the same speed. ``contract`` and ``reassoc``
stay: with them the denoise kernels' copies agree, and dropping them moved 3300 values of
CogVideo__1's denoised output by a level (dropping ``arcp``/``afn`` moved 54). A loop that sums
into one variable (a reduction) is the exception: with ``reassoc`` the vector copy sums it lane
by lane and the scalar copy in order (deboil's kernels, built both ways with these flags,
differed in 1 value of 1.4 M on a 320x180 clip), and so can a fused multiply-add that LLVM forms
in one copy and not the other (``contract``): deboil's kernels with ``reassoc`` alone dropped
still differed in 1 value of 1.4 M on another clip. :data:`IN_ORDER` drops both: every
operation rounded as written, in the order written; deboil's kernels built both ways give the
same bits on both clips, for 1.2-1.7 ms more per 720x480 frame (15.5 -> 17.0 ms, its step
without the flow).

numba's cache does not see a change of these flags (it keys on the kernel's own source file):
delete the ``.nbi``/``.nbc`` files of the modules that use them after changing them.
"""
from __future__ import annotations

NO_ESTIMATES = {"nnan", "ninf", "nsz", "contract", "reassoc"}  # a set: numba takes no frozenset
IN_ORDER = {"nnan", "ninf", "nsz"}  # for kernels with reductions or fusable sums (deboil's)
