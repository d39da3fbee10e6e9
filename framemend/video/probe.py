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
    hdr10: dict | None = None   # the first picture's HDR10 metadata (:func:`.hdr.hdr10_of`)
    sample_aspect_ratio: Fraction | None = None  # a pixel's width / height where not square
    gif_loop: int | None = None  # a GIF's or WebP's loops (0: for ever, -1: once, N: N more)
    start_time: float = 0.0
    audio: dict | None = None   # {"codec", "sample_rate", "channels", "duration"} or None
    metadata: dict = field(default_factory=dict)
    streams: list = field(default_factory=list)  # every stream: see :func:`stream_facts`

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


def has_alpha(pix_fmt: str) -> bool:
    """Whether pictures of the ffmpeg pixel format ``pix_fmt`` carry an alpha plane (``rgba``,
    ``yuva420p``, ``ya8``...: a fourth component, or a second beside grey)."""
    try:
        return len(av.VideoFormat(pix_fmt).components) in (2, 4)
    except (ValueError, TypeError):
        return False


# The containers whose declared duration FFmpeg reports is where the file ends, counted from
# time 0, not its length from its first timestamp (read back: 8 frames at 24 fps from 100 s
# say 100.336 s in Matroska, 100.294 s in NUT, 0.336 s in MP4 and MOV)
HEADER_END = ("matroska", "nut")


def stream_info(path: str, container, stream) -> VideoInfo:
    """Build :class:`VideoInfo` from an open PyAV input container and its video stream."""
    cc = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
    duration = stream_seconds(stream)
    if duration is None and container.duration:
        duration = container.duration / av.time_base
        if container.format.name.split(",")[0] in HEADER_END and container.start_time:
            # its end: 8 frames from 100 s were said to last 100.3 s (probe), and the
            # progress bar counted 2408 frames for them
            duration -= container.start_time / av.time_base
    audio = None
    audio_streams = [a for a in container.streams.audio
                     if a.codec_context is not None and a.codec_context.sample_rate]
    if audio_streams:
        a = audio_streams[0]
        audio = {"codec": a.codec_context.name, "sample_rate": a.codec_context.sample_rate,
                 "channels": a.codec_context.channels, "duration": stream_seconds(a)}
    pix_fmt = cc.pix_fmt or "yuv420p"
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    return VideoInfo(
        path=path, width=cc.width, height=cc.height, fps=Fraction(rate),
        time_base=Fraction(stream.time_base or Fraction(1, 90000)),
        frames=stream.frames or None, duration=duration, codec=cc.name, pix_fmt=pix_fmt,
        bit_depth=bit_depth_of(pix_fmt), color_range=int(cc.color_range or 0),
        colorspace=int(cc.colorspace or 2), color_primaries=int(cc.color_primaries or 2),
        color_trc=int(cc.color_trc or 2), rotation=_rotation(stream), start_time=start,
        sample_aspect_ratio=_pixel_shape(stream), gif_loop=_gif_loop(path, container),
        audio=audio, metadata=dict(container.metadata), streams=stream_facts(container))


def _gif_loop(path: str, container) -> int | None:
    """A GIF file's loop count as its NETSCAPE2.0 block says it (0: for ever), -1 without one
    (it plays once), as FFmpeg's GIF muxer takes them; None for any other input, or a pipe.
    FFmpeg's GIF reader does not tell it; Pillow reads the blocks before the first picture."""
    if path == "-" or container.format.name != "gif":
        return None
    from PIL import Image  # noqa: PLC0415 - for GIF input only

    try:
        with Image.open(path) as image:
            loop = image.info.get("loop")
    except (OSError, ValueError):
        return None
    return -1 if loop is None else int(loop)


def stream_seconds(stream) -> float | None:
    """A stream's own length in seconds: its duration, else the ``DURATION`` tag Matroska and
    WebM muxers write for each track (where its last packet ends, from time 0) less its start;
    None where the file says neither (an audio stream took the container's length, which is the
    longest stream's: a 0.064 s sound beside 1 s of video was said to last 1.0 s)."""
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or ""
    h, m, sec = (tag.split(":") + ["", "", ""])[:3]
    try:
        end = int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None
    start = (float(stream.start_time * stream.time_base)
             if stream.start_time is not None and stream.time_base else 0.0)
    return max(0.0, end - start)


