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
