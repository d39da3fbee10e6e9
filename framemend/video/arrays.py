"""Whole clips as numpy arrays: read a file into memory, write an array to a file."""
from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

from .containers import check_rate
from .probe import VideoInfo, avi_frames
from .rates import nominal_rate
from .reader import VideoReader
from .writer import VideoWriter


def read_video(path: str, warn=None, as_shown: bool = False) -> tuple[np.ndarray, float]:
    """Decode ``path`` into ``(T, H, W, 3)`` uint8 (uint16 for >8-bit sources) and its fps;
    ``warn(message)`` is told what the frames leave out (an alpha channel, interlacing...).
    ``as_shown``: the pictures turned by the file's display rotation (quarter turns
    counter-clockwise), as players show them and ffmpeg's autorotate turns them; else as
    stored."""
    reader = VideoReader(path, warn=warn)
    frames = [arr for arr, _ in reader.arrays()]
    if not frames:
        raise ValueError(f"'{path}' has no frames")
    clip, rotation = np.stack(frames), reader.info.rotation
    if as_shown and rotation % 90 == 0:
        clip = np.ascontiguousarray(np.rot90(clip, rotation // 90, axes=(1, 2)))
    elif as_shown and warn:
        warn(f"'{path}' is shown turned by {rotation}°, not a quarter turn: its frames are "
             f"as stored")
    return clip, float(reader.info.fps)


def probe_video(path: str) -> VideoInfo:
    """What :class:`VideoReader` sees in ``path``, with ``frames`` counted by decoding when the
    container does not declare it (Matroska, WebM, MPEG-TS, NUT, FLV, pipes), and then the
    duration too where the video stream has none of its own (NUT, FLV: the container's is the
    longest stream's, 3.52 s said for 2 s of video beside 3.5 s of audio); in AVI both from
    its video packets (:func:`.probe.avi_frames`)."""
    reader = VideoReader(path)
    if reader.info.frames is None or path == "-":
        reader.info.frames = reader.count()
        if reader.own_seconds is None and reader.frames_decoded:
            reader.info.duration = reader.decoded_seconds()
    else:
        avi = reader.container.format.name == "avi"
        index = reader.stream.index  # asked while the file is open
        reader.close()
        if avi:
            reader.info.frames, reader.info.duration = avi_frames(path, reader.info.fps, index)
    return reader.info


def write_video(path: str, frames, fps: float = 24.0, codec: str | None = None,
                crf: int | None = None, lossless: bool = False, warn=None) -> None:
    """Encode ``frames`` ``(T, H, W, 3)`` (uint8, uint16, or float in [0, 1]) to ``path``; or
    an iterator of ``(H, W, 3)`` pictures, each encoded as it comes (memory flat in length);
    ``warn(message)`` is told what the output cannot keep (16 bits in H.264...)."""
    if not 0 < fps < float("inf"):
        raise ValueError(f"fps must be a frame rate above 0, got {fps}")
    check_rate(path, fps)
    if hasattr(frames, "__next__"):
        t = duration = None
        first = next(frames, None)
        if first is None:
            raise ValueError("no frames to write: the iterator is empty")
        pictures = itertools.chain([first], frames)
    else:
        frames = np.asarray(frames)
        if len(frames) == 0:
            raise ValueError("no frames to write")
        t, first = len(frames), frames[0]
        duration, pictures = t / fps, iter(frames)
    depth = 16 if first.dtype == np.uint16 else 8
    h, w = first.shape[:2]
    # a rate typed as 29.97 is NTSC's 30000/1001, as interpolate=fps= and the reader have it
    # (was 2997/100); a Fraction is kept as given
    rate = Fraction(fps) if isinstance(fps, Fraction) else nominal_rate(fps)
    info = VideoInfo(path=path, width=w, height=h, fps=rate, time_base=1 / rate, frames=t,
                     duration=duration, codec="rawvideo", pix_fmt="rgb24", bit_depth=depth)
    with VideoWriter(path, info, rate=rate, codec=codec, crf=crf, lossless=lossless,
                     warn=warn) as writer:
        for i, picture in enumerate(pictures):
            if picture.dtype.kind == "f":
                picture = (np.clip(picture, 0, 1) * 255 + 0.5).astype(np.uint8)
            writer.write(picture, i / float(rate))
