"""Output containers: MP4/MOV with their index first, GIF with a per-clip palette, MPEG-TS,
10-bit WebM."""
import subprocess
import sys
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
import skimage.data

from framemend.cli import main
from framemend.video import read_video, write_video
from media import make_video, moving_frames, stream_summary


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2)))


@pytest.fixture(scope="module")
def photo_clip():
    """24 frames, 96x64, of the astronaut photograph panning 2 px a frame (many colours)."""
    img = cv2.resize(skimage.data.astronaut(), (96, 64), interpolation=cv2.INTER_AREA)
    return np.stack([np.roll(img, 2 * i, axis=1) for i in range(24)])


def fixed_palette_gif(path: str, frames: np.ndarray, fps: int) -> None:
    """The GIF ffmpeg writes without palettegen: every frame on the fixed 3-3-2 rgb8 palette."""
    with av.open(path, "w") as c:
        s = c.add_stream("gif", rate=fps)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "rgb8"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="rgb8")
            vf.pts, vf.time_base = i, Fraction(1, fps)
            c.mux(s.encode(vf))
        c.mux(s.encode(None))


def test_gif_round_trip_keeps_frames_timing_and_looks_like_the_input(tmp_path, photo_clip):
    src = str(tmp_path / "in.mkv")
    write_video(src, photo_clip, 12, lossless=True)
    out = str(tmp_path / "out.gif")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    s = stream_summary(out)
    assert s["frames"] == 24
    assert np.allclose(s["times"], np.arange(24) / 12, atol=0.006)  # GIF times are 1/100 s
    got = read_video(out)[0]
    fixed = str(tmp_path / "fixed.gif")
    fixed_palette_gif(fixed, photo_clip, 12)
    # measured: 35.4 dB with the clip's own palette, 22.2 dB on the fixed palette
    assert psnr(got, photo_clip) > 31
    assert psnr(got, photo_clip) > psnr(read_video(fixed)[0], photo_clip) + 8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("loop", [None, 3, 0])
def test_a_gifs_loop_count_is_kept(tmp_path, loop):
    """A GIF that plays once (no NETSCAPE2.0 block), or loops 3 times, came out looping for
    ever (FFmpeg's GIF muxer's default); a GIF from another container still loops for ever."""
    from PIL import Image  # noqa: PLC0415

    src, out = tmp_path / "in.gif", tmp_path / "out.gif"
    images = [Image.fromarray(f) for f in moving_frames(4, 32, 24)]
    images[0].save(src, save_all=True, append_images=images[1:], duration=80,
                   **({} if loop is None else {"loop": loop}))
    assert main(["clean", str(src), "-o", str(out), "-f", "identity", "-q"]) == 0
    with Image.open(out) as image:
        assert image.info.get("loop") == loop and image.n_frames == 4
    mkv, again = tmp_path / "in.mkv", tmp_path / "again.gif"
    make_video(str(mkv), moving_frames(4, 32, 24), 12)
    assert main(["clean", str(mkv), "-o", str(again), "-f", "identity", "-q"]) == 0
    with Image.open(again) as image:
        assert image.info.get("loop") == 0


def test_gif_folder_input_is_cleaned_not_skipped(tmp_path, photo_clip):
    src, dst = tmp_path / "clips", tmp_path / "clean"
    src.mkdir()
    fixed_palette_gif(str(src / "a.gif"), photo_clip[:8], 8)
    make_video(str(src / "b.ts"), moving_frames(8), 24)
    assert main(["clean", str(src), "-o", str(dst), "-f", "identity", "-q"]) == 0
    assert sorted(p.name for p in dst.iterdir() if not p.name.startswith(".")) == ["a.gif", "b.ts"]
    assert stream_summary(str(dst / "a.gif"))["frames"] == 8


