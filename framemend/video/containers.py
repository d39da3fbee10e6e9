"""Which container an output path means, and which encoders it can hold: checked before any file
or encoder opens (imports PyAV only, so the command line checks settings without torch)."""
from __future__ import annotations

import io
import numbers
import os

import av

from .errors import SettingsError, VideoError

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
              ".webm": "webm", ".avi": "avi", ".nut": "nut", ".ts": "mpegts", ".gif": "gif"}
DEFAULT_CODEC = {"mp4": "libx264", "mov": "libx264", "matroska": "libx264", "webm": "libvpx-vp9",
                 "avi": "libx264", "nut": "ffv1", "mpegts": "libx264", "gif": "gif"}
# Where --lossless FFV1 goes (ffmpeg also muxes it into MP4, which few players read).
LOSSLESS_CONTAINERS = ("matroska", "avi", "nut")
# Deeper-than-8-bit sources in WebM: AV1 keeps the depth where this build's VP9 cannot.
DEEP_WEBM_CODEC = "libsvtav1"
# ffmpeg's MPEG-TS muxer declares no codec list; these are the video codecs it maps to stream types.
MPEGTS_CODECS = ("libx264", "libx265", "libsvtav1")
# Audio codecs (canonical names) a container's muxer takes as a copied stream but cannot hold:
# MP4 fails on closing with PCM, MOV on opening with FLAC and Opus, and MPEG-TS writes FLAC,
# ALAC, PCM and Vorbis as streams no demuxer finds (copies read back, scratch audio_matrix.py
# of branch rely37). Muxers that refuse a codec outright are not listed: they raise on adding it.
AUDIO_NOT_HELD = {"mp4": ("pcm_",), "mov": ("flac", "opus"),
                  "mpegts": ("flac", "alac", "pcm_", "vorbis")}
# Text subtitle encoders, in the order tried when a container cannot hold the input's text
# subtitles: MP4 and MOV hold mov_text, Matroska SubRip, WebM WebVTT (each muxer's codec list).
# Not ASS: NUT takes it but keeps no line's end (each read back lasting 0 s).
TEXT_SUBTITLE_CODECS = ("mov_text", "subrip", "webvtt")
# Muxers that store a display rotation (a display matrix): AVI, NUT, MPEG-TS and GIF drop it.
ROTATION_CONTAINERS = ("mp4", "mov", "matroska", "webm")
# The highest rate of frames a container's clock keeps apart, frames written at i / fps
# (framemend.write, generate): Matroska and WebM count milliseconds (at 5000 fps frames shared a
# time, said only when read), MPEG-TS a 90 kHz clock (100000 fps: "Invalid argument ...
# returned 22"), GIF hundredths of a second (1000 fps "came out wrong" after the encode), AVI
# read back right at 999 fps, not at 1000 (48 frames: the last two at one time; 1001: "returned
# 22"). MP4, MOV and NUT kept 10^5-10^6 fps.
MAX_RATE = {"matroska": 1000, "webm": 1000, "mpegts": 90000, "gif": 100, "avi": 999}
# (lowest, highest) CRF each encoder takes; encoders not listed take no CRF.
CRF_RANGE = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63), "libsvtav1": (1, 63)}


def container_for(path: str, stdout_format: str = "matroska") -> str:
    """The muxer name for an output path (``-`` means stdout in ``stdout_format``)."""
    if path == "-":
        return stdout_format
    ext = os.path.splitext(path)[1].lower()
    if ext not in CONTAINERS:
        if os.path.isdir(path):  # framemend.write(folder, ...) was told "unknown extension"
            check_folder(path)
        raise SettingsError(f"cannot write '{path}': unknown extension '{ext or '(none)'}' "
                            f"(use one of {', '.join(CONTAINERS)})")
    return CONTAINERS[ext]


def _container_codecs(fmt: str) -> set[str]:
    """The encoders a muxer can hold, as ffmpeg's ``avformat_query_codec`` answers."""
    if fmt == "mpegts":
        return set(MPEGTS_CODECS)
    with av.open(io.BytesIO(), "w", format=fmt) as probe:
        return probe.supported_codecs


def holds_audio(fmt: str, codec: str) -> bool:
    """Whether a copy of ``codec`` audio (its canonical name) can go into the ``fmt`` muxer as
    far as :data:`AUDIO_NOT_HELD` knows (a muxer may still refuse it when the stream is added);
    a GIF holds no audio."""
    return fmt != "gif" and not codec.startswith(AUDIO_NOT_HELD.get(fmt, ()))


