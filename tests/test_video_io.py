"""Round trips through `clean` with the identity chain keep frames, timing and audio."""
import numpy as np
import pytest

from framemend.pipeline import clean_file
from framemend.video import VideoReader, read_video, write_video
from media import make_rotated_video, make_video, moving_frames, stream_summary


@pytest.fixture
def clip_with_audio(tmp_path):
    path = str(tmp_path / "in.mp4")
    make_video(path, moving_frames(48), fps=24, audio_seconds=2.0)
    return path


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".mov"])
def test_identity_keeps_frames_timestamps_fps_and_audio(clip_with_audio, tmp_path, ext):
    out = str(tmp_path / f"out{ext}")
    clean_file(clip_with_audio, out, "identity")
    a, b = stream_summary(clip_with_audio), stream_summary(out)
    assert b["frames"] == a["frames"] == 48
    assert b["fps"] == pytest.approx(a["fps"])
    assert np.allclose(b["times"], a["times"], atol=1e-3)
    assert b["audio"]["codec"] == "aac"
    assert b["audio"]["end"] == pytest.approx(a["audio"]["end"], abs=0.03)
    assert b["audio"]["bytes"] == a["audio"]["bytes"]  # copied untouched


def test_lossless_identity_is_pixel_exact(tmp_path):
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / "out.mkv")
    write_video(src, moving_frames(10), 24, lossless=True)
    clean_file(src, out, "identity", lossless=True)
    assert np.array_equal(read_video(src)[0], read_video(out)[0])


def _planes(path: str) -> list[np.ndarray]:
    import av
    with av.open(path) as c:
        return [np.concatenate([np.frombuffer(p, np.uint8) for p in f.planes])
                for f in c.decode(video=0)]


def test_identity_reencodes_the_decoded_pictures_without_colour_conversion(tmp_path):
    """No filter reads the pixels, so the encoder gets the decoded YUV pictures themselves:
    with lossless H.264 (CRF 0) every plane comes back bit-identical."""
    src, out = str(tmp_path / "in.mp4"), str(tmp_path / "out.mkv")
    make_video(src, moving_frames(12), fps=24)
    clean_file(src, out, "identity", crf=0)
    assert all(np.array_equal(a, b) for a, b in zip(_planes(src), _planes(out), strict=True))


def _photo_frames(n: int) -> np.ndarray:
    """``(n, 96, 128, 3)`` uint8 crops of a photograph sliding right (no clipped colours)."""
    import cv2
    from skimage import data

    photo = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    return np.stack([photo[60:156, 40 + 2 * t:168 + 2 * t] for t in range(n)])


def test_reader_colours_are_unbiased(tmp_path):
    """4:2:0 H.264 (lossless, CRF 0) read back as RGB: no colour shift. swscale's direct
    4:2:0 -> RGB path shifted every channel by -1.1 to -1.3 levels (RMS error 3.61 here, most of
    it chroma subsampling); measured with chroma upsampled first: -0.28..+0.18, RMS 3.26."""
    truth = _photo_frames(6)
    src = str(tmp_path / "in.mp4")
    make_video(src, truth, fps=24, crf=0)
    diff = read_video(src)[0].astype(float) - truth
    assert np.abs(diff.mean(axis=(0, 1, 2))).max() < 0.5
    assert np.sqrt((diff ** 2).mean()) < 3.45


def test_pictures_and_rgb_frames_encode_the_same_colours(tmp_path, monkeypatch):
    """A frame a filter has read goes to the encoder through RGB: its colours match the
    untouched pictures' (a chain may mix both, e.g. interpolation)."""
    from framemend.chain.builtin import Identity

    src = str(tmp_path / "in.mp4")
    make_video(src, _photo_frames(6), fps=24, crf=0)
    clean_file(src, str(tmp_path / "picture.mkv"), "identity", crf=0)
    monkeypatch.setattr(Identity, "reads_pixels", True)  # the engine converts every frame
    clean_file(src, str(tmp_path / "rgb.mkv"), "identity", crf=0)
    diff = (read_video(str(tmp_path / "picture.mkv"))[0].astype(float)
            - read_video(str(tmp_path / "rgb.mkv"))[0])
    assert np.abs(diff.mean(axis=(0, 1, 2))).max() < 0.5
    assert np.sqrt((diff ** 2).mean()) < 2.0