def test_ts_output_is_h264_in_mpegts_with_the_input_times(tmp_path):
    src = str(tmp_path / "in.mp4")
    make_video(src, moving_frames(30), 24, audio_seconds=1.25)
    out = str(tmp_path / "out.ts")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    with av.open(out) as c:
        assert c.format.name == "mpegts" and c.streams.video[0].codec_context.name == "h264"
        assert c.streams.audio[0].codec_context.name == "aac"
    times = np.array(stream_summary(out)["times"])
    assert len(times) == 30 and np.allclose(times - times[0], np.arange(30) / 24, atol=0.001)


def top_level_boxes(path: str) -> list[str]:
    """The types of an MP4/MOV file's top-level boxes, in file order (ISO 14496-12: 32-bit
    size, type; size 1: a 64-bit size follows)."""
    names = []
    with open(path, "rb") as f:
        while header := f.read(8):
            size, kind = int.from_bytes(header[:4], "big"), header[4:].decode("latin-1")
            if size == 1:
                size = int.from_bytes(f.read(8), "big") - 8
            names.append(kind)
            f.seek(size - 8, 1)
    return names


@pytest.mark.parametrize("ext", ["mp4", "mov"])
def test_mp4_output_puts_its_index_first_and_reads_from_a_pipe(tmp_path, ext):
    src, out = str(tmp_path / "in.mp4"), str(tmp_path / f"out.{ext}")
    make_video(src, moving_frames(12), 24, audio_seconds=0.5)
    assert main(["clean", src, "-o", out, "-f", "denoise", "-q"]) == 0
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    with open(out, "rb") as f:  # a pipe cannot seek to an index at the end
        done = subprocess.run([sys.executable, "-m", "framemend", "clean", "-", "-o", "-",
                               "-f", "identity", "--lossless"], stdin=f, capture_output=True,
                              timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    piped = tmp_path / "piped.mkv"
    piped.write_bytes(done.stdout)
    assert np.array_equal(read_video(str(piped))[0], read_video(out)[0])


def ten_bit_source(path: str, n: int = 12) -> np.ndarray:
    """A 16-bit lossless clip whose gradient needs more than 8 bits (steps of 1/1024)."""
    ramp = (np.arange(96) * 1024 // 96 * 64).astype(np.uint16)
    frames = np.zeros((n, 64, 96, 3), np.uint16)
    frames[..., 0] = frames[..., 1] = frames[..., 2] = ramp[None, None]
    for t in range(n):
        frames[t, 20:30, 4 * t:4 * t + 10] = 50000
    write_video(path, frames, 24, lossless=True)
    return frames


def test_ten_bit_webm_keeps_ten_bits(tmp_path, capsys):
    src = str(tmp_path / "deep.mkv")
    frames = ten_bit_source(src)
    out = str(tmp_path / "out.webm")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    with av.open(out) as c:
        assert "10" in c.streams.video[0].codec_context.pix_fmt
    got = read_video(out)[0]
    assert got.dtype == np.uint16
    # the ramp's 1/1024 steps survive: far more distinct levels on a row than 8 bits hold
    assert len(np.unique(got[5, 60, :, 1])) > 60
    assert np.abs(got.astype(float) - frames).mean() < 400  # 65535 full scale
    assert "AV1" in capsys.readouterr().err  # the codec switch is said


@pytest.mark.skipif("libsvtav1" not in av.codecs_available, reason="no SVT-AV1 in this build")
def test_ten_bit_webm_of_odd_size_falls_back_to_eight_bits(tmp_path, capsys):
    """The default 10-bit AV1 of a deep source in .webm cannot encode odd-sized frames (4:4:4):
    `clean deep.mkv -o out.webm` failed with defaults; now it is written by the default 8-bit
    encoder and the reason is said."""
    src = str(tmp_path / "deep.mkv")
    frames = moving_frames(3, 35, 21).astype(np.uint16) * 257 + 100
    write_video(src, frames, 12, lossless=True)
    out = str(tmp_path / "out.webm")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    err = capsys.readouterr().err
    assert "cannot encode 35x21 frames (odd-sized" in err
    got = read_video(out)[0]
    assert got.shape == (3, 21, 35, 3)
    assert np.abs(got.astype(float) - frames / 257).mean() < 6  # 8-bit levels, lossy


def test_eight_bit_only_encoder_warns_plainly(tmp_path, capsys):
    src = str(tmp_path / "deep.mkv")
    ten_bit_source(src)
    out = str(tmp_path / "out.webm")
    assert main(["clean", src, "-o", out, "-f", "identity", "--codec", "libvpx-vp9", "-q"]) == 0
    err = capsys.readouterr().err
    if "8-bit only" not in err:  # a libvpx built with high bit depth keeps it
        with av.open(out) as c:
            assert "10" in c.streams.video[0].codec_context.pix_fmt
    else:
        assert err.count("\n") == 1 and "written at 8 bits" in err


@pytest.mark.parametrize("argv, said", [
    ([], "libx264 writes 10 bits: the 16-bit source is written at 10 bits (--lossless keeps 16"),
    (["--codec", "prores_ks"], "prores_ks writes 10 bits: the 16-bit source is written at 10"),
])
def test_sixteen_bit_source_written_at_ten_bits_is_said(tmp_path, capsys, argv, said):
    """A 16-bit source in a 10-bit encoder lost 6 bits without a word; --lossless keeps them."""
    src = str(tmp_path / "deep.mkv")
    frames = moving_frames(3, 48, 32).astype(np.uint16) * 257 + 100
    write_video(src, frames, 12, lossless=True)
    out = str(tmp_path / ("out.mov" if argv else "out.mkv"))
    assert main(["clean", src, "-o", out, "-f", "identity", "-q", *argv]) == 0
    assert said in capsys.readouterr().err
    exact = str(tmp_path / "exact.mkv")
    assert main(["clean", src, "-o", exact, "-f", "identity", "-q", "--lossless"]) == 0
    assert capsys.readouterr().err == ""
    assert np.array_equal(read_video(exact)[0], frames)


@pytest.mark.parametrize("depth", [8, 10, 16])
def test_a_deep_source_written_as_a_gif_is_said(tmp_path, capsys, depth):
    """A GIF holds 8 bits: a 10- or 16-bit source lost its depth there without a word (in an
    8-bit-only encoder, or in one of 10 bits, it is said); an 8-bit source has nothing said."""
    src, out = str(tmp_path / "src.mkv"), str(tmp_path / "out.gif")
    frames = moving_frames(3, 48, 32)
    if depth == 10:
        make_video(src, frames, 12, pix_fmt="yuv420p10le")
    else:
        write_video(src, frames.astype(np.uint16) * 257 + 100 if depth == 16 else frames, 12,
                    lossless=True)
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    err = capsys.readouterr().err
    assert err == ("" if depth == 8 else "framemend: warning: a GIF holds 8 bits (256 colours a "
                   f"frame): the {depth}-bit source is written at 8 bits\n")
    assert read_video(out)[0].shape[0] == 3


@pytest.mark.parametrize("size", [(48, 32), (35, 21)])
def test_h265_keeps_twelve_bits(tmp_path, capsys, size):
    """A 16-bit source into libx265 was written at 10 bits where x265 takes 12 (Main 12):
    written at 12 (4:4:4 at odd sizes), the warning saying 12."""
    src, out = str(tmp_path / "deep.mkv"), str(tmp_path / "out.mkv")
    frames = moving_frames(3, *size).astype(np.uint16) * 257 + 100
    write_video(src, frames, 12, lossless=True)
    assert main(["clean", src, "-o", out, "-f", "identity", "-q", "--codec", "libx265"]) == 0
    assert "libx265 writes 12 bits: the 16-bit source is written at 12 bits" in \
        capsys.readouterr().err
    with av.open(out) as c:
        assert c.streams.video[0].codec_context.pix_fmt == \
            ("yuv420p12le" if size[0] % 2 == 0 else "yuv444p12le")


@pytest.mark.parametrize("size", [(35, 21), (40, 20)])
def test_h265_on_tiny_frames_does_not_abort_the_process(tmp_path, size):
    """x265 4.2 corrupted the heap on frames 3 blocks of 16 wide and 1-2 high (glibc aborted
    the process, exit 134) unless cutree is off; its own log lines, printed past FFmpeg's log
    level, are kept to errors. Run in a process of its own: the failure kills the process."""
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / "out.mkv")
    make_video(src, moving_frames(3, *size), 12, pix_fmt="yuv444p")
    done = subprocess.run([sys.executable, "-m", "framemend.cli", "clean", src, "-o", out,
                           "-f", "identity", "--codec", "libx265", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert "x265 [" not in done.stderr
    assert stream_summary(out)["frames"] == 3


@pytest.mark.skipif("libsvtav1" not in av.codecs_available, reason="no SVT-AV1 in this build")
@pytest.mark.parametrize("size, why", [((35, 21), "odd-sized, so 4:4:4, and it encodes 4:2:0 only"),
                                       ((3, 4), "smaller than 4 pixels")])
def test_frames_svtav1_cannot_take_are_said_why(tmp_path, capsys, size, why):
    """SVT-AV1 refuses 4:4:4 and sides under 4 pixels; the error was only "cannot open the
    libsvtav1 encoder ... Invalid argument". A 4x4 clip still goes through."""
    src = str(tmp_path / "in.mkv")
    make_video(src, moving_frames(2, *size), 24, pix_fmt="yuv444p")
    out = str(tmp_path / "o.webm")
    assert main(["clean", src, "-o", out, "--codec", "libsvtav1", "-f", "identity", "-q"]) == 2
    err = capsys.readouterr().err
    assert err == (f"framemend: error: libsvtav1 cannot encode {size[0]}x{size[1]} frames ({why}): "
                   "use --codec libvpx-vp9 in .webm, or libx264 in .mp4/.mkv\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]
    make_video(src, moving_frames(2, 4, 4), 24, pix_fmt="yuv444p")
    assert main(["clean", src, "-o", out, "--codec", "libsvtav1", "-f", "identity", "-q"]) == 0
    assert stream_summary(out)["frames"] == 2


def hdr10_source(path: str) -> None:
    """3 frames of 10-bit BT.2020 PQ HEVC, 64x48, carrying HDR10 metadata: a P3 mastering display
    of 1000 / 0.0001 cd/m2, MaxCLL 1000, MaxFALL 400."""
    with av.open(path, "w") as out:
        s = out.add_stream("libx265", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p10le"
        cc = s.codec_context
        cc.color_range, cc.colorspace, cc.color_primaries, cc.color_trc = 1, 9, 9, 16
        s.options = {"preset": "ultrafast", "x265-params": (
            "log-level=error:master-display=G(13250,34500)B(7500,3000)R(34000,16000)"
            "WP(15635,16450)L(10000000,1):max-cll=1000,400")}
        for i in range(3):
            rgb = np.full((48, 64, 3), 20000 + 9000 * i, np.uint16)
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(
                format="yuv420p10le", dst_colorspace="bt2020", dst_color_range=1)
            vf.pts, vf.time_base = i, Fraction(1, 24)
            out.mux(s.encode(vf))
        out.mux(s.encode(None))


@pytest.mark.parametrize("out_name, argv", [("out.mkv", ["--codec", "libx265"]),
                                            ("out.mp4", ["--codec", "libx265"]),
                                            ("out.webm", [])])  # 10-bit AV1 (SVT-AV1)
def test_hdr10_metadata_is_kept(tmp_path, capsys, out_name, argv):
    """The mastering display and content light level were dropped without a word."""
    from framemend.video.hdr import hdr10_of

    src, out = str(tmp_path / "hdr.mkv"), str(tmp_path / out_name)
    hdr10_source(src)
    assert main(["clean", src, "-o", out, "-f", "denoise", "-q", *argv]) == 0
    with av.open(src) as a, av.open(out) as b:
        want, got = hdr10_of(next(a.decode(video=0))), hdr10_of(next(b.decode(video=0)))
    assert want == {"primaries": [0.68, 0.32, 0.265, 0.69, 0.15, 0.06, 0.3127, 0.329],
                    "luminance": [0.0001, 1000.0], "light": [1000, 400]}
    assert got["light"] == want["light"]
    assert got["primaries"] == pytest.approx(want["primaries"], abs=2e-5)  # AV1: 16-bit fixed point
    assert got["luminance"] == pytest.approx(want["luminance"], abs=1e-4)
    assert "HDR10" not in capsys.readouterr().err


def test_hdr10_metadata_an_encoder_cannot_carry_is_said(tmp_path, capsys):
    src, out = str(tmp_path / "hdr.mkv"), str(tmp_path / "out.mp4")
    hdr10_source(src)
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert ("libx264 cannot carry the input's HDR10 metadata (mastering display, content light "
            "level): it is left out (--codec libx265 keeps it" in capsys.readouterr().err)


def anamorphic_source(path: str, rotation: int = 0) -> None:
    """6 frames of 64x48 H.264 whose pixels are 32:27 (DVD NTSC widescreen), turned
    ``rotation`` degrees for display."""
    with av.open(path, "w") as out:
        s = out.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.sample_aspect_ratio = Fraction(32, 27)
        if rotation:
            s.set_display_rotation(rotation)
        for i, rgb in enumerate(moving_frames(6, 64, 48)):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode(None))


def pixel_shape(path: str) -> Fraction:
    with av.open(path) as c:
        return c.streams.video[0].sample_aspect_ratio


@pytest.mark.parametrize("out_name, argv, rotation, shape", [
    ("out.mp4", [], 0, Fraction(32, 27)), ("out.mkv", ["-f", "denoise"], 0, Fraction(32, 27)),
    ("out.mov", ["--codec", "prores_ks"], 0, Fraction(32, 27)),
    ("out.avi", [], 90, Fraction(27, 32))])  # pictures turned (AVI holds no rotation): pixels too
def test_anamorphic_pixels_are_kept(tmp_path, capsys, out_name, argv, rotation, shape):
    """The sample aspect ratio was dropped: a 32:27 clip came out squeezed (square pixels)."""
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / out_name)
    anamorphic_source(src, rotation)
    assert main(["clean", src, "-o", out, "-q", "-f", "identity", *argv]) == 0
    assert pixel_shape(out) == shape
    assert "pixel shape" not in capsys.readouterr().err


def test_anamorphic_pixels_a_container_cannot_hold_are_said(tmp_path, capsys):
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / "out.webm")
    anamorphic_source(src)
    assert main(["clean", src, "-o", out, "-q", "-f", "identity"]) == 0
    assert ("libvpx-vp9 in webm cannot hold the input's 32:27 pixel shape (sample aspect "
            "ratio): the output shows square pixels" in capsys.readouterr().err)


@pytest.mark.parametrize("pix_fmt, out_name, argv, written", [
    ("yuv422p", "out.mp4", ["-f", "denoise"], "yuv422p"),
    ("yuv444p", "out.mkv", [], "yuv444p"),
    ("yuv422p10le", "out.mov", [], "yuv422p10le"),
    ("yuv444p", "out.webm", [], "yuv444p"),  # VP9 profile 1
    ("yuv420p", "out.mp4", [], "yuv420p")])
def test_chroma_subsampling_of_the_source_is_kept(tmp_path, capsys, pix_fmt, out_name, argv,
                                                  written):
    """4:2:2 and 4:4:4 sources were written 4:2:0 without a word: half their colour lost."""
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / out_name)
    make_video(src, moving_frames(4, 32, 24), pix_fmt=pix_fmt, crf=0)
    assert main(["clean", src, "-o", out, "-q", "-f", "identity", *argv]) == 0
    with av.open(out) as c:
        assert c.streams.video[0].codec_context.pix_fmt == written
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("out_name", ["out.mp4", "out.mkv"])
@pytest.mark.parametrize("pix_fmt, width", [("yuv444p", 35), ("yuv422p", 36)])
def test_an_odd_sized_444_or_422_source_keeps_its_chroma_without_a_word(tmp_path, capsys,
                                                                       out_name, pix_fmt,
                                                                       width):
    """A 35x21 4:4:4 source was warned on every run that "35x21 is odd-sized, which 4:2:0
    chroma cannot hold: encoding 4:4:4", as if its colour had been changed; a 36x21 4:2:2
    source, whose chroma halves the width only, was written 4:4:4 with that warning. Each is
    kept as it came, and nothing is said."""
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / out_name)
    make_video(src, moving_frames(3, width, 21), pix_fmt=pix_fmt, crf=0)
    assert main(["clean", src, "-o", out, "-q", "-f", "identity"]) == 0
    with av.open(out) as c:
        assert c.streams.video[0].codec_context.pix_fmt == pix_fmt
    assert capsys.readouterr().err == ""
    assert psnr(read_video(out)[0], read_video(src)[0]) > 37  # CRF 16: measured 39.9 and 41.3


