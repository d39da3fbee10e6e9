"""Stabilize: framemend ``stabilize`` against ffmpeg ``deshake`` on shaken 640x360 clips.

Clips: ``framemend.generate.scene`` at 640x360 whose intended camera path is smooth (handheld
sway, pan, static) with ``degrade(..., "jitter=3")``: i.i.d. shake of 3 px RMS and 0.5 degree
RMS roll per frame. The anchor is ffmpeg's deshake through PyAV, tuned on a grid of search
ranges (``rx=ry``), block sizes and edge modes; the row with the lowest jitter is reported.
framemend runs with its defaults (``mode=smooth``, ``radius=10``, ``max_zoom=1.08``).

Quality: ``jitter`` = RMS acceleration of the camera path estimated from the output frames
(:func:`framemend.metrics.camera.jitter`, px/frame²), ``jitter_pct`` = the same as a percentage
of the input's, ``area`` = smallest fraction of the input frame shown in an output frame
(framemend crops by its zoom; deshake keeps the full frame and fills what it exposes).
``fps`` is input frames per second of the whole pipeline, the same for both: uint8 RGB frames in
memory -> (conversion) -> filter -> (conversion) -> uint8 RGB frames; framemend streams the
frames one by one through the filter as the engine does.

    python -m benchmarks.bench_stabilize [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.anchors import run_ffmpeg_filter
from framemend.chain.frames import Frame
from framemend.chain.options import make_options
from framemend.generate import degrade, scene
from framemend.metrics.camera import jitter
from framemend.stabilize import Stabilize

WIDTH, HEIGHT = 640, 360


def _framemend(frames: np.ndarray, fps: float) -> tuple[np.ndarray, float, float]:
    """Stream uint8 frames through ``stabilize``; returns (frames, seconds, smallest area kept)."""
    start = time.perf_counter()
    flt = Stabilize(make_options("stabilize", Stabilize.Options, {}))
    out, zooms = [], []

    def collect(done: list[Frame]) -> None:
        for f in done:
            zooms.append(f.aux["stabilize_zoom"])
            img = f.image.mul(255.0).add_(0.5).clamp_(0, 255).to(torch.uint8)
            out.append(img.permute(1, 2, 0).numpy())

    for t in range(len(frames)):
        image = torch.from_numpy(frames[t]).permute(2, 0, 1).float().div_(255.0)
        collect(flt.push(Frame(image, t / fps)))
    collect(flt.flush())
    seconds = time.perf_counter() - start
    return np.stack(out), seconds, float(min(1.0 / np.square(zooms)))


def _deshake(frames: np.ndarray, fps: float, params: str) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out, _ = run_ffmpeg_filter(frames, fps, f"deshake={params}")
    return out, time.perf_counter() - start


def _row(clip: str, method: str, out: np.ndarray, before: float, seconds: float | None,
         area: float) -> dict:
    value = jitter(out.astype(np.float32) / 255.0)
    return {"pass": "stabilize", "clip": clip, "method": method, "jitter": round(value, 3),
            "jitter_pct": round(100.0 * value / before, 1), "area": round(area, 3),
            "fps": round(len(out) / seconds, 1) if seconds else None}


def run(quick: bool = False) -> list[dict]:
    """One row per (clip, method): input, framemend, best deshake; see the module docstring."""
    torch.set_num_threads(1)  # per-frame work is small: on 2 shared cores threads only contend
    frames = 48 if quick else 96
    clips = ["handheld"] if quick else ["handheld", "pan", "static"]
    grid = ([f"rx={r}:ry={r}:edge=mirror" for r in (16, 32)] if quick else
            [f"rx={r}:ry={r}:blocksize={b}:edge=mirror" for r in (16, 32, 64) for b in (8, 16)])
    rows = []
    for kind in clips:
        clip = degrade(scene(kind, WIDTH, HEIGHT, frames=frames, seed=0), "jitter=3", seed=0)
        shaken = np.round(clip.frames * 255).astype(np.uint8)
        before = jitter(shaken.astype(np.float32) / 255.0)
        rows.append(_row(kind, "input (shaken)", shaken, before, None, 1.0))
        out, seconds, area = _framemend(shaken, clip.fps)
        rows.append(_row(kind, "framemend stabilize", out, before, seconds, area))
        anchors = []
        for params in grid:
            out, seconds = _deshake(shaken, clip.fps, params)
            anchors.append(_row(kind, f"ffmpeg deshake={params}", out, before, seconds, 1.0))
        rows.append(min(anchors, key=lambda r: r["jitter"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short clip, small grid")
    args = parser.parse_args()
    rows = run(quick=args.quick)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys))


if __name__ == "__main__":
    main()
