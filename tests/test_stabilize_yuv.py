"""stabilize on the decoded YUV planes (``Filter.reads_yuv``) against its RGB path: the analysis
luma, the warped pictures in each planar format, and whole runs through ``clean_file``."""
from __future__ import annotations

import functools

import av
import numpy as np
import pytest

import framemend.stabilize.stabilize as stabilize_module
from framemend.api import read
from framemend.chain.frames import Frame
from framemend.chain.options import make_options
from framemend.generate import degrade, scene
from framemend.metrics import psnr
from framemend.metrics.camera import jitter
from framemend.pipeline import clean_file
from framemend.stabilize.motion import analysis_luma_raw, analysis_luma_yuv
from framemend.stabilize.stabilize import Stabilize
from framemend.stabilize.warp import warp_yuv
from framemend.video.colour import rgb_to_yuv, yuv_to_rgb
from framemend.video.planes import full_range, plane, sample_type

from media import make_video, stream_summary

W, H = 320, 180


@pytest.fixture(scope="module")
def shaken():
    """``(48, H, W, 3)`` float RGB in [0, 1]: the handheld scene with 3 px of shake."""
    return degrade(scene("handheld", W, H, frames=48, seed=1), "jitter=3", seed=1).frames


def _pictures(frames: np.ndarray, fmt: str, matrix: str, full: bool = False) -> list:
    """``frames`` (float RGB) as planar YUV pictures of ``fmt``, as a decoder hands them over."""
    deep = fmt.endswith("le")
    top = 65535 if deep else 255
    rgb = np.round(frames * top).astype(np.uint16 if deep else np.uint8)
    return [rgb_to_yuv(f, fmt, matrix, full) for f in rgb]


def _to_rgb(matrix: str, picture, size=None) -> np.ndarray:
    return yuv_to_rgb(picture, matrix, full_range(picture))


def _run(pictures: list, matrix: str, planes: bool) -> list[Frame]:
    """Stream decoded ``pictures`` through stabilize: as pictures (``planes``, the YUV path) or
    converted to RGB first, as the engine hands them to a filter reading ``Frame.raw``."""
    flt = Stabilize(make_options("stabilize", Stabilize.Options, {}))
    assert flt.reads_yuv
    scale = 65535.0 if pictures[0].format.name.endswith("le") else 255.0
    out = []
    for t, p in enumerate(pictures):
        frame = Frame(picture=p, to_raw=functools.partial(_to_rgb, matrix), yuv_matrix=matrix,
                      raw_scale=scale, time=t / 24.0)
        if not planes:
            frame.raw  # noqa: B018 - the RGB path: converted before the filter sees it
        out += flt.push(frame)
    return out + flt.flush()


def _luma_frame(frames: np.ndarray) -> np.ndarray:
    """One 640x360 frame of the clip, enlarged: analysed at half size."""
    import cv2

    return cv2.resize(frames[5], (640, 360), interpolation=cv2.INTER_LINEAR)[None]


@pytest.mark.parametrize("fmt,matrix,full", [("yuv420p", "itu601", False),
                                             ("yuv420p", "itu709", False),
                                             ("yuvj420p", "itu709", True),
                                             ("yuv422p10le", "bt2020", False),
                                             ("yuv444p", "itu709", False)])
def test_analysis_luma_from_planes_is_the_rgb_paths(shaken, fmt, matrix, full):
    """The luma stabilize tracks, made from the planes, is the RGB path's within a level: the
    matrix and range are the picture's (BT.601 luma of the RGB the reader makes)."""
    picture = _pictures(_luma_frame(shaken), fmt, matrix, full)[0]
    ours, scale = analysis_luma_yuv(picture, matrix)
    rgb = _to_rgb(matrix, picture)
    theirs, their_scale = analysis_luma_raw(rgb, 65535.0 if rgb.dtype == np.uint16 else 255.0)
    assert scale == their_scale == 2.0 and ours.shape == theirs.shape == (180, 320)
    d = np.abs(ours.astype(int) - theirs)
    assert d.max() <= 1 and (d > 0).mean() < 0.25  # measured: max 1, 1.4-14.8 % differ
    # (the RGB path's RGB rounded to integers); the other matrix: max 8-13 levels


