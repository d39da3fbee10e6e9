"""Streaming decode with PyAV: frames as tensors with their times, audio packets kept aside.

The reader demuxes video and the first audio stream together; audio packets are queued untouched
for the writer to copy (so audio keeps its own timestamps and stays in sync with the video times,
whatever the filters do to the frame rate).
"""
from __future__ import annotations

import os
import sys
import threading
from collections import deque
from fractions import Fraction
from typing import Iterator

import av
import numpy as np

from .colour import planar_yuv_bits, yuv_to_rgb
from .errors import VideoError
from .probe import VideoInfo, stream_info


def _open_container(path: str):
    if path == "-":
        return av.open(sys.stdin.buffer, "r")
    if not os.path.exists(path):
        raise VideoError(f"input '{path}' does not exist")
    if os.path.isdir(path):
        raise VideoError(f"input '{path}' is a folder, not a video")
    return av.open(path, "r")


def _full_chroma_format(fmt: av.VideoFormat) -> str | None:
    """The 4:4:4 planar format that holds a subsampled YUV ``fmt`` without loss (None for RGB,
    grey and 4:4:4 formats)."""
    chroma = fmt.components[1] if len(fmt.components) > 1 else None
    if fmt.is_rgb or chroma is None or (chroma.width == fmt.width and chroma.height == fmt.height):
        return None
    if fmt.name.startswith("yuvj"):
        return "yuvj444p"
    return "yuv444p" if max(c.bits for c in fmt.components) <= 8 else "yuv444p16le"


