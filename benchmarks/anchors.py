"""ffmpeg's filters run through PyAV's filter graph, as benchmark anchors.

``run_ffmpeg_filter(frames, fps, "tmidequalizer=radius=5,atadenoise=s=9")`` pushes
``(T, H, W, 3)`` uint8 RGB frames through the filter description (one filter, or a chain of them
separated by commas, options by colons) and returns the frames it produced and the seconds
spent (filtering only; the frames are already in memory, as for framemend's own timed runs).
"""
from __future__ import annotations

import time
from fractions import Fraction

import av
import av.filter
import numpy as np


def run_ffmpeg_filter(frames: np.ndarray, fps: float, description: str,
                      pix_fmt: str = "yuv420p") -> tuple[np.ndarray, float]:
    """Filter ``frames`` ``(T, H, W, 3)`` uint8 RGB with an ffmpeg filter description: one
    filter (``name=options``) or a comma-separated chain of them.

    Frames enter as ``pix_fmt`` (the format ffmpeg filters see in a real yuv420p video, so the
    anchor pays the same conversions it would in ffmpeg) and leave as RGB uint8.
    Returns ``(out_frames, seconds)``; the output may have a different count (minterpolate).
    """
    t_count, h, w, _ = frames.shape
    rate = Fraction(fps).limit_denominator(1001)
    graph = av.filter.Graph()
    src = graph.add_buffer(width=w, height=h, format=pix_fmt, time_base=1 / rate)
    nodes = [src]
    for part in description.split(","):
        name, _, options = part.partition("=")
        nodes.append(graph.add(name, options or None))
    nodes += [graph.add("format", "rgb24"), graph.add("buffersink")]
    for a, b in zip(nodes, nodes[1:]):
        a.link_to(b)
    graph.configure()
    inputs = []
    for i in range(t_count):
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[i]), format="rgb24")
        vf = vf.reformat(format=pix_fmt)
        vf.pts = i
        vf.time_base = 1 / rate
        inputs.append(vf)
    out = []
    start = time.perf_counter()
    for vf in inputs:
        graph.push(vf)
        out.extend(_pull_all(graph))
    graph.push(None)
    out.extend(_pull_all(graph))
    seconds = time.perf_counter() - start
    return np.stack([f.to_ndarray(format="rgb24") for f in out]), seconds


def _pull_all(graph) -> list:
    frames = []
    while True:
        try:
            frames.append(graph.pull())
        except (av.error.BlockingIOError, av.error.EOFError):
            return frames
