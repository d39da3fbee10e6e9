"""``framemend score``: temporal-consistency scores of a video, with or without its truth.

    framemend score out.mp4 --ref clean.mkv --json --plot scores.png --side-by-side compare.mp4
"""
from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="video to score")
    parser.add_argument("--ref", help="ground truth of the same length: adds PSNR and SSIM")
    parser.add_argument("--box", help="subject box x0,y0,x1,y1 for identity drift "
                                      "(default: not measured)")
    parser.add_argument("--json", action="store_true", help="print JSON (with per-frame values)")
    parser.add_argument("--plot", metavar="PNG", help="save a per-frame plot (needs matplotlib)")
    parser.add_argument("--side-by-side", metavar="VIDEO",
                        help="write the reference and the input side by side (needs --ref)")


def score(frames, ref=None, box=None) -> dict[str, "np.ndarray"]:
    """Per-frame values of every metric that applies: ``{name: (N,) array}``."""
    from . import metrics as m

    flow, occluded = m.estimate_motion(frames)
    out = {"warping_error": m.warping_error_per_frame(frames, flow=flow, occluded=occluded),
           "flicker_index": m.flicker_index_per_frame(frames, flow=flow, occluded=occluded),
           "motion_smoothness": m.motion_smoothness_per_frame(frames),
           "jitter": m.jitter_per_frame(frames)}
    if box is not None:
        out["identity_drift"] = m.identity_drift_per_frame(frames, box)
    if ref is not None:
        out["psnr"] = m.psnr_per_frame(frames, ref)
        out["ssim"] = m.ssim_per_frame(frames, ref)
    return out


def summary(per_frame: dict) -> dict[str, float]:
    """One number per metric: the mean (RMS for jitter), NaN pairs across cuts left out."""
    import numpy as np

    return {k: float(np.sqrt(np.nanmean(v ** 2)) if k == "jitter" else np.nanmean(v))
            for k, v in per_frame.items()}


UNITS = {"warping_error": "MSE, lower is steadier", "flicker_index": "luma RMS, lower is steadier",
         "motion_smoothness": "MSE, lower is smoother", "jitter": "px/frame², RMS",
         "identity_drift": "1 - SSIM to frame 0", "psnr": "dB", "ssim": ""}


def main(args) -> int:
    import numpy as np

    from .video import read_video

    frames, fps = read_video(args.input)
    ref = box = None
    try:
        if args.box:
            box = [float(v) for v in args.box.split(",")]
            if len(box) != 4:
                raise ValueError(f"--box '{args.box}' needs four numbers x0,y0,x1,y1")
        if args.ref:
            ref, _ = read_video(args.ref)
            if ref.shape != frames.shape:
                raise ValueError(f"--ref has {ref.shape[0]} frames of {ref.shape[2]}x{ref.shape[1]}, "
                                 f"the input {frames.shape[0]} of {frames.shape[2]}x{frames.shape[1]}")
        if args.side_by_side and ref is None:
            raise ValueError("--side-by-side needs --ref")
    except ValueError as e:
        print(f"framemend: error: {e}", file=sys.stderr)
        return 2
    per_frame = score(frames, ref, box)
    means = summary(per_frame)
    if args.json:
        print(json.dumps({"input": args.input, "ref": args.ref, "frames": int(len(frames)),
                          "fps": fps, "scores": means,
                          "per_frame": {k: [None if np.isnan(x) else float(x) for x in v]
                                        for k, v in per_frame.items()}}, indent=1))
    else:
        print(f"{args.input}: {len(frames)} frames at {fps:g} fps")
        for k, v in means.items():
            print(f"  {k:<18} {v:10.5g}   {UNITS[k]}")
    if args.plot:
        from .metrics import plot_per_frame

        plot_per_frame({k: {"input": v} for k, v in per_frame.items()}, args.plot, args.input)
    if args.side_by_side:
        from .metrics import side_by_side
        from .video import write_video

        write_video(args.side_by_side, side_by_side(ref, frames, ("reference", "input")), fps)
    return 0
