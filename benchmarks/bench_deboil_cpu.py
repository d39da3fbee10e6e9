"""CPU time of ``deboil``'s CPU path per frame, in the process: decoded 8-bit frames in memory,
then per frame :meth:`CpuState.frame` (the luma), :meth:`CpuState.motion` (the DIS flow) and
:meth:`CpuState.step` (the output; the shot's second frame also runs the strength-0 step of
``auto`` strength), as :class:`framemend.deboil.Deboil` runs them on the CPU.

Times are ``time.process_time`` (all of the process's threads, OpenCV's included) per frame,
best of ``--runs`` passes over the clip after one that loads numba's cache; on a shared
machine wall time says little, CPU time less but more. ``--md5`` prints a digest of the shown
frames, to tell a change that keeps the output bit for bit from one that does not.

    python -m benchmarks.bench_deboil_cpu CLIP [CLIP ...] [--frames 49] [--runs 2] [--md5]
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import time

import numpy as np

from framemend.deboil._cpu import CpuState
from framemend.deboil.consistency import auto_strength
from framemend.video.reader import VideoReader


def _pass(frames: list[np.ndarray]) -> tuple[float, float, float, list[np.ndarray]]:
    """CPU seconds of the frame states, the flows and the steps over ``frames``, and the
    shown frames."""
    times, shown, state, strength = [0.0, 0.0, 0.0], [], None, None
    for pixels in frames:
        t0 = time.process_time()
        current = CpuState.frame(pixels, False)
        t1 = time.process_time()
        times[0] += t1 - t0
        if state is None:
            state = current
            shown.append(current.pixels(pixels.dtype))
            continue
        flow = state.motion(current)
        t2 = time.process_time()
        if strength is None:
            strength = auto_strength(state.step(current, flow, 0.0, pixels.dtype)[2])
        state, out, _ = state.step(current, flow, strength, pixels.dtype)
        times[1] += t2 - t1
        times[2] += time.process_time() - t2
        shown.append(out.copy())
    return *times, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+")
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--md5", action="store_true")
    args = parser.parse_args()
    for clip in args.clips:
        frames = [f for f, _ in itertools.islice(VideoReader(clip).arrays(), args.frames)]
        _pass(frames)  # numba's cache loaded
        best = min((_pass(frames) for _ in range(args.runs)), key=lambda r: r[2])
        n = len(frames)
        h, w, _ = frames[0].shape
        line = (f"{clip}: {w}x{h}, {n} frames; CPU ms per frame: frame {best[0] / n * 1e3:.2f}, "
                f"motion {best[1] / n * 1e3:.2f}, step {best[2] / n * 1e3:.2f}")
        if args.md5:
            line += f"; md5 {hashlib.md5(np.stack(best[3]).tobytes()).hexdigest()}"
        print(line)


if __name__ == "__main__":
    main()
