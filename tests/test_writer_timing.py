"""Output timing: every container keeps the input's frame times (issue #17 item 1), and the writer
refuses to leave a file whose frames or times differ from those it was given."""
import subprocess
import sys

import av
import numpy as np
import pytest

from framemend.cli import main
from framemend.video import VideoError, VideoWriter
from media import make_video, moving_frames

CLI = [sys.executable, "-m", "framemend"]


def packet_times(path: str) -> list[float]:
    """Sorted presentation times (s) of a file's video packets."""
    with av.open(path) as c:
        v = c.streams.video[0]
        return sorted(float(p.pts * p.time_base) for p in c.demux(v) if p.pts is not None)


def container_duration(path: str) -> float | None:
    """The duration the container declares (None for Matroska written to a pipe)."""
    with av.open(path) as c:
        return None if c.duration is None else c.duration / av.time_base


def silent_clip(path: str, frames: int, fps: float, codec: str = "libx264") -> None:
    """A clip without audio, 64x36, a moving square on a gradient, in the time base its muxer
    picks (MP4: 1/16384 at 8 fps, 1/12288 at 24 fps: the case that broke)."""
    make_video(path, moving_frames(frames, width=64, height=36), fps, codec=codec, crf=30)


def assert_times_kept(out: str, frames: int, fps: float) -> None:
    times = packet_times(out)
    assert len(times) == frames
    assert np.allclose(np.array(times) - times[0], np.arange(frames) / fps, atol=0.0015)
    declared = container_duration(out)
    assert declared is None or abs(declared - frames / fps) <= 1 / fps


@pytest.mark.parametrize("codec, src_ext, fps, frames", [
    ("libx264", ".mp4", 8, 49),       # CogVideoX's clips: 49 frames at 8 fps
    ("libx264", ".mp4", 24, 60),
    ("libvpx-vp9", ".mp4", 24, 49),
])
@pytest.mark.parametrize("out_ext", [".mkv", ".webm"])
def test_silent_input_keeps_its_times(tmp_path, codec, src_ext, fps, frames, out_ext):
    src = str(tmp_path / f"in{src_ext}")
    silent_clip(src, frames, fps, codec)
    out = str(tmp_path / f"out{out_ext}")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert_times_kept(out, frames, fps)


@pytest.mark.parametrize("src_ext, fps", [(".mp4", 24), (".mkv", 30000 / 1001)])
def test_avi_declares_the_inputs_rate_and_holds_its_frames_in_order(tmp_path, src_ext, fps):
    """AVI has no timestamps: a frame per tick of its time base. Written in the input's (1/600,
    1/1000) it declared 600 or 1000 fps and 25 or 42 times the frames, the rest empty chunks;
    and with B-frames FFmpeg read the pictures' times back out of order (a re-run of framemend
    on it warned of backward timestamps and bunched the frames). Now the input's rate, its
    frame count, and times one frame apart."""
    src = str(tmp_path / f"in{src_ext}")
    make_video(src, moving_frames(12, width=64, height=36), fps, audio_seconds=0.5)
    out = str(tmp_path / "out.avi")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    with av.open(out) as c:
        v = c.streams.video[0]
        assert abs(float(v.average_rate) - fps) < 1e-3 and v.frames == 12
        times = [float(f.pts * f.time_base) for f in c.decode(v)]
    assert len(times) == 12 and np.allclose(np.diff(times), 1 / fps, atol=1e-3)


def test_variable_frame_times_into_avi_are_said_to_go_on_one_rate(tmp_path, capsys):
    """AVI holds one rate: frames closer than its tick are put after the one before, and said."""
    src = str(tmp_path / "vfr.mkv")
    times = [0, 0.01, 0.06, 0.21, 0.24, 0.28, 0.3, 0.4]
    make_video(src, moving_frames(8, width=64, height=36), times=times)
    out = str(tmp_path / "out.avi")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert "avi holds one frame rate: the input's variable frame times are put on a" in \
        capsys.readouterr().err
    with av.open(out) as c:
        got = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    assert len(got) == 8 and all(b > a for a, b in zip(got, got[1:]))


@pytest.mark.parametrize("src_ext, codec, fps", [(".mkv", "libx264", 24),
                                                 (".wmv", "wmv2", 30000 / 1001)])