def avi_frames(path: str, fps: Fraction, index: int) -> tuple[int, float]:
    """The frames of an AVI file's video stream ``index`` (the one the reader decodes) and how
    long they last, from its video packets (demuxed, not decoded): AVI declares its index's
    slots, and an empty slot is no frame (a PyAV-muxed H.264 AVI beside AAC holds one after
    frame 0: 25 frames declared for 24). The length runs from the first slot that holds a
    frame to the last one, plus one frame at ``fps``: the slots' times (decoding times), as the
    reader times H.264 (FFmpeg's presentation times for it are a slot late, and out of order
    with B-frames); the same span for other codecs, whose times FFmpeg gives as the slots'."""
    count, first, last = 0, None, None
    with av.open(path) as container:
        stream = container.streams[index]
        for packet in container.demux(stream):
            if not packet.size or packet.is_discard:
                continue
            count += 1
            if packet.dts is not None:
                t = float(packet.dts * stream.time_base)
                first = t if first is None else min(first, t)
                last = t if last is None else max(last, t)
    seconds = last - first + 1 / float(fps) if count and first is not None else count / float(fps)
    return count, seconds


def stream_facts(container) -> list[dict]:
    """Every stream of an open container (video, audio, subtitle, data, attachment): index,
    type, codec and its key facts (size, rate and pixel format; sample rate and channels;
    language; duration in seconds)."""
    out = []
    for s in container.streams:
        cc = s.codec_context
        d = {"index": s.index, "type": s.type,
             "codec": (cc.name if cc is not None else None) or getattr(s, "codec_tag", None) or "unknown"}
        seconds = stream_seconds(s)
        if seconds is not None:
            d["duration"] = round(seconds, 3)
        if s.type == "video" and cc is not None:
            rate = s.average_rate or s.guessed_rate
            d.update(width=cc.width, height=cc.height, pix_fmt=cc.pix_fmt,
                     fps=round(float(rate), 3) if rate else None, frames=s.frames or None)
        elif s.type == "audio" and cc is not None:
            d.update(sample_rate=cc.sample_rate, channels=cc.channels,
                     layout=cc.layout.name if cc.layout else None)
        language = s.metadata.get("language")
        if language:
            d["language"] = language
        out.append(d)
    return out


def describe_stream(d: dict) -> str:
    """One line for a :func:`stream_facts` entry."""
    facts = {"video": lambda: f"{d['width']}x{d['height']}, {d['pix_fmt']}, {d['fps']} fps"
                              + (f", {d['frames']} frame{'s' * (d['frames'] != 1)}"
                                 if d.get("frames") else ""),
             "audio": lambda: f"{d['sample_rate']} Hz, {d['channels']} ch"
                              + (f" ({d['layout']})" if d.get("layout") else "")}
    text = facts[d["type"]]() if d["type"] in facts and "width" in d or "sample_rate" in d else ""
    extra = [f"language {d['language']}"] if d.get("language") else []
    if d.get("duration") is not None:
        extra.append(f"{d['duration']:.3f} s")
    return ", ".join(x for x in [f"#{d['index']} {d['type']}: {d['codec']}", text, *extra] if x)


def _pixel_shape(stream) -> Fraction | None:
    """The sample (pixel) aspect ratio of an anamorphic video stream, as ffmpeg guesses it
    (``av_guess_sample_aspect_ratio``: the container's, else the bitstream's); None for square
    or unknown pixels."""
    for sar in (stream.sample_aspect_ratio, stream.codec_context.sample_aspect_ratio):
        if sar and sar.numerator > 0 and sar != 1:
            return Fraction(sar)
        if sar == 1:
            return None
    return None


def _rotation(stream) -> int:
    """Rotation from the legacy ``rotate`` tag; the reader refines it from the display matrix."""
    rotate = stream.metadata.get("rotate")
    if rotate is not None:
        try:
            return int(float(rotate)) % 360
        except ValueError:
            return 0
    return 0
