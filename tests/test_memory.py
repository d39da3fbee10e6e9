"""A 10-minute stream is cleaned with flat memory: it grows with the window, not the length."""
import platform
import subprocess
import sys
from fractions import Fraction

import psutil
import pytest
import torch

from framemend.chain import Frame
from framemend.chain.engine import run_stream
from framemend.chain.parser import build_chain
from framemend.video import VideoInfo, VideoWriter

import test_chain  # registers the windowed test filter

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


_DEFAULT_CHAIN_RUN = """
import resource, sys
import numpy as np
from framemend.chain import Frame
from framemend.chain.engine import run_stream
from framemend.chain.parser import build_chain
from framemend.presets import PRESETS

n, h, w = int(sys.argv[1]), 360, 640
rng = np.random.default_rng(0)
texture = rng.integers(0, 256, (h, w + 4 * n, 3), dtype=np.uint8)
def run(frames):
    filters = [cls(opts) for cls, opts in build_chain(PRESETS["default"])]
    run_stream(frames, filters, lambda frame: frame.raw if frame.raw is not None else frame.image)

run(Frame(raw=texture[:36, 4 * t:4 * t + 64].copy(), time=t / 24) for t in range(30))  # kernels load
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
run(Frame(raw=np.ascontiguousarray(texture[:, 4 * t:4 * t + w]), time=t / 24)
    for t in range(n))  # decoded frames made on the fly, the view panning right
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _growth_mb(n: int) -> float:
    """Peak RSS growth (MB) of a fresh process streaming ``n`` 640x360 frames through the
    default chain."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _DEFAULT_CHAIN_RUN, str(n)], check=True,
                         capture_output=True, text=True).stdout.split()
    before, after = int(out[-2]), int(out[-1])
    return (after - before) / 1024


def test_default_chain_peak_memory_is_flat_in_length():
    float_frame_mb = 640 * 360 * 3 * 4 / 2**20  # 2.6 MB; a decoded frame is a quarter of it
    short, long = _growth_mb(20), _growth_mb(120)
    # keeping one decoded frame per frame read would add 70 MB over the 100 more frames
    assert long < short + 16 * float_frame_mb, f"120 frames: {long:.0f} MB, 20: {short:.0f} MB"


