"""Decoding ahead (video.prefetch): the same frames in order, never more than its budget of bytes
ahead of the consumer, the source's error re-raised after its frames, no frame made while
paused, a stop on close; the reader's file held open past the end of decoding."""
import threading
import time

import numpy as np
import pytest

from framemend.chain.frames import Frame
from framemend.video import VideoReader
from framemend.video.prefetch import Prefetch
from media import make_video, moving_frames

FRAME = (48, 64, 3)  # 9216 bytes of raw pixels
BYTES = int(np.prod(FRAME))


class Source:
    """Frames numbered by their first pixel; counts how many were made."""

    def __init__(self, n: int, error: Exception | None = None, seconds: float = 0.0):
        self.n, self.error, self.made, self.seconds = n, error, 0, seconds

    def __iter__(self):
        for i in range(self.n):
            time.sleep(self.seconds)  # a frame's decoding
            raw = np.full(FRAME, i, np.uint8)
            self.made += 1
            yield Frame(raw=raw, time=i / 24)
        if self.error is not None:
            raise self.error


def _made(source: Source, expected: int) -> int:
    """What the source has made once it reaches ``expected`` (waited for up to 10 s) and a
    further 0.2 s passed: more means the prefetch thread did not stop there."""
    for _ in range(1000):
        if source.made >= expected:
            break
        time.sleep(0.01)
    time.sleep(0.2)
    return source.made


def test_prefetch_keeps_order_and_stays_within_its_budget():
    source = Source(40)
    ahead = Prefetch(source, budget=5 * BYTES)
    frames = iter(ahead)
    seen = []
    for taken in range(1, 41):
        seen.append(int(next(frames).raw[0, 0, 0]))
        if taken in (1, 10, 30):
            # taken frames, 5 waiting, and the one the thread holds while it waits for room
            assert _made(source, min(40, taken + 6)) == min(40, taken + 6)
    assert seen == list(range(40))
    assert next(frames, None) is None


def test_prefetch_holds_one_frame_larger_than_its_budget():
    source = Source(3)
    ahead = Prefetch(source, budget=BYTES // 2)
    assert _made(source, 2) == 2  # one waiting, one held
    assert [int(f.raw[0, 0, 0]) for f in ahead] == [0, 1, 2]


def test_prefetch_reraises_the_source_error_after_its_frames():
    ahead = Prefetch(Source(3, ValueError("damaged")))
    got = []
    with pytest.raises(ValueError, match="damaged"):
        for frame in ahead:
            got.append(frame)
    assert len(got) == 3


def test_prefetch_stops_on_close():
    source = Source(1000)
    ahead = Prefetch(source, budget=2 * BYTES)
    _made(source, 3)
    ahead.close()
    for _ in range(40):
        if not any(t.name == "framemend-prefetch" and t.is_alive()
                   for t in threading.enumerate()):
            break
        time.sleep(0.05)
    assert source.made < 10
    assert not any(t.name == "framemend-prefetch" and t.is_alive()
                   for t in threading.enumerate())


def test_prefetch_makes_no_frame_while_paused():
    source = Source(1000, seconds=0.005)
    ahead = Prefetch(source, budget=100 * BYTES)
    frames = iter(ahead)
    next(frames)
    with ahead.paused():
        made = source.made
        time.sleep(0.2)
        assert source.made == made < 100
    assert _made(source, 102) == 102  # one taken, 100 waiting, one held
    ahead.close()


def _is_open(reader: VideoReader) -> bool:
    try:
        reader.container.seek(0)
    except AssertionError:  # PyAV: "Container is not open"
        return False
    return True


def test_reader_held_open_stays_open_past_the_end_of_decoding(tmp_path):
    """A writer is set up while the prefetch thread may reach the end of a short input: its
    audio stream must still be there (freed, it crashed the process)."""
    path = str(tmp_path / "a.mp4")
    make_video(path, moving_frames(8, 64, 48), 8, audio_seconds=1.0)
    reader = VideoReader(path)
    with reader.held_open():
        assert len(list(Prefetch(reader))) == 8
        assert _is_open(reader)
    assert not _is_open(reader)
    reader = VideoReader(path)
    assert len(list(reader)) == 8 and not _is_open(reader)  # not held: closed at the end
