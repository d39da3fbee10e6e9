"""The benchmark harness: every ``benchmarks/bench_*.py`` in one process, one table, JSON.

    python -m benchmarks.run [--quick] [--json out.json] [--only deflicker,denoise] [--markdown]

Each module ``bench_<part>.py`` exposes ``run(quick: bool = False) -> list[dict]``, one dict per
row with ``pass``, ``clip``, ``method``, quality columns and ``fps`` (input frames per second of
the whole pipeline, uint8 in memory to uint8 out). Quality columns: ``psnr`` (dB) and ``ssim``
against the clean truth, ``warp_error`` (warping error x 1e4, MSE of [0, 1] values), ``jitter``
(px/frame²). ``bench_generated`` scores real generated video without truth
(:mod:`framemend.metrics.noref`): ratios output / input ``warp_x``, ``flicker_x``, ``boil_x``,
``detail`` retention, colour ``shift`` (8-bit levels), ``fidelity``, and ``ms_frame`` /
``cpu_ms`` per input frame; it prints issue 15's bar as PASS/FAIL lines. A module that fails is
reported in its own row and the others still run.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Columns shown first, in this order; any others follow in the order they first appear.
LEADING = ("pass", "clip", "method", "psnr", "ssim", "warp_error", "flicker", "jitter", "fps")


def discover() -> list[str]:
    """Part names of the ``bench_<part>.py`` modules present, sorted."""
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def run_parts(parts: list[str], quick: bool) -> tuple[list[dict], dict[str, float]]:
    """Run ``bench_<part>.run(quick)`` for each part; returns the rows and seconds per part."""
    rows, seconds = [], {}
    for part in parts:
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.bench_{part}")
            rows += [dict(row) for row in module.run(quick=quick)]
        except Exception as e:  # a failing benchmark is a row of the report, not the end of it
            traceback.print_exc(file=sys.stderr)
            rows.append({"pass": part, "method": "ERROR", "error": f"{type(e).__name__}: {e}"})
        seconds[part] = time.perf_counter() - start
        print(f"[{part}: {seconds[part]:.1f} s]", file=sys.stderr)
    return rows, seconds


def machine() -> dict:
    """What the figures were measured on."""
    import torch

    info = {"platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor() or None, "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    try:
        import cv2

        info["opencv"] = cv2.__version__
        import av

        info["av"] = av.__version__
    except ImportError:
        pass
    return info


def columns(rows: list[dict]) -> list[str]:
    seen = [c for c in LEADING if any(c in r for r in rows)]
    for r in rows:
        seen += [c for c in r if c not in seen]
    return seen


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value == 0 or 0.01 <= abs(value) < 1e5:
            return f"{value:.4g}" if abs(value) < 100 else f"{value:.1f}"
        return f"{value:.3e}"
    return str(value)


def table(rows: list[dict], markdown: bool = False) -> str:
    """The rows as an aligned text table (or a Markdown table)."""
    cols = columns(rows)
    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    line = lambda items: "  ".join(s.ljust(w) for s, w in zip(items, widths)).rstrip()
    return "\n".join([line(cols), line("-" * w for w in widths)] + [line(c) for c in cells])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small runs, about a minute per part")
    p.add_argument("--json", metavar="PATH", help="also write rows, machine and timings here")
    p.add_argument("--only", help="comma list of parts (bench_<part>.py), default all")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = p.parse_args(argv)
    parts = discover()
    if args.only:
        wanted = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [w for w in wanted if w not in parts]
        if unknown:
            p.error(f"no benchmark for {', '.join(unknown)}; present: {', '.join(parts)}")
        parts = wanted
    rows, seconds = run_parts(parts, args.quick)
    print(table(rows, args.markdown))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "quick": args.quick, "seconds": seconds,
                       "rows": rows}, f, indent=1, default=float)
    return 1 if any(r.get("method") == "ERROR" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
