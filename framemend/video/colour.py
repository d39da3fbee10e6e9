"""Planar YUV pictures to RGB arrays and back, fast and without a colour shift.

swscale's direct 4:2:0 -> RGB path (what ``VideoFrame.to_ndarray(format="rgb24")`` takes) shifts
every channel by about -1.2 8-bit levels and does not interpolate chroma; its 4:4:4 -> RGB path
is accurate but costs ~10 ms per 1280x720 frame, and RGB -> YUV through ``reformat`` ~5 ms more.
Here the YCbCr <-> RGB matrix of ITU-R BT.601 / BT.709 / BT.2020 (limited or full range) is
applied with one ``cv2.transform``, rounding to the integer depth; chroma is upsampled
bilinearly and downsampled by area averaging (OpenCV, both centre-sited, so a round trip keeps
its place).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from framemend.kernels.buffers import frame_array
from framemend.kernels.colour import LUMA

from .planes import full_range, planar_yuv_bits, plane, sample_type

if TYPE_CHECKING:  # PyAV is imported where a picture is made: the matrices need none
    import av

# (Kr, Kb) of each swscale matrix name (ITU-R BT.601-7, BT.709-6, BT.2020-2 non-constant luminance)
_KR_KB = {"itu601": (LUMA[0], LUMA[2]), "itu709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


def ycbcr_to_rgb_matrix(matrix: str, full_range: bool, bits: int, out_max: float) -> np.ndarray:
    """``(3, 4)`` affine map from code values ``(Y, Cb, Cr, 1)`` at ``bits`` to RGB in
    ``[0, out_max]``."""
    kr, kb = _KR_KB[matrix]
    kg = 1.0 - kr - kb
    unit = 2.0 ** (bits - 8)
    if full_range:
        y_off, y_scale, c_scale = 0.0, 2.0 ** bits - 1, 2.0 ** bits - 1
    else:
        y_off, y_scale, c_scale = 16 * unit, 219 * unit, 224 * unit
    c_off = 128 * unit
    to_rgb = np.array([[1.0, 0.0, 2 * (1 - kr)],
                       [1.0, -2 * kb * (1 - kb) / kg, -2 * kr * (1 - kr) / kg],
                       [1.0, 2 * (1 - kb), 0.0]])
    linear = to_rgb / np.array([y_scale, c_scale, c_scale])
    offset = -linear @ np.array([y_off, c_off, c_off])
    return np.hstack([linear, offset[:, None]]) * out_max


def rgb_to_ycbcr_matrix(matrix: str, full_range: bool, bits: int, in_max: float) -> np.ndarray:
    """``(3, 4)`` affine map from RGB in ``[0, in_max]`` (and 1) to YCbCr code values at
    ``bits``: the inverse of :func:`ycbcr_to_rgb_matrix`."""
    forward = ycbcr_to_rgb_matrix(matrix, full_range, bits, in_max)
    inverse = np.linalg.inv(forward[:, :3])
    return np.hstack([inverse, -(inverse @ forward[:, 3])[:, None]])


def yuv_to_rgb(picture: av.VideoFrame, matrix: str, full_range: bool) -> np.ndarray:
    """``(H, W, 3)`` RGB of a picture whose format :func:`planar_yuv_bits` accepts: uint8 from
    8-bit YUV, uint16 on the full 16-bit scale from deeper YUV."""
    bits = planar_yuv_bits(picture.format)
    dtype = sample_type(picture)
    luma = plane(picture, 0, dtype)
    height, width = luma.shape
    chroma = []
    for index in (1, 2):
        values = plane(picture, index, dtype)
        if values.shape != luma.shape:
            values = cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)
        chroma.append(values)
    out_max = 255.0 if bits <= 8 else 65535.0
    # from the pool (kernels.buffers): made every frame, and the frame waits in queues and
    # windows; the matrix is applied in place, pixel by pixel (as into a second array)
    ycbcr = cv2.merge([luma, *chroma], dst=frame_array((height, width, 3), dtype))
    return cv2.transform(ycbcr, ycbcr_to_rgb_matrix(matrix, full_range, bits, out_max),
                         dst=ycbcr)


def picture_rgb(picture: av.VideoFrame, matrix: str, deep: bool) -> np.ndarray | None:
    """:func:`yuv_to_rgb` of a planar YUV picture at the depth asked (``deep``: YUV deeper than
    8 bits to uint16 RGB; else 8-bit YUV to uint8), in its own range
    (:func:`.planes.full_range`); None for any other picture, which swscale converts (its
    direct YUV -> RGB path shifts colours by about -1.2 8-bit levels, this one does not)."""
    bits = planar_yuv_bits(picture.format)
    if bits is None or (bits > 8) != deep:
        return None
    return yuv_to_rgb(picture, matrix, full_range(picture))


def rgb_to_yuv(rgb: np.ndarray, fmt: str, matrix: str, full_range: bool) -> av.VideoFrame:
    """A picture in the planar YUV format ``fmt`` (one :func:`planar_yuv_bits` accepts) from
    ``(H, W, 3)`` RGB: uint8 for 8-bit YUV, uint16 on the full 16-bit scale for deeper YUV."""
    import av

    picture = av.VideoFrame(rgb.shape[1], rgb.shape[0], fmt)
    bits = planar_yuv_bits(picture.format)
    in_max = 255.0 if rgb.dtype == np.uint8 else 65535.0
    ycbcr = cv2.split(cv2.transform(rgb, rgb_to_ycbcr_matrix(matrix, full_range, bits, in_max)))
    for index, (target, values) in enumerate(zip(picture.planes, ycbcr)):
        if index and (target.width, target.height) != (values.shape[1], values.shape[0]):
            values = cv2.resize(values, (target.width, target.height), interpolation=cv2.INTER_AREA)
        row = target.line_size // values.itemsize
        if row != values.shape[1]:
            padded = np.zeros((target.height, row), values.dtype)
            padded[:, :values.shape[1]] = values
            values = padded
        target.update(np.ascontiguousarray(values))
    picture.color_range = 2 if full_range else 1
    return picture
