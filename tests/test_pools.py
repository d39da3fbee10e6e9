"""The shared worker pools and the bands of rows two threads make together
(:mod:`framemend.kernels.pools`)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from framemend.kernels.pools import RowShare


def test_a_thread_waiting_for_a_row_share_makes_some_of_its_bands():
    """Each band of rows is made once, some by the thread that posts them and some by the thread
    waiting for its result, and together they cover the rows."""
    share, made = RowShare(), []
    helped = threading.Event()
    waiting = threading.get_ident()

    def make(first, end):
        made.append((first, end, threading.get_ident()))
        if threading.get_ident() == waiting:
            helped.set()
        else:  # the poster's bands wait for the waiting thread to have made one
            assert helped.wait(10)

    with ThreadPoolExecutor(1) as pool:
        share.result(pool.submit(share.run, 100, make, 7))
    assert sorted((first, end) for first, end, _ in made) == [
        (100 * i // 7, 100 * (i + 1) // 7) for i in range(7)]
    assert len({thread for *_, thread in made}) == 2


def test_a_band_that_fails_fails_the_row_share_on_both_threads():
    share, started = RowShare(), threading.Event()
    waiting = threading.get_ident()

    def make(first, end):
        if threading.get_ident() == waiting:
            started.set()
            raise ValueError(f"band {first}-{end}")
        assert started.wait(10)

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(share.run, 40, make, 4)
        with pytest.raises(ValueError, match="band"):
            share.result(future)
        with pytest.raises(ValueError, match="band"):
            future.result()