_ARRAY_RUN = """
import resource, sys
import numpy as np
import framemend

n, h, w = int(sys.argv[1]), 360, 640
rng = np.random.default_rng(0)
texture = rng.integers(0, 256, (h, w + 4 * n, 3), dtype=np.uint8)
framemend.clean(texture[None, :36, :64].repeat(30, 0), chain="deflicker", device="cpu")
clip = np.stack([texture[:, 4 * t:4 * t + w] for t in range(n)])  # panning right
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = framemend.clean(clip, chain="deflicker", device="cpu")
print(clip.nbytes, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_a_clip_in_memory_comes_back_without_a_second_copy_of_its_output():
    """``framemend.clean(array)`` held every output frame and then stacked them: its peak
    memory grew by 2.18 times the clip (deflicker, 160 frames at 640x360; 2.09 at 400); the
    output frames are now stacked as they come: 1.22 (1.09)."""
    import subprocess
    import sys

    size, before, after = (int(v) for v in subprocess.run(
        [sys.executable, "-c", _ARRAY_RUN, "160"], check=True, capture_output=True,
        text=True).stdout.split()[-3:])
    growth = (after - before) * 1024
    assert growth < 1.8 * size, f"{growth / size:.2f} times the clip"


def test_a_windowed_filter_hands_on_its_last_frames_one_at_a_time():
    """At a scene cut and at the end a window completes many frames at once; each goes down
    the chain before the next is made, so at most one of them exists (not a window's worth)."""
    from framemend.chain.engine import _run_filters

    made = []  # frames the windowed filter has produced, as the writer receives each

    class Counting(test_chain._WindowMean):
        def process(self, window, center):
            made.append(window[center].time)
            return super().process(window, center)

    (_, opts), = build_chain("test_windowmean=radius=5")
    seen = []
    frames = (Frame(torch.full((3, 4, 4), t / 30), t / FPS, cut=t == 12) for t in range(30))
    for frame in _run_filters([Counting(opts)], frames):
        seen.append(len(made))  # how many the filter had made when this one came out
    assert seen == list(range(1, 31))


def test_deboil_cpu_step_scratch_is_a_band_of_the_frame():
    """Deboil's CPU step works a band of rows at a time: what it allocates (its output, and
    scratch arrays kept for the next frame) is under 4.5 float frames; over the whole frame
    its scratch alone was 6.7 (166 MB at 1920x1080)."""
    import tracemalloc

    import numpy as np

    from framemend.deboil import _cpu

    h, w = 1080, 1920  # 3 bands of 360 rows, each with 111 rows of reach either side
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    b = np.roll(a, 2, axis=1)
    previous, frame = _cpu.CpuState.frame(a, False), _cpu.CpuState.frame(b, False)
    flow = previous.motion(frame)
    previous.step(frame, flow, 0.8, np.uint8)  # kernels loaded
    _cpu._workspace.__dict__.clear()  # scratch arrays made afresh, and counted
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        previous.step(frame, flow, 0.8, np.uint8)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    frames = peak / (h * w * 3 * 4)
    assert frames < 4.5, f"the step allocated {frames:.2f} float frames"


def test_a_pooled_frame_array_is_reused_only_once_no_view_of_it_is_left():
    """kernels.buffers hands a frame's memory out again only when neither the array nor any
    view of it (a numpy view, a tensor made with ``torch.from_numpy``) is referred to."""
    import numpy as np

    from framemend.kernels.buffers import frame_array

    first = frame_array((3, 36, 64))
    address = first.ctypes.data
    view = torch.from_numpy(first)[1:]  # the only reference left once ``first`` goes
    del first
    second = frame_array((3, 36, 64))
    assert not np.shares_memory(second, view.numpy()), "memory handed out while still viewed"
    view.fill_(0.25)
    second.fill(0.75)
    assert float(view.min()) == 0.25
    del view
    third = frame_array((3, 36, 64))  # the first array's memory, free again
    assert third.ctypes.data == address


def test_pooled_maps_that_go_unused_are_let_go():
    """A map the pool kept free while a whole trim period's arrays were made and dropped (the
    start of a shot holds more frames at once than the rest of it) is unmapped."""
    from framemend.kernels import buffers

    shape = (3, 40, 56)  # a size of its own
    held = [buffers.frame_array(shape) for _ in range(3)]
    del held  # three maps free; from here on one at a time is used
    for _ in range(2 * buffers._TRIM_EVERY):
        buffers.frame_array(shape)
    assert len(buffers._free[3 * 40 * 56 * 4].maps) == 1


def test_x264_buffers_no_frames_for_a_lookahead_thread(tmp_path, monkeypatch):
    """The writer's x264 makes its frame-type decisions in its encoding thread: the frames it
    takes before its first packet (each held in the encoder: 1920x1080, 6-7 MB) are its
    lookahead's 10, its second frame thread's and one, not 4 more buffered for a lookahead
    thread of its own; and the packets are those that thread's decisions give."""
    from framemend.video import writer as writer_module
    from framemend.video.x264 import x264_params
    from test_writer_reproducible import photo_clip, video_packets

    clip = photo_clip(frames=40)
    h, w = clip.shape[1:3]
    info = VideoInfo(path="", width=w, height=h, fps=Fraction(FPS), time_base=Fraction(1, FPS),
                     frames=len(clip), duration=len(clip) / FPS, codec="h264",
                     pix_fmt="yuv420p", bit_depth=8)

    def encode(path: str) -> int:
        """Frames written before the first packet came out."""
        writer = VideoWriter(path, info)
        held = None
        for t, pixels in enumerate(clip):
            writer.write(pixels, t / FPS)
            if held is None and writer._muxed_times:
                held = t
        writer.close()
        return held

    held = encode(str(tmp_path / "out.mp4"))
    assert held <= 12, f"x264 took {held} frames before its first packet"
    monkeypatch.setattr(writer_module, "_x264_params", x264_params)  # a lookahead thread
    threaded = encode(str(tmp_path / "threaded.mp4"))
    assert threaded >= held + 4
    assert video_packets(str(tmp_path / "out.mp4")) == video_packets(
        str(tmp_path / "threaded.mp4"))


_HEAP_BURSTS = """
import resource, sys, threading
import numpy as np
if sys.argv[1] == "kept":
    from framemend.kernels.heap import keep_heap_tops
    keep_heap_tops()
def pairs():  # frame-sized temporaries made and freed on a worker thread, as interpolate's
    for _ in range(60):
        temporaries = [np.ones((360, 640), np.float32) for _ in range(24)]
        del temporaries
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
worker = threading.Thread(target=pairs)
worker.start()
worker.join()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_kept_heap_tops_spare_a_worker_the_page_faults_of_its_temporaries():
    """With glibc's moving thresholds the worker's heap gives its top back after each burst
    and the next one faults its pages in again; kept, only the first burst does."""
    faults = {}
    for how in ("glibc", "kept"):
        run = subprocess.run([sys.executable, "-c", _HEAP_BURSTS, how], capture_output=True,
                             text=True, check=True)
        faults[how] = int(run.stdout)
    assert faults["kept"] < faults["glibc"] / 5, faults
