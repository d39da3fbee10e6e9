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
# animations (animated WebP, APNG) are clips too; no writer takes their extension, so each is
# written as NAME.mkv, unless a file beside it has its name (NAME.mp4...): then it is skipped
ANIMATION_EXTENSIONS = (".webp", ".png")
ANIMATION_OUTPUT = ".mkv"
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
    deep: bool = False                  # more than 8 bits a component (numba compiles the
                                        # kernels for uint16 pixels apart)
    skip: str = ""                      # why it is not cleaned (its output's name is taken)


def _wanted(rel: str, path: str, pattern: str | None) -> bool:
    if pattern is None:
        return rel.lower().endswith(VIDEO_EXTENSIONS) or (
            rel.lower().endswith(ANIMATION_EXTENSIONS) and _animated(path))
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
            if not name.startswith(".") and os.path.isfile(path) and _wanted(rel, path, pattern):
                found.append(rel)
        if not recursive:
            break
    jobs = []
    for rel in sorted(found):
        out_rel, skip = rel, ""
        if rel.lower().endswith(ANIMATION_EXTENSIONS):
            out_rel, skip = _animation_output(in_dir, rel, found)
        jobs.append(Job(rel, os.path.join(in_dir, *rel.split("/")),
                        os.path.join(out_dir, *out_rel.split("/")), out_rel, skip=skip))
    return jobs


def _animation_output(in_dir: str, rel: str, found: list[str]) -> tuple[str, str]:
    """``(out_rel, skip)`` of an animation: ``NAME.mkv``, and why it is skipped when a video or
    another animation of the batch beside it is also named NAME (``a.webp`` beside ``a.mp4``:
    two outputs, or two clips, a user would not tell apart)."""
    stem, name = os.path.splitext(rel)[0], rel.rsplit("/", 1)[-1]
    out_rel = stem + ANIMATION_OUTPUT
    folder = os.path.join(in_dir, *rel.split("/")[:-1])
    found = set(found)
    for other in sorted(os.listdir(folder)):
        other_rel = rel[:len(rel) - len(name)] + other
        if (other != name and os.path.splitext(other)[0].lower() == os.path.basename(stem).lower()
                and (other.lower().endswith(VIDEO_EXTENSIONS) or other_rel in found)):
            return out_rel, (f"not taken: its output would be '{out_rel}', named like "
                             f"'{other}' beside it; clean it alone, e.g. framemend clean "
                             f"'{os.path.join(folder, name)}' -o OUT.mkv")
    return out_rel, ""


def image_sequence_note(in_dir: str, pattern: str | None = None) -> str | None:
    """When ``in_dir`` holds images and no video (of its files, those ``pattern`` matches, when
    given): a line saying framemend reads video files, with the ffmpeg command that makes still
    frames one (lossless, at a rate to be set), or, for animations (APNG, WebP), that a folder
    output or `framemend clean FILE` takes them; else None."""
    names = sorted(n for n in os.listdir(in_dir)
                   if not n.startswith(".") and os.path.isfile(os.path.join(in_dir, n))
                   and (pattern is None or fnmatch.fnmatch(n, pattern)))
    images = [n for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    if not images or any(n.lower().endswith(VIDEO_EXTENSIONS) for n in names):
        return None
    holds = f"folder '{in_dir}' holds" if pattern is None else "it matches"
    animated = [n for n in images if _animated(os.path.join(in_dir, n))]
    if animated:  # clips themselves, which `clean FILE` reads
        return (f"{holds} {len(animated)} animated image(s) (APNG, WebP) and no "
                f"video: clean the folder into a folder (-o OUT_FOLDER: each one as NAME.mkv), or "
                f"one alone, e.g. framemend clean '{os.path.join(in_dir, animated[0])}' -o OUT.mp4")
    ext = os.path.splitext(images[0])[1]
    return (f"{holds} {len(images)} images and no video: framemend cleans "
            f"video files, not image sequences; {_frames_into_one(in_dir, pattern or '*' + ext)}")


def stills_note(in_dir: str, jobs: list[Job], pattern: str | None) -> str | None:
    """When ``pattern`` took only still images (``--glob '*.png'``): a line saying each is
    cleaned as a one-frame clip, with the ffmpeg command that makes them one video; else
    None."""
    if pattern is None or not jobs or not all(
            j.rel.lower().endswith(IMAGE_EXTENSIONS) and not _animated(j.src) for j in jobs):
        return None
    return (f"--glob '{pattern}' takes {len(jobs)} still image(s): each is cleaned as a "
            f"one-frame clip, where no filter sees what changes between frames; to clean them "
            f"as one video, {_frames_into_one(in_dir, pattern)}")


def _frames_into_one(in_dir: str, pattern: str) -> str:
    return (f"make the frames one first, e.g. ffmpeg -framerate 24 -pattern_type glob -i "
            f"'{os.path.join(in_dir, pattern)}' -c:v ffv1 frames.mkv (at their frame rate), "
            f"then framemend clean frames.mkv -o OUT")


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
    """Fill ``job.frames``, ``job.pixels``, ``job.duration`` and ``job.deep`` from the
    container's header (leaves them unknown for a file that does not open: its worker reports
    why)."""
    import av

    from ..video.probe import bit_depth_of

    if job.src.lower().endswith(ANIMATION_EXTENSIONS):  # FFmpeg reads a WebP's first frame only
        from PIL import Image  # noqa: PLC0415 - in the batch's parent, for animations only

        try:
            with Image.open(job.src) as image:
                job.pixels, job.frames = image.width * image.height, getattr(image, "n_frames", 1)
        except (OSError, ValueError):
            pass
        return
    try:
        with av.open(job.src) as c:
            s = c.streams.video[0]
            job.pixels = s.codec_context.width * s.codec_context.height
            job.deep = bit_depth_of(s.codec_context.pix_fmt or "") > 8
            if s.duration is not None and s.time_base:
                job.duration = float(s.duration * s.time_base)
            elif c.duration:
                job.duration = c.duration / 1e6
            rate = s.average_rate or s.guessed_rate
            job.frames = s.frames or (round(job.duration * float(rate))
                                      if job.duration and rate else None)
    except (av.error.FFmpegError, OSError, IndexError, ValueError):
        pass