def test_chroma_an_encoder_cannot_keep_is_said(tmp_path, capsys):
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / "out.mkv")
    make_video(src, moving_frames(4, 32, 24), pix_fmt="yuv444p", crf=0)
    assert main(["clean", src, "-o", out, "-q", "-f", "identity", "--codec", "libsvtav1"]) == 0
    assert ("libsvtav1 encodes 4:2:0 only: the 4:4:4 source's colour is written at half its "
            "resolution" in capsys.readouterr().err)


def test_lossless_rgb_keeps_the_primaries_and_transfer(tmp_path):
    """FFV1's RGB was written untagged: a BT.2020 PQ source came back as if BT.709."""
    src, out = str(tmp_path / "hdr.mkv"), str(tmp_path / "out.mkv")
    hdr10_source(src)
    assert main(["clean", src, "-o", out, "-f", "identity", "-q", "--lossless"]) == 0
    with av.open(out) as c:
        vf = next(c.decode(video=0))
    assert (vf.format.name, vf.color_primaries, vf.color_trc, vf.colorspace) == \
        ("gbrp16le", 9, 16, 0)  # BT.2020, SMPTE ST 2084 (PQ), RGB


def rgb_of_first_frame(path: str) -> np.ndarray:
    """The first frame as float RGB in 8-bit levels, in its own range (BT.709)."""
    with av.open(path) as c:
        vf = next(c.decode(video=0))
    full = vf.reformat(format="yuv444p16le")  # chroma upsampled alike for every source
    return full.to_ndarray(format="rgb48le", src_colorspace="itu709",
                           src_color_range=vf.color_range or None).astype(np.float64) / 257


