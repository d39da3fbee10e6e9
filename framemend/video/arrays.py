"""Whole clips as numpy arrays: read a file into memory, write an array to a file."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from .probe import VideoInfo
from .reader import VideoReader
from .writer import VideoWriter


def read_video(path: str) -> tuple[np.ndarray, float]:
    """Decode ``path`` into ``(T, H, W, 3)`` uint8 (uint16 for >8-bit sources) and its fps."""
    reader = VideoReader(path)
    frames = [arr for arr, _ in reader.arrays()]
    if not frames:
        raise ValueError(f"'{path}' has no frames")
    return np.stack(frames), float(reader.info.fps)


def probe_video(path: str) -> VideoInfo:
    """What :class:`VideoReader` sees in ``path``, with ``frames`` counted by decoding when the
    container does not declare it (Matroska, WebM, MPEG-TS, pipes)."""
    reader = VideoReader(path)
    if reader.info.frames is None or path == "-":
        reader.info.frames = reader.count()
    else:
        reader.close()
    return reader.info


def write_video(path: str, frames: np.ndarray, fps: float = 24.0, codec: str | None = None,
                crf: int | None = None, lossless: bool = False) -> None:
    """Encode ``frames`` ``(T, H, W, 3)`` (uint8, uint16, or float in [0, 1]) to ``path``."""
    if not 0 < fps < float("inf"):
        raise ValueError(f"fps must be a frame rate above 0, got {fps}")
    frames = np.asarray(frames)
    if frames.dtype.kind == "f":
        frames = (np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8)
    depth = 16 if frames.dtype == np.uint16 else 8
    t, h, w, _ = frames.shape
    rate = Fraction(fps).limit_denominator(1001 * 1000)
    info = VideoInfo(path=path, width=w, height=h, fps=rate, time_base=1 / rate, frames=t,
                     duration=t / fps, codec="rawvideo", pix_fmt="rgb24", bit_depth=depth)
    with VideoWriter(path, info, rate=rate, codec=codec, crf=crf, lossless=lossless) as writer:
        for i in range(t):
            writer.write(frames[i], i / float(rate))
