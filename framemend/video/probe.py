"""What framemend sees in a video: size, rate, timing, codec, bit depth, colour tags, audio."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction

import av


@dataclass
class VideoInfo:
    """Properties of a video stream (and its audio) as read by :func:`open_input`."""

    path: str
    width: int
    height: int
    fps: Fraction               # average frame rate
    time_base: Fraction
    frames: int | None          # as the container declares it (None when unknown)
    duration: float | None      # seconds
    codec: str
    pix_fmt: str
    bit_depth: int              # bits per component of the source (8, 10, 12, 16)
    color_range: int = 0        # ffmpeg AVColorRange (0 unspecified, 1 tv/limited, 2 pc/full)
    colorspace: int = 2         # AVColorSpace (2 unspecified)
    color_primaries: int = 2
    color_trc: int = 2
    rotation: int = 0           # display rotation in degrees (counter-clockwise)
    start_time: float = 0.0
    audio: dict | None = None   # {"codec", "sample_rate", "channels", "duration"} or None
    metadata: dict = field(default_factory=dict)

    def yuv_matrix(self) -> str:
        """The swscale matrix for YUV<->RGB: the colorspace tag, or for untagged video ffmpeg's
        convention (BT.709 from 720 lines up, BT.601 below)."""
        by_tag = {1: "itu709", 5: "itu601", 6: "itu601", 9: "bt2020", 10: "bt2020"}
        return by_tag.get(self.colorspace, "itu709" if self.height >= 720 else "itu601")

    def describe(self) -> dict:
        d = asdict(self)
        d["fps"] = float(self.fps)
        d["time_base"] = str(self.time_base)
        return d


def bit_depth_of(pix_fmt: str) -> int:
    """Bits per component of an ffmpeg pixel format name."""
    try:
        return max(c.bits for c in av.VideoFormat(pix_fmt).components)
    except (ValueError, TypeError):
        return 8


def stream_info(path: str, container, stream) -> VideoInfo:
    """Build :class:`VideoInfo` from an open PyAV input container and its video stream."""
    cc = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
    duration = None
    if stream.duration is not None and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    audio = None
    audio_streams = [a for a in container.streams.audio
                     if a.codec_context is not None and a.codec_context.sample_rate]
    if audio_streams:
        a = audio_streams[0]
        a_duration = float(a.duration * a.time_base) if a.duration and a.time_base else duration
        audio = {"codec": a.codec_context.name, "sample_rate": a.codec_context.sample_rate,
                 "channels": a.codec_context.channels, "duration": a_duration}
    pix_fmt = cc.pix_fmt or "yuv420p"
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    return VideoInfo(
        path=path, width=cc.width, height=cc.height, fps=Fraction(rate),
        time_base=Fraction(stream.time_base or Fraction(1, 90000)),
        frames=stream.frames or None, duration=duration, codec=cc.name, pix_fmt=pix_fmt,
        bit_depth=bit_depth_of(pix_fmt), color_range=int(cc.color_range or 0),
        colorspace=int(cc.colorspace or 2), color_primaries=int(cc.color_primaries or 2),
        color_trc=int(cc.color_trc or 2), rotation=_rotation(stream), start_time=start,
        audio=audio, metadata=dict(container.metadata))


def _rotation(stream) -> int:
    """Rotation from the legacy ``rotate`` tag; the reader refines it from the display matrix."""
    rotate = stream.metadata.get("rotate")
    if rotate is not None:
        try:
            return int(float(rotate)) % 360
        except ValueError:
            return 0
    return 0
