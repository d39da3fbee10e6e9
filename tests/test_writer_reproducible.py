"""H.264 output is the same run to run: the same clip cleaned twice in one process gives the same
bitstream, whatever the heap held before each run (x264's AVX-512 code reads memory it never
wrote at some widths, see framemend.video.x264)."""
import av
import numpy as np
import skimage.data

from framemend.pipeline import clean_file
from media import make_video


def photo_clip(frames: int = 24, width: int = 320, height: int = 240) -> np.ndarray:
    """``(frames, height, width, 3)`` uint8: a photograph panning right, with noise. 320 pixels
    are 20 macroblocks, a width at which x264's AVX-512 output followed the heap."""
    rng = np.random.default_rng(0)
    photo = skimage.data.astronaut()[:height]
    clip = [photo[:, 2 * t:2 * t + width] + rng.normal(0, 6, (height, width, 3))
            for t in range(frames)]
    return np.clip(clip, 0, 255).astype(np.uint8)


def dirty_heap(seed: int) -> None:
    """Leave freed heap blocks holding random bytes, different for each seed, for the next
    allocations (x264's among them) to find."""
    rng = np.random.default_rng(seed)
    junk = [rng.bytes(int(n)) for n in rng.integers(1 << 8, 1 << 16, 2000)]
    del junk


def video_packets(path: str) -> list[bytes]:
    with av.open(path) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def test_h264_output_is_the_same_run_to_run(tmp_path):
    src = str(tmp_path / "in.mp4")
    make_video(src, photo_clip(), 24, crf=10)
    outs = []
    for run in range(5):
        dirty_heap(run)
        out = str(tmp_path / f"out{run}.mp4")
        clean_file(src, out, "identity")
        outs.append(video_packets(out))
    assert len(outs[0]) == 24
    assert all(out == outs[0] for out in outs[1:])


def test_matroska_files_are_the_same_bytes_run_to_run(tmp_path):
    """A batch that hashes its outputs saw every .mkv/.webm as changed: the muxer wrote a random
    segment UID and the date (44 bytes apart between two runs of the same clip)."""
    src = str(tmp_path / "in.mp4")
    make_video(src, photo_clip(4, 64, 48), 24)
    for ext in ("mkv", "webm"):
        files = []
        for run in range(2):
            out = str(tmp_path / f"out{run}.{ext}")
            clean_file(src, out, "identity")
            with open(out, "rb") as f:
                files.append(f.read())
        assert files[0] == files[1], ext
