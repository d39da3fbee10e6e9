"""Streaming decode with PyAV: frames as tensors with their times, audio and subtitle packets
kept aside.

The reader demuxes video, every audio stream and every subtitle stream together; their packets
are queued untouched for the writer to copy (so audio keeps its own timestamps and stays in sync
with the video times, whatever the filters do to the frame rate).

Every PyAV/FFmpeg failure is caught here, at the boundary, and becomes a :class:`VideoError` (the
file cannot be opened) or :attr:`VideoReader.decode_error` (decoding stopped, or the file holds
less than it declares). A damaged file is recognised by what it says of itself against what
decoded: the frame count and duration in its header, the demuxer's and decoder's own error
reports (a cut Matroska file says "File ended prematurely"), frames the decoder dropped, and for
MPEG-TS a last transport packet cut short.
"""
from __future__ import annotations

import contextlib
import glob
import io
import os
import re
import sys
import threading
import heapq
from collections import deque
from fractions import Fraction
from typing import Callable, Iterator

import av
import av.logging
import numpy as np

from .colour import picture_rgb
from .hdr import hdr10_of
from .planes import subsampling
from .rates import clock_rounds
from .errors import NoVideoStream, VideoError
from .probe import (HEADER_END, VideoInfo, bit_depth_of, has_alpha, stream_facts, stream_info,
                    stream_seconds)
from .tags import chapters_from, is_chapter_track
from .asf import cut_asf_seconds
from .webp import LOOP_TAG, gif_loop, is_animated_webp, starts_animated_webp, webp_as_matroska

# Containers whose header states the duration (so a shorter content means a cut file).
HEADER_DURATION = ("matroska", "mov", "mp4", "avi", "nut", "flv", "asf")
TS_PACKET_SIZES = (188, 192, 204)
# A scaled-down picture (the scene cuts' thumbnails) is made by swscale on the calling thread:
# PyAV 17 and later (``sws_scale_frame``) otherwise start one swscale thread per core for each
# picture's new context, and end them: CogVideo__1 (720x480, 49 frames) to 96x54, 0.74 against
# 0.36 ms of CPU and 2.6 against 0.35 ms of wall per picture, the same bits. Earlier PyAV scales
# on one thread and takes no ``threads``.
ONE_SCALER_THREAD = {"threads": 1} if int(av.__version__.split(".")[0]) >= 17 else {}


INTERLEAVE_SECONDS = 10.0  # FFmpeg's max_interleave_delta: how far muxers let streams drift
NUMBERED = re.compile(r"%0?\d*d")  # frame_%04d.png: an image sequence as ffmpeg names one


def check_input(path: str) -> None:
    """Raise :class:`VideoError` when ``path`` (not ``-``) is missing, a folder or empty: what
    is wrong with an input before FFmpeg opens it."""
    if path == "-":
        return
    if not os.path.exists(path):
        if NUMBERED.search(path):  # ffmpeg's way of naming a sequence of images
            raise VideoError(f"input '{path}' does not exist: framemend cleans video files, not "
                             f"numbered images; make the frames one first, e.g. ffmpeg "
                             f"-framerate 24 -i '{path}' -c:v ffv1 frames.mkv (at their frame "
                             f"rate), then framemend clean frames.mkv -o OUT")
        matches = len(glob.glob(path)) if glob.has_magic(path) else 0
        if matches:  # quoted, so no shell expanded it
            folder, pattern = os.path.split(path)
            note = _sequence_note(folder, pattern)
            if note:  # a folder batch of its stills made each one a clip of one frame
                raise VideoError(f"input '{path}' does not exist: it is a pattern that no "
                                 f"shell expanded, and {note}")
            raise VideoError(f"input '{path}' does not exist: it is a pattern (matching "
                             f"{matches} file{'s' * (matches != 1)}) that no shell expanded; "
                             f"framemend cleans one file, or a folder's videos: framemend "
                             f"clean '{folder or '.'}' -o OUT_FOLDER --glob '{pattern}'")
        raise VideoError(f"input '{path}' does not exist")
    if os.path.isdir(path):
        raise VideoError(f"input '{path}' is a folder, not a video")
    if os.path.isfile(path) and os.path.getsize(path) == 0:  # FFmpeg says "Invalid data"
        raise VideoError(f"input '{path}' is empty (0 bytes), not a video")


def _sequence_note(folder: str, pattern: str) -> str | None:
    """What :func:`~framemend.batch.jobs.image_sequence_note` says of the files ``pattern``
    matches in ``folder`` (images and no video), or None."""
    if glob.has_magic(folder):
        return None
    from ..batch.jobs import image_sequence_note  # noqa: PLC0415 - on an error's path only

    return image_sequence_note(folder or ".", pattern)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _open_container(path: str) -> tuple[av.container.InputContainer, bool]:
    """The input opened, and whether it is an animated WebP (read through Pillow: FFmpeg's WebP
    decoder reads stills only). From stdin an animated WebP or a PNG (an APNG) is read into
    memory first: FFmpeg cannot read them from a pipe (the WebP read as "damaged: decoding
    stopped after frame 0", an APNG as "not a video (Function not implemented)", a seek)."""
    if path == "-":
        pipe = sys.stdin.buffer
        head = pipe.peek(21)[:21]  # what a first read holds (a pipe's 64 KiB): not consumed
        if starts_animated_webp(head):
            return av.open(webp_as_matroska(io.BytesIO(pipe.read())), "r",
                           format="matroska"), True
        if head.startswith(PNG_SIGNATURE):
            return av.open(io.BytesIO(pipe.read()), "r"), False
        return av.open(pipe, "r"), False
    check_input(path)
    if is_animated_webp(path):
        return av.open(webp_as_matroska(path), "r", format="matroska"), True
    return av.open(path, "r"), False