def text_subtitle_codec(container) -> str | None:
    """The text subtitle encoder an open output ``container`` holds (the first of
    :data:`TEXT_SUBTITLE_CODECS`), or None: what text subtitles it cannot hold are re-encoded to."""
    return next((c for c in TEXT_SUBTITLE_CODECS if c in container.supported_codecs), None)


def can_encode_deep(codec: str) -> bool:
    """Whether this build's ``codec`` takes a pixel format deeper than 8 bits."""
    formats = av.Codec(codec, "w").video_formats or ()
    return any(max(c.bits for c in f.components) > 8 for f in formats)


def choose_codec(path: str, codec: str | None = None, lossless: bool = False,
                 crf: int | None = None, bit_depth: int = 8,
                 stdout_format: str = "matroska") -> str:
    """The encoder for ``path``, checked against its container and ``crf`` before anything opens.

    Raises :class:`SettingsError` (one line) for an unknown extension or codec, a codec the
    container cannot hold, ``lossless`` with another codec or container, or a CRF outside the
    codec's range.
    """
    fmt = container_for(path, stdout_format)
    where = "'-o -'" if path == "-" else f"'{path}'"
    if lossless:
        if codec not in (None, "ffv1"):
            raise SettingsError(f"--lossless uses FFV1; it cannot be combined with --codec {codec}")
        codec = "ffv1"
        if fmt not in LOSSLESS_CONTAINERS:
            raise SettingsError(f"lossless FFV1 cannot go into {where}: use .mkv, .avi or .nut")
    if codec is None:
        codec = DEFAULT_CODEC[fmt]
        if fmt == "webm" and bit_depth > 8 and not can_encode_deep(codec) \
                and DEEP_WEBM_CODEC in av.codecs_available:
            codec = DEEP_WEBM_CODEC
    if codec not in av.codecs_available or not av.Codec(codec, "w").type == "video":
        raise SettingsError(f"unknown video encoder '{codec}'")
    if codec not in _container_codecs(fmt):
        fits = sorted(ext for ext, f in CONTAINERS.items() if codec in _container_codecs(f))
        raise SettingsError(f"{fmt} ({where}) cannot hold {codec}"
                            + (f"; it fits in {', '.join(fits)}" if fits else ""))
    if crf is not None:
        if codec not in CRF_RANGE:
            raise SettingsError(f"--crf does not apply to {codec}")
        low, high = CRF_RANGE[codec]
        if isinstance(crf, bool) or not isinstance(crf, numbers.Real):  # "18": '<=' not supported
            raise TypeError(f"crf must be a number ({low} to {high} for {codec}; lower is better), "
                            f"got {crf!r}")
        if not low <= crf <= high:
            raise SettingsError(f"--crf {crf} is out of range for {codec} ({low} to {high})")
    return codec


def check_rate(path: str, fps, stdout_format: str = "matroska") -> None:
    """Raise :class:`SettingsError` where the container of ``path`` cannot keep frames at
    ``fps`` (:data:`MAX_RATE`) apart in time."""
    fmt = container_for(path, stdout_format)
    if fps > MAX_RATE.get(fmt, float("inf")):
        raise SettingsError(f"cannot write '{path}' at {float(fps):g} fps: {fmt} keeps frames "
                            f"apart up to {MAX_RATE[fmt]} fps")


def check_folder(path: str) -> str:
    """The folder ``path`` will be written in; :class:`VideoError` if it is missing or read-only,
    or if ``path`` itself is a folder (the finished file could not be moved there)."""
    if os.path.isdir(path):
        raise VideoError(f"cannot write '{path}': it is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise VideoError(f"cannot write '{path}': folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise VideoError(f"cannot write '{path}': folder '{folder}' is not writable")
    return folder


def check_output(path: str, overwrite: bool) -> str:
    """:func:`check_folder`, and :class:`VideoError` if ``path`` exists and ``overwrite`` is
    False (``framemend clean`` without -y, ``framemend.clean`` and ``framemend.write``);
    returns the folder."""
    folder = check_folder(path)
    if os.path.exists(path) and not overwrite:
        raise VideoError(f"output '{path}' exists (use -y/--overwrite, or overwrite=True in "
                         "Python, to replace it)")
    return folder