class VideoReader:
    """Open ``path`` (or ``-`` for stdin) and iterate its video frames.

    Frames come out as :class:`~framemend.chain.frames.Frame` whose ``image`` is ``(3, H, W)``
    float32 RGB in [0, 1] on ``device`` (converted when first read), decoded at 8 bits (rgb24) or 16 bits (rgb48le) as the
    source has it; ``time`` is the presentation time in seconds. ``audio_packets`` holds the
    demuxed packets of the first audio stream, in order, for :class:`VideoWriter` to copy.
    After iteration, ``decode_error`` is None or a line saying where decoding stopped.
    """

    def __init__(self, path: str, device: str | torch.device = "cpu"):
        self.path = path
        self.device = device  # frames move there when first read as tensors
        try:
            self.container = _open_container(path)
        except VideoError:
            raise
        except av.error.EOFError:
            raise VideoError(f"'{path}' has no decodable video frames") from None
        except (av.error.FFmpegError, OSError) as e:
            raise VideoError(f"cannot read '{path}': not a video ({_reason(e)})") from None
        if not self.container.streams.video:
            self.container.close()
            raise VideoError(f"cannot read '{path}': it has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.audio_stream = self.container.streams.audio[0] if self.container.streams.audio else None
        self.info: VideoInfo = stream_info(path, self.container, self.stream)
        self.audio_packets: deque = deque()
        self.audio_lock = threading.Lock()
        self.frames_decoded = 0
        self.decode_error: str | None = None
        self._last_time: float | None = None
        self._format = "rgb48le" if self.info.bit_depth > 8 else "rgb24"
        self._scale = 65535.0 if self.info.bit_depth > 8 else 255.0
        # Decode the first frame now: its side data (rotation) must be known before writing.
        self._frames = self._decoded_frames()
        self._first = next(self._frames, None)
        if self._first is None:
            raise VideoError(self.decode_error or f"'{path}' has no decodable video frames")

    def _all_frames(self) -> Iterator[av.VideoFrame]:
        first, self._first = self._first, None
        if first is not None:
            yield first
            yield from self._frames

    def __iter__(self) -> Iterator[Frame]:
        from ..chain.frames import Frame  # imports torch: not needed to probe or read arrays

        for vf in self._all_frames():
            yield Frame(picture=vf, to_raw=self._to_ndarray, raw_scale=self._scale,
                        device=self.device, time=self._time_of(vf))

    def arrays(self) -> Iterator[tuple[np.ndarray, float]]:
        """Frames as ``(H, W, 3)`` uint8/uint16 arrays with their times (no tensor conversion)."""
        for vf in self._all_frames():
            yield self._to_ndarray(vf), self._time_of(vf)

    def _to_ndarray(self, vf: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
        """``(H, W, 3)`` RGB at the source's depth, resized to ``size`` = (w, h) if given.

        Planar YUV at full size goes through :mod:`.colour` (swscale's direct 4:2:0 -> RGB
        path shifts colours by about -1.2 8-bit levels); other formats through swscale, with
        subsampled chroma upsampled to 4:4:4 first for the same reason.
        """
        bits = planar_yuv_bits(vf.format)
        if size is None and bits is not None and (bits > 8) == (self._scale > 255):
            full_range = vf.color_range == 2 or vf.format.name.startswith("yuvj")
            return yuv_to_rgb(vf, self.info.yuv_matrix(), full_range)
        width, height = size or (None, None)
        full = _full_chroma_format(vf.format)
        if size is None and full is not None:
            vf = vf.reformat(format=full, interpolation="BICUBIC")
        return vf.to_ndarray(format=self._format, width=width, height=height,
                             interpolation="AREA" if size else None,
                             src_colorspace=self.info.yuv_matrix(),
                             src_color_range=vf.color_range or None)

    def _time_of(self, vf: av.VideoFrame) -> float:
        if vf.pts is not None and vf.time_base is not None:
            t = float(vf.pts * vf.time_base)
        else:
            t = self.info.start_time + self.frames_decoded / float(self.info.fps)
        self.frames_decoded += 1
        self._last_time = t
        return t

    def _decoded_frames(self) -> Iterator[av.VideoFrame]:
        streams = [self.stream] + ([self.audio_stream] if self.audio_stream else [])
        first = True
        try:
            for packet in self.container.demux(*streams):
                if packet.stream is self.audio_stream:
                    if packet.dts is not None:
                        with self.audio_lock:
                            self.audio_packets.append(packet)
                    continue
                for vf in packet.decode():
                    if first:
                        self.info.rotation = int(round(vf.rotation or 0)) % 360 or self.info.rotation
                        first = False
                    yield vf
        except (av.error.FFmpegError, OSError) as e:
            at = self.frames_decoded
            self.decode_error = (f"'{self.path}' is damaged: decoding stopped after frame {at} "
                                 f"({_reason(e)})")
        finally:
            self.container.close()
        if self.decode_error is None:
            self.decode_error = self._early_end()

    def _early_end(self) -> str | None:
        """A line saying the file stopped short of the frame count or duration it declares.

        The duration check is made only without audio: a container's duration covers its
        longest stream, and audio may legitimately outlast the video."""
        info, n = self.info, self.frames_decoded
        if info.frames and n < info.frames * 0.98 - 1:
            return f"'{self.path}' ended early: decoded {n} of the {info.frames} frames it declares"
        frame_time = 1 / float(info.fps)
        end = self._last_time + frame_time if self._last_time is not None else 0.0
        if info.duration and n and info.audio is None and end < info.start_time + info.duration - 2 * frame_time - 0.05:
            return (f"'{self.path}' ended early: decoding stopped at {end:.2f} s of the "
                    f"{info.duration:.2f} s it declares")
        return None

    def take_audio(self, until: float | None = None) -> list:
        """Remove and return queued audio packets whose time is ``<= until`` (all if None)."""
        out = []
        with self.audio_lock:
            while self.audio_packets:
                p = self.audio_packets[0]
                if until is not None and p.dts is not None and float(p.dts * p.time_base) > until:
                    break
                out.append(self.audio_packets.popleft())
        return out


def _reason(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return text.split(":")[-1].strip() if ": '" in text else text.strip()
