"""Streaming encode with PyAV, written atomically, keeping timing, depth, colour tags and audio.

The container and default codec follow the output's extension (``.mp4``/``.mov``/``.mkv``: H.264
CRF 16; ``.webm``: VP9; ``lossless=True``: FFV1 in RGB, so pixels round-trip exactly). ``-``
writes Matroska (or NUT) to stdout. A file is written under a temporary name beside the target
and renamed when complete, so an interrupted run never leaves a partial file under the final name.
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
from fractions import Fraction

import av
import cv2
import numpy as np
import torch

from .colour import planar_yuv_bits, rgb_to_yuv
from .errors import VideoError
from .probe import VideoInfo

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
              ".webm": "webm", ".avi": "avi", ".nut": "nut"}
DEFAULT_CODEC = {"mp4": "libx264", "mov": "libx264", "matroska": "libx264", "webm": "libvpx-vp9",
                 "avi": "libx264", "nut": "ffv1"}
LOSSLESS_CONTAINERS = ("matroska", "avi", "nut", "mov")


def _default_file_mode() -> int:
    """The mode a newly created file gets under the current umask (0o644 under umask 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def container_for(path: str, stdout_format: str = "matroska") -> str:
    """The muxer name for an output path (``-`` means stdout in ``stdout_format``)."""
    if path == "-":
        return stdout_format
    ext = os.path.splitext(path)[1].lower()
    if ext not in CONTAINERS:
        raise VideoError(f"cannot write '{path}': unknown extension '{ext or '(none)'}' "
                         f"(use one of {', '.join(CONTAINERS)})")
    return CONTAINERS[ext]


def _pix_fmt(codec: str, bit_depth: int, width: int, height: int) -> tuple[str, str | None]:
    """Pixel format for the encoder, and a warning when the natural one cannot be used."""
    odd = width % 2 or height % 2
    if codec == "ffv1":
        return ("gbrp16le" if bit_depth > 8 else "bgr0"), None
    if codec == "prores_ks":
        return "yuv444p10le", None
    high = bit_depth > 8 and codec in ("libx264", "libx265", "libvpx-vp9", "libsvtav1")
    if codec == "libvpx-vp9" and high:
        high = False  # this build's VP9 encoder is 8-bit only
    if odd:
        fmt = "yuv444p10le" if high else "yuv444p"
        return fmt, (f"{width}x{height} is odd-sized, which 4:2:0 chroma cannot hold: "
                     f"encoding 4:4:4 ({fmt}) to keep every pixel")
    return ("yuv420p10le" if high else "yuv420p"), None


class VideoWriter:
    """Encode frames to ``path``; use as a context manager, or call :meth:`close`/:meth:`abort`.

    Args:
        path: output file, or ``-`` for stdout.
        info: the input's :class:`VideoInfo` (size, depth, colour tags, rotation are kept).
        rate: nominal output frame rate (differs from ``info.fps`` after interpolation).
        codec, crf: encoder and quality (default by container; CRF 16 for H.264/H.265).
        lossless: FFV1 in RGB at the source's depth.
        audio_from: a :class:`VideoReader` whose audio packets are copied untouched.
        stdout_format: ``matroska`` or ``nut`` when ``path`` is ``-``.
    """

    def __init__(self, path: str, info: VideoInfo, rate: Fraction | None = None,
                 codec: str | None = None, crf: int | None = None, lossless: bool = False,
                 audio_from=None, stdout_format: str = "matroska", overwrite: bool = True,
                 warn=None):
        self.path = path
        self.info = info
        self.rate = Fraction(rate or info.fps).limit_denominator(1001 * 1000)
        fmt = container_for(path, stdout_format)
        if lossless:
            if codec not in (None, "ffv1"):
                raise VideoError(f"--lossless uses FFV1; it cannot be combined with --codec {codec}")
            if fmt not in LOSSLESS_CONTAINERS:
                raise VideoError(f"lossless FFV1 cannot go into '{path}': use .mkv, .mov, .avi or .nut")
            codec = "ffv1"
        codec = codec or DEFAULT_CODEC[fmt]
        if codec not in av.codecs_available:
            raise VideoError(f"unknown codec '{codec}'")
        if path != "-" and os.path.exists(path) and not overwrite:
            raise VideoError(f"output '{path}' exists (use --overwrite to replace it)")
        self._tmp = None
        if path == "-":
            target = sys.stdout.buffer
        else:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise VideoError(f"cannot write '{path}': folder '{folder}' does not exist")
            fd, self._tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                             suffix=".part" + os.path.splitext(path)[1], dir=folder)
            os.close(fd)
            target = self._tmp
        try:
            # Matroska stores presentation times only: keep them as they are instead of letting
            # the muxer shift the whole file to make B-frame decode times non-negative.
            options = {"avoid_negative_ts": "disabled"} if fmt in ("matroska", "webm") else {}
            self.container = av.open(target, "w", format=fmt, options=options)
        except (av.error.FFmpegError, OSError) as e:
            self._remove_tmp()
            raise VideoError(f"cannot write '{path}': {e}") from None
        self._audio_reader = audio_from
        self._audio_out = None
        self._setup_video(codec, crf, warn)
        self._audio_decoder = None
        if audio_from is not None and audio_from.audio_stream is not None:
            self._setup_audio(audio_from.audio_stream, fmt, warn)
        self._t0 = None
        self._last_pts = None
        self.frames_written = 0

    def _setup_video(self, codec: str, crf: int | None, warn) -> None:
        info = self.info
        pix_fmt, note = _pix_fmt(codec, info.bit_depth, info.width, info.height)
        if note and warn:
            warn(note)
        s = self.container.add_stream(codec, rate=self.rate)
        s.width, s.height, s.pix_fmt = info.width, info.height, pix_fmt
        s.time_base = self._time_base()
        cc = s.codec_context
        cc.time_base = s.time_base
        cc.thread_type = "AUTO"
        if codec in ("libx264", "libx265"):
            s.options = {"crf": str(16 if crf is None else crf), "preset": "medium"}
        elif codec == "libvpx-vp9":
            s.options = {"crf": str(30 if crf is None else crf), "b": "0", "row-mt": "1",
                         "deadline": "good", "cpu-used": "4"}
        elif codec == "libsvtav1":
            s.options = {"crf": str(30 if crf is None else crf), "preset": "8"}
        elif codec == "ffv1":
            s.options = {"level": "3", "slicecrc": "1"}
        if not pix_fmt.startswith(("gbr", "bgr", "rgb")):
            cc.color_range = info.color_range or 1
            cc.colorspace = info.colorspace
            cc.color_primaries = info.color_primaries
            cc.color_trc = info.color_trc
        if info.rotation:
            s.set_display_rotation(info.rotation)
        self.stream = s
        self.pix_fmt = pix_fmt
        self._yuv_bits = planar_yuv_bits(av.VideoFormat(pix_fmt))  # None: not planar YUV
        self._scale = 65535.0 if info.bit_depth > 8 else 255.0
        self._rgb_fmt = "rgb48le" if info.bit_depth > 8 else "rgb24"

    def _setup_audio(self, source, fmt: str, warn) -> None:
        """Copy the audio stream; re-encode it only where the container cannot hold its codec."""
        try:
            self._audio_out = self.container.add_stream_from_template(source)
            return
        except ValueError:
            pass
        codec = "libopus" if fmt == "webm" else "aac"
        rate = source.codec_context.sample_rate
        if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
            rate = 48000
        self._audio_out = self.container.add_stream(codec, rate=rate)
        self._audio_out.layout = source.codec_context.layout
        self._audio_decoder = av.CodecContext.create(source.codec_context.name, "r")
        self._audio_decoder.extradata = source.codec_context.extradata
        self._audio_decoder.sample_rate = source.codec_context.sample_rate
        self._audio_decoder.layout = source.codec_context.layout
        if warn:
            warn(f"{fmt} cannot hold {source.codec_context.name} audio: re-encoding it as {codec}")

    def _time_base(self) -> Fraction:
        """The input's time base when the rate is unchanged, else one fine enough for both."""
        tb = self.info.time_base
        if self.rate == self.info.fps:
            return tb
        den = math.lcm(tb.denominator, self.rate.numerator)
        return Fraction(1, den) if den <= 1 << 20 else Fraction(1, 90000)

    def write(self, image: torch.Tensor | np.ndarray | av.VideoFrame, time: float) -> None:
        """Encode one frame: a ``(3, H, W)`` float tensor in [0, 1], an ``(H, W, 3)`` array
        (uint8/uint16 at the source depth) or the input's decoded picture, shown at ``time``
        seconds."""
        if isinstance(image, av.VideoFrame):
            vf = self._from_picture(image)
        else:
            vf = self._from_rgb(image)
        pts = int(round(time / self.stream.time_base))
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        vf.pts = pts
        vf.time_base = self.stream.time_base
        self._mux(self.stream.encode(vf))
        self.frames_written += 1
        self._copy_audio(until=time + 0.5)

    def _from_rgb(self, image: torch.Tensor | np.ndarray) -> av.VideoFrame:
        if isinstance(image, torch.Tensor):
            depth = cv2.CV_8U if self._scale == 255 else cv2.CV_16U
            planes = image.detach().float().cpu().numpy()
            # saturating, rounding conversion of each plane, interleaved
            arr = cv2.merge([cv2.multiply(p, self._scale, dtype=depth) for p in planes])
        else:
            arr = np.ascontiguousarray(image)
        if self._yuv_bits is not None and (self._yuv_bits > 8) == (arr.dtype == np.uint16):
            return rgb_to_yuv(arr, self.pix_fmt, self.info.yuv_matrix(), self.info.color_range == 2)
        vf = av.VideoFrame.from_ndarray(arr, format=self._rgb_fmt)
        if not self.pix_fmt.startswith(("gbr", "bgr", "rgb")):
            vf = vf.reformat(format=self.pix_fmt, dst_colorspace=self.info.yuv_matrix(),
                             dst_color_range=self.info.color_range or 1)
        return vf

    def _from_picture(self, picture: av.VideoFrame) -> av.VideoFrame:
        """A decoded input picture in the encoder's format: as it is when it already is in that
        format and range (no colour conversion at all), else converted directly with the
        source's colour matrix, as the reader and :meth:`_from_rgb` would have."""
        dst_range = self.info.color_range or 1
        if picture.format.name == self.pix_fmt and (picture.color_range or dst_range) == dst_range:
            picture.pict_type = av.video.frame.PictureType.NONE  # the encoder picks frame types
            return picture
        matrix = self.info.yuv_matrix()
        return picture.reformat(format=self.pix_fmt, src_colorspace=matrix, dst_colorspace=matrix,
                                src_color_range=picture.color_range or None,
                                dst_color_range=dst_range)

    def _copy_audio(self, until: float | None) -> None:
        if self._audio_out is None:
            return
        for packet in self._audio_reader.take_audio(until):
            if self._audio_decoder is None:
                packet.stream = self._audio_out
                self._mux(packet)
                continue
            for frame in self._audio_decoder.decode(packet):
                frame.pts = None  # the encoder restamps from its sample count
                self._mux(self._audio_out.encode(frame))
        if until is None and self._audio_decoder is not None:
            self._mux(self._audio_out.encode(None))

    def _mux(self, packets) -> None:
        try:
            self.container.mux(packets)
        except (av.error.FFmpegError, OSError) as e:
            raise VideoError(f"cannot write '{self.path}': {e}") from None

    def close(self) -> None:
        """Flush the encoder, copy the remaining audio and move the file into place."""
        self._mux(self.stream.encode(None))
        self._copy_audio(until=None)
        self.container.close()
        if self._tmp:
            os.chmod(self._tmp, _default_file_mode())  # mkstemp made it private
            os.replace(self._tmp, self.path)
            self._tmp = None

    def abort(self) -> None:
        """Stop without leaving anything under the output's name."""
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the encoder may be in any state; the file goes anyway
            pass
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
