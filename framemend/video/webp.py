"""Animated WebP input, which FFmpeg's WebP decoder cannot read, through Pillow.

FFmpeg's ``webp_pipe`` demuxer hands an animated WebP (ComfyUI's ``SaveAnimatedWEBP``, many
generators' previews) to its decoder as one packet, which the decoder refuses ("Invalid data
found when processing input"): the file read as damaged with no frame. Pillow decodes it, each
frame composited onto the ones before as the format says (blending and disposal), with each
frame's duration. :func:`webp_as_matroska` writes those frames losslessly (FFV1, ``bgra`` as
FFmpeg decodes a GIF, so transparency is seen and said as for any input with alpha) into an
anonymous temporary Matroska file at millisecond times, which the reader then opens as it opens
any file. A still WebP FFmpeg reads itself.

WebP container layout (RIFF ``WEBP``, its first chunk ``VP8X`` with the animation flag, bit 1 of
the byte after the chunk's size): https://developers.google.com/speed/webp/docs/riff_container
"""
from __future__ import annotations

import tempfile
from fractions import Fraction
from typing import IO

import av
import numpy as np

from .errors import VideoError

#: A frame's duration under this (ms) is shown for DEFAULT_MS, as FFmpeg's GIF demuxer treats a
#: GIF's delays (its ``min_delay`` 2 and ``default_delay`` 10 hundredths of a second): an
#: animation saved with no durations plays at 10 frames per second, not all at once.
MIN_MS, DEFAULT_MS = 20, 100
#: The Matroska tag that carries the WebP's loop count (its ANIM chunk's) to the reader.
LOOP_TAG = "WEBP_LOOP"
_ANIMATION_FLAG = 0x02


def is_animated_webp(path: str) -> bool:
    """Whether the file at ``path`` is an animated WebP (its ``VP8X`` header's animation flag)."""
    try:
        with open(path, "rb") as f:
            return starts_animated_webp(f.read(21))
    except OSError:
        return False


def starts_animated_webp(head: bytes) -> bool:
    """Whether ``head``, a file's first bytes (21 or more), starts an animated WebP."""
    return (len(head) >= 21 and head[:4] == b"RIFF" and head[8:16] == b"WEBPVP8X"
            and bool(head[20] & _ANIMATION_FLAG))


def webp_as_matroska(path: str | IO[bytes], folder: str | None = None) -> IO[bytes]:
    """The frames of the animated WebP at ``path`` (or in that file object) as an FFV1
    Matroska file (``bgra``, each
    frame at the sum of the durations before it and lasting its own, in ms; the loop count in
    the tag :data:`LOOP_TAG`), in an anonymous
    temporary file in ``folder`` (the system's by default), positioned at its start;
    :class:`VideoError` if Pillow cannot read it. The frames are decoded twice: the stream's
    mean rate, which its header holds, needs every duration first."""
    from PIL import Image, ImageSequence  # noqa: PLC0415 - only for this rare input

    spool = tempfile.TemporaryFile(dir=folder)
    try:
        with Image.open(path) as image, av.open(spool, "w", format="matroska") as out:
            durations = [_duration_ms(frame) for frame in ImageSequence.Iterator(image)]
            stream = out.add_stream("ffv1", rate=Fraction(1000 * len(durations), sum(durations)))
            stream.width, stream.height, stream.pix_fmt = image.width, image.height, "bgra"
            stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
            out.metadata[LOOP_TAG] = str(image.info.get("loop", 0))
            time = 0
            for frame, duration in zip(ImageSequence.Iterator(image), durations):
                rgba = np.asarray(frame.convert("RGBA"))
                picture = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="bgra")
                picture.pts, picture.time_base = time, stream.time_base
                for packet in stream.encode(picture):  # FFV1 is intra: one packet per picture
                    packet.duration = duration
                    out.mux(packet)
                time += duration
            out.mux(stream.encode(None))
    except (OSError, EOFError, ValueError, SyntaxError) as e:  # Pillow's, for a damaged file
        spool.close()
        name = path if isinstance(path, str) else "-"
        raise VideoError(f"cannot read the animated WebP '{name}': damaged or cut short "
                         f"({e})") from None
    spool.seek(0)
    return spool


def gif_loop(webp_loop: int) -> int:
    """A WebP's loop count as FFmpeg's GIF muxer takes it. WebP counts the plays (0: for
    ever), GIF the repeats after the first (0: for ever, none: plays once, which the muxer
    writes for -1), so a WebP's N > 0 is a GIF's N - 1, as libwebp's ``gif2webp`` converts."""
    return 0 if webp_loop == 0 else webp_loop - 1 if webp_loop > 1 else -1


def _duration_ms(frame) -> int:
    """How long a Pillow WebP frame is shown, in ms (its duration is known once it is loaded;
    one under :data:`MIN_MS` is :data:`DEFAULT_MS`)."""
    frame.load()
    duration = int(frame.info.get("duration") or 0)
    return duration if duration >= MIN_MS else DEFAULT_MS
