"""Engine overhead: `framemend clean -f identity` against plain PyAV decode+encode of one file.

Both encode with the same encoder settings (libx264, CRF 16, preset medium, yuv420p). The plain
loop hands decoded YUV frames straight to the encoder; framemend decodes to RGB, moves frames as
float tensors through the threaded engine and the identity filter, and converts back.
Run: ``python -m benchmarks.bench_engine [--quick]``.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import av
import numpy as np

from framemend.generate import scene
from framemend.pipeline import clean_file
from framemend.video import write_video


def plain_decode_encode(src: str, dst: str) -> int:
    """Decode ``src`` and encode every frame to ``dst`` with PyAV alone; returns frame count."""
    n = 0
    with av.open(src) as inp, av.open(dst, "w") as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        vout = out.add_stream("libx264", rate=vin.average_rate)
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        vout.options = {"crf": "16", "preset": "medium"}
        vout.codec_context.thread_type = "AUTO"
        for frame in inp.decode(vin):
            frame.pict_type = av.video.frame.PictureType.NONE
            out.mux(vout.encode(frame))
            n += 1
        out.mux(vout.encode(None))
    return n


def run(quick: bool = False) -> list[dict]:
    frames = 48 if quick else 240
    clip = scene("pan", width=1280, height=720, frames=min(frames, 96), seed=0)
    pictures = np.concatenate([clip.frames] * (frames // len(clip.frames)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src.mp4")
        write_video(src, pictures, clip.fps)
        start = time.perf_counter()
        n = plain_decode_encode(src, os.path.join(tmp, "plain.mp4"))
        plain = time.perf_counter() - start
        start = time.perf_counter()
        clean_file(src, os.path.join(tmp, "fm.mp4"), "identity")
        ours = time.perf_counter() - start
    rows.append({"pass": "engine", "clip": f"1280x720 x{n}", "method": "PyAV decode+encode", "fps": n / plain})
    rows.append({"pass": "engine", "clip": f"1280x720 x{n}", "method": "framemend identity",
                 "fps": n / ours, "overhead_pct": 100 * (ours / plain - 1)})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    for row in run(p.parse_args().quick):
        print("  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
