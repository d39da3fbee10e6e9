"""Folder throughput: clips per minute of `framemend clean FOLDER` with 1 and 2 local worker
processes and on a Dask LocalCluster of 2 worker processes.

The clips are CogVideoX-shaped: 49 frames of 720x480 at 8 fps, H.264 (CRF 16), four rendered
scenes (pan, subject, handheld, zoom) with flicker and noise, each copied to make 40 files
(8 with ``--quick``). Each run cleans the whole folder from scratch with the default chain
(``deflicker,denoise``) through :func:`framemend.clean_folder`, timed from the call to its
return: worker start-up and imports are inside the figure, paid once per worker. The
LocalCluster is started before the clock (a cluster is there before a batch is sent), but its
workers import framemend and the filters inside the timed run. ``cpu_s_per_clip`` is the
workers' CPU time per file (all threads of the process), the median over files.
Run: ``python -m benchmarks.bench_batch [--quick]``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

from framemend import clean_folder, generate
from framemend.video import write_video

SCENES = ("pan", "subject", "handheld", "zoom")


def make_clips(folder: str, count: int) -> None:
    """``count`` files in ``folder``: the four scenes, degraded, copied round-robin."""
    sources = []
    for i, kind in enumerate(SCENES):
        clip = generate.degrade(generate.scene(kind, width=720, height=480, frames=49, fps=8, seed=i),
                                "flicker,noise=10", seed=i)
        path = os.path.join(folder, f"scene-{kind}.mp4")
        write_video(path, clip.frames, clip.fps)
        sources.append(path)
    for n in range(count):
        shutil.copyfile(sources[n % len(sources)], os.path.join(folder, f"clip{n:02d}.mp4"))
    for path in sources:
        os.remove(path)


def _timed(label: str, method: str, src: str, out: str, **kwargs) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    summary = clean_folder(src, out, **kwargs)
    took = time.perf_counter() - start
    assert summary.exit_code == 0, str(summary)
    n = len(summary.files)
    row = {"pass": "batch", "clip": label, "method": method, "clips": n, "seconds": took,
           "clips_per_min": 60 * n / took, "fps": sum(f.frames for f in summary.files) / took,
           "cpu_s_per_clip": float(np.median([f.cpu_seconds for f in summary.files])),
           "where": summary.where}
    print(row, file=sys.stderr, flush=True)  # each run takes minutes: show it when it is measured
    return row


def run(quick: bool = False) -> list[dict]:
    from distributed import LocalCluster

    count = 8 if quick else 40
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "clips"), os.path.join(tmp, "out")
        os.makedirs(src)
        make_clips(src, count)
        label = f"{count} x 49f 720x480"
        for jobs in (1, 2):
            rows.append(_timed(label, f"local, {jobs} worker(s)", src, out, jobs=jobs))
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            rows.append(_timed(label, "Dask LocalCluster, 2 workers", src, out, executor="dask",
                               scheduler=cluster.scheduler_address))
    one = rows[0]["clips_per_min"]
    for row in rows[1:]:
        row["speedup"] = row["clips_per_min"] / one
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    for row in run(p.parse_args().quick):
        print("  ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