_counting = False  # whether this module installed the error-counting log level


def _count_ffmpeg_errors() -> None:
    """Let FFmpeg's error-level log lines be counted (``av.logging.get_last_error``) without
    printing them: PyAV's default drops them, and they are how a demuxer reports a cut file."""
    global _counting
    if av.logging.get_level() is None:
        av.logging.set_level(av.logging.PANIC)
        _counting = True


def _stop_counting() -> None:
    """Turn the counting off again whenever the reader hands control back: a decoder's frame
    threads that log an error while it is torn down with frames still alive wait for the GIL
    that the tearing-down thread holds (a deadlock, measured on H.264 closed or freed after a
    few frames), and a reader dropped unread is freed whenever its reference cycle is."""
    global _counting
    if _counting and av.logging.get_level() == av.logging.PANIC:
        av.logging.set_level(None)
    _counting = False


def _as_webp(info: VideoInfo) -> None:
    """Describe an animated WebP, read through a temporary FFV1 Matroska file
    (:func:`webp_as_matroska`), as the WebP it is: its codec, its loop count for a GIF, and no
    tags of that file."""
    info.codec = info.streams[0]["codec"] = "webp"
    info.gif_loop = gif_loop(int(info.metadata.get(LOOP_TAG, 0)))
    info.metadata = {}


def _full_chroma_format(fmt: av.VideoFormat) -> str | None:
    """The 4:4:4 planar format that holds a subsampled YUV ``fmt`` without loss (None for RGB,
    grey and 4:4:4 formats)."""
    chroma = fmt.components[1] if len(fmt.components) > 1 else None
    if fmt.is_rgb or chroma is None or (chroma.width == fmt.width and chroma.height == fmt.height):
        return None
    if fmt.name.startswith("yuvj"):
        return "yuvj444p"
    return "yuv444p" if max(c.bits for c in fmt.components) <= 8 else "yuv444p16le"


def _transparent(vf: av.VideoFrame) -> bool:
    """Whether the picture has an alpha channel with a pixel less than opaque (FFmpeg decodes
    every GIF as ``bgra``, opaque unless it uses transparency). An alpha plane of its own
    (``yuva444p12le``, ProRes 4444's) is read as it is (0.1 ms at 1080p); a packed one
    (``rgba``, ``argb``) through RGBA (2-5 ms). A 16-bit alpha of 65280, what swscale makes
    of 8-bit 255, is opaque, as it is at 8 bits."""
    if not has_alpha(vf.format.name):
        return False
    fmt = vf.format
    alpha = next(c for c in fmt.components if c.is_alpha)
    if [c.plane for c in fmt.components].count(alpha.plane) == 1:
        plane = vf.planes[alpha.plane]
        wide = ">u2" if fmt.name.endswith("be") else "<u2"
        dtype = np.dtype(wide if alpha.bits > 8 else np.uint8)
        rows = np.frombuffer(plane, dtype).reshape(plane.height, -1)[:, :plane.width]
        return bool(rows.min() < ((1 << alpha.bits) - 1) * 254.5 / 255)  # 255 at 8 bits
    return bool(vf.reformat(format="rgba").to_ndarray()[..., 3].min() < 255)


def _is_mp4(container) -> bool:
    return container.format.name.startswith("mov,mp4")


ATTACHED_PIC = av.stream.Disposition.attached_pic
# AVFieldOrder: how an interlaced stream's fields are ordered (coded, displayed)
FIELD_ORDERS = {2: " (top field first)", 3: " (bottom field first)",
                4: " (top field coded first, bottom shown first)",
                5: " (bottom field coded first, top shown first)"}


PIPED_MP4 = ("'-' is an MP4/MOV file: one whose index (moov) sits at its end can only be read "
             "from a file, not a pipe; give its path, or remux it with -movflags +faststart")


