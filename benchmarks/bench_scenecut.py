"""Scene-cut detection on a labelled set: hard cuts and jump cuts against fades, dissolves,
flashes, fast pans, shake and moving subjects.

Clips: :func:`framemend.generate.shots.shot_clip`, ``PER_KIND`` of each kind per seed set, 24
frames at 160x90 (the detector looks at 96x54 thumbnails whatever the size). Seeds ``TUNING``
chose the constants of :mod:`framemend.chain.scenecut`; the report is on ``HELD_BACK``. A
detected cut counts as right only on the exact frame. Columns: ``tp``, ``fp``, ``fn`` per kind,
``f1`` over all; ``us_per_frame``: CPU microseconds per frame of the detector alone (thumbnail
included, frames already decoded; one process on a shared machine). Real footage (when
``/work/shared/data`` is there; not with ``--quick``): false cuts on the six generated clips,
bedroom and bike-packing (original and per-frame processed), none of which has a cut, and a
hard cut made by splicing each clip onto the next; ``us_per_frame`` there is for uint8 frames as
decoded (the thumbnail made by OpenCV from the raw pixels, as in the engine).

    python -m benchmarks.bench_scenecut [--quick] [--seeds tuning|held-back]
"""
from __future__ import annotations

import argparse
import glob
import os
import time

import cv2
import numpy as np
import torch

from framemend.chain.frames import Frame
from framemend.chain.scenecut import SceneCutDetector
from framemend.generate.shots import KINDS, shot_clip
from framemend.video import read_video

PER_KIND = 10
TUNING = range(0, PER_KIND)
HELD_BACK = range(1000, 1000 + PER_KIND)
DATA = "/work/shared/data"


def detect(frames) -> tuple[list[int], float]:
    """Cut indices found in ``frames`` ``(T, H, W, 3)`` float and CPU seconds spent."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    start = time.process_time()
    marked = list(SceneCutDetector().mark(Frame(x[t], t / 24) for t in range(len(x))))
    return [t for t, f in enumerate(marked) if f.cut], time.process_time() - start


def _real_clips() -> dict[str, np.ndarray]:
    """The real clips of ``/work/shared/data`` (uint8 ``(T, H, W, 3)``), none when it is absent."""
    clips = {}
    for path in sorted(glob.glob(f"{DATA}/generated/*.gif") + glob.glob(f"{DATA}/generated/*.mp4")
                       + glob.glob(f"{DATA}/bedroom/*.mkv")):
        clips[os.path.basename(path)] = read_video(path)[0]
    for part in ("original", "enhanced-per-frame"):
        files = sorted(glob.glob(f"{DATA}/bike-packing/{part}/*"))
        if files:
            clips[f"bike-packing {part}"] = np.stack([cv2.imread(f)[..., ::-1] for f in files])
    return clips


def _detect_raw(frames: np.ndarray) -> tuple[list[int], float]:
    """As :func:`detect` on uint8 frames still in their decoded form, as the engine sees them."""
    start = time.process_time()
    marked = list(SceneCutDetector().mark(Frame(raw=np.ascontiguousarray(f), time=t / 24)
                                          for t, f in enumerate(frames)))
    return [t for t, f in enumerate(marked) if f.cut], time.process_time() - start


def real_rows() -> list[dict]:
    """False cuts on each real clip (none has a cut), and each clip's last 12 frames spliced
    onto the next clip's first 12 (resized): one real hard cut each."""
    clips = _real_clips()
    if not clips:
        return []
    false, frames, seconds = 0, 0, 0.0
    for clip in clips.values():
        found, spent = _detect_raw(clip)
        false, frames, seconds = false + len(found), frames + len(clip), seconds + spent
    names, exact = list(clips), 0
    for a, b in zip(names, names[1:] + names[:1]):
        h, w = clips[a].shape[1:3]
        second = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in clips[b][:12]])
        exact += _detect_raw(np.concatenate([clips[a][-12:], second]))[0] == [12]
    return [{"pass": "scenecut", "clip": f"real footage, {len(clips)} clips ({frames} frames)",
             "method": "framemend", "fp": false, "us_per_frame": round(1e6 * seconds / frames, 1)},
            {"pass": "scenecut", "clip": f"real footage spliced, {len(names)} cuts",
             "method": "framemend", "tp": exact, "fn": len(names) - exact}]


def run(quick: bool = False, seeds: range = HELD_BACK) -> list[dict]:
    rows, total, seconds, count = [], {"tp": 0, "fp": 0, "fn": 0}, 0.0, 0
    for kind in KINDS:
        counts = {"tp": 0, "fp": 0, "fn": 0}
        for seed in (seeds[:3] if quick else seeds):
            frames, truth = shot_clip(kind, seed)
            found, spent = detect(frames)
            seconds, count = seconds + spent, count + len(frames)
            counts["tp"] += len(set(found) & set(truth))
            counts["fp"] += len(set(found) - set(truth))
            counts["fn"] += len(set(truth) - set(found))
        rows.append({"pass": "scenecut", "clip": kind, "method": "framemend", **counts})
        total = {k: total[k] + counts[k] for k in total}
    f1 = 2 * total["tp"] / max(2 * total["tp"] + total["fp"] + total["fn"], 1)
    rows.append({"pass": "scenecut", "clip": f"all ({count} frames)", "method": "framemend",
                 **total, "f1": round(f1, 3), "us_per_frame": round(1e6 * seconds / count, 1)})
    return rows + ([] if quick else real_rows())


def main() -> None:
    from benchmarks.run import table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", choices=("tuning", "held-back"), default="held-back")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(table(run(args.quick, TUNING if args.seeds == "tuning" else HELD_BACK)))


if __name__ == "__main__":
    main()
