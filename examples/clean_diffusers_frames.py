"""Clean the frames a diffusers pipeline returns, in memory, and get the same kind back.

With diffusers (a text-to-video pipeline returns a list of PIL images per video)::

    frames = pipe(prompt, num_frames=16).frames[0]               # list of PIL images
    frames = framemend.clean(frames, chain="deflicker,denoise", input_fps=8)
    diffusers.utils.export_to_video(frames, "clip.mp4", fps=8)   # still a list of PIL images

This script runs that step on a folder of frames saved from a pipeline (``FRAMES``, PNGs in
name order, written cleaned to ``--output``), or with ``--quick`` on a stand-in it generates: a
pan over a photograph with the brightness flicker and temporal noise generators leave, scored
against the clean frames it was made from.

    python examples/clean_diffusers_frames.py --quick
    python examples/clean_diffusers_frames.py FRAMES_DIR --output CLEAN_DIR
"""
from __future__ import annotations

import argparse
import os

import numpy as np
from PIL import Image

import framemend
from framemend.generate import degrade, scene
from framemend.metrics import noref

CHAIN = "deflicker,denoise"


def stand_in_pipeline_output() -> tuple[list[Image.Image], np.ndarray]:
    """What ``pipe(...).frames[0]`` looks like (a list of PIL images), with the clean truth."""
    clip = degrade(scene("pan", width=160, height=96, frames=16, fps=8), "flicker,noise=12",
                   seed=1)
    images = [Image.fromarray((f * 255 + 0.5).astype(np.uint8)) for f in clip.frames]
    return images, (clip.truth * 255 + 0.5).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def quick() -> None:
    frames, truth = stand_in_pipeline_output()
    cleaned = framemend.clean(frames, chain=CHAIN, input_fps=8)
    assert isinstance(cleaned, list) and isinstance(cleaned[0], Image.Image)
    before, after = np.stack([np.asarray(f) for f in frames]), np.stack([np.asarray(f) for f in cleaned])
    flicker_before, flicker_after = noref.score(before)[0]["flicker"], noref.score(after)[0]["flicker"]
    print(f"frames: {len(cleaned)} PIL images {cleaned[0].size[0]}x{cleaned[0].size[1]} back")
    print(f"PSNR to the clean frames: before {psnr(before, truth):.2f} dB, "
          f"after {psnr(after, truth):.2f} dB")
    print(f"flicker (8-bit levels): before {flicker_before:.3f}, after {flicker_after:.3f}")


def folder(frames_dir: str, output: str, fps: float) -> None:
    names = sorted(n for n in os.listdir(frames_dir) if n.lower().endswith(".png"))
    if not names:
        raise ValueError(f"no PNG frames in '{frames_dir}'")
    frames = [Image.open(os.path.join(frames_dir, n)) for n in names]
    cleaned = framemend.clean(frames, chain=CHAIN, input_fps=fps)
    os.makedirs(output, exist_ok=True)
    for name, image in zip(names, cleaned):
        image.save(os.path.join(output, name))
    print(f"{len(cleaned)} frames cleaned into {output}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames", nargs="?", help="folder of PNG frames from a pipeline")
    parser.add_argument("--output", help="folder for the cleaned frames")
    parser.add_argument("--fps", type=float, default=8.0, help="the frames' rate")
    parser.add_argument("--quick", action="store_true", help="run on a small generated stand-in")
    args = parser.parse_args()
    if args.quick:
        quick()
    elif args.frames and args.output:
        try:
            folder(args.frames, args.output, args.fps)
        except (ValueError, OSError) as e:
            parser.exit(1, f"{parser.prog}: error: {e}\n")
    else:
        parser.error("give FRAMES and --output, or --quick")
