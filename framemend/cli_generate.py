"""``framemend generate``: write a glitchy clip (and, when asked, its clean truth).

    framemend generate -o glitchy.mp4 --truth clean.mkv --scene subject --artifacts flicker,noise=20 --seed 0
    framemend generate --model diffusion -o diffusion.mp4 --truth truth.mkv --scene pan --seed 0

With ``--model`` a tiny built-in generative model (:mod:`framemend.generate.models`) makes the
clip at 32x32 pixels, following the procedural scene (a camera motion over ``--image``), enlarged
to ``--size``; no artifacts are added (the model's own are the point).
"""
from __future__ import annotations

import argparse
import os
import sys

from .replaced import written_beside

#: The tiny generative models (:data:`framemend.generate.models.MODELS`, named here without
#: importing torch).
MODELS = ("vae", "autoregressive", "diffusion", "flow")
#: the highest --fps, interpolate=fps='s: Matroska and WebM count time in milliseconds (at 5000
#: fps an .mkv held frames at one time, said only when read)
MAX_FPS = 1000.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .generate import ARTIFACTS, IMAGES, SCENES

    parser.add_argument("-o", "--output", required=True, help="degraded clip to write")
    parser.add_argument("--truth", help="also write the clean clip here (.mkv: lossless FFV1)")
    parser.add_argument("--truth-data", metavar="NPZ",
                        help="also write the ground-truth arrays (flow_fwd, occluded, camera, "
                             "subject_box, cuts, shake, fps) to this .npz")
    parser.add_argument("--model", choices=MODELS,
                        help="make the clip with this tiny generative model instead of rendering "
                             "and degrading a scene; --scene is then a camera motion (static, pan, "
                             "zoom, rotate, handheld; default pan), --artifacts does not apply "
                             "(the model's own are the point) and --size defaults to 256x256, "
                             "--frames to 16")
    parser.add_argument("--scene", choices=SCENES, help="default: subject (pan with --model)")
    parser.add_argument("--artifacts",
                        help="comma list of name[=strength]; names: " + ", ".join(ARTIFACTS)
                             + " (default: flicker,noise=20; '' for none)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same clip (default 0)")
    parser.add_argument("--size", help="WIDTHxHEIGHT (default 640x360; 256x256 with --model)")
    parser.add_argument("--frames", type=int, help="frame count (default 48; 16 with --model)")
    parser.add_argument("--fps", type=float,
                        help="frame rate (default 24, at most 1000; the models make 24 fps, so "
                             "not with --model)")
    parser.add_argument("--image", default="astronaut", choices=IMAGES,
                        help="background picture (default astronaut)")
    parser.add_argument("-y", "--overwrite", action="store_true",
                        help="replace outputs that exist (-o, --truth, --truth-data)")


def _same_name(args: argparse.Namespace) -> str | None:
    """Which two of ``-o``, ``--truth`` and ``--truth-data`` name one file, or None."""
    import os

    named = [(flag, path) for flag, path in (("-o", args.output), ("--truth", args.truth),
                                             ("--truth-data", args.truth_data)) if path]
    for i, (flag, path) in enumerate(named):
        for other, again in named[:i]:
            if os.path.abspath(path) == os.path.abspath(again):
                return f"{flag} {path} is also {other}: give each output its own name"
    return None


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size '{text}' is not WIDTHxHEIGHT") from None
    return w, h


#: Memory a generated frame holds, per pixel: the clip, its truth, their flow and the degrade
#: steps' copies, all float32 and all held to the end. Measured peak resident memory: 15 MB
#: (65 B a pixel) a frame more at 640x360 from 12 to 36 frames of the subject scene, 4.2 MB
#: (64 B) at 256x256 from 8 to 24 of the diffusion model; 80 leaves a margin.
BYTES_PER_PIXEL = 80