@pytest.mark.parametrize("fmt", ["yuv420p", "yuv422p", "yuv444p", "yuv420p10le"])
def test_yuv_path_warps_as_the_rgb_path(shaken, fmt):
    """Pictures of each planar format come out as pictures of that format whose RGB is the RGB
    path's output within the rounding and chroma filtering that path adds, the same warps; the
    chroma planes (warped at their own resolution, with the format's siting) match the RGB
    output's chroma."""
    matrix = "itu709"
    pictures = _pictures(shaken, fmt, matrix)
    yuv, rgb = _run(pictures, matrix, True), _run(pictures, matrix, False)
    assert len(yuv) == len(rgb) == len(pictures)
    assert all(f.yuv is not None and f.yuv.format.name == fmt for f in yuv)
    assert all(f.raw is not None for f in rgb)
    for a, b in zip(yuv, rgb):
        # measured within 0.016-0.031 (the analysis luma's rounding)
        np.testing.assert_allclose(a.aux["stabilize_warp"], b.aux["stabilize_warp"], atol=0.1)
    dtype = sample_type(pictures[0])
    top = float(np.iinfo(dtype).max)
    theirs = [f.raw for f in rgb]
    chroma_ours = [np.stack([plane(f.yuv, i, dtype) for i in (1, 2)]) for f in yuv]
    chroma_theirs = [np.stack([plane(rgb_to_yuv(r, fmt, matrix, False), i, dtype) for i in (1, 2)])
                     for r in theirs]
    ours = np.stack([f.raw for f in yuv]).astype(np.float32) / top
    theirs = np.stack(theirs).astype(np.float32) / top
    bits_top = 1023.0 if fmt.endswith("10le") else 255.0
    chroma = psnr(np.stack(chroma_ours).astype(np.float32) / bits_top,
                  np.stack(chroma_theirs).astype(np.float32) / bits_top)
    assert psnr(ours, theirs) > 44.0  # measured 48.3-52.0 dB
    assert chroma > 48.0  # measured 52.6-57.4 dB


def _spy_on_planes(monkeypatch) -> list:
    """Count the pictures stabilize warps as planes."""
    calls = []
    warp = stabilize_module.warp_yuv

    def counted(picture, matrix):
        calls.append(picture.format.name)
        return warp(picture, matrix)

    monkeypatch.setattr(stabilize_module, "warp_yuv", counted)
    return calls


def _decoded(path: str) -> tuple[str, np.ndarray]:
    """The pixel format and ``(T, H, W)`` luma plane of a video file."""
    with av.open(path) as c:
        pictures = list(c.decode(video=0))
    dtype = sample_type(pictures[0])
    return pictures[0].format.name, np.stack([plane(p, 0, dtype) for p in pictures])


@pytest.fixture(scope="module")
def shaky_files(shaken, tmp_path_factory):
    """The shaken clip as lossless H.264 with 2 s of audio, 8-bit 4:2:0 and 10-bit 4:2:0."""
    folder = tmp_path_factory.mktemp("yuv")
    rgb = np.round(shaken * 255).astype(np.uint8)
    files = {}
    for fmt in ("yuv420p", "yuv420p10le"):
        files[fmt] = str(folder / f"{fmt}.mp4")
        make_video(files[fmt], rgb, fps=24, audio_seconds=2.0, pix_fmt=fmt, crf=0)
    return files


@pytest.mark.parametrize("fmt", ["yuv420p", "yuv420p10le"])
def test_clean_warps_the_decoded_planes(shaky_files, tmp_path, monkeypatch, fmt):
    """``framemend clean -f stabilize`` hands stabilize the decoder's pictures and encodes the
    warped ones as they are: the depth (10-bit stays 10-bit), frame times and audio are kept,
    and the output is the RGB path's (the engine converting every frame) within a margin."""
    src = shaky_files[fmt]
    calls = _spy_on_planes(monkeypatch)
    clean_file(src, str(tmp_path / "yuv.mp4"), "stabilize", crf=0)
    assert calls == [fmt] * 48
    with monkeypatch.context() as m:  # no picture is one of planes: the RGB path
        m.setattr(Frame, "yuv", property(lambda self: None))
        clean_file(src, str(tmp_path / "rgb.mp4"), "stabilize", crf=0)
    assert len(calls) == 48
    fmt_yuv, luma_yuv = _decoded(str(tmp_path / "yuv.mp4"))
    fmt_rgb, luma_rgb = _decoded(str(tmp_path / "rgb.mp4"))
    assert fmt_yuv == fmt_rgb == fmt
    top = 1023.0 if fmt.endswith("10le") else 255.0
    if fmt.endswith("10le"):
        assert (luma_yuv % 4 != 0).mean() > 0.5  # 10-bit values, not 8-bit ones shifted: 0.71
    assert psnr(luma_yuv.astype(np.float32) / top, luma_rgb.astype(np.float32) / top) > 50.0  # 55.2-56.5
    before, after = stream_summary(src), stream_summary(str(tmp_path / "yuv.mp4"))
    np.testing.assert_allclose(after["times"], before["times"], atol=1e-3)
    assert after["audio"]["bytes"] == before["audio"]["bytes"]


