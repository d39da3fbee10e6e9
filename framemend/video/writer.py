"""Streaming encode with PyAV, written atomically, keeping timing, depth, colour tags and audio.

The container and default codec follow the output's extension (``.mp4``/``.mov``/``.mkv``/``.ts``:
H.264 CRF 16; ``.webm``: VP9, or AV1 for sources deeper than this build's VP9 can hold; ``.gif``:
one palette per clip, see :mod:`.gif`; ``lossless=True``: FFV1 in RGB, so pixels round-trip
exactly). ``-`` writes Matroska (or NUT) to stdout. :func:`.containers.choose_codec` refuses a codec the
container cannot hold, or a CRF out of the codec's range, before anything is opened.

A file is written under a temporary name beside the target, ``.NAME.PID.XXXXXXXX.part.EXT``, and
renamed when complete, so an interrupted run never leaves a partial file under the final name;
temporary files of runs whose process is gone (killed) are removed when the next run writes
there. Before the rename the writer reads its output back and checks that it holds every frame
it was given and spans their times within one frame, so a muxing fault cannot pass silently.

The encoder's time base is kept by the writer itself: a muxer may change the stream's time base
when it writes its header (Matroska and WebM always use 1/1000), and timestamps computed in the
stream's time base before and after that moment differed by that factor (issue #17, item 1).
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import re
import sys
import tempfile
from fractions import Fraction

import av
import numpy as np

from framemend.cuda import transfer

from .colour import picture_rgb, rgb_to_yuv
from .planes import planar_yuv_bits
from .containers import (DEEP_WEBM_CODEC, DEFAULT_CODEC, can_encode_deep, check_output,
                         choose_codec, container_for, holds_audio, text_subtitle_codec,
                         ROTATION_CONTAINERS)
from .errors import SettingsError, VideoError
from .hdr import KEEPS_HDR10, encoder_params
from .probe import VideoInfo
from .rates import clock_rounds
from .tags import CHAPTER_CONTAINERS, carried_tags, carry_stream
from .x264 import x264_params

# Where a sample aspect ratio given to the encoder is written: H.264's and H.265's VUI, whatever
# the container, and the pasp box of MP4 and MOV, whatever the codec. Matroska, WebM and NUT
# write theirs from the muxer's stream, which PyAV cannot set (VP9, AV1 and FFV1 read back
# square there, as in a GIF).
# A cover picture's codec -> the MIME type of the Matroska attachment it is kept as.
COVER_TYPES = {"png": "image/png", "mjpeg": "image/jpeg", "bmp": "image/bmp",
               "webp": "image/webp", "gif": "image/gif"}
SAR_CODECS = ("libx264", "libx265")
SAR_CONTAINERS = ("mp4", "mov")
# Encoders whose pictures are limited range (16-235 at 8 bits) only: FFmpeg's ProRes encoder
# writes no range and its decoder reads every ProRes picture as limited.
LIMITED_RANGE_ONLY = ("prores_ks",)
# Encoders of runs stopped by a signal, kept (not freed) until the process ends: see abort().
_LEFT_FOR_EXIT: list = []


def _default_file_mode() -> int:
    """The mode a newly created file gets under the current umask (0o644 under umask 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _pix_fmt(codec: str, bit_depth: int, width: int, height: int,
             chroma: str = "420") -> tuple[str, str | None]:
    """Pixel format for the encoder, and a warning when the natural one cannot be used: 4:2:0,
    or the source's 4:2:2 or 4:4:4 (``chroma``, :func:`chroma_of`) where the encoder takes it."""
    odd = width % 2 or height % 2
    if codec == "ffv1":
        return ("gbrp16le" if bit_depth > 8 else "bgr0"), None
    if codec == "prores_ks":
        return "yuv444p10le", (f"prores_ks writes 10 bits: the {bit_depth}-bit source is "
                               f"written at 10 bits" if bit_depth > 10 else None)
    if codec == "gif":  # a 10-bit source lost its depth without a word, as no encoder's does
        return "pal8", (f"a GIF holds 8 bits (256 colours a frame): the {bit_depth}-bit source "
                        f"is written at 8 bits" if bit_depth > 8 else None)
    note = None
    high = bit_depth > 8
    if high and not can_encode_deep(codec):
        high = False
        note = (f"this build's {codec} encoder is 8-bit only: the {bit_depth}-bit source is "
                f"written at 8 bits")
    # 12 bits where the encoder takes them (libx265's Main 12), else 10
    bits = 12 if bit_depth > 10 and _takes(codec, "yuv420p12le") else 10
    if high and bit_depth > bits:
        note = (f"{codec} writes {bits} bits: the {bit_depth}-bit source is written at {bits} "
                f"bits (--lossless keeps {bit_depth}, in .mkv, .avi or .nut)")
    kept = f"yuv{chroma}p{bits}le" if high else f"yuv{chroma}p"
    # 4:2:2 halves the width only: an odd height keeps it where the encoder takes it
    if odd and not (chroma == "422" and not width % 2 and _takes(codec, kept)):
        fmt = f"yuv444p{bits}le" if high else "yuv444p"
        if chroma == "444":  # the source's own chroma: nothing to say (a 65x33 4:4:4 source
            return fmt, note  # was told its frames were moved to 4:4:4 on every run)
        odd_note = (f"{width}x{height} is odd-sized, which 4:2:0 chroma cannot hold: "
                    f"encoding 4:4:4 ({fmt}) to keep every pixel")
        return fmt, odd_note if note is None else f"{note}; {odd_note}"
    if chroma != "420":
        if _takes(codec, kept):
            return kept, note
        loss = (f"{codec} encodes 4:2:0 only: the {':'.join(chroma)} source's colour is written "
                f"at half its resolution")
        note = loss if note is None else f"{note}; {loss}"
    return (f"yuv420p{bits}le" if high else "yuv420p"), note


def _decoder_of(source) -> av.CodecContext:
    """A decoder for the input stream ``source``'s packets (a stream re-encoded): its codec,
    with its extradata (the codec's setup, e.g. FLAC's stream info or an ASS header)."""
    decoder = av.CodecContext.create(source.codec_context.name, "r")
    decoder.extradata = source.codec_context.extradata
    return decoder


def chroma_of(pix_fmt: str) -> str:
    """``"422"`` or ``"444"`` for a planar YUV pixel format of that chroma subsampling
    (``yuv422p10le``, ``yuvj444p``, ``yuva444p``...), else ``"420"`` (4:2:0, grey, RGB,
    palettes, 4:1:1 and 4:4:0: what the writer encodes them as)."""
    m = re.match(r"yuva?j?(422|444)p", pix_fmt)
    return m.group(1) if m else "420"


def _takes(codec: str, pix_fmt: str) -> bool:
    """Whether this build's ``codec`` encoder takes ``pix_fmt``."""
    return any(f.name == pix_fmt for f in av.Codec(codec, "w").video_formats or ())


def _svtav1_refusal(codec: str, bit_depth: int, width: int, height: int) -> str | None:
    """Why ``codec`` (when it is ``libsvtav1``) cannot encode ``width x height`` frames, or
    None: SVT-AV1 itself says only "Invalid argument" (its reason goes to its own log)."""
    if codec != "libsvtav1":
        return None
    if min(width, height) < 4:
        return "smaller than 4 pixels"
    if _pix_fmt(codec, bit_depth, width, height)[0].startswith("yuv444"):
        return "odd-sized, so 4:4:4, and it encodes 4:2:0 only"
    return None


def _temp_prefix(path: str) -> str:
    return "." + os.path.basename(path) + "."


def remove_stale_temps(path: str) -> list[str]:
    """Remove the temporary files other runs left for ``path`` whose process no longer exists
    (a run killed by SIGKILL or a power cut); return their names."""
    folder = os.path.dirname(os.path.abspath(path))
    ext = os.path.splitext(path)[1]
    pattern = re.compile(re.escape(_temp_prefix(path)) + r"(\d+)\.[^.]+\.part" + re.escape(ext) + "$")
    removed = []
    for name in os.listdir(folder):
        m = pattern.match(name)
        if m and not _process_exists(int(m.group(1))):
            try:
                os.remove(os.path.join(folder, name))
                removed.append(name)
            except OSError:
                pass
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def rgb_array(image, scale: float) -> np.ndarray:
    """A ``(3, H, W)`` float tensor in [0, 1] -> ``(H, W, 3)`` uint8 (``scale`` 255) or uint16
    (65535), each value rounded (half to even) and saturated. A tensor on a GPU is quantised
    there (:func:`quantise`), so what crosses to the host is the integer frame, a quarter
    (8-bit) or half (16-bit) of its float32 bytes (through a pinned buffer,
    :mod:`framemend.cuda.transfer`)."""
    copies = transfer.for_device(image.device)
    if copies is not None:
        return copies.download(quantise(image, scale)).take()
    import cv2

    depth = cv2.CV_8U if scale == 255 else cv2.CV_16U
    planes = image.detach().float().cpu().numpy()
    # saturating, rounding conversion of each plane, interleaved
    return cv2.merge([cv2.multiply(p, scale, dtype=depth) for p in planes])


def quantise(image, scale: float):
    """:func:`rgb_array` in torch, on ``image``'s device: ``(3, H, W)`` float in [0, 1] ->
    ``(H, W, 3)`` uint8 or uint16 tensor."""
    import torch

    dtype = torch.uint8 if scale == 255 else torch.uint16
    q = image.detach().float().mul(scale).round_().clamp_(0, scale)
    return q.to(dtype).permute(1, 2, 0).contiguous()


# AVI holds no presentation times, and FFmpeg's AVI reader gives H.264 pictures (only them:
# MPEG-4 Part 2, FFV1, MJPEG and VP9 read back at their index) a time one frame later than the
# index gives them, with no B-frames too: players reading with FFmpeg and players following
# the index disagree by a frame, so the sound is off the picture by up to a frame in one of
# them (BENCHMARKS.md, sweeps 12 and 13: 20, 62 and 12 ms ahead at 24, 12 and 30 fps as FFmpeg
# reads a copied AAC, which AVI's lack of an edit list delays by its 21 ms of priming)
_AVI_H264_SOUND = ("AVI gives H.264 pictures no times of their own: players that read it with "
                   "FFmpeg (ffplay, mpv) show each a frame later than players that follow the "
                   "file's index, so the sound is off the picture by up to a frame ({ms:.0f} ms "
                   "at {fps:.6g} fps) in one or the other; .mkv and .mp4 keep them in step")


# the audio codecs whose copy from an AVI into an AVI was timed by its bytes (measured: MP3 and
# MP2 copies were timed right; E-AC-3's too, and an MP4 template made its AVI muxer refuse it)
BYTE_TIMED_IN_AVI = ("aac", "ac3")


@contextlib.contextmanager
def _sizeless(source, reader):
    """The compressed audio stream ``source``'s parameters without a block size, to copy it
    into AVI: the AVI muxer declares the block size as the stream's sample size (fixed-size
    samples, which only PCM has), and FFmpeg's AVI reader sets it from an AVI input's wave
    header (1536 for stereo AAC). AAC and AC-3 copied AVI to AVI were timed by their bytes
    when read back: 4 s of sound over 0.875 s and 0.768 s, the output's audio length unknown.
    Read back from a one-packet MP4 made in memory, whose reader sets no block size and keeps
    the frame length; the packet is one of the stream's in ``reader``'s input
    (:func:`_first_packet`: MP4 writes no AC-3 track for a made-up one, AAC takes any).
    ``source`` itself where MP4 cannot hold the codec."""
    memory = io.BytesIO()
    try:
        with av.open(memory, "w", format="mp4") as mp4:
            stream = mp4.add_stream_from_template(source)
            packet = av.Packet(_first_packet(reader, source.index))
            packet.stream, packet.pts, packet.dts = stream, 0, 0
            mp4.mux(packet)
        memory.seek(0)
        copy = av.open(memory)
    except (ValueError, av.error.FFmpegError):
        yield source
        return
    with copy:
        yield copy.streams.audio[0] if copy.streams.audio else source


def _first_packet(reader, index: int) -> bytes:
    """The bytes of a packet of stream ``index`` of ``reader``'s input: the first it holds
    queued (from a pipe, the only one to be had), else the first in its file; with neither,
    one zero byte."""
    with reader.side_lock:
        queued = next((bytes(p) for p in reader.side_packets
                       if p.stream_index == index and p.size), None)
    if queued is not None or reader.path == "-":
        return queued or b"\0"
    with av.open(reader.path) as source:
        for packet in source.demux(source.streams[index]):
            if packet.size:
                return bytes(packet)
    return b"\0"


class VideoWriter:
    """Encode frames to ``path``; use as a context manager, or call :meth:`close`/:meth:`abort`.

    Args:
        path: output file, or ``-`` for stdout.
        info: the input's :class:`VideoInfo` (size, depth, colour tags, rotation are kept;
            where the container cannot hold a rotation by quarter turns, the pictures are
            turned instead, as ffmpeg's autorotate does).
        rate: nominal output frame rate (differs from ``info.fps`` after interpolation).
        codec, crf: encoder and quality (default by container; CRF 16 for H.264/H.265).
        lossless: FFV1 in RGB at the source's depth.
        audio_from: a :class:`VideoReader` whose audio and subtitle packets are copied
            untouched (re-encoded where the container cannot hold their codec), whose
            MOV/MP4 timecode track is kept in MOV/MP4, and whose streams' tags and
            dispositions and chapters are kept (:mod:`.tags`; the file's tags come from
            ``info``).
        stdout_format: ``matroska`` or ``nut`` when ``path`` is ``-``.

    Raises :class:`SettingsError` for settings that cannot work and :class:`VideoError` for an
    output that cannot be written or an encoder that cannot open; no file is left behind.
    """

    def __init__(self, path: str, info: VideoInfo, rate: Fraction | None = None,
                 codec: str | None = None, crf: int | None = None, lossless: bool = False,
                 audio_from=None, stdout_format: str = "matroska", overwrite: bool = True,
                 warn=None, threads: int | None = None):
        self.path = path
        self.info = info
        self.rate = Fraction(rate or info.fps).limit_denominator(1001 * 1000)
        fmt = container_for(path, stdout_format)
        chosen = choose_codec(path, codec, lossless, crf, info.bit_depth, stdout_format)
        if codec is None and chosen == DEEP_WEBM_CODEC and fmt == "webm":
            refused = _svtav1_refusal(chosen, info.bit_depth, info.width, info.height)
            if refused:  # the default's 8-bit encoder (it says so), rather than no output
                chosen = DEFAULT_CODEC[fmt]
                if warn:
                    warn(f"10-bit AV1 ({DEEP_WEBM_CODEC}) cannot encode {info.width}x"
                         f"{info.height} frames ({refused}): writing them with {chosen}")
            elif warn:
                warn(f"this build's {DEFAULT_CODEC[fmt]} encoder is 8-bit only: writing the "
                     f"{info.bit_depth}-bit source as 10-bit AV1 ({chosen})"
                     + (" to keep its depth" if info.bit_depth <= 10 else ""))
        codec = chosen
        if codec == "libsvtav1":
            os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its banner unless told
        self._tmp = None
        self._gif = None
        if path == "-":
            target = sys.stdout.buffer
        else:
            folder = check_output(path, overwrite)
            remove_stale_temps(path)
            try:
                fd, self._tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(path)}{os.getpid()}.",
                                                 suffix=".part" + os.path.splitext(path)[1],
                                                 dir=folder)
            except OSError as e:
                raise VideoError(f"cannot write '{path}': {e.strerror or e}") from None
            os.close(fd)
            target = self._tmp
        try:
            # Matroska stores presentation times only: keep them as they are instead of letting
            # the muxer shift the whole file to make B-frame decode times non-negative; and
            # bit-exact, without the random segment UID and the writing date, so that the same
            # run writes the same bytes (a batch that hashes its outputs sees no change). MP4
            # and MOV get their index (moov) first, as `-movflags +faststart` does: the file
            # plays while it downloads and can be read from a pipe (the muxer moves it on
            # closing).
            # A GIF input's loop count is kept (a GIF that plays once looped for ever)
            options = ({"avoid_negative_ts": "disabled", "fflags": "+bitexact"}
                       if fmt in ("matroska", "webm")
                       else {"movflags": "+faststart"} if fmt in ("mp4", "mov")
                       else {"avoid_negative_ts": "disabled"} if fmt == "avi"
                       else {"loop": str(info.gif_loop)} if fmt == "gif" and
                       info.gif_loop is not None else {})
            self.container = av.open(target, "w", format=fmt, options=options)
        except (av.error.FFmpegError, OSError) as e:
            self._remove_tmp()
            raise VideoError(f"cannot write '{path}': {e}") from None
        try:
            self._side_reader = audio_from
            # quarter turns counter-clockwise given to the pictures themselves
            self._turns = (info.rotation // 90 if fmt not in ROTATION_CONTAINERS
                           and info.rotation % 90 == 0 else 0)
            if self._turns and warn:
                warn(f"{fmt} cannot hold the {info.rotation}° display rotation: the pictures "
                     f"are turned to show as they should")
            self._setup_video(codec, crf, warn, threads)
            # each input audio or subtitle stream's index -> its output stream, and its
            # decoder when it is re-encoded (None when its packets are copied)
            self._side: dict[int, tuple] = {}
            sources = audio_from.audio_streams if audio_from is not None else []
            if sources and fmt == "gif" and warn:
                warn(f"a GIF holds no sound: the input's audio ({len(sources)} "
                     f"stream{'s' if len(sources) > 1 else ''}) is left out")
            for source in sources if fmt != "gif" else []:
                self._side[source.index] = self._setup_audio(source, fmt, warn)
            if sources and fmt == "avi" and warn and av.Codec(codec, "w").canonical_name == "h264":
                warn(_AVI_H264_SOUND.format(ms=1000 / float(self.rate), fps=float(self.rate)))
            for source in audio_from.subtitle_streams if audio_from is not None else []:
                out = self._setup_subtitles(source, fmt, warn)
                if out is not None:
                    self._side[source.index] = out
            for source in audio_from.other_streams if audio_from is not None else []:
                timecode = source.metadata.get("timecode") if source.type == "data" else None
                why = self._timecode_refusal(fmt, audio_from) if timecode else None
                attached = source.type == "attachment"  # a font, a cover... (Matroska's)
                if attached and fmt == "matroska":
                    self.container.add_attachment(source.name or f"attachment{source.index}",
                                                  source.mimetype or "application/octet-stream",
                                                  source.data)
                elif timecode and why is None:  # the muxer writes it as a tmcd track again
                    self.stream.metadata["timecode"] = timecode
                elif warn:
                    what = (f"timecode track {timecode}" if timecode else
                            f"attachment {source.name}" if attached else f"{source.type} stream")
                    why = why or ("framemend keeps attachments in .mkv only" if attached else None)
                    warn(f"the input's {what} (stream #{source.index}) is left out: " + (
                        why or "framemend copies one video stream, the audio and the subtitles"))
            self._covers = self._setup_covers(fmt, warn) if audio_from is not None else []
            self._carry_tags(fmt, warn)
            self.container.start_encoding()  # opens the encoders now: a failure leaves nothing
        except (av.error.FFmpegError, OSError, ValueError) as e:
            self.abort()
            if isinstance(e, SettingsError):  # a ValueError too: said as it is, exit 2
                raise
            raise VideoError(f"cannot open the {codec} encoder for '{path}': {_reason(e)}") from None
        except BaseException:
            self.abort()
            raise
        self._first_time = self._last_time = None
        self._last_pts = None
        self._one_rate_warning = warn if self.container.format.name == "avi" else None
        self._audio_next: dict[int, int] = {}  # a re-encoded stream's next sample (_restamp)
        self._muxed_times: list[float] = []
        self.frames_written = 0

    def _setup_video(self, codec: str, crf: int | None, warn, threads: int | None) -> None:
        info = self.info
        width, height = info.width, info.height
        if self._turns % 2:
            width, height = height, width
        pix_fmt, note = _pix_fmt(codec, info.bit_depth, width, height, chroma_of(info.pix_fmt))
        # the output's YUV range: the source's, but limited for an encoder that has no other
        # (ProRes: full-range values written into it were read back stretched and clipped)
        self._range = 1 if codec in LIMITED_RANGE_ONLY else info.color_range or 1
        refused = _svtav1_refusal(codec, info.bit_depth, width, height)
        if refused:
            raise SettingsError(f"libsvtav1 cannot encode {width}x{height} frames ({refused}): "
                                f"use --codec libvpx-vp9 in .webm, or libx264 in .mp4/.mkv")
        if note and warn:
            warn(note)
        if info.hdr10 and codec not in KEEPS_HDR10 and warn:
            warn(f"{codec} cannot carry the input's HDR10 metadata (mastering display, content "
                 f"light level): it is left out (--codec libx265 keeps it, in .mp4, .mkv or .mov)")
        s = self.container.add_stream(codec, rate=self.rate)
        s.width, s.height, s.pix_fmt = width, height, pix_fmt
        self.time_base = Fraction(1, 100) if codec == "gif" else self._time_base()
        s.time_base = self.time_base
        cc = s.codec_context
        cc.time_base = self.time_base
        if self.container.format.name == "avi":  # no B-frames: with no timestamps to reorder
            cc.max_b_frames = 0  # by, FFmpeg read them back out of order (0.125, 0.083 s...)
        cc.thread_type = "AUTO"
        if threads:
            cc.thread_count = threads
        if codec in ("libx264", "libx265"):
            # two frame threads (one per core: x264's default of 1.5 per core only queues more
            # frames while the passes hold the other core) and 10 frames of lookahead (x264's
            # default at medium is 40). At 1920x1080 (60 frames of real footage, CRF 16)
            # lookahead 10 against 20: 67 MB less encoder memory (159 against 226), 42.55 dB
            # against 42.61 at a 3 % smaller file, the same CPU time. x264 without its AVX-512
            # code (:mod:`.x264`), whose output at some widths depends on uninitialised memory
            s.options = {"crf": str(16 if crf is None else crf), "preset": "medium",
                         "threads": "2", "rc-lookahead": "10",
                         **(_x264_params() if codec == "libx264"
                            else _x265_params(width, height, info.hdr10))}
        elif codec == "libvpx-vp9":
            s.options = {"crf": str(30 if crf is None else crf), "b": "0", "row-mt": "1",
                         "deadline": "good", "cpu-used": "4"}
        elif codec == "libsvtav1":
            s.options = {"crf": str(30 if crf is None else crf), "preset": "8"}
            if info.hdr10:
                s.options = {**s.options,
                             "svtav1-params": ":".join(encoder_params(codec, info.hdr10))}
        elif codec == "ffv1":
            s.options = {"level": "3", "slicecrc": "1"}
        if codec == "gif":
            from .gif import GifPalette

            self._gif = GifPalette(width, height,
                                   None if self._tmp is None else os.path.dirname(self._tmp))
        else:  # RGB (FFV1's) has no YUV matrix or range, but the source's primaries and
            # transfer still say what its values mean (BT.2020 PQ is not BT.709)
            rgb = pix_fmt.startswith(("gbr", "bgr", "rgb"))
            cc.color_range = 0 if rgb else self._range
            cc.colorspace = 0 if rgb else info.colorspace  # AVCOL_SPC_RGB
            cc.color_primaries = info.color_primaries
            cc.color_trc = info.color_trc
        if info.sample_aspect_ratio:  # a quarter turn of the pictures turns their pixels
            sar = 1 / info.sample_aspect_ratio if self._turns % 2 else info.sample_aspect_ratio
            cc.sample_aspect_ratio = sar
            fmt = self.container.format.name
            if codec not in SAR_CODECS and fmt not in SAR_CONTAINERS and warn:
                warn(f"{codec} in {fmt} cannot hold the input's {sar.numerator}:"
                     f"{sar.denominator} pixel shape (sample aspect ratio): the output shows "
                     f"square pixels (libx264 keeps it, in .mp4, .mkv or .mov)")
        if info.rotation and not self._turns:
            s.set_display_rotation(info.rotation)
        self.stream = s
        self.pix_fmt = pix_fmt
        self._yuv_bits = planar_yuv_bits(av.VideoFormat(pix_fmt))  # None: not planar YUV
        self._scale = 65535.0 if info.bit_depth > 8 else 255.0
        self._rgb_fmt = "rgb48le" if info.bit_depth > 8 else "rgb24"

    def _setup_audio(self, source, fmt: str, warn) -> tuple:
        """An output stream for the audio stream ``source`` and, when it is re-encoded, its
        decoder: copied, or re-encoded only where the container cannot hold its codec
        (:func:`.containers.holds_audio`, or the muxer refuses it)."""
        name = source.codec_context.codec.canonical_name
        if holds_audio(fmt, name):
            try:
                if fmt != "avi" or name not in BYTE_TIMED_IN_AVI:
                    return self.container.add_stream_from_template(source), None
                with _sizeless(source, self._side_reader) as template:
                    return self.container.add_stream_from_template(template), None
            except ValueError:
                pass
        codec = "libopus" if fmt == "webm" else "aac"
        rate = source.codec_context.sample_rate
        if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
            rate = 48000
        out = self.container.add_stream(codec, rate=rate)
        out.layout = _positioned(source.codec_context.layout)
        decoder = _decoder_of(source)
        decoder.sample_rate = source.codec_context.sample_rate
        decoder.layout = source.codec_context.layout
        if warn:
            warn(f"{fmt} cannot hold {source.codec_context.name} audio: re-encoding it as {codec}")
        return out, decoder

    def _setup_subtitles(self, source, fmt: str, warn) -> tuple | None:
        """An output stream for the subtitle stream ``source`` and, when it is re-encoded, its
        decoder: copied where the container holds its codec; text subtitles it cannot hold
        (SubRip in MP4) re-encoded to one it does (:func:`.containers.text_subtitle_codec`:
        decoded to ASS lines, as ffmpeg's ``-c:s mov_text`` does); else None, with a warning
        (bitmap subtitles outside Matroska, any in a GIF)."""
        codec = source.codec_context.codec if source.codec_context else None
        name = codec.canonical_name if codec else None
        # PyAV lists the codecs a muxer holds by their decoders' and encoders' names: DVD and
        # Blu-ray (PGS) subtitles are there as "dvdsub" and "pgssub", not by their canonical
        # names "dvd_subtitle" and "hdmv_pgs_subtitle"
        if codec is not None and {name, codec.name} & self.container.supported_codecs:
            try:
                return self.container.add_stream_from_template(source), None
            except ValueError:
                pass
        target = text_subtitle_codec(self.container) if codec and codec.text_sub else None
        if target is None:
            if warn:
                warn(f"{fmt} cannot hold {name or 'unknown'} subtitles: the input's subtitle "
                     f"stream #{source.index} is left out")
            return None
        decoder = _decoder_of(source)
        decoder.open()  # makes the ASS header the encoder needs
        out = self.container.add_stream(target)
        out.time_base = source.time_base
        out.codec_context.time_base = source.time_base
        out.codec_context.subtitle_header = decoder.subtitle_header
        if warn:
            warn(f"{fmt} cannot hold {name} subtitles: re-encoding them as {target}")
        return out, decoder

    def _setup_covers(self, fmt: str, warn) -> list:
        """``(output stream, input stream index)`` of each input cover picture an MP4 keeps
        (its covr, with the input stream's tags; the picture muxed when the file is finished);
        Matroska keeps one as an attachment (written with the header, from the picture read
        with the first frame); elsewhere (MOV's muxer drops it, the others hold none) a
        warning."""
        kept = []
        reader = self._side_reader
        for source in reader.cover_streams:
            picture = reader.cover_packets.get(source.index)
            mimetype = COVER_TYPES.get(source.codec_context.name)
            if picture is not None and fmt == "mp4":
                try:
                    out = self.container.add_stream_from_template(source)
                except ValueError:  # a picture codec MP4 does not take
                    pass
                else:
                    carry_stream(source, out)
                    kept.append((out, source.index))
                    continue
            elif picture is not None and fmt == "matroska" and mimetype:
                name = source.metadata.get("filename") or f"cover.{mimetype.split('/')[1]}"
                self.container.add_attachment(name, mimetype, bytes(picture))
                continue
            if warn:
                warn(f"the input's cover picture (stream #{source.index}) is left out: "
                     f"framemend keeps it in .mp4 and .mkv")
        return kept

    def _carry_tags(self, fmt: str, warn) -> None:
        """The input's file tags, each kept stream's tags and disposition, and its chapters
        (cut to the range read) on the output (:mod:`.tags`); a warning where the container
        holds no chapters."""
        self.container.metadata.update(carried_tags(self.info.metadata))
        reader = self._side_reader
        if reader is None:
            return
        carry_stream(reader.stream, self.stream)
        for source in [*reader.audio_streams, *reader.subtitle_streams]:
            if source.index in self._side:
                carry_stream(source, self._side[source.index][0])
        chapters = reader.chapters()
        if chapters and fmt in CHAPTER_CONTAINERS:
            self.container.set_chapters(chapters)
        elif chapters and warn:
            warn(f"{fmt} cannot hold chapters: the input's {len(chapters)} chapter"
                 f"{'s are' if len(chapters) > 1 else ' is'} left out (.mkv, .mp4 and .mov "
                 f"keep them)")

    def _timecode_refusal(self, fmt: str, reader) -> str | None:
        """Why the input's timecode track cannot be kept (None: it can): only MP4 and MOV
        write one (from the video stream's ``timecode`` tag, as ffmpeg does), and the first
        frame's timecode is the input's only when the output starts where it starts and runs
        at its rate."""
        if fmt not in ("mp4", "mov"):
            return "framemend keeps a timecode in .mp4 and .mov only"
        if reader.start or self.rate != self.info.fps:
            return "the output does not start at its first frame or runs at another rate"
        return None

    def _time_base(self) -> Fraction:
        """The input's time base when the rate is unchanged and it holds the rate's frame
        slots, else one fine enough for both (the reader puts a millisecond clock's 24 fps
        frames back on their slots, :func:`~.rates.clock_rounds`: in 1/1000 they were 0, 42,
        83 ms again, and MP4 read 24.004 fps); in AVI, which has no timestamps (a frame per
        tick of its time base), one frame: with the input's (1/600 of an MP4, 1/1000 of a
        Matroska file) it declared 600 or 1000 fps and 25 or 42 times the frames, the rest
        empty chunks."""
        if self.container.format.name == "avi":
            return 1 / self.rate
        tb = self.info.time_base
        if self.rate == self.info.fps and not clock_rounds(tb, self.rate):
            return tb
        den = math.lcm(tb.denominator, self.rate.numerator)
        return Fraction(1, den) if den <= 1 << 20 else Fraction(1, 90000)

    def write(self, image, time: float) -> None:
        """Encode one frame: a ``(3, H, W)`` float tensor in [0, 1], an ``(H, W, 3)`` array
        (uint8/uint16 at the source depth), a :class:`~framemend.cuda.transfer.Download` of such
        an array (:meth:`encodable`) or the input's decoded picture, shown at ``time`` seconds."""
        if isinstance(image, transfer.Download):
            with image as pixels:  # waits for this frame's copy; its buffer goes back after
                return self.write(pixels, time)
        pts = int(round(time / self.time_base))
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
            if self._one_rate_warning:  # AVI's one frame per tick
                self._one_rate_warning(
                    f"{self.container.format.name} holds one frame rate: the input's variable "
                    f"frame times are put on a {float(self.rate):.3f} fps grid, each frame "
                    f"after the one before (.mkv and .mp4 keep them)")
                self._one_rate_warning = None
        self._last_pts = pts
        if self._first_time is None:
            self._first_time = time
        self._last_time = time
        if self._gif is not None:
            self._gif.add(self._turned(self._rgb8(image)), pts)
        else:
            if self._turns:
                image = self._turned(self._pixels(image))
            vf = self._from_picture(image) if isinstance(image, av.VideoFrame) else self._from_rgb(image)
            vf.pts = pts
            vf.time_base = self.time_base
            self._mux(self.stream.encode(vf))
        self.frames_written += 1
        self._copy_side(until=time + 0.5)

    def encodable(self, image):
        """What :meth:`write` takes for a ``(3, H, W)`` float tensor, begun in the caller's
        thread: on the CPU its integer pixels (:meth:`integer_pixels`); on a GPU their copy to
        the host started (a :class:`~framemend.cuda.transfer.Download`, which :meth:`write`
        waits for when it encodes the frame)."""
        copies = transfer.for_device(image.device)
        if copies is None:
            return self.integer_pixels(image)
        return copies.download(quantise(image, self._scale))

    def integer_pixels(self, image) -> np.ndarray:
        """``(H, W, 3)`` uint8/uint16 at the source's depth from a tensor or an array (what
        :meth:`write` encodes a tensor as)."""
        if isinstance(image, np.ndarray):
            return np.ascontiguousarray(image)
        return rgb_array(image, self._scale)

    def _pixels(self, image, rgb_fmt: str | None = None) -> np.ndarray:
        """``(H, W, 3)`` uint8/uint16 RGB at the source's depth of any frame :meth:`write`
        takes; a picture that :func:`.colour.picture_rgb` cannot make RGB is converted by
        swscale to ``rgb_fmt`` (default the source's depth's)."""
        if not isinstance(image, av.VideoFrame):
            return self.integer_pixels(image)
        rgb = picture_rgb(image, self.info.yuv_matrix(), self._scale > 255)
        if rgb is not None:
            return rgb
        return image.to_ndarray(format=rgb_fmt or self._rgb_fmt,
                                src_colorspace=self.info.yuv_matrix(),
                                src_color_range=image.color_range or None)

    def _turned(self, pixels: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` pixels turned by the writer's quarter turns (counter-clockwise, as a
        player turns a picture whose display rotation says so)."""
        return np.ascontiguousarray(np.rot90(pixels, self._turns)) if self._turns else pixels

    def _rgb8(self, image) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB of any frame :meth:`write` takes (a GIF's input)."""
        arr = self._pixels(image, "rgb24")
        if arr.dtype == np.uint16:
            arr = ((arr.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
        return arr

    def _from_rgb(self, image) -> av.VideoFrame:
        """A picture in the encoder's format from RGB pixels, with the output's colour tags
        (an encoder that writes each picture's own, as ProRes does, wrote unspecified ones)."""
        arr = self.integer_pixels(image)
        if self._yuv_bits is not None and (self._yuv_bits > 8) == (arr.dtype == np.uint16):
            vf = rgb_to_yuv(arr, self.pix_fmt, self.info.yuv_matrix(), self._range == 2)
        else:
            vf = av.VideoFrame.from_ndarray(arr, format=self._rgb_fmt)
            if not self.pix_fmt.startswith(("gbr", "bgr", "rgb")):
                vf = vf.reformat(format=self.pix_fmt, dst_colorspace=self.info.yuv_matrix(),
                                 dst_color_range=self._range)
        cc = self.stream.codec_context
        vf.colorspace, vf.color_primaries, vf.color_trc = \
            cc.colorspace, cc.color_primaries, cc.color_trc
        return vf

    def _from_picture(self, picture: av.VideoFrame) -> av.VideoFrame:
        """A decoded input picture in the encoder's format: as it is when it already is in that
        format and range (no colour conversion at all); for an RGB encoder (FFV1) made RGB as
        the reader makes it (:func:`.colour.picture_rgb`); else converted directly by swscale
        with the source's colour matrix."""
        dst_range = self._range
        if picture.format.name == self.pix_fmt and (picture.color_range or dst_range) == dst_range:
            picture.pict_type = av.video.frame.PictureType.NONE  # the encoder picks frame types
            return picture
        if self.pix_fmt.startswith(("gbr", "bgr", "rgb")):  # FFV1's RGB
            rgb = picture_rgb(picture, self.info.yuv_matrix(), self._scale > 255)
            if rgb is not None:
                return self._from_rgb(rgb)
        matrix = self.info.yuv_matrix()
        return picture.reformat(format=self.pix_fmt, src_colorspace=matrix, dst_colorspace=matrix,
                                src_color_range=picture.color_range or None,
                                dst_color_range=dst_range)

    def _copy_side(self, until: float | None) -> None:
        """Copy (or re-encode) the queued audio and subtitle packets up to ``until`` seconds,
        each into its stream's output; ``until`` None: all of them, and flush the
        re-encoders."""
        if not self._side:
            return
        for packet in self._side_reader.take_side_packets(until):
            if packet.stream_index not in self._side:  # a stream the container cannot hold
                continue
            out, decoder = self._side[packet.stream_index]
            if decoder is None:
                packet.stream = out
                self._mux(packet)
                continue
            try:
                decoded = decoder.decode2(packet) if decoder.type == "subtitle" else \
                    decoder.decode(packet)
            except av.error.FFmpegError as e:  # going on after it crashed FLAC's decoder
                at = "" if packet.pts is None else \
                    f" at {float(packet.pts * packet.time_base):.2f} s"
                raise VideoError(f"cannot re-encode the input's {decoder.type} stream "
                                 f"#{packet.stream_index}: a damaged packet{at} ({e.strerror}); "
                                 f"a .mkv output copies it as it is") from None
            if decoder.type == "subtitle":  # one line in, one line out, at the same times
                if decoded is None:  # nothing shown (mov_text's empty sample between lines)
                    continue
                line = out.codec_context.encode_subtitle(decoded)
                line.pts, line.dts, line.duration = packet.pts, packet.dts, packet.duration
                line.time_base, line.stream = packet.time_base, out
                self._mux(line)
                continue
            for frame in decoded:
                self._restamp(packet, frame)
                self._mux(out.encode(frame))
        if until is None:
            for out, decoder in self._side.values():
                if decoder is not None and decoder.type == "audio":
                    self._mux(out.encode(None))

    def _restamp(self, packet: av.Packet, frame: av.AudioFrame) -> None:
        """Give a decoded audio ``frame`` of ``packet``'s stream, before it is re-encoded, the
        time of its first sample counted on from the stream's first frame (its own time:
        shifted by the range's start like a copied packet), in samples. The encoder then
        stamps its packets from it, its priming included (AAC's 1024 samples, Opus's 312),
        which MP4's edit list and WebM's codec delay hide. Unstamped, as before, the encoder
        counted from 0: audio starting 0.3 s after the video came out 0.3 s early, and every
        re-encoded stream 21 ms (AAC) or 7 ms (Opus) late. Counting on rather than taking each
        frame's own time keeps the samples contiguous, which PyAV's audio FIFO requires (a
        Matroska input's times are whole milliseconds)."""
        rate = frame.sample_rate
        start = self._audio_next.get(packet.stream_index)
        if start is None:
            at = frame.pts * frame.time_base if frame.pts is not None and frame.time_base \
                else (packet.pts or 0) * packet.time_base
            start = round(at * rate)
        frame.pts, frame.time_base = start, Fraction(1, rate)
        self._audio_next[packet.stream_index] = start + frame.samples

    def _mux(self, packets) -> None:
        if not isinstance(packets, (list, tuple)):
            packets = [packets]
        try:
            self.container.mux(packets)
        except (av.error.FFmpegError, OSError) as e:
            raise VideoError(f"cannot write '{self.path}': {e}") from None
        for p in packets:  # muxed packets carry the stream's time base
            if p.stream_index == self.stream.index and p.pts is not None:
                self._muxed_times.append(float(p.pts * p.time_base))

    def close(self) -> None:
        """Flush the encoder, copy the remaining audio, check the output's frames and times,
        and move the file into place. On any failure nothing is left under the output's name."""
        try:
            if self._gif is not None:
                for vf in self._gif.frames():
                    self._mux(self.stream.encode(vf))
            self._mux(self.stream.encode(None))
            self._copy_side(until=None)
            for out, index in self._covers:  # the input is closed by now: its index kept
                picture = self._side_reader.cover_packets[index]
                picture.stream = out
                self._mux(picture)
            self._close_container()
            self._check_timing(_packet_times(self._tmp) if self._tmp else self._muxed_times)
        except BaseException:
            self.abort()
            raise
        if self._tmp:
            os.chmod(self._tmp, _default_file_mode())  # mkstemp made it private
            try:
                os.replace(self._tmp, self.path)
            except OSError as e:  # a folder, or a file system gone read-only, in its place
                self._remove_tmp()
                raise VideoError(f"cannot write '{self.path}': {e.strerror or e}") from None
            self._tmp = None

    def _close_container(self) -> None:
        """Write the container's trailer and close it; a muxer's refusal (one that takes a
        stream but cannot finish the file with it) is a :class:`VideoError`."""
        try:
            self.container.close()
        except (av.error.FFmpegError, OSError) as e:
            raise VideoError(f"cannot write '{self.path}': the {self.container.format.name} "
                             f"muxer could not finish it ({_reason(e)})") from None

    def _check_timing(self, times: list[float]) -> None:
        """Raise :class:`VideoError` unless the output holds every frame written and spans
        their times within one frame."""
        if not self.frames_written:
            return
        expected = self._last_time - self._first_time
        span = max(times) - min(times) if times else 0.0
        slack = 1 / float(self.rate) + 2 * max(float(self.time_base), float(self.stream.time_base))
        if len(times) != self.frames_written or abs(span - expected) > slack:
            name = "the stream written to stdout" if self.path == "-" else f"'{self.path}'"
            raise VideoError(
                f"{name} came out wrong: it holds {len(times)} frames over {span:.3f} s where "
                f"{self.frames_written} frames over {expected:.3f} s were written"
                + ("" if self.path == "-" else "; nothing was left under its name"))

    def abort(self, exiting: bool = False) -> None:
        """Stop without leaving anything under the output's name.

        ``exiting=True`` when the process is about to end (Ctrl-C, SIGTERM): the encoder is
        neither flushed nor freed but left for the OS, since freeing x264 at 1080p takes 2-3 s
        (measured on the 2-core machine under load), and another thread may still be inside it.
        """
        if exiting:
            _LEFT_FOR_EXIT.append(self.container)
        else:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - the encoder may be in any state; the file goes anyway
                pass
        if self._gif is not None:
            self._gif.close()
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        if self._tmp and os.path.exists(self._tmp):
            os.remove(self._tmp)
        self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()


# A layout with positions for each channel count (FFmpeg's usual one)
DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1",
                   8: "7.1"}


def _positioned(layout: av.AudioLayout):
    """``layout``, or where its channels have no positions (PCM from Matroska or WAV reads as
    "2 channels"), the usual layout of as many channels: AAC's encoder refuses to open
    on one without positions."""
    if all(c.name != "NONE" for c in layout.channels):
        return layout
    return DEFAULT_LAYOUTS.get(layout.nb_channels, layout)


def _x264_params() -> dict[str, str]:
    """libx264's ``x264-params``: :func:`.x264.x264_params` and no lookahead thread
    (``sync-lookahead=0``). With frame threads x264 runs its slice-type decisions in a thread of
    their own that buffers ``bframes + 1`` frames beyond the lookahead (4 at preset medium);
    without it the encoding thread decides, on the same frames (x264's ``b_deterministic``
    bounds the decision's search to the lookahead either way): the same bitstream, 4 frames
    fewer held (1920x1080, the 60 frames of BENCHMARKS.md "Memory, stop 19", encoded alone:
    171 MB of encoder memory against 192-198, 81 MB less at 3840x2160, the same CPU time)."""
    params = ["sync-lookahead=0", *x264_params().values()]
    return {"x264-params": ":".join(params)}


def _x265_params(width: int, height: int, hdr10: dict | None = None) -> dict[str, str]:
    """libx265's ``x265-params``: its own log, which it prints to stderr whatever FFmpeg's log
    level (about ten lines a run), kept to errors; and no cutree on frames of at most 8 blocks
    of 16x16: with it, this build's x265 (4.2) corrupts the heap and glibc aborts the process
    on frames 3 blocks wide and 1 or 2 high (35x21, 40x20, 47x31, 48x16, 48x18 in 4:4:4 and
    4:2:0, every run; none of the sizes of more blocks tried, nor 48x32), in PyAV alone too
    (scratch ``x265_tiny.py`` and ``x265_opts.py`` of branch rely37: cutree=0 was the one of
    15 option sets tried that helped); and the source's HDR10 metadata (:mod:`.hdr`)."""
    params = ["log-level=error"]
    if math.ceil(width / 16) * math.ceil(height / 16) <= 8:
        params.append("cutree=0")
    params += encoder_params("libx265", hdr10 or {})
    return {"x265-params": ":".join(params)}


def _packet_times(path: str) -> list[float]:
    """Presentation times (s) of the video packets of a file, read back without decoding."""
    try:
        with av.open(path) as c:
            v = c.streams.video[0]
            return [float(p.pts * p.time_base) for p in c.demux(v) if p.pts is not None]
    except (av.error.FFmpegError, OSError, IndexError) as e:
        raise VideoError(f"cannot read back '{path}' to check it: {_reason(e)}") from None


def _reason(e: Exception) -> str:
    """An FFmpeg/OS error's reason without its errno and file name."""
    return (getattr(e, "strerror", None) or str(e)).strip()