@pytest.mark.parametrize("out_ext", [".mp4", ".mov"])
def test_a_millisecond_clocks_rate_is_kept_exactly(tmp_path, src_ext, codec, fps, out_ext):
    """Matroska and ASF count milliseconds: a 24 fps file's frames are at 0, 42, 83, 125 ms.
    Written into MP4 as they came, those times read back as 24.004 fps (29.956 for a 29.97
    fps WMV), where ffmpeg writes the rate itself; now each frame is on its slot of the rate."""
    src = str(tmp_path / f"in{src_ext}")
    make_video(src, moving_frames(24, width=64, height=36), fps, codec=codec)
    out = str(tmp_path / f"out{out_ext}")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    with av.open(out) as c:
        assert abs(float(c.streams.video[0].average_rate) - fps) < 1e-6
    times = packet_times(out)
    assert len(times) == 24 and np.allclose(times, np.arange(24) / fps, rtol=0, atol=1e-6)


def test_a_variable_rate_off_its_slots_keeps_its_times_into_mp4(tmp_path):
    """Putting a millisecond clock's frames on the rate's slots moves no frame of a variable
    rate that is shown between them, even where its average is a whole 24 fps."""
    src = str(tmp_path / "vfr.mkv")
    gaps = [0.030 if i % 2 else 0.053 for i in range(23)]
    times = [round(t * (23 / 24) / sum(gaps), 3) for t in np.cumsum([0.0] + gaps)]
    make_video(src, moving_frames(24, width=64, height=36), times=times)
    out = str(tmp_path / "out.mp4")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    got = packet_times(out)
    assert len(got) == 24 and np.allclose(got, times, rtol=0, atol=1.001e-3)
    off_slot = [i for i, t in enumerate(times) if abs(t * 24 - round(t * 24)) / 24 > 0.0015]
    assert len(off_slot) >= 10 and np.allclose(np.take(got, off_slot), np.take(times, off_slot),
                                               rtol=0, atol=1e-6)


def test_default_chain_keeps_times(tmp_path):
    src = str(tmp_path / "in.mp4")
    silent_clip(src, 49, 8)
    out = str(tmp_path / "out.mkv")
    assert main(["clean", src, "-o", out, "-q"]) == 0
    assert_times_kept(out, 49, 8)


def test_pipe_keeps_times(tmp_path):
    src = str(tmp_path / "in.mp4")
    silent_clip(src, 49, 8)
    done = subprocess.run(CLI + ["clean", src, "-o", "-", "-f", "identity", "-q"],
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    out = tmp_path / "piped.mkv"
    out.write_bytes(done.stdout)
    assert_times_kept(str(out), 49, 8)


def test_ten_minute_silent_input_keeps_its_duration(tmp_path):
    """4800 frames at 8 fps, 64x36: Matroska, WebM and the pipe end within one frame of 600 s."""
    src = str(tmp_path / "long.mp4")
    silent_clip(src, 4800, 8)
    for ext in (".mkv", ".webm"):
        out = str(tmp_path / f"long{ext}")
        assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
        assert_times_kept(out, 4800, 8)
    done = subprocess.run(CLI + ["clean", src, "-o", "-", "-f", "identity", "-q"],
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    (tmp_path / "piped.mkv").write_bytes(done.stdout)
    assert_times_kept(str(tmp_path / "piped.mkv"), 4800, 8)


@pytest.mark.parametrize("name", ["out.mkv", "out.mp4", "-"])
def test_writer_refuses_output_whose_times_went_wrong(tmp_path, monkeypatch, name):
    """A fault that stamps frames in the wrong unit from frame 49 on (what issue #17 item 1 did)
    fails the run: no file under the output's name, no temporary file beside it."""
    monkeypatch.chdir(tmp_path)
    if name == "-":
        monkeypatch.setattr(sys, "stdout", open(tmp_path / "stdout.bin", "w"))
    frames = moving_frames(60, width=64, height=36)
    info = read_info(tmp_path, frames)
    writer = VideoWriter(name, info)
    for i, f in enumerate(frames):
        if i == 49:
            writer.time_base = writer.time_base * 8  # frames now stamped 8x too late
        writer.write(f, i / 24)
    with pytest.raises(VideoError, match="came out wrong"):
        writer.close()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == (["stdout.bin"] if name == "-" else [])


def read_info(tmp_path, frames):
    """The VideoInfo of a 24 fps clip of ``frames`` (as the reader reports it), file removed."""
    from framemend.video import VideoReader, write_video

    path = str(tmp_path / "info.mkv")
    write_video(path, frames[:2], 24, lossless=True)
    info = VideoReader(path).info
    (tmp_path / "info.mkv").unlink()
    return info

