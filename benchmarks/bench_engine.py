"""Engine overhead: `framemend clean -f identity` against plain PyAV decode+encode of one file.

Both encode with the same encoder settings (libx264, CRF 16, preset medium, yuv420p). The plain
loop hands decoded YUV frames straight to the encoder; framemend passes each frame through its
threaded engine (decode, filter and encode threads, bounded queues, scene-cut detection) and the
identity filter, which does not read pixels: the decoded YUV pictures go to the encoder as they are. A third
run makes every frame an RGB float tensor and back, what a filter that reads pixels adds. The
runs alternate five times; the median of each is reported, with the slowest and fastest run.
Run: ``python -m benchmarks.bench_engine [--quick]``.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import av
import numpy as np

from framemend.chain.builtin import Identity
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


def _clean_as_rgb(src: str, dst: str) -> None:
    """``clean -f identity`` with every frame converted to an RGB float tensor and back, the
    conversions any filter that reads pixels pays."""
    Identity.reads_pixels = True
    try:
        clean_file(src, dst, "identity", overwrite=True)
    finally:
        Identity.reads_pixels = False


def run(quick: bool = False) -> list[dict]:
    frames = 48 if quick else 240
    clip = scene("pan", width=1280, height=720, frames=min(frames, 96), seed=0)
    pictures = np.resize(clip.frames, (frames, *clip.frames.shape[1:]))  # the pan, repeated
    methods = {
        "PyAV decode+encode": lambda src, dst: plain_decode_encode(src, dst),
        "framemend identity": lambda src, dst: clean_file(src, dst, "identity", overwrite=True),
        "framemend identity, frames as RGB tensors": _clean_as_rgb,
    }
    times = {name: [] for name in methods}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src.mp4")
        write_video(src, pictures, clip.fps)
        for _ in range(5):  # alternate, so every method sees the same machine
            for name, method in methods.items():
                start = time.perf_counter()
                method(src, os.path.join(tmp, "out.mp4"))
                times[name].append(time.perf_counter() - start)
    plain = float(np.median(times["PyAV decode+encode"]))
    rows = []
    for name in methods:
        took = float(np.median(times[name]))
        row = {"pass": "engine", "clip": f"1280x720 x{frames}", "method": name, "fps": frames / took,
               "fps_min": frames / max(times[name]), "fps_max": frames / min(times[name])}
        if name != "PyAV decode+encode":
            row["overhead_pct"] = 100 * (took / plain - 1)
        rows.append(row)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    for row in run(p.parse_args().quick):
        print("  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
