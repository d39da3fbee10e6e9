"""Rate-changing chains through files: exact frame count and timestamps, audio kept in sync."""
import numpy as np
import pytest

from framemend.pipeline import clean_file
from media import make_video, moving_frames, stream_summary


@pytest.mark.parametrize("src_fps, chain, out_fps, src_ext, ext", [
    (8, "interpolate=fps=24", 24, ".mp4", ".mp4"),
    (24, "interpolate=fps=60", 60, ".mp4", ".mkv"),
    (24, "interpolate=fps=59.94", 60000 / 1001, ".mp4", ".mp4"),
    (12, "interpolate=factor=2", 24, ".mp4", ".mov"),
    # Matroska's millisecond times: the last frame at 1.417 s (17/12 = 1.41667) spans 84 ms
    (12, "interpolate=fps=24", 24, ".mkv", ".mkv"),
    (30, "interpolate=fps=60", 60, ".mkv", ".mp4"),
    # from 250 fps the grid took a point 2 ms before the first frame: at 500 fps H.264 in
    # Matroska lost a frame, and the output was refused as "came out wrong"
    (12, "interpolate=fps=500", 500, ".mp4", ".mkv"),
])
def test_rate_conversion_keeps_duration_timestamps_and_audio(tmp_path, src_fps, chain, out_fps,
                                                             src_ext, ext):
    seconds = 1.5
    n = int(seconds * src_fps)
    src, out = str(tmp_path / f"in{src_ext}"), str(tmp_path / f"out{ext}")
    make_video(src, moving_frames(n, width=64, height=48), fps=src_fps, audio_seconds=seconds)
    clean_file(src, out, chain)
    a, b = stream_summary(src), stream_summary(out)
    assert b["frames"] == round(seconds * out_fps)
    assert b["fps"] == pytest.approx(out_fps, rel=1e-3)
    assert b["times"][0] == pytest.approx(0, abs=1e-3)
    assert np.allclose(np.diff(b["times"]), 1 / out_fps, atol=1.5e-3)
    assert b["audio"]["bytes"] == a["audio"]["bytes"]
    assert b["audio"]["end"] == pytest.approx(a["audio"]["end"], abs=0.03)


@pytest.mark.parametrize("src_ext", [".mkv", ".nut"])
def test_a_millisecond_clocks_frames_are_kept_as_they_are_by_a_doubled_rate(tmp_path, src_ext):
    """Matroska counts milliseconds: 30 fps frames at 0, 33, 67, 100 ms. interpolate=fps=60
    took them as they came, so the output frame at 1/30 s fell 0.33 ms after the input's and
    was an in-between blended with the next frame (up to 22 levels off it); an MP4 of the same
    frames, or the frames in memory, kept them exactly. Now every other output frame is the
    input's own, as the API gives them. (NUT, in 1/30, is the control: it holds the slots.)"""
    import framemend
    from framemend.video import read_video, write_video

    frames = moving_frames(8, width=64, height=48)
    src, out = str(tmp_path / f"in{src_ext}"), str(tmp_path / "out.mkv")
    write_video(src, frames, 30, lossless=True)
    clean_file(src, out, "interpolate=fps=60", lossless=True, device="cpu")
    got = read_video(out)[0]
    assert got.shape[0] == 16 and np.array_equal(got[::2], frames)
    assert np.array_equal(got, framemend.interpolate(frames, fps=60, input_fps=30, device="cpu"))
