"""Optical flow: framemend's ``dis`` and ``torch`` backends against OpenCV's Farneback and DIS.

Clips: ``framemend.generate.scene`` at 640x360 (pan, zoom, rotate, handheld camera motion over
the astronaut photo, whose flow is the camera's; subject: the face moving over a photo and
behind a post, flow with occlusions), plus handheld at 1280x720. Every clip is 24 frames long
(so the motion per frame is a video's, not a squeezed path's); its first 5 frames (4 pairs)
are used, 3 at 1280x720 (``--quick``: 3 clips, 3 frames). Ground truth is the generator's
exact flow.

Quality: ``epe`` = mean endpoint error (px) over all pixels; ``epe_visible`` over the pixels
that stay visible in the next frame (not occluded, not leaving the frame). Speed: ``fps`` =
frame pairs per second of the whole step, uint8 RGB frames in memory -> flow ``(T-1, 2, H, W)``
float32 in memory (conversions included, the same for every method), best of 3 runs (1 for
the slow torch backend on CPU); ``ms_pair`` = 1000/fps.

Anchors (there is no ffmpeg filter that outputs optical flow): OpenCV's Farneback, its
``levels``/``winsize`` tuned on a small grid by mean EPE over the 640x360 clips (best reported),
and OpenCV's DIS presets called directly on ``cvtColor`` grey frames, one pair after another
(OpenCV's own threads only).
framemend ``dis`` spreads pairs over the CPU's threads; ``torch`` runs with one torch thread
(on a shared 2-core machine torch's OpenMP threads spin against each other).

    python -m benchmarks.bench_flow [--quick]
"""
from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
import torch

from framemend.flow import estimate_flow, outside_mask
from framemend.generate import scene

CLIPS = ("pan", "zoom", "rotate", "handheld", "subject")
FARNEBACK_GRID = [dict(levels=levels, winsize=winsize) for levels in (3, 5) for winsize in (15, 21)]


def _clip(kind: str, width: int, height: int, pairs: int):
    c = scene(kind, width, height, frames=24, seed=1)
    frames = (np.clip(c.frames[:pairs + 1], 0, 1) * 255 + 0.5).astype(np.uint8)
    truth = torch.from_numpy(c.flow_fwd[:pairs])
    visible = ~outside_mask(truth)[:, 0]
    if c.occluded is not None:
        visible &= ~torch.from_numpy(c.occluded[:pairs])
    return frames, truth, visible


def _framemend(backend: str, quality: str, scale: float):
    def flow(frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255)
        return estimate_flow(x[:-1], x[1:], backend=backend, quality=quality, scale=scale)
    return flow


def _opencv(make):
    def flow(frames: np.ndarray) -> torch.Tensor:
        gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
        flows = [make(gray[t], gray[t + 1]) for t in range(len(gray) - 1)]
        return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2)
    return flow


def _farneback(levels: int, winsize: int):
    return _opencv(lambda a, b: cv2.calcOpticalFlowFarneback(
        a, b, None, pyr_scale=0.5, levels=levels, winsize=winsize, iterations=3, poly_n=7,
        poly_sigma=1.5, flags=0))


def _opencv_dis(preset: int):
    dis = cv2.DISOpticalFlow_create(preset)
    return _opencv(lambda a, b: dis.calc(a, b, None))


def _measure(method, frames, truth, visible, repeats: int = 1) -> dict:
    """EPE of ``method`` on the clip and its best time of ``repeats`` runs (after a warm-up)."""
    method(frames[:2])  # warm-up: first-call allocations, thread pools
    seconds = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        flow = method(frames)
        seconds = min(seconds, time.perf_counter() - start)
    err = (flow - truth).norm(dim=1)
    pairs = frames.shape[0] - 1
    return {"epe": err.mean().item(), "epe_visible": err[visible].mean().item(),
            "fps": pairs / seconds, "ms_pair": 1000 * seconds / pairs}


def _methods(quick: bool, large: bool) -> list[tuple[str, object]]:
    out = []
    for quality in ("ultrafast", "fast", "medium"):
        for scale in (1.0, 0.5):
            out.append((f"framemend dis-{quality} scale={scale:g}",
                        _framemend("dis", quality, scale)))
    for quality in ("ultrafast", "fast", "medium"):
        if quick and quality != "medium":
            continue
        out.append((f"framemend torch-{quality} scale=1", _framemend("torch", quality, 1.0)))
    if not quick and not large:
        out.append(("framemend torch-medium scale=0.5", _framemend("torch", "medium", 0.5)))
    out += [("opencv DIS-ultrafast", _opencv_dis(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)),
            ("opencv DIS-fast", _opencv_dis(cv2.DISOPTICAL_FLOW_PRESET_FAST)),
            ("opencv DIS-medium", _opencv_dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM))]
    return out


def run(quick: bool = False) -> list[dict]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(quick)
    finally:
        torch.set_num_threads(threads)


def _run(quick: bool) -> list[dict]:
    pairs = 2 if quick else 4
    kinds = ("pan", "handheld", "subject") if quick else CLIPS
    clips = {f"{kind} 640x360": _clip(kind, 640, 360, pairs) for kind in kinds}
    rows = []

    # Anchor tuning: Farneback's best grid point by mean EPE over the 640x360 clips.
    best, best_epe = None, np.inf
    for params in FARNEBACK_GRID[:1] if quick else FARNEBACK_GRID:
        epe = np.mean([_measure(_farneback(**params), *c)["epe"] for c in clips.values()])
        if epe < best_epe:
            best, best_epe = params, epe
    farneback = (f"opencv farneback levels={best['levels']} winsize={best['winsize']}",
                 _farneback(**best))

    for name, clip in clips.items():
        for method, fn in _methods(quick, large=False) + [farneback]:
            repeats = 1 if "torch" in method else 3  # torch on CPU is slow; its time is stable
            rows.append({"pass": "flow", "clip": name, "method": method,
                         **_measure(fn, *clip, repeats=repeats)})
    if not quick:
        large = _clip("handheld", 1280, 720, 2)
        for method, fn in _methods(quick, large=True) + [farneback]:
            repeats = 1 if "torch" in method else 3
            rows.append({"pass": "flow", "clip": "handheld 1280x720", "method": method,
                         **_measure(fn, *large, repeats=repeats)})
    return rows


def summary(rows: list[dict]) -> list[dict]:
    """Mean EPE and pairs/s of each method over the 640x360 clips."""
    out = []
    methods = dict.fromkeys(r["method"] for r in rows if "640x360" in r["clip"])
    for method in methods:
        mine = [r for r in rows if r["method"] == method and "640x360" in r["clip"]]
        out.append({"pass": "flow", "clip": "mean 640x360", "method": method,
                    "epe": np.mean([r["epe"] for r in mine]),
                    "epe_visible": np.mean([r["epe_visible"] for r in mine]),
                    "fps": len(mine) / np.sum([1 / r["fps"] for r in mine]),
                    "ms_pair": np.mean([r["ms_pair"] for r in mine])})
    return out


def table(rows: list[dict]) -> str:
    cols = ("clip", "method", "epe", "epe_visible", "ms_pair", "fps")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{r[c]:.3f}" if c.startswith("epe") else f"{r[c]:.1f}"
                 if isinstance(r[c], float) else str(r[c]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 clips, 2 pairs, fewer methods")
    rows = run(quick=parser.parse_args().quick)
    print(table(rows))
    print()
    print(table(summary(rows)))
