"""OpenCV's ``remap`` of a four-channel float32 image along a relative map (``INTER_LINEAR |
WARP_RELATIVE_MAP``, ``BORDER_REPLICATE``), a row at a time inside a numba kernel, bit for bit.

OpenCV 5.1 takes each position as ``x + flow`` in float32 (no 1/32-pixel weight tables), its
floor and fraction, and the taps clamped to the frame; it lerps the two rows' taps along x and
then the results along y as fused multiply-adds, ``a + t (b - a)`` (found by emulating it on the
denoise bench's states and random flows of σ 0.5 px to 10⁴ px: every value the same).
:func:`relative_taps` finds a row's taps and fractions in a loop that vectorises;
:func:`gather4` then loads each tap's four channels at once (one 16-byte load, :func:`_lerp4`)
and lerps them as one vector: about 0.3 ms each per 640x360 frame, where numba's own indexing
left the gather scalar (1.7-2.5 ms for the frame). A kernel that reads the prediction a row at a time no longer needs
it written whole (denoise's update: :func:`framemend.denoise._cpu._predict_update`)."""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .fastmath import NO_ESTIMATES

_F = np.float32
_PIXEL_BYTES = 16  # four float32 channels


@intrinsic
def _lerp4(typingctx, source, a, b, c, d, tx, ty, target):
    """Store at address ``target`` the bilinear blend of the four float32s at byte offsets
    ``a``, ``b`` (top row, left and right) and ``c``, ``d`` (bottom row) from address
    ``source``, fractions ``tx``, ``ty``: ``fma(ty, bottom - top, top)`` of ``top = fma(tx, b -
    a, a)`` and ``bottom = fma(tx, d - c, c)``, each as one ``<4 x float>`` operation."""
    signature = types.void(types.intp, types.intp, types.intp, types.intp, types.intp,
                           types.float32, types.float32, types.intp)

    def codegen(context, builder, sig, args):
        source, a, b, c, d, tx, ty, target = args
        vector = ir.VectorType(ir.FloatType(), 4)
        pointer = vector.as_pointer()
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vector, [vector] * 3), "llvm.fma.v4f32")

        def load(offset):
            return builder.load(builder.inttoptr(builder.add(source, offset), pointer), align=4)

        def splat(value):
            lane = builder.insert_element(ir.Constant(vector, ir.Undefined), value,
                                          ir.Constant(ir.IntType(32), 0))
            return builder.shuffle_vector(lane, ir.Constant(vector, ir.Undefined),
                                          ir.Constant(ir.VectorType(ir.IntType(32), 4), [0] * 4))

        left_top, right_top, left_bottom, right_bottom = load(a), load(b), load(c), load(d)
        fx, fy = splat(tx), splat(ty)
        top = builder.call(fma, [fx, builder.fsub(right_top, left_top), left_top])
        bottom = builder.call(fma, [fx, builder.fsub(right_bottom, left_bottom), left_bottom])
        blend = builder.call(fma, [fy, builder.fsub(bottom, top), top])
        builder.store(blend, builder.inttoptr(target, pointer), align=4)
        return context.get_dummy_value()

    return signature, codegen


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy", inline="always")
def relative_taps(flow_x, flow_y, y, h, w, taps, fractions):
    """Row ``y`` of an ``h`` x ``w`` frame moved by ``flow_x``, ``flow_y`` ``(W,)`` float32:
    each pixel's taps (``taps`` ``(4, W)`` int32: the top left tap's column and row and the
    steps to the right and bottom ones, 0 or 1, all clamped to the frame) and its fractions
    along x and y (``fractions`` ``(2, W)`` float32)."""
    xmax, ymax, row = _F(w - 1), _F(h - 1), _F(y)
    last_x, last_y = np.int32(w - 1), np.int32(h - 1)
    zero, one = np.int32(0), np.int32(1)
    for x in range(w):
        sx = _F(x) + flow_x[x]
        sy = row + flow_y[x]
        fx, fy = np.floor(sx), np.floor(sy)
        fractions[0, x], fractions[1, x] = sx - fx, sy - fy
        # clamped before the conversion (far positions) and after it (the index in range
        # whatever the float was)
        ix, iy = np.int32(min(max(fx, _F(-1)), xmax)), np.int32(min(max(fy, _F(-1)), ymax))
        x0, y0 = min(max(ix, zero), last_x), min(max(iy, zero), last_y)
        taps[0, x], taps[1, x] = x0, y0
        taps[2, x] = min(max(ix + one, zero), last_x) - x0
        taps[3, x] = min(max(iy + one, zero), last_y) - y0


@numba.njit(cache=True, fastmath=NO_ESTIMATES, nogil=True, error_model="numpy", inline="always")
def gather4(image, taps, fractions, out):
    """``out`` ``(W, 4)`` float32 (C-contiguous): the C-contiguous ``(h, w, 4)`` float32
    ``image`` at the positions :func:`relative_taps` described by ``taps`` and ``fractions``,
    as OpenCV's remap samples it."""
    source, target = np.intp(image.ctypes.data), np.intp(out.ctypes.data)
    pitch = np.intp(image.shape[1] * _PIXEL_BYTES)
    for x in range(out.shape[0]):
        top_left = np.intp(taps[1, x]) * pitch + np.intp(taps[0, x]) * _PIXEL_BYTES
        right = np.intp(taps[2, x]) * _PIXEL_BYTES
        bottom_left = top_left + np.intp(taps[3, x]) * pitch
        _lerp4(source, top_left, top_left + right, bottom_left, bottom_left + right,
               fractions[0, x], fractions[1, x], target + _PIXEL_BYTES * x)
