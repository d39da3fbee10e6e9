"""Whole-process figures as a user meets them: ``framemend clean`` from the shell, H.264 in and
out, timed from process start to exit with its peak memory, against plain decode+encode and
against ffmpeg's counterpart filters run the same way (a process that decodes, filters through
PyAV's filter graph and encodes with the same x264 settings).

Each run is a fresh process (``python -m framemend clean ...``): imports, kernel loading from
numba's cache, decode, colour conversion, the passes and x264 all count. Wall seconds, CPU
seconds (user + system of the process) and peak RSS come from ``os.wait4``. Clips: the
CogVideoX clip (720x480, 49 frames) and the bedroom footage of ``/work/shared/data`` scaled to
1280x720 and 1920x1080 (121 frames); 3840x2160 (24 frames) for the default chain's memory.

``python -m benchmarks.bench_process --bars`` measures only issue 18's two whole-process bars,
each run alternated with its counterpart so that the load of a shared machine falls on both:
the default chain on the CogVideoX clip (wall seconds), and its frames per second at 1280x720
against the identity chain's (plain decode+encode) on the same file, a ratio per round.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

DATA = "/work/shared/data"
COG = os.path.join(DATA, "generated", "CogVideo__1.mp4")
FOOTAGE = os.path.join(DATA, "bedroom", "original.mkv")

# framemend chain -> ffmpeg's counterpart ("null": plain decode+encode)
PASSES = {
    "identity": "null",
    "deflicker": "deflicker=size=25",
    "denoise": "atadenoise",
    "stabilize": "deshake",
    "interpolate=factor=2": "minterpolate=fps={fps2}",
    "default": "tmidequalizer,atadenoise",
}

FFMPEG_PROCESS = r"""
import sys, av
src, dst, description = sys.argv[1:4]
inp = av.open(src); vs = inp.streams.video[0]; vs.thread_type = "AUTO"
graph = av.filter.Graph()
buf = graph.add_buffer(template=vs)
last = buf
for part in description.split(","):
    name, _, args = part.partition("=")
    node = graph.add(name, args or None); last.link_to(node); last = node
sink = graph.add("buffersink"); last.link_to(sink); graph.configure()
out = av.open(dst, "w")
rate = vs.average_rate * (2 if description.startswith("minterpolate") else 1)
s = out.add_stream("libx264", rate=rate)
s.width, s.height, s.pix_fmt = vs.width, vs.height, "yuv420p"
s.options = {"crf": "16", "preset": "medium", "threads": "2", "rc-lookahead": "10"}
s.codec_context.time_base = 1 / rate
made = 0
def drain():
    global made
    while True:
        try:
            f = graph.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        f.pts, f.time_base = made, s.codec_context.time_base  # frame n at n / rate
        f.pict_type = av.video.frame.PictureType.NONE  # x264 picks them, as in framemend
        made += 1
        for p in s.encode(f): out.mux(p)
for f in inp.decode(vs):
    graph.push(f); drain()
