"""``framemend generate``: write a glitchy clip (and, when asked, its clean truth).

    framemend generate -o glitchy.mp4 --truth clean.mkv --scene subject --artifacts flicker,noise=20 --seed 0
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .generate import ARTIFACTS, IMAGES, SCENES

    parser.add_argument("-o", "--output", required=True, help="degraded clip to write")
    parser.add_argument("--truth", help="also write the clean clip here (.mkv: lossless FFV1)")
    parser.add_argument("--truth-data", metavar="NPZ",
                        help="also write the ground-truth arrays (flow_fwd, occluded, camera, "
                             "subject_box, cuts, shake, fps) to this .npz")
    parser.add_argument("--scene", default="subject", choices=SCENES, help="default: subject")
    parser.add_argument("--artifacts", default="flicker,noise=20",
                        help="comma list of name[=strength]; names: " + ", ".join(ARTIFACTS)
                             + " (default: flicker,noise=20; '' for none)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same clip (default 0)")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT (default 640x360)")
    parser.add_argument("--frames", type=int, default=48, help="frame count (default 48)")
    parser.add_argument("--fps", type=float, default=24.0, help="frame rate (default 24)")
    parser.add_argument("--image", default="astronaut", choices=IMAGES,
                        help="background picture (default astronaut)")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size '{text}' is not WIDTHxHEIGHT") from None
    return w, h


def _lossless_truth(path: str | None) -> bool:
    """The truth clip is written losslessly where its container holds FFV1."""
    return bool(path) and path.lower().endswith((".mkv", ".nut"))


def main(args) -> int:
    import numpy as np

    from .generate import degrade, scene
    from .generate.degrade import parse_artifacts
    from .video import write_video
    from .video.containers import check_folder, choose_codec

    for path, lossless in ((args.output, False), (args.truth, _lossless_truth(args.truth)),
                           (args.truth_data, None)):
        if path:  # every output's folder and container are checked before any work
            check_folder(path)
            if lossless is not None:
                choose_codec(path, lossless=lossless)
    try:
        width, height = _size(args.size)
        parse_artifacts(args.artifacts)  # a bad list fails before any work
        clip = scene(args.scene, width, height, args.frames, args.fps, args.seed, args.image)
        out = degrade(clip, args.artifacts, args.seed)
    except ValueError as e:
        print(f"framemend: error: {e}", file=sys.stderr)
        return 2
    write_video(args.output, out.frames, out.fps)
    if args.truth:
        write_video(args.truth, clip.frames, clip.fps, lossless=_lossless_truth(args.truth))
    if args.truth_data:
        extra = {k: v for k, v in (("flow_fwd", out.flow_fwd), ("occluded", out.occluded),
                                   ("subject_box", out.subject_box), ("shake", out.shake))
                 if v is not None}
        np.savez_compressed(args.truth_data, camera=out.camera, cuts=np.array(out.cuts, int),
                            fps=out.fps, **extra)
    print(f"{args.output}: {len(out)} frames of {args.scene} at {out.fps:g} fps with "
          f"'{args.artifacts}'" + (f"; truth in {args.truth}" if args.truth else ""),
          file=sys.stderr)
    return 0
