"""YUV -> RGB of decoded pictures (framemend.video.colour): swscale's matrices, no colour shift."""
import av
import cv2
import numpy as np
import pytest
from skimage import data

from framemend.video.colour import rgb_to_yuv, ycbcr_to_rgb_matrix, yuv_to_rgb
from framemend.video.planes import planar_yuv_bits

MATRICES = ("itu601", "itu709", "bt2020")


def _photo(width=160, height=96) -> np.ndarray:
    return cv2.resize(data.coffee(), (width, height), interpolation=cv2.INTER_AREA)


def _fill(picture: av.VideoFrame, planes: list[np.ndarray]) -> av.VideoFrame:
    for plane, values in zip(picture.planes, planes):
        row = plane.line_size // values.itemsize
        padded = np.zeros((plane.height, row), values.dtype)
        padded[:, :values.shape[1]] = values
        plane.update(padded.tobytes())
    return picture


def _exact_picture(rgb: np.ndarray, fmt: str, matrix: str, full_range: bool) -> av.VideoFrame:
    """``rgb`` uint8 encoded with the exact inverse of the matrix, chroma subsampled by box
    averaging (centre-sited), so the only loss is rounding and subsampling."""
    bits = 10 if "10" in fmt else 8
    affine = ycbcr_to_rgb_matrix(matrix, full_range, bits, 255.0)
    ycc = (rgb.astype(float) - affine[:, 3]) @ np.linalg.inv(affine[:, :3]).T
    dtype = np.uint8 if bits == 8 else np.uint16
    h, w = rgb.shape[:2]
    sub_y = 2 if "420" in fmt else 1
    sub_x = 2 if ("420" in fmt or "422" in fmt) else 1
    planes = [ycc[..., 0]] + [ycc[..., c].reshape(h // sub_y, sub_y, w // sub_x, sub_x).mean((1, 3))
                              for c in (1, 2)]
    planes = [np.clip(np.round(p), 0, 2 ** bits - 1).astype(dtype) for p in planes]
    return _fill(av.VideoFrame(w, h, fmt), planes)


@pytest.mark.parametrize("matrix", MATRICES)
@pytest.mark.parametrize("full_range", [False, True])
def test_matrix_is_swscales(matrix, full_range):
    """4:4:4 8-bit (nothing to interpolate): within one level of swscale's own conversion."""
    rgb = av.VideoFrame.from_ndarray(_photo(), format="rgb24")
    picture = rgb.reformat(format="yuv444p", dst_colorspace=matrix,
                           dst_color_range=2 if full_range else 1)
    ref = picture.to_ndarray(format="rgb24", src_colorspace=matrix,
                             src_color_range=2 if full_range else 1).astype(int)
    assert np.abs(yuv_to_rgb(picture, matrix, full_range).astype(int) - ref).max() <= 1


@pytest.mark.parametrize("fmt,matrix,full_range", [
    ("yuv420p", "itu601", False), ("yuv420p", "itu709", True), ("yuv422p", "itu709", False),
    ("yuv444p", "bt2020", False), ("yuv420p10le", "itu709", False),
    ("yuv444p10le", "bt2020", True)])
def test_no_colour_shift_and_swscale_accuracy(fmt, matrix, full_range):
    """Against the photograph an exact encoder made the picture from: no shift, and no larger
    error than swscale's accurate path (chroma to 4:4:4 first, then its matrix)."""
    truth = _photo()
    picture = _exact_picture(truth, fmt, matrix, full_range)
    deep = planar_yuv_bits(picture.format) > 8
    level = 257.0 if deep else 1.0  # one 8-bit level
    ours = yuv_to_rgb(picture, matrix, full_range)
    assert ours.dtype == (np.uint16 if deep else np.uint8) and ours.shape == truth.shape
    error = ours / level - truth
    assert np.abs(error.mean(axis=(0, 1))).max() < 0.3
    if fmt.startswith("yuv444"):  # only rounding: 8-bit YCbCr codes span up to ~2 RGB levels
        assert np.abs(error).max() <= (1.01 if deep else 2.01)
    else:
        full = "yuv444p16le" if deep else "yuv444p"
        ref = picture.reformat(format=full, interpolation="BILINEAR").to_ndarray(
            format="rgb48le" if deep else "rgb24", src_colorspace=matrix,
            src_color_range=2 if full_range else 1) / level
        assert np.sqrt((error ** 2).mean()) <= np.sqrt(((ref - truth) ** 2).mean()) + 0.05


@pytest.mark.parametrize("fmt,matrix,full_range", [
    ("yuv420p", "itu601", False), ("yuv444p", "itu709", True), ("yuv420p10le", "itu709", False),
    ("yuv444p10le", "bt2020", False)])
def test_rgb_to_yuv_round_trip(fmt, matrix, full_range):
    """RGB -> YUV -> RGB keeps the photograph: no shift, within rounding on 4:4:4, and on 4:2:0
    no further from it than swscale's own RGB -> YUV followed by its accurate way back."""
    truth = _photo()
    deep = "10" in fmt
    level = 257.0 if deep else 1.0
    rgb = truth.astype(np.uint16) * 257 if deep else truth
    picture = rgb_to_yuv(rgb, fmt, matrix, full_range)
    assert picture.format.name == fmt and picture.color_range == (2 if full_range else 1)
    error = yuv_to_rgb(picture, matrix, full_range) / level - truth
    assert np.abs(error.mean(axis=(0, 1))).max() < 0.3
    if fmt.startswith("yuv444"):
        assert np.abs(error).max() <= (1.01 if deep else 2.01)
    else:
        theirs = av.VideoFrame.from_ndarray(rgb, format="rgb48le" if deep else "rgb24").reformat(
            format=fmt, dst_colorspace=matrix, dst_color_range=2 if full_range else 1)
        back = theirs.reformat(format="yuv444p16le" if deep else "yuv444p").to_ndarray(
            format="rgb48le" if deep else "rgb24", src_colorspace=matrix,
            src_color_range=2 if full_range else 1) / level
        assert np.sqrt((error ** 2).mean()) <= np.sqrt(((back - truth) ** 2).mean()) + 0.05


def test_swscale_direct_path_is_the_one_that_shifts():
    """Why this module exists: swscale's direct 4:2:0 -> RGB darkens the photo by ~1 level."""
    truth = _photo()
    picture = _exact_picture(truth, "yuv420p", "itu709", False)
    direct = picture.to_ndarray(format="rgb24", src_colorspace="itu709").astype(float)
    assert (direct - truth).mean() < -0.7
    assert abs((yuv_to_rgb(picture, "itu709", False) - truth.astype(float)).mean()) < 0.3


def test_other_formats_are_left_to_swscale():
    for fmt in ("nv12", "rgb24", "gray", "yuyv422"):
        assert planar_yuv_bits(av.VideoFrame(16, 16, fmt).format) is None
