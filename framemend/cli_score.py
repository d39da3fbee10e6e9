"""``framemend score``: temporal-consistency scores of a video, with or without truth.

    framemend score clip.mp4                        # no truth: how steady along its own motion
    framemend score out.mp4 --input clip.mp4        # what a filter did: output over input
    framemend score out.mp4 --input clip.mp4 --flow-from original.mkv   # along another video's motion
    framemend score out.mp4 --ref clean.mkv --json --plot scores.png --side-by-side compare.mp4

Without truth (:mod:`framemend.metrics.noref`): warping error, flicker and boiling along the
motion of the scored video, or of ``--input`` (computed once and used for both clips), or of
``--flow-from``; with ``--input``, also their ratios output / input, detail retention, colour
shift and fidelity. ``--ref`` adds PSNR and SSIM against a ground truth.
"""
from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", metavar="input", help="video to score")
    parser.add_argument("--input", dest="source", metavar="VIDEO",
                        help="the video this one was made from: adds ratios output / input, "
                             "detail retention, colour shift and fidelity (same frame count and size)")
    parser.add_argument("--flow-from", metavar="VIDEO",
                        help="score along this video's motion (e.g. the original of a per-frame "
                             "processed clip; default: --input's, else the scored video's)")
    parser.add_argument("--ref", help="ground truth of the same length: adds PSNR and SSIM")
    parser.add_argument("--box", help="subject box x0,y0,x1,y1 (or x0+y0+x1+y1, as the filters' "
                                      "box) for identity drift, in pixels as a player shows the "
                                      "video (default: not measured)")
    parser.add_argument("--json", action="store_true", help="print JSON (with per-frame values)")
    parser.add_argument("--plot", metavar="PNG", help="save a per-frame plot (needs matplotlib)")
    parser.add_argument("--side-by-side", metavar="VIDEO",
                        help="write the reference and the input side by side (needs --ref)")
    parser.add_argument("-y", "--overwrite", action="store_true",
                        help="replace outputs that exist (--plot, --side-by-side)")


UNITS = {"warping_error": "MSE along the flow, RGB in [0, 1]; lower is steadier",
         "flicker": "8-bit luma levels RMS, low band along the flow; lower is steadier",
         "boiling": "MSE of the fine band along the flow; lower is steadier",
         "detail_energy": "mid-band luma energy (DoG 1.5-4 px)",
         "warp_ratio": "output / input", "flicker_ratio": "output / input",
         "boiling_ratio": "output / input",
         "detail_retention": "mid-band energy output / input; below 0.9 looks waxy",
         "colour_shift": "8-bit levels, largest |mean shift| of R, G, B",
         "colour_shift_r": "8-bit levels", "colour_shift_g": "8-bit levels",
         "colour_shift_b": "8-bit levels",
         "fidelity": "SSIM of the low-passed output to the low-passed input",
         "motion_smoothness": "MSE, lower is smoother", "jitter": "px/frame², RMS",
         "identity_drift": "1 - SSIM to frame 0", "psnr": "dB", "ssim": ""}


def stages(frames, ref=None, box=None) -> list[str]:
    """What :func:`score` works out, in order, for these arguments (the progress bar's steps)."""
    return ((["motion", "temporal scores", "motion smoothness", "jitter"] if len(frames) > 1
             else []) + ["identity drift"] * (box is not None) + ["PSNR, SSIM"] * (ref is not None))


def score(frames, ref=None, box=None, source=None, flow_from=None, step=None
          ) -> tuple[dict[str, float], dict[str, "np.ndarray"]]:
    """Clip figures and per-frame values of every metric that applies.

    ``frames``: the clip scored; ``source``: the clip it was made from (adds the comparison);
    ``flow_from``: the clip whose motion the temporal figures follow (default ``source``, else
    ``frames``); ``ref``: ground truth (PSNR, SSIM); ``box``: subject box (identity drift);
    ``step``: called with each of :func:`stages` as it begins.
    A clip of one frame gets PSNR and SSIM only.
    Returns ``({name: float}, {name: (N,) array})``.
    """
    import numpy as np

    from . import metrics as m
    from .metrics import noref

    steps = iter(stages(frames, ref, box))

    def begin():
        if step is not None:
            step(next(steps))

    extra = {}
    if len(frames) < 2:  # nothing over time in one frame: only its comparison with ``ref``
        clip, per_frame = {}, {}
    else:
        motion_clip = (flow_from if flow_from is not None else source if source is not None
                       else frames)
        begin()
        motion = noref.clip_motion(motion_clip)
        begin()
        if source is not None:
            clip, per_frame = noref.compare(frames, source, motion)
        else:
            clip, per_frame = noref.score(frames, motion)
        begin()
        extra["motion_smoothness"] = m.motion_smoothness_per_frame(frames)
        begin()
        extra["jitter"] = m.jitter_per_frame(frames)
    if box is not None:
        begin()
        extra["identity_drift"] = m.identity_drift_per_frame(frames, box)
    if ref is not None:
        begin()
        extra["psnr"] = m.psnr_per_frame(frames, ref)
        extra["ssim"] = m.ssim_per_frame(frames, ref)
    for k, v in extra.items():  # NaN where no frame has a value (jitter on two frames)
        v = v[~np.isnan(v)]
        clip[k] = float("nan") if v.size == 0 else \
            float(np.sqrt(np.mean(v ** 2)) if k == "jitter" else np.mean(v))
    per_frame.update(extra)
    return clip, per_frame


