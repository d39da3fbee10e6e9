"""Settings of the motion flow deboil follows (and publishes for deflicker and denoise), measured
three ways: end-point error against the truth on procedural scenes with boiling texture, the
flicker floor of issue 15 along each flow, and DIS's CPU time per pair.

* **EPE**: :func:`framemend.generate.scene` (720x480, 12 frames: pan, zoom, subject, handheld,
  rotate, seeds 1 and 2) boiled by :func:`framemend.generate.artifacts.boiling` (10 levels);
  the clip is run backwards so that each pair's flow "to the previous frame" is the scene's
  true forward flow; mean over the pixels that stay visible.
* **floor**: :func:`benchmarks.bench_flicker_floor.steady_low_band` at ``s/2`` along each flow
  on the generated clips, noref flicker over the input's (the lowest a perfect tone
  propagation along that flow reaches).
* **ms**: ``time.process_time`` of the flows of a clip per pair, one OpenCV thread.

Settings (all DIS ultrafast with :data:`framemend.flow.estimate.MOTION_TUNING`, at half size but
``quarter`` and ``medium``): ``half`` (deboil's since stop 22), ``quarter`` (before), ``medium``
(DIS's preset, the metric's own flow), ``vr2`` / ``vr5`` (2 / 5 variational refinement
iterations), ``warm`` (the previous pair's flow as DIS's initial flow), ``warm+pick`` (DIS's
ultrafast preset from scratch at a quarter size, then per pixel whichever of it and the previous
pair's flow moves the previous frame onto the frame better at that size, absolute difference in
a box of 7, as the initial flow of a solve of the two finest octaves with 4 iterations: two DIS
calls a pair). Tried for issue 15 (BENCHMARKS.md, "Warm-started motion flow").

    python -m benchmarks.bench_motion_flow [--clips STEM ...] [--settings NAME ...]
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.bench_flicker_floor import steady_low_band
from framemend.flow.estimate import MOTION_TUNING
from framemend.generate import artifacts, scene
from framemend.kernels.colour import luma_u8_hwc
from framemend.metrics import noref
from framemend.metrics._arrays import as_float
from framemend.video import read_video

GENERATED = Path("/work/shared/data/generated")
KINDS, SEEDS = ("pan", "zoom", "subject", "handheld", "rotate"), (1, 2)
_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


def _dis(preset: str, tuning: tuple):
    dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
    for name, value in tuning:
        getattr(dis, "set" + name)(value)
    return dis


def _plain(preset: str, tuning: tuple = ()):
    def flows(lumas):
        dis = _dis(preset, tuning)
        return [dis.calc(lumas[t], lumas[t - 1], None) for t in range(1, len(lumas))]
    return flows


def _pick(luma, previous, guesses, octave):
    """Per pixel the guess that moves ``previous`` onto ``luma`` best at ``octave``."""
    h, w = luma.shape
    small = (w >> octave, h >> octave)
    y0, y1 = (cv2.resize(y, small, interpolation=cv2.INTER_AREA).astype(np.float32)
              for y in (luma, previous))
    errors = []
    for guess in guesses:
        step = cv2.resize(guess, small, interpolation=cv2.INTER_AREA) / np.float32(1 << octave)
        moved = cv2.remap(y1, step, None, cv2.INTER_LINEAR | cv2.WARP_RELATIVE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
        errors.append(cv2.blur(cv2.absdiff(moved, y0), (7, 7)))
    best = cv2.resize(np.argmin(np.stack(errors), 0).astype(np.uint8), (w, h),
                      interpolation=cv2.INTER_NEAREST)
    return np.where(best[..., None] == 1, guesses[1], guesses[0])


def _warm(pick: bool):
    half = MOTION_TUNING + (("FinestScale", 1),)

    def flows(lumas):
        cold, warm = _dis("ultrafast", half), _dis("ultrafast", half)
        coarse = _dis("ultrafast", ())  # the preset: quarter size, 12 iterations, stride 4
        if pick:
            warm = _dis("ultrafast", half + (("CoarsestScale", 2),
                                             ("GradientDescentIterations", 4)))
        out = [cold.calc(lumas[1], lumas[0], None)]
        for t in range(2, len(lumas)):
            start = out[-1].copy()  # DIS writes its result into the initial flow
            if pick:
                start = _pick(lumas[t], lumas[t - 1],
                              (start, coarse.calc(lumas[t], lumas[t - 1], None)), 2)
            out.append(warm.calc(lumas[t], lumas[t - 1], np.ascontiguousarray(start)))
        return out
    return flows


_HALF = MOTION_TUNING + (("FinestScale", 1),)
SETTINGS = {"half": _plain("ultrafast", _HALF), "quarter": _plain("ultrafast", MOTION_TUNING),
            "medium": _plain("medium"),
            "vr2": _plain("ultrafast", _HALF + (("VariationalRefinementIterations", 2),)),
            "vr5": _plain("ultrafast", _HALF + (("VariationalRefinementIterations", 5),)),
            "warm": _warm(False), "warm+pick": _warm(True)}


def endpoint_errors(names: list[str]) -> dict[str, list[float]]:
    """Mean EPE per scene and setting."""
    out = {name: [] for name in names}
    for kind, seed in itertools.product(KINDS, SEEDS):
        clip = scene(kind, 720, 480, frames=12, seed=seed)
        boiled = artifacts.boiling(clip.frames, 10 / 255, seed=seed)
        lumas = [luma_u8_hwc(np.ascontiguousarray(f)) for f in boiled][::-1]
        n = len(lumas)
        for name in names:
            errors = []
            for i, flow in enumerate(SETTINGS[name](lumas), start=1):
                t = n - 1 - i  # lumas[i] is frame t, lumas[i - 1] frame t + 1
                truth = clip.flow_fwd[t].transpose(1, 2, 0)
                errors.append(np.linalg.norm(flow - truth, axis=2)[~clip.occluded[t]].mean())
            out[name].append(float(np.mean(errors)))
    return out


def floors(names: list[str], stems: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Per clip and setting: the floor at ``s/2`` over the input's flicker, CPU ms a pair."""
    out = {name: [] for name in names}
    for path in sorted(GENERATED.iterdir()):
        if path.suffix.lower() not in (".mp4", ".gif") or (stems and path.stem not in stems):
            continue
        x = as_float(read_video(str(path))[0])
        motion = noref.clip_motion(x)
        base = float(np.nanmean(noref.temporal_per_frame(x, motion)["flicker"]))
        lumas = [luma_u8_hwc(f) for f in x]
        for name in names:
            cpu = time.process_time()
            backward = np.stack(SETTINGS[name](lumas))
            ms = 1e3 * (time.process_time() - cpu) / len(backward)
            low = steady_low_band(x, backward, x.shape[1] / 48)
            figure = float(np.nanmean(noref.temporal_per_frame(low, motion)["flicker"]))
            out[name].append((figure / base, ms))
        print(path.stem, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", default=[])
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    epe = endpoint_errors(args.settings)
    floor = floors(args.settings, args.clips)
    print("| setting | EPE per scene (pan, zoom, subject, handheld, rotate; seeds 1, 2) | mean EPE "
          "| floor s/2 per clip | median floor | CPU ms a pair per clip |")
    print("|---|---|---|---|---|---|")
    for name in args.settings:
        print(f"| {name} | {' '.join(f'{e:.2f}' for e in epe[name])} | {np.mean(epe[name]):.3f} "
              f"| {' '.join(f'{f:.3f}' for f, _ in floor[name])} "
              f"| {statistics.median(f for f, _ in floor[name]):.3f} "
              f"| {' '.join(f'{m:.1f}' for _, m in floor[name])} |")


if __name__ == "__main__":
    main()