def test_variable_frame_rate_timestamps_survive(tmp_path):
    times = [0, 0.05, 0.1, 0.2, 0.25, 0.4, 0.45, 0.5, 0.7, 0.75]
    src = str(tmp_path / "vfr.mkv")
    make_video(src, moving_frames(10), times=times, codec="ffv1", pix_fmt="yuv444p")
    for ext in (".mkv", ".mp4"):
        out = str(tmp_path / f"out{ext}")
        clean_file(src, out, "identity")
        assert np.allclose(stream_summary(out)["times"], times, atol=1e-3)


def test_high_bit_depth_is_kept(tmp_path):
    rng = np.random.default_rng(0)
    frames = (rng.random((4, 32, 48, 3)) * 65535).astype(np.uint16)
    src, out = str(tmp_path / "deep.mkv"), str(tmp_path / "deep_out.mkv")
    write_video(src, frames, 24, lossless=True)
    clean_file(src, out, "identity", lossless=True)
    back = read_video(out)[0]
    assert back.dtype == np.uint16 and np.array_equal(back, frames)
    clean_file(src, str(tmp_path / "deep.mp4"), "identity")
    assert VideoReader(str(tmp_path / "deep.mp4")).info.bit_depth == 10


def test_odd_size_is_kept_not_cropped(tmp_path):
    src, out = str(tmp_path / "odd.mkv"), str(tmp_path / "odd.mp4")
    frames = moving_frames(6, width=73, height=41)
    write_video(src, frames, 24, lossless=True)
    warnings = []
    clean_file(src, out, "identity", warn=warnings.append)
    back = read_video(out)[0]
    assert back.shape == frames.shape
    assert "4:4:4" in warnings[0]
    assert np.abs(back.astype(int) - frames).mean() < 3


def test_colour_tags_and_rotation_are_kept(tmp_path):
    import av

    src = str(tmp_path / "tagged.mp4")
    with av.open(src, "w") as out:
        s = out.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        cc = s.codec_context
        cc.color_range, cc.colorspace, cc.color_primaries, cc.color_trc = 2, 1, 1, 1  # full, BT.709
        s.set_display_rotation(90)
        for i, rgb in enumerate(moving_frames(6)):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="itu709", dst_color_range=2)
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode(None))
    for ext in (".mp4", ".mkv"):
        out = str(tmp_path / f"out{ext}")
        clean_file(src, out, "identity")
        info = VideoReader(out).info
        assert (info.color_range, info.colorspace, info.color_primaries) == (2, 1, 1)
        assert info.rotation == 90
        # full-range BT.709 decoded with the right matrix both times: colours survive
        assert np.abs(read_video(out)[0].astype(int) - read_video(src)[0]).mean() < 2


def test_output_gets_ordinary_file_permissions(tmp_path):
    import os
    import stat

    out = str(tmp_path / "perm.mkv")
    write_video(out, moving_frames(2), 24, lossless=True)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("rotation", [90, 270])
@pytest.mark.parametrize("ext, chain", [(".avi", "identity"), (".ts", "denoise"),
                                        (".nut", "identity"), (".gif", "identity")])
def test_rotation_a_container_cannot_hold_turns_the_pictures(tmp_path, capsys, ext, chain,
                                                            rotation):
    """AVI, MPEG-TS, NUT and GIF hold no display rotation (it was dropped: the clip played on
    its side): the pictures are turned as a player would show them, as ffmpeg's autorotate turns
    them (a rotation r read by ``av_display_rotation_get`` is r° counter-clockwise)."""
    src, out = str(tmp_path / "in.mp4"), str(tmp_path / f"out{ext}")
    frames = moving_frames(3, 48, 32)
    make_rotated_video(src, frames, rotation)
    warnings = []
    clean_file(src, out, chain, warn=warnings.append)
    assert VideoReader(out).info.rotation == 0
    back = read_video(out)[0]
    turned = np.rot90(read_video(src)[0], rotation // 90, axes=(1, 2))
    assert back.shape == turned.shape == (3, 48, 32, 3)
    assert np.abs(back.astype(int) - turned).mean() < (6 if ext == ".gif" else 2)
    assert any(f"cannot hold the {rotation}° display rotation" in w for w in warnings)


def test_rotation_the_container_holds_is_kept_not_turned(tmp_path):
    src, out = str(tmp_path / "in.mp4"), str(tmp_path / "out.mkv")
    make_rotated_video(src, moving_frames(3, 48, 32), 90)
    clean_file(src, out, "identity")
    assert VideoReader(out).info.rotation == 90
    assert read_video(out)[0].shape == (3, 32, 48, 3)
