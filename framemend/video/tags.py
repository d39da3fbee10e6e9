"""What a user wrote about a video, carried from the input to the output: the file's tags
(title, comment, artist, creation_time...), each stream's tags (language, title, handler name)
and dispositions (default, forced, comment...), and the chapters.

FFmpeg's muxers write only what they are given (ffmpeg's command line copies these from the
input by default, as ``-map_metadata 0 -map_chapters 0`` would); a PyAV output stream starts
with none, even one made with ``add_stream_from_template``. Tags that the muxer writes itself
or that describe the input's own bytes (brands, encoder, Matroska's duration and statistics
tags, a legacy rotation, VP9's alpha flag for an output written opaque, a timecode the writer
keeps or leaves out itself) are not copied: they would be stale.
"""
from __future__ import annotations

from fractions import Fraction

# Tag names (compared lower-case: Matroska's are upper-case) that are not carried over.
NOT_CARRIED = frozenset({
    "major_brand", "minor_version", "compatible_brands", "encoder", "software", "vendor_id",
    "duration", "bps", "number_of_frames", "number_of_bytes", "_statistics_writing_app",
    "_statistics_writing_date_utc", "_statistics_tags", "rotate", "alpha_mode", "timecode"})
# Muxers that write chapters (read back: Matroska, WebM, MP4, MOV, NUT; AVI and MPEG-TS drop them).
CHAPTER_CONTAINERS = ("matroska", "webm", "mp4", "mov", "nut")
# FFmpeg's AVDISCARD_ALL: what its MOV/MP4 demuxer marks a text chapter track with.
DISCARD_ALL = 48


def carried_tags(metadata: dict) -> dict:
    """The tags of ``metadata`` (a file's or a stream's) that describe the content, not the
    file's bytes: all but :data:`NOT_CARRIED`."""
    return {k: v for k, v in metadata.items() if k.lower() not in NOT_CARRIED}


def stream_tags(stream) -> dict:
    """:func:`carried_tags` of an input ``stream``; a MOV/MP4 track's name (read back as
    ``name``, the ``title`` that its muxer writes) as ``title``, what every muxer takes."""
    tags = carried_tags(stream.metadata)
    if "name" in tags and "title" not in tags and stream.container.format.name.startswith("mov"):
        tags["title"] = tags.pop("name")
    return tags


def carry_stream(source, out) -> None:
    """Give the output stream ``out`` the input stream ``source``'s tags and disposition."""
    out.metadata.update(stream_tags(source))
    out.disposition = source.disposition


def is_chapter_track(stream) -> bool:
    """Whether ``stream`` is a MOV/MP4 text chapter track (FFmpeg reads it as the file's
    chapters and marks the stream itself discarded): kept as chapters, not as a stream."""
    return stream.type == "data" and stream.discard == DISCARD_ALL


def chapters_from(chapters: list[dict], offset: float, end: float | None) -> list[dict]:
    """``chapters`` (PyAV's ``Container.chapters()``: ``start``/``end`` in ``time_base``) on
    the output's clock: ``offset`` seconds earlier, cut to ``[0, end)`` (``end`` None: not cut
    at the end); chapters wholly outside are dropped, in order, ids kept."""
    out = []
    for c in chapters:
        tb = Fraction(c["time_base"])
        shift = round(offset / tb)
        start, stop = c["start"] - shift, c["end"] - shift
        limit = None if end is None else round(end / tb)
        if stop < 0 or (start < 0 and stop == 0) or (limit is not None and start >= limit):
            continue
        stop = stop if limit is None else min(stop, limit)
        out.append({**c, "start": max(start, 0), "end": stop, "metadata": dict(c["metadata"])})
    return out
