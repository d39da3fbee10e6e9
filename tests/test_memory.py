"""A 10-minute stream is cleaned with flat memory: it grows with the window, not the length."""
from fractions import Fraction

import psutil
import torch

from framemend.chain import Frame
from framemend.chain.engine import run_stream
from framemend.chain.parser import build_chain
from framemend.video import VideoInfo, VideoWriter

import test_chain  # noqa: F401  (registers the windowed test filter)

FPS = 24
MINUTES = 10


def synthetic_stream(n: int, h: int = 48, w: int = 64):
    """Frames made on the fly: a gradient whose phase moves, so no two frames are equal."""
    ramp = torch.linspace(0, 1, w).view(1, 1, w).expand(3, h, w)
    for t in range(n):
        yield Frame(((ramp + t * 0.01) % 1.0).contiguous(), t / FPS)


def test_ten_minute_stream_runs_in_flat_memory(tmp_path):
    n = FPS * 60 * MINUTES
    filters = [cls(opts) for cls, opts in build_chain("test_windowmean=radius=3,identity")]
    info = VideoInfo(path="", width=64, height=48, fps=Fraction(FPS), time_base=Fraction(1, FPS),
                     frames=n, duration=n / FPS, codec="rawvideo", pix_fmt="rgb24", bit_depth=8)
    proc = psutil.Process()
    samples = []
    writer = VideoWriter(str(tmp_path / "long.mkv"), info, lossless=True)

    def write(frame):
        writer.write(frame.image, frame.time)
        if writer.frames_written % 500 == 0:
            samples.append(proc.memory_info().rss)

    stats = run_stream(synthetic_stream(n), filters, write)
    writer.close()
    assert stats.frames_in == stats.frames_out == n
    warm = samples[2]  # after 1500 frames: allocator and encoder have settled
    growth_mb = (max(samples[2:]) - warm) / 2**20
    # 14 400 frames of 36 KiB each would be 530 MB if kept; allow only allocator noise
    assert growth_mb < 20, f"RSS grew {growth_mb:.1f} MB over a {MINUTES}-minute stream"
