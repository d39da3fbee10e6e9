"""Write a filter of your own as a plug-in: ``examples/plugin/`` is a complete one.

A plug-in is an ordinary distribution that declares its filter class in the ``framemend.filters``
entry-point group (see ``plugin/pyproject.toml``); once installed (``pip install
./examples/plugin``) the filter works in chains, in ``framemend filters`` and as
``framemend.median3(frames)``, with nothing in framemend changed.

This script "installs" the plug-in without pip, the way pip leaves it for importlib.metadata: a
``*.dist-info`` folder with ``entry_points.txt`` (read from the pyproject) in a folder on the
path, beside the plug-in's module. Then, on a generated static shot with one-frame sparkles
(``--quick``: small; without it: 640x360), it runs the filter through the API and the command
line and prints what it measured.

    python examples/plugin_filter.py --quick
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib

import numpy as np

PLUGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugin")


def install(site: str) -> None:
    """Make ``examples/plugin`` importable with its entry points from ``site`` (put on the path)."""
    with open(os.path.join(PLUGIN, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    info = os.path.join(site, f"{project['name'].replace('-', '_')}-{project['version']}.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    with open(os.path.join(info, "entry_points.txt"), "w") as f:
        for group, entries in project["entry-points"].items():
            f.write(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()))
    sys.path[:0] = [site, PLUGIN]


def sparkly_clip(width: int, height: int, frames: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """A static shot (uint8 ``(T, H, W, 3)``) with 1 % of its pixels white for one frame each,
    and the clean shot."""
    from framemend.generate import scene

    clean = (scene("static", width=width, height=height, frames=frames).frames * 255 + 0.5)
    clean = clean.astype(np.uint8)
    hit = np.random.default_rng(0).random(clean.shape[:3]) < 0.01
    return np.where(hit[..., None], np.uint8(255), clean), clean


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


def main(quick: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        install(os.path.join(tmp, "site"))
        import framemend  # after install: the registry reads entry points on first use

        sparkly, clean = sparkly_clip(*((128, 80) if quick else (640, 360)))
        out = framemend.clean(sparkly, chain="median3")  # or framemend.median3(sparkly)
        print(f"API: median3 PSNR {psnr(sparkly, clean):.2f} dB -> {psnr(out, clean):.2f} dB")

        paths = sys.path[:2] + [os.environ.get("PYTHONPATH", "")]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
        cli = [sys.executable, "-m", "framemend"]
        listed = subprocess.run(cli + ["filters"], env=env, capture_output=True, text=True,
                                check=True).stdout.splitlines()
        print("framemend filters:", next(line for line in listed if line.startswith("median3")))
        src, dst = os.path.join(tmp, "in.mkv"), os.path.join(tmp, "out.mkv")
        framemend.write(src, sparkly, fps=12, lossless=True)
        subprocess.run(cli + ["clean", src, "-o", dst, "-f", "median3=radius=1", "--lossless",
                              "-q"], env=env, check=True)
        print(f"CLI: median3 PSNR {psnr(framemend.read(dst), clean):.2f} dB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small clip")
    main(parser.parse_args().quick)
