"""Score a clip before and after cleaning, with no ground truth, and plot it per frame.

Generated video has no clean original, so framemend scores a clip along its own motion and a
cleaned clip against the input it was made from (:mod:`framemend.metrics.noref`): flicker,
boiling and warping error before and after, what detail was kept, whether the colours moved.
The same from the command line, with a per-frame plot::

    framemend score OUT --input IN --plot scores.png

    python examples/score_and_plot.py --quick            # a generated flickering clip
    python examples/score_and_plot.py IN OUT --plot scores.png

``--quick`` generates a flickering, noisy clip, cleans it and writes the plot to a temporary
folder (``--plot`` to keep it).
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


def score(src: str, dst: str, plot: str, kept: bool = True) -> None:
    before, after = framemend.read(src), framemend.read(dst)
    figures = noref.compare(after, before)[0]
    for name in ("flicker", "boiling", "warping_error"):
        print(f"{name}: {figures[name + '_input']:.4g} -> {figures[name]:.4g}")
    print(f"detail retention {figures['detail_retention']:.3f}, colour shift "
          f"{figures['colour_shift']:.2f} levels, fidelity {figures['fidelity']:.3f}")
    done = subprocess.run([sys.executable, "-m", "framemend", "score", dst, "--input", src,
                           "--plot", plot], stdout=subprocess.DEVNULL)
    if done.returncode:  # framemend said why on stderr (a plot that exists: refused without -y)
        sys.exit(done.returncode)
    print(f"plot: {plot} ({os.path.getsize(plot)} bytes)"
          + ("" if kept else "; removed with its temporary folder at the end "
                             "(--plot PNG keeps it)"))


def quick(plot: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.mkv"), os.path.join(tmp, "out.mkv")
        clip = degrade(scene("pan", width=160, height=96, frames=16), "flicker,noise=10", seed=2)
        framemend.write(src, clip.frames, fps=24, lossless=True)
        framemend.clean(src, chain="deflicker,denoise", output=dst, lossless=True)
        score(src, dst, plot or os.path.join(tmp, "scores.png"), kept=plot is not None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", help="the clip before cleaning")
    parser.add_argument("output", nargs="?", help="the cleaned clip")
    parser.add_argument("--plot", help="where to write the per-frame plot (PNG)")
    parser.add_argument("--quick", action="store_true", help="generate, clean and score a clip")
    args = parser.parse_args()
    if args.quick:
        quick(args.plot)
    elif args.input and args.output and args.plot:
        score(args.input, args.output, args.plot)
    else:
        parser.error("give INPUT OUTPUT --plot PNG, or --quick")