@pytest.mark.parametrize("chain,planes", [("stabilize,deflicker", True),
                                          ("deflicker,stabilize", False)])
def test_chains_around_the_yuv_path(shaky_files, tmp_path, monkeypatch, chain, planes):
    """Stabilize first takes the planes and the filter after it reads its pictures; stabilize
    after a filter that read the pixels takes that filter's frames (the raw path). Both
    remove the shake."""
    src = shaky_files["yuv420p"]
    calls = _spy_on_planes(monkeypatch)
    out = str(tmp_path / "out.mp4")
    clean_file(src, out, chain, crf=0)
    assert len(calls) == (48 if planes else 0)
    before, after = read(src), read(out)
    assert len(after) == 48
    assert jitter(after.astype(np.float32) / 255) < 0.1 * jitter(before.astype(np.float32) / 255)  # 0.016


@pytest.mark.parametrize("fmt,slope,origin", [("yuv420p16le", (100.0, 100.0), (0.0, 0.5)),
                                              ("yuvj420p", (8.0, 0.0), (0.5, 0.5))])
def test_chroma_follows_the_luma_map_at_its_siting(fmt, slope, origin):
    """Chroma samples of a linear ramp ``g(x, y) = a x + b y`` in luma pixels, each taken at
    its site (MPEG-2's for ``yuv``, co-sited with the even columns; JPEG's, centred, for
    ``yuvj``), take after a 4x zoom the ramp at the luma map of their site: exact for bilinear
    sampling but for rounding; a siting off by half a luma pixel errs by ``3 a / 8`` (3 codes
    for yuvj420p's 8-bit ramp)."""
    picture = av.VideoFrame(32, 32, fmt)
    dtype = sample_type(picture)

    def ramp(shape, scale):
        ys, xs = np.mgrid[:shape[0], :shape[1]]
        return scale * (slope[0] * (2 * xs + origin[0]) + slope[1] * (2 * ys + origin[1]))

    for i in range(3):
        shape = plane(picture, i, dtype).shape
        values = ramp(shape, 1.0) if i else np.full(shape, 100)
        picture.planes[i].update(np.ascontiguousarray(np.round(values).astype(dtype)))
    zoom = np.diag([0.25, 0.25, 1.0])  # output pixel q takes the input at q / 4
    out = plane(warp_yuv(picture, zoom), 1, dtype).astype(np.float64)
    error = np.abs(out - ramp(out.shape, 0.25))[1:12, 1:12]  # row and column 0: the border
    assert error.max() <= 1.0  # measured 0.5 (the input's and output's rounding)


def test_lossless_output_of_the_planes_keeps_the_colours(shaky_files, tmp_path, monkeypatch):
    """``--lossless`` (FFV1 RGB) of stabilize's warped pictures is made RGB as the reader makes
    it, not by swscale's direct path (-0.8 to -1.4 levels per channel): the RGB path's output
    on average per channel."""
    src = shaky_files["yuv420p"]
    clean_file(src, str(tmp_path / "yuv.mkv"), "stabilize", lossless=True)
    with monkeypatch.context() as m:
        m.setattr(Frame, "yuv", property(lambda self: None))
        clean_file(src, str(tmp_path / "rgb.mkv"), "stabilize", lossless=True)
    shift = (read(str(tmp_path / "yuv.mkv")).astype(np.float64)
             - read(str(tmp_path / "rgb.mkv"))).mean((0, 1, 2))
    assert np.abs(shift).max() < 0.25  # measured 0.0005-0.0023 levels; swscale's: 0.79-1.44
