"""Clean a whole folder of clips with one command: ``framemend clean IN_DIR -o OUT_DIR``.

Every video in ``IN_DIR`` is cleaned into ``OUT_DIR`` under the same name (the inputs are never
touched; a clip that fails is reported and the others go on). This script only calls the
command line, then scores each output against its input with :mod:`framemend.metrics.noref`.

    python examples/batch_folder.py --quick
    python examples/batch_folder.py IN_DIR OUT_DIR [--filters deflicker,denoise]

``--quick`` fills a temporary folder with three small flickering clips first.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import framemend
from framemend.generate import degrade, scene
from framemend.metrics import noref


def make_folder(folder: str) -> None:
    """Three 12-frame clips with flicker and noise, each a different camera motion."""
    os.makedirs(folder, exist_ok=True)
    for seed, kind in enumerate(("pan", "zoom", "handheld")):
        clip = degrade(scene(kind, width=128, height=80, frames=12, fps=12, seed=seed),
                       "flicker,noise=10", seed=seed)
        framemend.write(os.path.join(folder, f"{kind}.mkv"), clip.frames, fps=12, lossless=True)


def clean_folder(src: str, dst: str, chain: str) -> int:
    """Clean ``src`` into ``dst`` and score each output; framemend's exit code (1: a file
    failed, framemend said which and why; the others are scored all the same)."""
    command = [sys.executable, "-m", "framemend", "clean", src, "-o", dst, "-f", chain, "-q"]
    print("$", " ".join(["framemend"] + command[3:]))
    code = subprocess.run(command).returncode
    if code not in (0, 1):  # bad usage or interrupted: nothing to score
        return code
    for name in sorted(os.listdir(src)):
        if not os.path.isfile(os.path.join(dst, name)):
            print(f"{name}: no output")
            continue
        before = framemend.read(os.path.join(src, name))
        after = framemend.read(os.path.join(dst, name))
        scores = noref.compare(after, before)[0]
        print(f"{name}: {len(after)} frames, flicker {scores['flicker_input']:.2f} -> "
              f"{scores['flicker']:.2f}, warping error ratio {scores['warp_ratio']:.2f}")
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", help="folder of videos")
    parser.add_argument("output", nargs="?", help="folder for the cleaned videos")
    parser.add_argument("-f", "--filters", default="deflicker,denoise", help="filter chain")
    parser.add_argument("--quick", action="store_true", help="run on three small generated clips")
    args = parser.parse_args()
    if args.quick:
        with tempfile.TemporaryDirectory() as tmp:
            make_folder(os.path.join(tmp, "in"))
            sys.exit(clean_folder(os.path.join(tmp, "in"), os.path.join(tmp, "out"), args.filters))
    elif args.input and args.output:
        sys.exit(clean_folder(args.input, args.output, args.filters))
    else:
        parser.error("give INPUT and OUTPUT folders, or --quick")