graph.push(None); drain()
for p in s.encode(): out.mux(p)
out.close()
"""


def scaled_clip(path: str, width: int, height: int, frames: int) -> None:
    """``FOOTAGE`` resized to ``width`` x ``height``, its first ``frames`` frames, H.264."""
    import av

    with av.open(FOOTAGE) as inp, av.open(path, "w") as out:
        s = out.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"crf": "18", "preset": "veryfast"}
        for i, f in enumerate(inp.decode(video=0)):
            if i == frames:
                break
            g = f.reformat(width=width, height=height, format="yuv420p")
            g.pts, g.time_base = i, Fraction(1, 24)
            out.mux(s.encode(g))
        out.mux(s.encode())


def measure(cmd: list[str]) -> dict:
    """Wall and CPU seconds and peak RSS (GB) of one process running ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if status != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.strip()[-300:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_gb": usage.ru_maxrss / 2**20}


def framemend_cmd(src: str, dst: str, chain: str) -> list[str]:
    chain = ["--preset", "default"] if chain == "default" else ["-f", chain]
    return [sys.executable, "-m", "framemend", "clean", src, "-o", dst, "--overwrite", *chain]


def ffmpeg_cmd(src: str, dst: str, description: str, fps: float) -> list[str]:
    return [sys.executable, "-c", FFMPEG_PROCESS, src, dst,
            description.format(fps2=f"{2 * fps:g}")]


def median_of(cmd: list[str], repeats: int) -> dict:
    runs = [measure(cmd) for _ in range(repeats)]
    return {key: sorted(r[key] for r in runs)[len(runs) // 2] for key in runs[0]}


def run(quick: bool = False) -> list[dict]:
    import av

    repeats = 1 if quick else 3
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clips = [("720x480", COG, list(PASSES))]
        if not quick:
            for name, (w, h, n) in {"1280x720": (1280, 720, 121),
                                    "1920x1080": (1920, 1080, 121)}.items():
                clips.append((name, os.path.join(tmp, f"{name}.mp4"), list(PASSES)))
                scaled_clip(clips[-1][1], w, h, n)
            clips.append(("3840x2160", os.path.join(tmp, "4k.mp4"), ["identity", "default"]))
            scaled_clip(clips[-1][1], 3840, 2160, 24)
        for size, src, chains in clips:
            with av.open(src) as c:
                fps = float(c.streams.video[0].average_rate)
                frames = sum(1 for _ in c.demux(video=0)) - 1  # the flush packet
            dst = os.path.join(tmp, "out.mp4")
            base = None
            for chain in chains:  # vs_identity compares wall time: read it on an idle machine
                ours = median_of(framemend_cmd(src, dst, chain), repeats)
                theirs = median_of(ffmpeg_cmd(src, dst, PASSES[chain], fps), repeats)
                base = base or ours
                rows.append({
                    "pass": chain, "clip": f"{size} x{frames}", "method": "whole process",
                    "fps": round(frames / ours["wall_s"], 1), "wall_s": round(ours["wall_s"], 2),
                    "cpu_s": round(ours["cpu_s"], 2),
                    "vs_identity": round(base["wall_s"] / ours["wall_s"], 2),
                    "peak_gb": round(ours["peak_gb"], 2),
                    "ffmpeg": PASSES[chain].format(fps2=f"{2 * fps:g}"),
                    "ffmpeg_wall_s": round(theirs["wall_s"], 2),
                    "ffmpeg_cpu_s": round(theirs["cpu_s"], 2),
                    "ffmpeg_peak_gb": round(theirs["peak_gb"], 2)})
    return rows


def bars(rounds: int = 3) -> list[dict]:
    """Issue 18's bars, ``rounds`` alternated rounds: per round the default chain on ``COG``,
    then identity and default on the 1280x720 clip; each row one round, with the load average
    (1 min) at its end. Read wall times on an idle machine; CPU seconds are steadier."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clip, dst = os.path.join(tmp, "1280x720.mp4"), os.path.join(tmp, "out.mp4")
        scaled_clip(clip, 1280, 720, 121)
        for _ in range(rounds):
            cog = measure(framemend_cmd(COG, dst, "default"))
            plain = measure(framemend_cmd(clip, dst, "identity"))
            ours = measure(framemend_cmd(clip, dst, "default"))
            rows.append({"cog_default_wall_s": round(cog["wall_s"], 2),
                         "cog_default_cpu_s": round(cog["cpu_s"], 2),
                         "hd_identity_wall_s": round(plain["wall_s"], 2),
                         "hd_default_wall_s": round(ours["wall_s"], 2),
                         "hd_default_cpu_s": round(ours["cpu_s"], 2),
                         "hd_ratio": round(plain["wall_s"] / ours["wall_s"], 3),
                         "load": round(os.getloadavg()[0], 1)})
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_process",
                                description="framemend clean timed as whole processes")
    p.add_argument("--bars", action="store_true", help="only issue 18's two bars, alternated")
    p.add_argument("--rounds", type=int, default=3, help="rounds of --bars (default 3)")
    p.add_argument("--quick", action="store_true", help="the 720x480 clip only, one run each")
    args = p.parse_args(argv)
    rows = bars(args.rounds) if args.bars else run(args.quick)
    for row in rows:
        print(row, flush=True)
    if args.bars:
        for key in rows[0]:
            if key != "load":
                values = sorted(r[key] for r in rows)
                print(f"{key}: median {values[len(values) // 2]}, range {values[0]}-{values[-1]}")


if __name__ == "__main__":
    main()
