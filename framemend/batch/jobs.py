"""Finding the work: which files of a folder tree to clean, where each goes, what each holds.

A job is one input file with its mirrored output path, its fingerprint (size, mtime and a hash of
three 64 KiB samples: start, middle, end) and an estimate of its frame count (from the
container's header, for the progress bar and the per-file timeout). Nothing here decodes video.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass, field

# every one is also written (video/containers.py), so an output keeps its input's name
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".nut", ".ts", ".gif")
SAMPLE_BYTES = 64 * 1024
# still images a folder of frames holds (what diffusers and ComfyUI save frame by frame)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".exr")


@dataclass
class Job:
    """One file of the batch. ``rel`` and ``out_rel`` are relative to the input and output
    folders, with ``/`` separators (the manifest's and the report's keys)."""

    rel: str
    src: str
    dst: str
    out_rel: str
    fingerprint: dict = field(default_factory=dict)
    frames: int | None = None           # as the container declares it (None: unknown)
    pixels: int = 0                     # width * height (0: unknown)
    duration: float | None = None       # seconds, when the container says


def _wanted(rel: str, pattern: str | None) -> bool:
    if pattern is None:
        return rel.lower().endswith(VIDEO_EXTENSIONS)
    return fnmatch.fnmatch(rel if "/" in pattern else rel.rsplit("/", 1)[-1], pattern)


def discover(in_dir: str, out_dir: str, pattern: str | None = None,
             recursive: bool = False) -> list[Job]:
    """The files under ``in_dir`` to clean, sorted by relative path: every video (by extension)
    or every file matching ``pattern`` (a shell glob on the name, or on the relative path when
    it holds a ``/``); one level, or the whole tree with ``recursive``. Hidden files and folders
    and ``out_dir`` (when it lies inside ``in_dir``) are left out."""
    out_abs = os.path.abspath(out_dir)
    found = []
    for root, dirs, files in os.walk(in_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and os.path.abspath(os.path.join(root, d)) != out_abs)
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, in_dir).replace(os.sep, "/")
            if not name.startswith(".") and os.path.isfile(path) and _wanted(rel, pattern):
                found.append(rel)
        if not recursive:
            break
    return [Job(rel, os.path.join(in_dir, *rel.split("/")), os.path.join(out_dir, *rel.split("/")), rel)
            for rel in sorted(found)]


def image_sequence_note(in_dir: str) -> str | None:
    """When ``in_dir`` holds images and no video: a line saying framemend reads video files,
    with the ffmpeg command that makes still frames one (lossless, at a rate to be set), or,
    for animations (APNG, WebP), that `framemend clean` takes each one; else None."""
    names = sorted(n for n in os.listdir(in_dir)
                   if not n.startswith(".") and os.path.isfile(os.path.join(in_dir, n)))
    images = [n for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    if not images or any(n.lower().endswith(VIDEO_EXTENSIONS) for n in names):
        return None
    animated = [n for n in images if _animated(os.path.join(in_dir, n))]
    if animated:  # clips themselves, which `clean FILE` reads
        return (f"folder '{in_dir}' holds {len(animated)} animated image(s) (APNG, WebP) and no "
                f"video: a folder batch takes video files only; clean each one, e.g. framemend "
                f"clean '{os.path.join(in_dir, animated[0])}' -o OUT.mp4")
    ext = os.path.splitext(images[0])[1]
    return (f"folder '{in_dir}' holds {len(images)} images and no video: framemend cleans "
            f"video files, not image sequences; make the frames one first, e.g. "
            f"ffmpeg -framerate 24 -pattern_type glob -i '{os.path.join(in_dir, '*' + ext)}' "
            f"-c:v ffv1 frames.mkv (at their frame rate), then framemend clean frames.mkv -o OUT")


def _animated(path: str) -> bool:
    """Whether an image file is an animation: an animated WebP, or an APNG (a PNG whose
    ``acTL`` chunk, which comes before the image data, is in its first 4 KiB)."""
    from ..video.webp import is_animated_webp  # noqa: PLC0415 - on an error's path only

    if path.lower().endswith(".png"):
        with open(path, "rb") as f:
            return b"acTL" in f.read(4096)
    return is_animated_webp(path)


def fingerprint(path: str) -> dict:
    """``{"size", "mtime_ns", "sample"}``: the sample is a SHA-256 of the first, middle and last
    64 KiB, so a file rewritten in place with the same size and time is still told apart in
    all but contrived cases, without reading whole videos."""
    st = os.stat(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for offset in sorted({0, max(0, st.st_size // 2 - SAMPLE_BYTES // 2),
                              max(0, st.st_size - SAMPLE_BYTES)}):
            f.seek(offset)
            h.update(f.read(SAMPLE_BYTES))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sample": h.hexdigest()}


def probe(job: Job) -> None:
    """Fill ``job.frames``, ``job.pixels`` and ``job.duration`` from the container's header
    (leaves them unknown for a file that does not open: its worker reports why)."""
    import av

    try:
        with av.open(job.src) as c:
            s = c.streams.video[0]
            job.pixels = s.codec_context.width * s.codec_context.height
            if s.duration is not None and s.time_base:
                job.duration = float(s.duration * s.time_base)
            elif c.duration:
                job.duration = c.duration / 1e6
            rate = s.average_rate or s.guessed_rate
            job.frames = s.frames or (round(job.duration * float(rate))
                                      if job.duration and rate else None)
    except (av.error.FFmpegError, OSError, IndexError, ValueError):
        pass
