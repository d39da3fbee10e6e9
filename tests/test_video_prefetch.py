"""Decoding ahead (video.prefetch): the same frames in order, never more than its budget of bytes
ahead of the consumer, the source's error re-raised after its frames, and a stop on close."""
import threading
import time

import numpy as np
import pytest

from framemend.chain.frames import Frame
from framemend.video.prefetch import Prefetch

FRAME = (48, 64, 3)  # 9216 bytes of raw pixels
BYTES = int(np.prod(FRAME))


class Source:
    """Frames numbered by their first pixel; counts how many were made."""

    def __init__(self, n: int, error: Exception | None = None):
        self.n, self.error, self.made = n, error, 0

    def __iter__(self):
        for i in range(self.n):
            raw = np.full(FRAME, i, np.uint8)
            self.made += 1
            yield Frame(raw=raw, time=i / 24)
        if self.error is not None:
            raise self.error


def _settle(source: Source) -> int:
    """What the source has made once the prefetch thread stops asking for more."""
    made = -1
    while made != source.made:
        made = source.made
        time.sleep(0.05)
    return made


def test_prefetch_keeps_order_and_stays_within_its_budget():
    source = Source(40)
    ahead = Prefetch(source, budget=5 * BYTES)
    frames = iter(ahead)
    seen = []
    for taken in range(1, 41):
        seen.append(int(next(frames).raw[0, 0, 0]))
        if taken in (1, 10, 30):
            # taken frames, 5 waiting, and the one the thread holds while it waits for room
            assert _settle(source) == min(40, taken + 6)
    assert seen == list(range(40))
    assert next(frames, None) is None


def test_prefetch_holds_one_frame_larger_than_its_budget():
    source = Source(3)
    ahead = Prefetch(source, budget=BYTES // 2)
    assert _settle(source) == 2  # one waiting, one held
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
    _settle(source)
    ahead.close()
    for _ in range(40):
        if not any(t.name == "framemend-prefetch" and t.is_alive()
                   for t in threading.enumerate()):
            break
        time.sleep(0.05)
    assert source.made < 10
    assert not any(t.name == "framemend-prefetch" and t.is_alive()
                   for t in threading.enumerate())
