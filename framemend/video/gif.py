"""GIF output with one 256-colour palette built for the whole clip (ffmpeg's palettegen/paletteuse).

A GIF holds at most 256 colours. ffmpeg's ``palettegen`` picks them from every frame of the
clip (median cut over the colour histogram) and ``paletteuse`` maps each frame onto them with
error-diffusion dithering (sierra2_4a), the two-pass recipe ffmpeg's documentation gives for
good GIFs. The palette needs the whole clip before the first frame can be mapped, so frames are
spooled, as raw RGB, to an anonymous temporary file beside the output while the palette's
histogram is gathered: memory stays at one frame, whatever the clip's length.
"""
from __future__ import annotations

import tempfile
from fractions import Fraction
from typing import Iterator

import av
import av.filter
import numpy as np


class GifPalette:
    """Collect ``(H, W, 3)`` uint8 frames, then give them back mapped onto the clip's palette.

    Args:
        width, height: frame size.
        folder: where the spool file goes (beside the output, so on the same disk).
    """

    def __init__(self, width: int, height: int, folder: str | None = None):
        self.width, self.height = width, height
        self._graph = av.filter.Graph()
        src = self._graph.add_buffer(width=width, height=height, format="rgb24",
                                     time_base=Fraction(1, 100))
        gen = self._graph.add("palettegen", "stats_mode=full")
        sink = self._graph.add("buffersink")
        src.link_to(gen)
        gen.link_to(sink)
        self._graph.configure()
        self._src, self._sink = src, sink
        self._spool = tempfile.TemporaryFile(dir=folder)
        self._pts: list[int] = []

    def add(self, rgb: np.ndarray, pts: int) -> None:
        """Take one ``(H, W, 3)`` uint8 frame shown at ``pts`` (1/100 s)."""
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        vf.pts, vf.time_base = len(self._pts), Fraction(1, 100)
        self._src.push(vf)
        self._spool.write(np.ascontiguousarray(rgb).tobytes())
        self._pts.append(pts)

    def frames(self) -> Iterator[av.VideoFrame]:
        """The spooled frames as ``pal8`` pictures on the clip's palette, with their pts."""
        self._src.push(None)
        palette = self._sink.pull()
        graph = av.filter.Graph()
        src = graph.add_buffer(width=self.width, height=self.height, format="rgb24",
                               time_base=Fraction(1, 100))
        pal = graph.add_buffer(width=palette.width, height=palette.height,
                               format=palette.format.name, time_base=Fraction(1, 100))
        use = graph.add("paletteuse", "dither=sierra2_4a")
        sink = graph.add("buffersink")
        src.link_to(use, 0, 0)
        pal.link_to(use, 0, 1)
        use.link_to(sink)
        graph.configure()
        palette.pts = 0
        pal.push(palette)
        pal.push(None)  # one palette for the whole clip
        size = self.width * self.height * 3
        self._spool.seek(0)
        done = 0
        for i in range(len(self._pts) + 1):
            if i < len(self._pts):
                rgb = np.frombuffer(self._spool.read(size), np.uint8)
                vf = av.VideoFrame.from_ndarray(rgb.reshape(self.height, self.width, 3),
                                                format="rgb24")
                vf.pts, vf.time_base = i, Fraction(1, 100)
                src.push(vf)
            else:
                src.push(None)
            for out in _available(sink):
                out.pts, out.time_base = self._pts[done], Fraction(1, 100)
                done += 1
                yield out
        self.close()

    def close(self) -> None:
        self._spool.close()


def _available(sink) -> Iterator[av.VideoFrame]:
    """The frames a filter graph's sink holds now (none when it waits for input or has ended)."""
    while True:
        try:
            yield sink.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
