"""Scene-cut detection on a labelled set: hard cuts and jump cuts against fades, dissolves,
flashes, fast pans, shake and moving subjects.

Clips: :func:`framemend.generate.shots.shot_clip`, ``PER_KIND`` of each kind per seed set, 24
frames at 160x90 (the detector looks at 96x54 thumbnails whatever the size). Seeds ``TUNING``
chose the constants of :mod:`framemend.chain.scenecut`; the report is on ``HELD_BACK``. A
detected cut counts as right only on the exact frame. Columns: ``tp``, ``fp``, ``fn`` per kind,
``f1`` over all; ``us_per_frame``: CPU microseconds per frame of the detector alone (thumbnail
included, frames already decoded; one process on a shared machine).

    python -m benchmarks.bench_scenecut [--quick] [--seeds tuning|held-back]
"""
from __future__ import annotations

import argparse
import time

import torch

from framemend.chain.frames import Frame
from framemend.chain.scenecut import SceneCutDetector
from framemend.generate.shots import KINDS, shot_clip

PER_KIND = 10
TUNING = range(0, PER_KIND)
HELD_BACK = range(1000, 1000 + PER_KIND)


def detect(frames) -> tuple[list[int], float]:
    """Cut indices found in ``frames`` ``(T, H, W, 3)`` float and CPU seconds spent."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    start = time.process_time()
    marked = list(SceneCutDetector().mark(Frame(x[t], t / 24) for t in range(len(x))))
    return [t for t, f in enumerate(marked) if f.cut], time.process_time() - start


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
    return rows


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
