"""``framemend demo``: make a glitchy clip with the built-in generator, clean it, show the scores.

Leaves ``glitchy.mp4``, ``truth.mkv``, ``cleaned.mp4`` and ``side_by_side.mp4`` in a folder and
prints PSNR against the truth and the consistency scores along the truth's motion, before and
after (after a preset that raises the frame rate, on the output frames at the input's times).
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
             frames: int = 48, seed: int = 0, model: str | None = None,
             overwrite: bool = False) -> int:
    """Write the four videos into ``folder`` (made if missing) and print the scores; a video
    of the four that exists there is refused before any work (:class:`VideoError`, as
    ``framemend clean`` without -y) unless ``overwrite``."""
    from . import metrics
    from .generate import degrade, sample, scene
    from .pipeline import clean_file
    from .presets import DEFAULT_PRESET, PRESETS
    from .video import read_video, write_video
    from .video.containers import check_output

    preset = preset or DEFAULT_PRESET
    os.makedirs(folder, exist_ok=True)
    paths = {k: os.path.join(folder, n) for k, n in (
        ("glitchy", "glitchy.mp4"), ("truth", "truth.mkv"), ("cleaned", "cleaned.mp4"),
        ("side", "side_by_side.mp4"))}
    for path in paths.values():
        check_output(path, overwrite)
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
    before = read_video(paths["glitchy"])[0].astype(np.float32) / 255
    after = read_video(paths["cleaned"])[0].astype(np.float32) / 255
    # a preset that raises the frame rate (smooth: interpolate=factor=2) gives `step` frames a
    # frame in, the input's own at every step-th; the side-by-side plays at the output's rate
    step = len(after) // len(before)
    write_video(paths["side"], metrics.side_by_side(before, after, ("glitchy", "cleaned")),
                truth.fps * step)
    rows = demo_scores(before, after[::step], truth.frames)
    print(f"\n{'':40}{'glitchy':>10}{'cleaned':>10}")
    for name, b, a in rows:
        print(f"{name:40}{b:10.4g}{a:10.4g}")
    if step > 1:
        print(f"(the cleaned clip has {len(after)} frames, {step} a frame in: scored on those at "
              "the input's times, which have a truth)")
    print(f"\ncleaned {frames} frames in {seconds:.1f} s (decode, filters, encode)")
    print(f"videos in {folder}/: " + ", ".join(os.path.basename(p) for p in paths.values()))
    return 0


def demo_scores(before: np.ndarray, after: np.ndarray, truth: np.ndarray
                ) -> list[tuple[str, float, float]]:
    """``(name, glitchy, cleaned)`` rows: PSNR against the truth, and the warping error and
    flicker index of both clips along the truth's motion (estimated once, with its occlusions),
    so the two are scored along the motion they should have, not each along its own flow.
    Clips ``(T, H, W, 3)`` float in [0, 1]."""
    from . import metrics

    flow, occluded = metrics.estimate_motion(truth)
    along = {"flow": flow, "occluded": occluded}
    return [("PSNR vs truth (dB, higher is better)",
             metrics.psnr(before, truth), metrics.psnr(after, truth)),
            ("warping error (lower is better)",
             metrics.warping_error(before, **along), metrics.warping_error(after, **along)),
            ("flicker index (lower is better)",
             metrics.flicker_index(before, **along), metrics.flicker_index(after, **along))]
