"""The floor of issue 15's flicker figure: what an output whose low band is perfectly steady
along a given flow would score (:mod:`framemend.metrics.noref`, along the input's own DIS
medium flow).

The oracle keeps each frame's band above a Gaussian of sigma ``frac * s`` (``s = H / 24``, the
figure's own blur) and replaces the band below by the previous oracle frame's, moved along the
backward flow ``t + 1 -> t`` (bicubic), recursively from the first frame: its tone is as steady
along that flow as a pass can make it while keeping the frame's finer content. Flows: DIS
medium (the metric's own: the lowest any output can reach with that band), the motion preset
deboil followed before stop 22 (:data:`framemend.flow.estimate.MOTION_QUALITY` at a quarter
size) and the same at half size (what ``FINEST_SIDE`` gives frames of 320-639 rows). Scored
unclipped, as float frames. Also printed: the metric's own floor, frame 0 moved along the
medium flow (everything steady: what the metric's flow error alone reads).

    python -m benchmarks.bench_flicker_floor [CLIP ...]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from framemend.flow.estimate import MOTION_QUALITY, MOTION_TUNING, dis_luma_flow
from framemend.kernels.colour import luma_u8_hwc
from framemend.metrics import noref
from framemend.metrics._arrays import as_float
from framemend.video import read_video

GENERATED = Path("/work/shared/data/generated")
FLOWS = {"medium": ("medium", ()),
         "motion 1/4": (MOTION_QUALITY, MOTION_TUNING),
         "motion 1/2": (MOTION_QUALITY, MOTION_TUNING + (("FinestScale", 1),))}
FRACTIONS = (0.25, 0.5, 1.0)


def steady_low_band(frames: np.ndarray, backward: np.ndarray, sigma: float) -> np.ndarray:
    """``(T, H, W, 3)`` float oracle: each frame's band under a Gaussian of ``sigma`` replaced
    by the previous oracle frame's moved along ``backward`` ``(T-1, H, W, 2)`` (``t+1 -> t``);
    ``sigma`` 0: the first frame moved along the flow, whole."""
    h, w = frames.shape[1:3]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def blur(f):
        return cv2.GaussianBlur(f, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) if sigma else f

    low, out = blur(frames[0]), [frames[0]]
    for t in range(len(frames) - 1):
        low = cv2.remap(low, gx + backward[t][..., 0], gy + backward[t][..., 1], cv2.INTER_CUBIC,
                        borderMode=cv2.BORDER_REPLICATE)
        out.append(frames[t + 1] - blur(frames[t + 1]) + low if sigma else low)
    return np.stack(out)


def run(names: list[str]) -> list[dict]:
    rows = []
    for path in sorted(GENERATED.iterdir()):
        if path.suffix.lower() not in (".mp4", ".gif") or (names and path.stem not in names):
            continue
        frames, _ = read_video(str(path))
        x = as_float(frames)
        motion = noref.clip_motion(x)
        base = float(np.nanmean(noref.temporal_per_frame(x, motion)["flicker"]))
        lumas = [luma_u8_hwc(f) for f in x]
        s = x.shape[1] / 24
        row = {"clip": path.stem, "flicker_lv": base}
        for name, (quality, tuning) in FLOWS.items():
            cpu = time.process_time()
            backward = np.stack([dis_luma_flow(lumas[t + 1], lumas[t], quality, tuning)
                                 for t in range(len(x) - 1)])
            row[f"{name} ms"] = 1000 * (time.process_time() - cpu) / (len(x) - 1)
            fractions = FRACTIONS + ((0.0,) if name == "medium" else ())
            for frac in fractions:
                out = steady_low_band(x, backward, frac * s)
                figure = float(np.nanmean(noref.temporal_per_frame(out, motion)["flicker"]))
                row[f"{name} {frac:g}s"] = figure / base
        rows.append(row)
        print(row, flush=True)
    rows.append({"clip": "median", **{k: statistics.median(r[k] for r in rows)
                                      for k in rows[0] if k != "clip"}})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", help="stems of clips in shared/data/generated")
    args = parser.parse_args()
    from benchmarks.run import table

    print(table(run(args.clips), True))
