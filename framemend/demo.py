"""``framemend demo``: make a glitchy clip with the built-in generator, clean it, show the scores.

Leaves ``glitchy.mp4``, ``truth.mkv``, ``cleaned.mp4`` and ``side_by_side.mp4`` in a folder and
prints PSNR against the truth and the no-reference consistency scores, before and after.
With ``model`` (``vae``, ``autoregressive``, ``diffusion``, ``flow``) the glitchy clip is made by
that tiny built-in generative model (a 256x256 pan over the astronaut, 16 frames) instead.
"""
from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np

DEMO_ARTIFACTS = "flicker,local-flicker=0.15,noise=12"


def run_demo(folder: str, preset: str | None = None, width: int = 640, height: int = 360,
             frames: int = 48, seed: int = 0, model: str | None = None) -> int:
    from . import metrics
    from .generate import degrade, sample, scene
    from .pipeline import clean_file
    from .presets import DEFAULT_PRESET, PRESETS
    from .video import read_video, write_video

    preset = preset or DEFAULT_PRESET
    os.makedirs(folder, exist_ok=True)
    paths = {k: os.path.join(folder, n) for k, n in (
        ("glitchy", "glitchy.mp4"), ("truth", "truth.mkv"), ("cleaned", "cleaned.mp4"),
        ("side", "side_by_side.mp4"))}
    if model:
        width, height, frames = 256, 256, 16
        print(f"1/3 generating a {width}x{height} clip of {frames} frames with the {model} model")
        glitchy = sample(model, "pan", "astronaut", seed, frames, width, height)
        truth = replace(glitchy, frames=glitchy.truth, truth=None)
    else:
        print(f"1/3 generating a {width}x{height} clip of {frames} frames with {DEMO_ARTIFACTS}")
        truth = scene("subject", width=width, height=height, frames=frames, seed=seed)
        glitchy = degrade(truth, DEMO_ARTIFACTS, seed=seed)
    write_video(paths["truth"], truth.frames, truth.fps, lossless=True)
    write_video(paths["glitchy"], glitchy.frames, truth.fps)
    print(f"2/3 cleaning with preset '{preset}': {PRESETS[preset]}")
    start = time.perf_counter()
    clean_file(paths["glitchy"], paths["cleaned"], PRESETS[preset], overwrite=True, progress=True)
    seconds = time.perf_counter() - start
    print("3/3 scoring")
    ref = truth.frames
    before = read_video(paths["glitchy"])[0].astype(np.float32) / 255
    after = read_video(paths["cleaned"])[0].astype(np.float32) / 255
    write_video(paths["side"], metrics.side_by_side(before, after, ("glitchy", "cleaned")), truth.fps)
    rows = [("PSNR vs truth (dB, higher is better)", metrics.psnr(before, ref), metrics.psnr(after, ref)),
            ("warping error (lower is better)", metrics.warping_error(before), metrics.warping_error(after)),
            ("flicker index (lower is better)", metrics.flicker_index(before), metrics.flicker_index(after))]
    print(f"\n{'':40}{'glitchy':>10}{'cleaned':>10}")
    for name, b, a in rows:
        print(f"{name:40}{b:10.4g}{a:10.4g}")
    print(f"\ncleaned {frames} frames in {seconds:.1f} s (decode, filters, encode)")
    print(f"videos in {folder}/: " + ", ".join(os.path.basename(p) for p in paths.values()))
    return 0