class VideoReader:
    """Open ``path`` (or ``-`` for stdin) and iterate its video frames.

    Frames come out as :class:`~framemend.chain.frames.Frame` whose ``image`` is ``(3, H, W)``
    float32 RGB in [0, 1] on ``device`` (converted when first read), decoded at 8 bits (rgb24)
    or 16 bits (rgb48le) as the source has it; ``time`` is the presentation time in seconds,
    strictly increasing (a duplicate or backward timestamp is moved one frame after the one
    before, with a warning). A frame whose size differs from the first frame's is scaled to it,
    with a warning. A frame holds the decoded picture until it is first read; a planar YUV
    picture (4:2:0, 4:2:2, 4:4:4) comes with its ``yuv_matrix`` (:meth:`VideoInfo.yuv_matrix`),
    for a filter that reads the planes themselves (``Filter.reads_yuv``). ``side_packets``
    holds the demuxed packets of every audio and subtitle stream (``audio_streams``,
    ``subtitle_streams``), in order, for :class:`VideoWriter` to copy
    (:meth:`take_side_packets`); each packet's ``stream_index`` says whose.

    ``start``/``end`` (seconds of the source) and ``max_frames`` select a range: the reader
    seeks to ``start``, keeps the frames shown in ``[start, end)``, at most ``max_frames``, and
    shifts frame and audio times so the first kept frame is at 0; audio is cut to the range.

    After iteration, ``decode_error`` is None or a line saying where decoding stopped.
    """

    def __init__(self, path: str, device: str | torch.device = "cpu", start: float = 0.0,
                 end: float | None = None, max_frames: int | None = None,
                 threads: int | None = None, warn: Callable[[str], None] | None = None):
        self.path = path
        self.device = device  # frames move there when first read as tensors
        self._warn = warn
        _count_ffmpeg_errors()
        self._errors_at_open = av.logging.get_last_error()[0]
        self.container = None
        try:
            self.container, self._webp = _open_container(path)
            self._open_streams(threads)
        except VideoError:
            self._close()
            raise
        except av.error.EOFError:
            self._close()
            raise VideoError(f"'{path}' has no decodable video frames") from None
        except Exception as e:  # noqa: BLE001 - any PyAV failure on open is a bad input
            piped_mp4 = path == "-" and self.container is not None and _is_mp4(self.container)
            self._close()
            if piped_mp4:
                raise VideoError(PIPED_MP4) from None
            raise VideoError(f"cannot read '{path}': not a video ({_reason(e)})") from None
        self.side_packets: deque = deque()
        self.side_lock = threading.Lock()
        self._hold = threading.Lock()  # held_open against the end of decoding
        self._held = self._finished = False
        self.frames_decoded = 0
        self.decode_error: str | None = None
        self.start, self.end, self.max_frames = max(0.0, start or 0.0), end, max_frames
        # -ss/--end/-t count from the file's start, as ffmpeg's do (its first timestamp over
        # all streams; a negative one, an audio priming, counts as 0): a clip whose frames
        # start at 100 s, or an MPEG-TS recording at 1.4 s, had "no frames in the range" for
        # -t 1, and -ss 1 kept all of it
        start_time = self.container.start_time
        self._origin = max(0.0, start_time / av.time_base) if start_time is not None else 0.0
        # FFmpeg leaves the start unset where its probe saw too few pictures to trust their
        # times (4 H.264 frames without B-frames, in Matroska from 100 s): the first decoded
        # frame's time is the start then (:meth:`_learn_start`)
        self._start_unknown = start_time is None and self.stream.start_time is None
        self._offset: float | None = None     # source time of the first kept frame
        self._side_end: float | None = None  # output time after which side packets are dropped
        self._first_time: float | None = None
        self._last_time: float | None = None
        self._seen_end = 0.0                   # latest packet end (s) over all streams
        self._video_packets = 0
        # packets an MP4/MOV edit list leaves out (decoded as references, never shown: a cut
        # made without re-encoding starts inside a group of pictures); its frame count
        # counts them
        self._hidden_packets = 0
        # AVI: slots of its index that hold no picture (a null chunk: the frame before is
        # shown again), which its frame count counts; FFmpeg gives no packet for them, only a
        # gap in the video's decode times, one slot each (an H.264 AVI muxed by FFmpeg with
        # AAC holds one after its first frame, and read as "ended early")
        self._empty_slots = 0
        self._last_slot = -1
        # H.264 in AVI: FFmpeg gives each picture a time one slot after its index's (pts =
        # dts + 1 frame for any x264 settings, + 2 beside AAC's empty slot, out of order with
        # B-frames), so the picture came a frame or two after the sound: the pictures are
        # timed by the index instead, the k-th shown at the k-th slot read (decode order
        # being the index's, the shown order the slots' sorted order)
        # H.264 in ASF (WMV) too: a packet's time is its sending time, one frame after its
        # decode time, so with B-frames the pictures came out of order ("duplicate or backward
        # timestamp") and beside audio "ended early"; the k-th shown takes the k-th smallest
        # packet time read (a heap: ASF's are in sending order)
        self._slots: list | None = [] if self._index_timed() else None
        # packets before the first keyframe (a file cut inside a group of pictures): they
        # cannot be decoded without the pictures before the cut; how many frames that cost
        self._leading_packets = 0
        self._keyframe_seen = False
        self._lost_leading = 0
        self._stopped_by_range = False
        self._skipped_to: float | None = None  # time of the last frame before -ss (from it)
        # the first error FFmpeg logged: (by the demuxer, its text, video packets read by then)
        self._damage: tuple[bool, str, int] | None = None
        self._retimed = 0
        self._resized = False
        self._set_depth(self.info.bit_depth)
        # Decode the first frame now: its side data (rotation) and size must be known before
        # writing.
        self._frames = self._decoded_frames()
        self._first = next(self._frames, None)
        if self._first is None:
            if path == "-" and _is_mp4(self.container) and self.decode_error:
                raise VideoError(PIPED_MP4)
            if self.decode_error and "damaged" in self.decode_error:
                raise VideoError(self.decode_error)
            if self._stopped_by_range or (self.start and self.frames_decoded == 0 and not self.decode_error):
                raise VideoError(f"'{path}' has no frames in the range asked for "
                                 f"(from {self.start:g} s{'' if end is None else f' to {end:g} s'})"
                                 f"{self._video_end()}")
            raise VideoError(f"'{path}' has no decodable video frames")
        self._adopt_first_frame(self._first)

    def _open_streams(self, threads: int | None) -> None:
        c = self.container
        if not c.streams.video:
            kinds = sorted({s.type for s in c.streams})
            raise NoVideoStream(f"cannot read '{self.path}': it has no video stream"
                                + (f" (only {', '.join(kinds)})" if kinds else ""),
                                stream_facts(c))
        # the first video stream that is not a cover picture (MP4's covr, a Matroska image
        # attachment: one still picture FFmpeg shows as a video stream)
        self.stream = next((s for s in c.streams.video if not s.disposition & ATTACHED_PIC),
                           c.streams.video[0])
        self.cover_streams = [s for s in c.streams.video
                              if s is not self.stream and s.disposition & ATTACHED_PIC]
        self.cover_packets: dict[int, av.Packet] = {}  # each cover stream's picture, once read
        if self.stream.codec_context is None:
            raise VideoError(f"cannot read '{self.path}': no decoder for its video codec")
        # the video stream's own length (None in NUT, FLV), read now: PyAV 18.1.1 refuses a
        # closed file's stream attributes, and the decoder closes the file at its end
        self.own_seconds = stream_seconds(self.stream)
        # Slice threads only: frame threads go on decoding after a packet call returns, and one
        # that logs an error while its decoder is freed under the GIL (a reader dropped
        # mid-stream, collected by the garbage collector) waits for that GIL for ever. Decoding
        # is a small part of a run (0.13 s CPU for 49 frames at 720x480, 0.3 s for 96 at
        # 1080p, equal with either threading) and slice threads hold no frames of their own.
        self.stream.thread_type = "SLICE"
        if threads:
            self.stream.codec_context.thread_count = threads
        # an audio stream without a sample rate cannot be copied or decoded: leave it out
        self.audio_streams = [a for a in c.streams.audio
                              if a.codec_context and a.codec_context.sample_rate]
        self.subtitle_streams = list(c.streams.subtitles)
        self._side_indices = frozenset(s.index for s in [*self.audio_streams,
                                                         *self.subtitle_streams])
        try:
            self._chapters = c.chapters()
        except Exception:  # noqa: BLE001 - chapters PyAV cannot read are no reason to refuse the file
            self._chapters = []
        # the streams not copied (a MOV/MP4 timecode track, a second video, an attachment, an
        # audio stream without a sample rate): the writer says so; a MOV/MP4 chapter track is
        # kept as the chapters (:meth:`chapters`)
        self._cover_indices = frozenset(s.index for s in self.cover_streams)
        self.other_streams = [s for s in c.streams if s.index != self.stream.index
                              and s.index not in self._side_indices
                              and s.index not in self._cover_indices
                              and not (self._chapters and is_chapter_track(s))]
        self.info: VideoInfo = stream_info(self.path, c, self.stream)
        if self._webp:
            _as_webp(self.info)
        self._declared_frames = self.info.frames
        self._declared_end = None
        muxer = c.format.name.split(",")[0]
        if c.duration and muxer in HEADER_DURATION:
            start = 0 if muxer in HEADER_END else (c.start_time or 0)
            self._declared_end = (start + c.duration) / av.time_base
        elif muxer == "asf" and self.path != "-":  # FFmpeg drops the length of a cut ASF
            seconds = cut_asf_seconds(self.path)
            if seconds is not None:
                self._declared_end = (c.start_time or 0) / av.time_base + seconds
        # FLV's duration runs from its first packet's decoding time (its muxer counts from
        # it), not from its start (the first presentation time): H.264 with B-frames starts
        # 83 ms after its first decoding time, and each such file "ended early ... of the
        # 1.17 s it declares" for 1.08 s (exit 1); its end is set from that packet
        self._flv_length = c.duration / av.time_base if muxer == "flv" and c.duration else None
        self._names = {c.format.name, self.stream.codec_context.name}

    def _index_timed(self) -> bool:
        """Whether the pictures are timed by the index's slots (AVI, a codec whose pictures may
        come out of order: H.264, MPEG-4 Part 2 and MPEG-2 with B-frames, which FFmpeg times a
        slot late) or the packets' times (H.264 in ASF), not by the times FFmpeg gives them."""
        name = self.container.format.name
        return ((name == "avi" and self.stream.codec_context.codec.reorder)
                or (name == "asf" and self.stream.codec_context.name == "h264"))

    def _slot_of(self, packet: av.Packet) -> int | None:
        """The time a packet holds for the picture shown k-th (:meth:`_index_timed`): AVI's
        index slot (its dts), ASF's sending time (its pts)."""
        return packet.pts if self.container.format.name == "asf" else packet.dts

    def _set_depth(self, bit_depth: int) -> None:
        self._format = "rgb48le" if bit_depth > 8 else "rgb24"
        self._scale = 65535.0 if bit_depth > 8 else 255.0

    def _adopt_first_frame(self, vf: av.VideoFrame) -> None:
        """Size and depth from the first decoded frame (what the writer must be set up for)."""
        info = self.info
        info.width, info.height = vf.width, vf.height
        info.hdr10 = hdr10_of(vf)
        if vf.format.name != info.pix_fmt:
            info.pix_fmt = vf.format.name
            info.bit_depth = bit_depth_of(vf.format.name)
            self._set_depth(info.bit_depth)
        if self.start or self.end is not None or self.max_frames is not None:
            info.frames = None
            info.duration = None if self.end is None else self.end - self.start
        # VP9 keeps its alpha beside the picture, where FFmpeg's own decoder does not read it
        alpha = vf.format.name if _transparent(vf) else (
            "VP9 alpha" if self.stream.metadata.get("alpha_mode") == "1" else None)
        if alpha:
            self._say_alpha(alpha)
        # a clip opaque at its start may not stay so (a title fading out over transparency):
        # each picture is looked at until one is not
        self._watch_alpha = alpha is None and has_alpha(vf.format.name)
        if vf.interlaced_frame and self._warn:
            order = FIELD_ORDERS.get(self.stream.codec_context.field_order, "")
            self._warn(f"'{self.path}' is marked interlaced{order}: framemend cleans whole "
                       f"frames and writes them progressive, combing included; deinterlace it "
                       f"first (e.g. ffmpeg -vf bwdif)")

    def _say_alpha(self, alpha: str, frame: int = 0) -> None:
        if self._warn:
            self._warn(f"'{self.path}' has an alpha channel ({alpha}"
                       + (f", less than opaque from frame {frame}" if frame else "")
                       + "): framemend cleans the colour and writes no alpha; the output is "
                       "opaque")

    @contextlib.contextmanager
    def held_open(self) -> Iterator[None]:
        """The file stays open while this is held, even when decoding (in another thread)
        reaches its end, which otherwise closes it: a writer set up meanwhile reads the audio
        stream's parameters (``framemend clean`` decodes ahead while the filters load)."""
        with self._hold:
            self._held = True
        try:
            yield
        finally:
            with self._hold:
                self._held = False
                if self._finished:
                    self._close()

    def _close(self) -> None:
        _stop_counting()
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - closing a damaged file may fail; nothing to keep
                pass

    def _all_frames(self) -> Iterator[av.VideoFrame]:
        first, self._first = self._first, None
        if first is not None:
            yield first
            yield from self._frames

    def __iter__(self) -> Iterator[Frame]:
        from ..chain.frames import Frame  # imports torch: not needed to probe or read arrays

        for vf, time, resized in self._timed_frames():
            if resized is not None:
                yield Frame(raw=resized, raw_scale=self._scale, device=self.device, time=time)
            else:
                matrix = None if subsampling(vf) is None else self.info.yuv_matrix()
                yield Frame(picture=vf, to_raw=self._to_ndarray, yuv_matrix=matrix,
                            raw_scale=self._scale, device=self.device, time=time)

    def arrays(self) -> Iterator[tuple[np.ndarray, float]]:
        """Frames as ``(H, W, 3)`` uint8/uint16 arrays with their times (no tensor conversion)."""
        for vf, time, resized in self._timed_frames():
            yield (resized if resized is not None else self._to_ndarray(vf)), time

    def _timed_frames(self) -> Iterator[tuple[av.VideoFrame, float, np.ndarray | None]]:
        """Each decoded picture, its time, and its pixels scaled to the first frame's size when
        its own size differs (else None)."""
        size = (self.info.width, self.info.height)
        for vf in self._all_frames():
            if self._watch_alpha and self.frames_decoded and _transparent(vf):
                self._watch_alpha = False
                self._say_alpha(vf.format.name, self.frames_decoded)
            resized = None
            if (vf.width, vf.height) != size:
                self._note_resize(vf)
                resized = self._to_ndarray(vf, size)
            yield vf, self._time_of(vf), resized

    def count(self) -> int:
        """Decode the rest of the video without converting it; the number of frames decoded."""
        for vf in self._all_frames():
            self._time_of(vf)
        return self.frames_decoded

    def decoded_seconds(self) -> float:
        """How long the frames decoded so far last: from the first one's time to the last one's,
        plus one frame at the average rate."""
        if self._last_time is None:
            return 0.0
        return self._last_time - self._first_time + 1 / float(self.info.fps)

    def close(self) -> None:
        """Stop reading and release the file (the decoding generator closes it)."""
        self._first = None
        self._frames.close()

    def _note_resize(self, vf: av.VideoFrame) -> None:
        if not self._resized and self._warn:
            self._warn(f"'{self.path}' changes size mid-stream at frame {self.frames_decoded} "
                       f"({self.info.width}x{self.info.height} -> {vf.width}x{vf.height}): "
                       f"such frames are scaled to {self.info.width}x{self.info.height}")
        self._resized = True

    def _to_ndarray(self, vf: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
        """``(H, W, 3)`` RGB at the source's depth, C-contiguous, resized to ``size`` = (w, h)
        if given.

        Planar YUV at full size goes through :mod:`.colour` (swscale's direct 4:2:0 -> RGB
        path shifts colours by about -1.2 8-bit levels); other formats through swscale, with
        subsampled chroma upsampled to 4:4:4 first for the same reason.
        """
        try:
            rgb = None if size else picture_rgb(vf, self.info.yuv_matrix(), self._scale > 255)
            if rgb is not None:
                return rgb
            width, height = size or (None, None)
            full = _full_chroma_format(vf.format)
            if size is None and full is not None:
                vf = vf.reformat(format=full, interpolation="BICUBIC")
            # swscale pads each row of its picture: the rows are made contiguous, as the
            # passes' kernels take them (deflicker's raised a numba typing error on the padded
            # rows of a 35-pixel-wide FFV1 RGB clip)
            return np.ascontiguousarray(vf.to_ndarray(
                format=self._format, width=width, height=height,
                interpolation="AREA" if size else None, src_colorspace=self.info.yuv_matrix(),
                src_color_range=vf.color_range or None, **(ONE_SCALER_THREAD if size else {})))
        except (av.error.FFmpegError, ValueError) as e:
            raise VideoError(f"cannot read '{self.path}': its {vf.format.name} pictures cannot be "
                             f"converted to RGB ({_reason(e)})") from None

    def _time_of(self, vf: av.VideoFrame) -> float:
        """The frame's output time: its source time less the range's start, and strictly after
        the frame before."""
        if vf.pts is not None and vf.time_base is not None:
            t = self._on_slot(float(vf.pts * vf.time_base) - (self._offset or 0.0),
                              vf.time_base)
        else:
            t = self.info.start_time + self.frames_decoded / float(self.info.fps)
        if self._last_time is not None and t <= self._last_time:
            if not self._retimed and self._warn:
                self._warn(f"'{self.path}' has a duplicate or backward timestamp at frame "
                           f"{self.frames_decoded} ({t:.3f} s after {self._last_time:.3f} s): "
                           f"such frames are shown one frame after the one before")
            self._retimed += 1
            t = self._last_time + 1 / float(self.info.fps)
        self.frames_decoded += 1
        if self._first_time is None:
            self._first_time = t
        self._last_time = t
        return t

    def _on_slot(self, t: float, tick: Fraction) -> float:
        """``t`` on the frame rate's nearest slot counted from the first frame, where the
        container's clock cannot hold the slots (:func:`~.rates.clock_rounds`: Matroska's and
        ASF's milliseconds at 24 fps: 0, 42, 83, 125 ms) and ``t`` is within one ``tick`` of
        it (the rounding, or two of them after ``-ss``), else ``t``: a variable rate's frame
        shown between slots keeps its time. Taken as they came, a frame at 83 ms was one of
        interpolate=fps=48's in-betweens, blended with the next (up to 22 levels off the
        frame itself), and MP4 read 24.004 fps."""
        if self._first_time is None or not clock_rounds(tick, self.info.fps):
            return t
        rate = float(self.info.fps)
        on = self._first_time + round((t - self._first_time) * rate) / rate
        return on if abs(on - t) <= float(tick) + 1e-9 else t

    def _seek_to_start(self) -> None:
        """Seek to a keyframe at or before :attr:`start`. A container with an index (MP4,
        Matroska) lands on one; MPEG-TS has none, and FFmpeg's seek lands on whatever picture
        is near the time (0.73 s for 0.75 s), from which nothing decodes until the next
        keyframe: every `-ss` on a TS recording with one keyframe a GOP was "no frames in the
        range" or "damaged". So the seek steps back (1, 2, 4... s before the start) until the
        first video packet it lands on is a keyframe at or before the start, else it reads
        from the stream's beginning; the frames before the start are skipped as decoded."""
        if not self.start or self.path == "-" or self._start_unknown:
            return  # (a start FFmpeg left unset is learnt from the first frame decoded)
        tb = self.stream.time_base
        # a second before the first frame: the file's start (an MPEG-TS seek goes by decoding
        # times, and a seek to the first picture's own time lands on the B-frame decoded after)
        beginning = (self.stream.start_time or 0) - round(1 / tb)
        start = self.start + self._origin
        target, back = int(start / tb), 1.0
        try:
            while target > beginning and not self._lands_on_keyframe(target):
                target = max(beginning, int((start - back) / tb))
                back *= 2
            self.container.seek(target, stream=self.stream, backward=True)
        except Exception:  # noqa: BLE001 - unseekable: decode from the beginning and skip
            pass

    def _lands_on_keyframe(self, target: int) -> bool:
        """Whether a seek to ``target`` (in the stream's time base) lands on a keyframe at or
        before :attr:`start` (the packets read to tell are read again after the next seek)."""
        self.container.seek(target, stream=self.stream, backward=True)
        for packet in self.container.demux(self.stream):
            if packet.size:
                at = packet.pts * self.stream.time_base if packet.pts is not None else None
                return packet.is_keyframe and (at is None or at <= self.start + self._origin
                                               + 1e-6)
        return True  # nothing after it: the range is empty, which the reader says

    def _video_end(self) -> str:
        """Where the video ends, in -ss's clock, when a start past it kept no frame (from the
        last frame skipped: the container's length is the longest stream's in NUT and FLV)."""
        if self._stopped_by_range or self._skipped_to is None:
            return ""
        return f": the video ends at {round(self._skipped_to + 1 / float(self.info.fps), 3):g} s"

    def _check_errors(self, seen: int, by_demuxer: bool) -> int:
        """Record the first error FFmpeg logged since ``seen`` errors, by the demuxer (while
        reading packets) or the video decoder."""
        count, last = av.logging.get_last_error()
        if count != seen and self._damage is None and last is not None and last[1] in self._names:
            self._damage = (by_demuxer, last[2].strip(), self._video_packets)
        return count

    def _in_range(self, vf: av.VideoFrame) -> bool | None:
        """True to keep the frame, False to skip it, None when the range has ended."""
        if self.start or self.end is not None:
            t = float(vf.pts * vf.time_base) if vf.pts is not None and vf.time_base else None
            if t is not None and t - self._origin < self.start - 1e-6:
                self._skipped_to = t - self._origin
                return False
            if t is not None and self.end is not None and t - self._origin >= self.end - 1e-6:
                return None
            if self._offset is None:
                self._offset = t if t is not None else 0.0
        elif self._offset is None:
            self._offset = 0.0
        if self.max_frames is not None and self.frames_decoded >= self.max_frames:
            return None
        return True

    def _decoded_frames(self) -> Iterator[av.VideoFrame]:
        first = True
        errors = self._check_errors(self._errors_at_open, True)  # said while opening
        try:
            self._seek_to_start()
            # what a seek logs is no damage to the frames read: NUT's binary search said
            # "read_timestamp failed." on some files, and each -ss there said "is damaged"
            errors = av.logging.get_last_error()[0]
            packets = self.container.demux()
            for packet in packets:
                errors = self._check_errors(errors, True)
                if self._flv_length is not None and packet.dts is not None and packet.time_base:
                    self._declared_end = float(packet.dts * packet.time_base) + self._flv_length
                    self._flv_length = None
                if packet.pts is not None and packet.time_base is not None:
                    dur = packet.duration or 0
                    end = float((packet.pts + dur) * packet.time_base)
                    if packet.stream is self.stream and not dur:
                        end += 1 / float(self.info.fps)
                    self._seen_end = max(self._seen_end, end)
                if packet.stream_index in self._cover_indices:
                    if packet.size:
                        self.cover_packets.setdefault(packet.stream_index, packet)
                    continue
                if packet.stream_index in self._side_indices:
                    if packet.dts is not None:
                        with self.side_lock:
                            self.side_packets.append(packet)
                    continue
                if packet.stream is not self.stream:
                    continue
                if packet.size and packet.is_discard:
                    self._hidden_packets += 1
                elif packet.size:
                    self._video_packets += 1
                    if self.container.format.name == "avi" and packet.dts is not None:
                        self._empty_slots += max(0, packet.dts - self._last_slot - 1)
                        self._last_slot = packet.dts
                    self._keyframe_seen = self._keyframe_seen or packet.is_keyframe
                    if not self._keyframe_seen:
                        self._leading_packets += 1
                    elif self._slots is not None and (slot := self._slot_of(packet)) is not None:
                        heapq.heappush(self._slots, slot)
                for vf in packet.decode():
                    if self._slots:
                        vf.pts, vf.time_base = heapq.heappop(self._slots), self.stream.time_base
                    if self._start_unknown and vf.pts is not None and vf.time_base is not None:
                        self._learn_start(float(vf.pts * vf.time_base))
                    keep = self._in_range(vf)
                    if keep is None:
                        self._stopped_by_range = True
                        self._read_side_packets_past(packets, vf)
                        return
                    if not keep:
                        continue
                    if first:
                        self.info.rotation = int(round(vf.rotation or 0)) % 360 or self.info.rotation
                        first = False
                    _stop_counting()  # counted only while this reader demuxes and decodes
                    yield vf
                    _count_ffmpeg_errors()
                errors = self._check_errors(errors, False)
            self._check_errors(errors, True)
        except Exception as e:  # noqa: BLE001 - any PyAV failure mid-file: keep what decoded
            self.decode_error = f"'{self.path}' is damaged: {self._where()} ({_reason(e)})"
        finally:
            if self._stopped_by_range and self._last_time is not None:
                self._side_end = self._last_time + 1 / float(self.info.fps)
            with self._hold:
                self._finished = True
                if not self._held:
                    self._close()
        if self.decode_error is None and not self._stopped_by_range:
            self._note_leading_loss()
            self.decode_error = self._early_end()

    def _learn_start(self, t: float) -> None:
        """Take ``t``, the first decoded frame's time, as the start FFmpeg left unset: the
        origin of -ss/-t, :attr:`VideoInfo.start_time`, and, where the container's duration is
        where the file ends (Matroska, NUT: FFmpeg gives that end as the stream's duration
        when it knows no start), the length from it (4 frames from 100 s said 100.167 s)."""
        self._start_unknown = False
        self._origin = max(0.0, t)
        self.info.start_time = t
        if self.container.format.name.split(",")[0] not in HEADER_END or t <= 0:
            return
        if self.info.duration is not None and self.info.duration > t:
            self.info.duration -= t
        for facts in self.info.streams:
            if facts["index"] == self.stream.index and facts.get("duration", 0) > t:
                facts["duration"] = round(facts["duration"] - t, 3)

    def _read_side_packets_past(self, packets: Iterator[av.Packet], past: av.VideoFrame) -> None:
        """Once the range has ended at the frame ``past``, read on for the audio and subtitle
        packets of the range that the file holds after that frame: a muxer may put them up to
        about a second after the video of the same time (MPEG-PS: every audio packet of a
        `-t 0.8` range came after its last frame, and the output had none), up to
        :data:`INTERLEAVE_SECONDS` of video past the range's end (FFmpeg's
        ``max_interleave_delta``), or until each side stream has a packet past it."""
        end = (float(past.pts * past.time_base) if past.pts is not None and past.time_base
               else (self._last_time or 0.0) + (self._offset or 0.0))
        waiting = set(self._side_indices)
        for packet in packets:
            if packet.dts is None or packet.time_base is None:
                continue
            t = float(packet.dts * packet.time_base)
            if packet.stream_index in waiting:
                if t >= end:
                    waiting.discard(packet.stream_index)
                else:
                    with self.side_lock:
                        self.side_packets.append(packet)
            elif packet.stream is self.stream and t > end + INTERLEAVE_SECONDS:
                return
            if not waiting:
                return

    def _note_leading_loss(self) -> None:
        """Say how many frames before the first keyframe could not be decoded (a decoder that
        shows them anyway, damaged, loses none)."""
        if not self._keyframe_seen or self.start:  # flags missing, not a cut; or frames
            return                                     # skipped before the range's start
        self._lost_leading = max(0, min(self._leading_packets,
                                        self._video_packets - self.frames_decoded))
        if self._lost_leading and self._warn:
            self._warn(f"'{self.path}' starts {self._leading_packets} frames before its first "
                       f"keyframe (it was cut inside a group of pictures): "
                       f"{self._lost_leading} of them cannot be decoded and are left out")

    def _where(self) -> str:
        n, t = self.frames_decoded, self._last_time
        at = f" (at {t + 1 / float(self.info.fps):.2f} s)" if t is not None else ""
        return f"decoding stopped after frame {n}{at}"

    def _early_end(self) -> str | None:
        """A line saying the file holds less than it declares, or that its demuxer or decoder
        reported an error while frames went missing."""
        n = self.frames_decoded
        lost = self._video_packets - n - self._lost_leading
        # a demuxer error, a decoder error that cost frames, or one in the last packet (the file
        # ends inside a frame) means the video is not all there; one said before the first
        # keyframe of a file cut inside a group of pictures is that cut's (already said)
        damage = self._damage
        if damage is not None and damage[2] <= self._leading_packets and self._lost_leading:
            damage = None
        if damage is not None and (damage[0] or lost > 0 or damage[2] == self._video_packets):
            return f"'{self.path}' is damaged: {self._where()} ({damage[1]})"
        shown = ((self._declared_frames or 0) - self._hidden_packets - self._lost_leading
                 - self._empty_slots)
        if self._declared_frames and n < shown and not self.start:
            return (f"'{self.path}' ended early: {self._where()}, of the "
                    f"{shown} frames it declares")
        frame_time = 1 / float(self.info.fps)
        slack = frame_time + 0.01
        if self.container.format.name == "asf":  # its packets are timed by sending (decoding),
            # its header's length by showing: B-frames put them the reorder depth apart
            slack += self.stream.codec_context.reorder_depth * frame_time
        if (self._declared_end and n and not self.start
                and self._seen_end < self._declared_end - slack):
            return (f"'{self.path}' ended early: {self._where()}, at {self._seen_end:.2f} s of the "
                    f"{self._declared_end:.2f} s it declares")
        if self.path != "-" and self.container.format.name == "mpegts":
            size = os.path.getsize(self.path)
            if all(size % k for k in TS_PACKET_SIZES):
                return (f"'{self.path}' ended early: {self._where()}; its last transport packet "
                        f"is cut short")
        return None

    def chapters(self) -> list[dict]:
        """The input's chapters (PyAV's ``Container.chapters()`` form) on the output's clock:
        from the range's first frame, cut at its end (:func:`.tags.chapters_from`): ``end``,
        or ``max_frames`` frames at the nominal rate (asked before the frames are read)."""
        offset = self._offset or 0.0
        ends = [] if self.end is None else [self.end + self._origin - offset]
        if self.max_frames is not None and self.info.fps:
            ends.append(self.max_frames / float(self.info.fps))
        return chapters_from(self._chapters, offset, min(ends, default=None))

    def take_side_packets(self, until: float | None = None) -> list:
        """Remove and return queued audio and subtitle packets whose output time is ``<= until``
        (all if None), shifted by the range's start; packets outside the range are dropped."""
        out = []
        offset = self._offset or 0.0
        if self.max_frames is not None and until is not None:
            until = min(until, self._last_time or 0.0)  # the last frame may be the last one kept
        with self.side_lock:
            while self.side_packets:
                p = self.side_packets[0]
                t = float(p.dts * p.time_base) - offset if p.dts is not None else None
                if until is not None and t is not None and t > until:
                    break
                self.side_packets.popleft()
                if offset and t is not None:
                    if t < -1e-3:
                        continue
                    shift = int(round(offset / p.time_base))
                    p.dts -= shift
                    if p.pts is not None:
                        p.pts -= shift
                if self._side_end is not None and t is not None and t >= self._side_end:
                    continue
                if self.end is not None and t is not None and t >= self.end - self.start:
                    continue
                out.append(p)
        return out


def _reason(e: Exception) -> str:
    if not isinstance(e, (av.error.FFmpegError, OSError)):
        return f"{type(e).__name__}: {e}"
    text = getattr(e, "strerror", None) or str(e)
    return text.split(":")[-1].strip() if ": '" in text else text.strip()