def test_full_range_source_into_prores_keeps_its_levels(tmp_path):
    """ProRes is limited range only: full-range values were written into it and read back
    stretched (mean error 7.0 levels here; 0.34 now)."""
    src, out = str(tmp_path / "full.mkv"), str(tmp_path / "out.mov")
    make_video(src, moving_frames(3, 64, 48), pix_fmt="yuvj420p", crf=0)
    assert main(["clean", src, "-o", out, "-f", "identity", "-q", "--codec", "prores_ks"]) == 0
    error = np.abs(rgb_of_first_frame(out) - rgb_of_first_frame(src)).mean()
    assert error < 1.0


def test_prores_pictures_made_from_rgb_keep_the_colour_tags(tmp_path):
    """ProRes writes each picture's own tags: the pictures a pass made from RGB had none, so a
    BT.2020 PQ source came out unspecified (read as BT.709)."""
    src, out = str(tmp_path / "hdr.mkv"), str(tmp_path / "out.mov")
    hdr10_source(src)
    assert main(["clean", src, "-o", out, "-f", "denoise", "-q", "--codec", "prores_ks"]) == 0
    with av.open(out) as c:
        vf = next(c.decode(video=0))
    assert (vf.color_primaries, vf.color_trc, vf.colorspace) == (9, 16, 9)


def test_hdr10_of_a_picture_whose_side_data_pyav_cannot_name_is_none():
    """PyAV builds a picture's side data by type and raises ValueError for a type newer than
    its list (FFmpeg 8 adds some): that must not stop the reader."""
    from framemend.video.hdr import hdr10_of

    class Picture:
        @property
        def side_data(self):
            raise ValueError("31 is not a valid Type")

    assert hdr10_of(Picture()) is None