def _available_memory() -> int | None:
    """Bytes the system can give without swapping (Linux's MemAvailable), or None elsewhere."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _memory_problem(frames: int, width: int, height: int) -> str | None:
    """Why a clip of ``frames`` frames ``width`` x ``height`` will not fit in memory (generate
    holds all of it to the end: the work would end in a kill or MemoryError), or None."""
    need, free = frames * width * height * BYTES_PER_PIXEL, _available_memory()
    if free is None or need <= free:
        return None
    most = free // (width * height * BYTES_PER_PIXEL)
    return (f"{frames} frames of {width}x{height} need about {need / 2 ** 30:.1f} GiB of "
            f"memory (generate holds the whole clip, its truth and flow), {free / 2 ** 30:.1f} "
            f"GiB is free: ask for {most} frames or fewer, or a smaller --size")


def _through(bar, frames):
    """``frames`` ``(T, H, W, 3)`` one picture at a time, each counted on ``bar`` (tqdm, or
    None: the array itself)."""
    if bar is None:
        return frames

    def counted():
        for picture in frames:
            yield picture
            bar.update(1)
    return counted()


def _lossless_truth(path: str | None) -> bool:
    """The truth clip is written losslessly where its container holds FFV1."""
    return bool(path) and path.lower().endswith((".mkv", ".nut"))


def main(args) -> int:
    from dataclasses import replace

    import numpy as np

    from .generate import degrade, scene
    from .generate.degrade import check_frames_left, parse_artifacts
    from .video import write_video
    from .video.containers import check_output, choose_codec

    problem = _same_name(args) or (args.model and args.artifacts is not None and (
        f"--artifacts does not apply with --model: the {args.model} model's own artifacts are "
        "the point (leave --artifacts out, or drop --model to degrade a rendered scene)"))
    if problem:  # the later file replaced the earlier; the artifacts were dropped (said before
        # an output that exists: renaming one output is the answer, not -y)
        print(f"framemend: error: {problem}", file=sys.stderr)
        return 2
    for path, lossless in ((args.output, False), (args.truth, _lossless_truth(args.truth)),
                           (args.truth_data, None)):
        if path:  # every output's folder, container and absence are checked before any work
            check_output(path, args.overwrite)
            if lossless is not None:
                choose_codec(path, lossless=lossless)
    artifacts = "flicker,noise=20" if args.artifacts is None else args.artifacts
    model = args.model
    kind = args.scene or ("pan" if model else "subject")
    bar = None
    try:
        width, height = _size(args.size or ("256x256" if model else "640x360"))
        frames = args.frames if args.frames is not None else 16 if model else 48
        fps = 24.0 if args.fps is None else args.fps
        if not (0 < fps <= MAX_FPS):
            raise ValueError(f"--fps {args.fps:g}: needs a frame rate above 0 and at most "
                             f"{MAX_FPS:g}")
        if args.seed < 0:  # numpy's own message does not name the option
            raise ValueError(f"--seed {args.seed}: needs 0 or more")
        if model and args.fps is not None and fps != 24.0:
            raise ValueError(f"--fps {args.fps:g}: the {model} model makes 24 fps clips")
        problem = min(frames, width, height) > 0 and _memory_problem(frames, width, height)
        if problem:  # (sizes under 1 are the scene's and the model's to refuse)
            raise ValueError(problem)
        if sys.stderr.isatty():  # the render is half the time, the writing the other half
            from tqdm import tqdm

            bar = tqdm(desc="generate: rendering", unit="frame", file=sys.stderr,
                       dynamic_ncols=True, leave=False)  # gone before the line that ends
        if model:
            from .generate import sample

            out = sample(model, kind, args.image, args.seed, frames, width, height)
            clip = replace(out, frames=out.truth, truth=None)
        else:
            # a bad list, or one that drops all but one frame, fails before any work
            check_frames_left(parse_artifacts(artifacts), frames)
            clip = scene(kind, width, height, frames, fps, args.seed, args.image)
            out = degrade(clip, artifacts, args.seed)
    except ValueError as e:
        if bar is not None:
            bar.close()
        print(f"framemend: error: {e}", file=sys.stderr)
        return 2
    if bar is not None:
        bar.set_description("generate: writing", refresh=False)
        bar.reset(total=len(out) + (len(clip) if args.truth else 0))
    write_video(args.output, _through(bar, out.frames), out.fps)
    if args.truth:
        write_video(args.truth, _through(bar, clip.frames), clip.fps,
                    lossless=_lossless_truth(args.truth))
    if bar is not None:
        bar.close()
    if args.truth_data:
        extra = {k: v for k, v in (("flow_fwd", out.flow_fwd), ("occluded", out.occluded),
                                   ("subject_box", out.subject_box), ("shake", out.shake))
                 if v is not None}
        # the name given (numpy would add .npz to a path), through a temporary file beside it
        # (an interrupted run left half an archive under the final name)
        with written_beside(args.truth_data) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, camera=out.camera, cuts=np.array(out.cuts, int),
                                fps=out.fps, **extra)
    made = f"by the {model} model" if model else f"with '{artifacts}'"
    print(f"{args.output}: {len(out)} frames of {kind} at {out.fps:g} fps {made}"
          + (f"; truth in {args.truth}" if args.truth else ""), file=sys.stderr)
    return 0