def _plot_series(per_frame: dict, compared: bool) -> dict[str, dict[str, "np.ndarray"]]:
    """``{panel: {line: values}}``: output and input side by side in one panel when compared."""
    series = {}
    for k, v in per_frame.items():
        if k.endswith("_input"):
            continue
        lines = {"output" if compared else "video": v}
        if compared and k + "_input" in per_frame:
            lines["input"] = per_frame[k + "_input"]
        series[k] = lines
    return series


def _read_like(path: str, frames, what: str):
    """Read ``path`` and check it has the frame count and size of ``frames``."""
    from .video import read_video

    other, _ = read_video(path, as_shown=True)
    if other.shape[:3] != frames.shape[:3]:
        raise ValueError(f"{what} {path} has {other.shape[0]} frames of {other.shape[2]}x"
                         f"{other.shape[1]}, the scored video {frames.shape[0]} of "
                         f"{frames.shape[2]}x{frames.shape[1]}")
    return other


def _box(text: str, width: int, height: int) -> list[float]:
    """``x0,y0,x1,y1`` (or ``x0+y0+x1+y1``, as the filters' ``box``) -> four floats; ValueError
    unless they are four numbers of a box that holds pixels of ``width`` x ``height`` frames
    (one wholly outside was scored as the frame's corner pixels, a drift of 0)."""
    import math

    from .options import box_outside

    try:
        box = [float(v) for v in text.replace("+", ",").split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or not all(map(math.isfinite, box)):
        raise ValueError(f"--box '{text}' needs four numbers x0,y0,x1,y1")
    if box[2] <= box[0] or box[3] <= box[1]:
        raise ValueError(f"--box '{text}' needs x1 > x0 and y1 > y0")
    if box_outside(box, width, height):
        raise ValueError(f"--box '{text}' lies outside the {width}x{height} frames")
    return box


def main(args) -> int:
    import numpy as np

    from .video import read_video
    from .video.containers import check_output, choose_codec

    for path in (args.plot, args.side_by_side):  # written after the work: checked before it
        if path:
            check_output(path, args.overwrite)
    if args.side_by_side:
        choose_codec(args.side_by_side)
    if args.plot:
        from .metrics.visual import plot_problem

        problem = plot_problem(args.plot)
        if problem:
            print(f"framemend: error: {problem}", file=sys.stderr)
            return 2
    frames, fps = read_video(args.video, as_shown=True)  # as --box is given; shown upright
    ref = box = source = flow_from = None
    try:
        if args.box:
            box = _box(args.box, frames.shape[2], frames.shape[1])
        if len(frames) < 2 and (not args.ref or args.source or args.flow_from or args.box):
            raise ValueError(f"{args.video} has {len(frames)} frame: scoring needs two or more "
                             f"(one frame gives PSNR and SSIM against --ref only)")
        if args.ref:
            ref = _read_like(args.ref, frames, "--ref")
        if args.source:
            source = _read_like(args.source, frames, "--input")
        if args.flow_from:
            flow_from = _read_like(args.flow_from, frames, "--flow-from")
        if args.side_by_side and ref is None:
            raise ValueError("--side-by-side needs --ref")
    except ValueError as e:
        print(f"framemend: error: {e}", file=sys.stderr)
        return 2
    bar = None
    if sys.stderr.isatty():  # 240 frames of 320x180 took 29 s without a word; HD minutes
        from tqdm import tqdm

        bar = tqdm(total=len(stages(frames, ref, box)), unit="step", file=sys.stderr,
                   dynamic_ncols=True, leave=False,  # gone before the figures are printed
                   bar_format="{desc}{n_fmt}/{total_fmt} steps done [{elapsed}]")

    def step(name: str) -> None:  # "score: jitter: 3/6 steps done", drawn at once (a step
        if bar.desc:  # can be a second; update() redraws 0.1 s after the last drawing only)
            bar.n += 1
        bar.set_description(f"score: {name}")

    try:
        clip, per_frame = score(frames, ref, box, source, flow_from,
                                step if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps({"input": args.video, "compared_to": args.source, "ref": args.ref,
                          "flow_from": args.flow_from or args.source or args.video,
                          "frames": int(len(frames)), "fps": fps,
                          "scores": {k: None if np.isnan(v) else v for k, v in clip.items()},
                          "per_frame": {k: [None if np.isnan(x) else float(x) for x in v]
                                        for k, v in per_frame.items()}}, indent=1))
    else:
        against = f", against {args.source}" if args.source else ""
        plural = "s" if len(frames) != 1 else ""
        print(f"{args.video}: {len(frames)} frame{plural} at {fps:g} fps{against}")
        for k, v in clip.items():
            if k.endswith("_input"):
                continue
            was = f"  (input {clip[k + '_input']:.5g})" if k + "_input" in clip else ""
            if np.isnan(v):
                print(f"  {k:<18} {'-':>10}   needs more frames")
            else:
                print(f"  {k:<18} {v:10.5g}   {UNITS[k]}{was}")
    if args.plot:
        from .metrics import plot_per_frame

        plot_per_frame(_plot_series(per_frame, source is not None), args.plot, args.video,
                       overwrite=True)  # checked before the work
    if args.side_by_side:
        from .metrics import side_by_side
        from .video import write_video

        write_video(args.side_by_side, side_by_side(ref, frames, ("reference", "input")), fps)
    return 0
