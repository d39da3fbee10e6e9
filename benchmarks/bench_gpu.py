"""The GPU path: each pass and the default chain at 1080p and 4K, reference against fused kernels.

One command for a machine with a CUDA GPU; without one it says so and exits (status 0).

Per size, on a flickering, noisy camera pan made on the GPU (``framemend.generate.scene("pan")``
at 640x360, upscaled bicubically, then a per-frame gain of up to ±8 % and white noise of
sigma 10/255 added at the full size):

* ``flow``: torch flow (:func:`framemend.flow.estimate_flow`, ``backend="torch"``) of
  consecutive pairs, in batches of 4, at each quality preset: frame pairs per second;
* ``deflicker``, ``denoise``, ``deflicker,denoise`` (the default chain): frames in GPU memory
  through :func:`framemend.clean` on the GPU, input frames per second;
* each with ``FRAMEMEND_KERNELS=reference`` (the torch references) and ``fused`` (the kernels of
  :mod:`framemend.cuda`, each after its self-check), interleaved, best of ``--repeats`` runs
  after a warm-up run, and the peak GPU memory (``torch.cuda.max_memory_allocated``) of the run;
* ``upload+download``: decoded uint8 frames up to the GPU and the same pixels back as the
  writer takes them, frames per second: through :mod:`framemend.cuda.transfer` (``pinned``:
  pinned buffers, copy streams, the writer reading frame i while frame i+1 is on its way) and
  by pageable copies (``pageable``: ``torch.from_numpy(raw).to(device)``, ``.cpu().numpy()``,
  what ``Frame.float_image`` and the writer did before);
* ``whole process``: the default chain through :func:`framemend.pipeline.clean_file` from an
  H.264 file to an H.264 file (decode, upload, passes, download, encode), with ``h264_nvenc``
  where PyAV's FFmpeg offers it, else ``libx264`` (preset medium, CRF 16), input frames per
  second including decode and encode, but not process start-up.

The fused kernels' self-check warnings, if any, are printed and recorded. Results go to the
terminal and to ``--json`` (default ``bench_gpu.json``).

    python -m benchmarks.bench_gpu [--frames 48] [--sizes 1920x1080,3840x2160] [--json out.json]

``--cpu-check`` runs the same measurements on the CPU through the device path
(:func:`framemend.cuda.device_path_on_cpu`) at 160x96: a check that the script works, not a
benchmark.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
import warnings

import av
import numpy as np
import torch
import torch.nn.functional as F

import framemend
from framemend.cuda import device_path_on_cpu, transfer
from framemend.flow import estimate_flow
from framemend.generate import scene
from framemend.pipeline import clean_file
from framemend.video import write_video

PASSES = ("deflicker", "denoise", "deflicker,denoise")
QUALITIES = ("ultrafast", "fast", "medium")
KERNELS = ("reference", "fused")


def clip(width: int, height: int, frames: int, device: torch.device) -> torch.Tensor:
    """``(T, 3, H, W)`` float32 on ``device``: a pan with flicker and noise (module docstring)."""
    clean = torch.from_numpy(scene("pan", 640, 360, frames=frames, seed=1).frames)
    clean = clean.permute(0, 3, 1, 2).float().to(device)
    clean = F.interpolate(clean, size=(height, width), mode="bicubic", align_corners=False)
    g = torch.Generator(device=device).manual_seed(0)
    gain = 1 + 0.08 * (2 * torch.rand(frames, 1, 1, 1, generator=g, device=device) - 1)
    noise = torch.randn(clean.shape, generator=g, device=device) * (10 / 255)
    return (clean * gain + noise).clamp_(0, 1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(run, device: torch.device, repeats: int) -> tuple[float, float | None]:
    """Best wall time of ``repeats`` runs of ``run()`` after a warm-up, and the peak GPU memory
    (GiB) of the last."""
    run()
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        _sync(device)
        start = time.perf_counter()
        run()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == "cuda" else None
    return best, peak


@contextlib.contextmanager
def kernels(mode: str):
    previous = os.environ.get("FRAMEMEND_KERNELS")
    os.environ["FRAMEMEND_KERNELS"] = mode
    try:
        yield
    finally:
        if previous is None:
            del os.environ["FRAMEMEND_KERNELS"]
        else:
            os.environ["FRAMEMEND_KERNELS"] = previous


def flow_rows(x: torch.Tensor, repeats: int) -> list[dict]:
    rows = []
    for quality in QUALITIES:
        def run(quality=quality):
            for i in range(0, x.shape[0] - 1, 4):
                j = min(i + 4, x.shape[0] - 1)
                estimate_flow(x[i:j], x[i + 1:j + 1], backend="torch", quality=quality)
        for mode in KERNELS:
            with kernels(mode):
                seconds, peak = timed(run, x.device, repeats)
            rows.append({"pass": f"flow {quality}", "kernels": mode,
                         "per_s": (x.shape[0] - 1) / seconds, "unit": "pairs/s", "gib": peak})
    return rows


def pass_rows(x: torch.Tensor, repeats: int) -> list[dict]:
    rows = []
    for chain in PASSES:
        for mode in KERNELS:
            with kernels(mode):
                seconds, peak = timed(
                    lambda: framemend.clean(x, chain=chain, device=str(x.device)), x.device,
                    repeats)
            rows.append({"pass": chain, "kernels": mode, "per_s": x.shape[0] / seconds,
                         "unit": "frames/s", "gib": peak})
    return rows


def transfer_rows(width: int, height: int, frames: int, device: torch.device,
                  repeats: int) -> list[dict]:
    """Frames per second up and down (module docstring); the pinned row only on a GPU."""
    g = np.random.default_rng(0)
    raws = [g.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(4)]
    copies = transfer.for_device(device)

    def pinned():
        pending = None
        for i in range(frames):
            down = copies.download(copies.upload(raws[i % 4]).tensor())
            if pending is not None:
                with pending:
                    pass
            pending = down
        with pending:
            pass

    def pageable():
        for i in range(frames):
            torch.from_numpy(raws[i % 4]).to(device).cpu().numpy()

    rows = []
    for name, run in (("pageable", pageable), ("pinned", pinned))[:2 if copies else 1]:
        seconds, _ = timed(run, device, repeats)
        rows.append({"pass": f"upload+download {name}", "kernels": "-",
                     "per_s": frames / seconds, "unit": "frames/s", "gib": None})
    return rows


def encoder() -> str:
    return "h264_nvenc" if "h264_nvenc" in av.codecs_available else "libx264"


def whole_process_row(x: torch.Tensor, device: torch.device, folder: str) -> dict:
    """The default chain from file to file on ``device`` (fused kernels)."""
    src, dst = os.path.join(folder, "in.mp4"), os.path.join(folder, "out.mp4")
    frames = (x.permute(0, 2, 3, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
    write_video(src, frames, fps=24, codec="libx264", crf=16)
    codec, note = encoder(), None
    def run():
        clean_file(src, dst, "deflicker,denoise", device=str(device), codec=codec,
                   overwrite=True)
    try:
        seconds, peak = timed(run, device, 1)
    except Exception as e:  # noqa: BLE001 - an encoder PyAV lists may still fail to open
        note, codec = f"{codec} failed ({type(e).__name__}: {e}); libx264 instead", "libx264"
        seconds, peak = timed(run, device, 1)
    return {"pass": "deflicker,denoise whole process", "kernels": "fused",
            "per_s": x.shape[0] / seconds, "unit": "frames/s", "gib": peak, "encoder": codec,
            "note": note}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=48, help="frames per clip (default 48)")
    ap.add_argument("--sizes", default="1920x1080,3840x2160", help="WxH list (default 1080p, 4K)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up")
    ap.add_argument("--json", default="bench_gpu.json", help="where to write the results")
    ap.add_argument("--cpu-check", action="store_true",
                    help="run the script on the CPU's device path at 160x96 (checks the script)")
    args = ap.parse_args(argv)
    if args.cpu_check:
        device, sizes, frames, path = torch.device("cpu"), [(160, 96)], 6, device_path_on_cpu()
    elif torch.cuda.is_available():
        device, frames, path = torch.device("cuda"), args.frames, contextlib.nullcontext()
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    else:
        print("bench_gpu: no CUDA device is available to torch; nothing measured")
        return 0
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    report = {"device": name, "torch": torch.__version__, "frames": frames,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "results": []}
    with path, warnings.catch_warnings(record=True) as caught, \
            tempfile.TemporaryDirectory() as folder:
        warnings.simplefilter("always")
        for width, height in sizes:
            x = clip(width, height, frames, device)
            rows = (transfer_rows(width, height, frames, device, args.repeats)
                    + flow_rows(x, args.repeats) + pass_rows(x, args.repeats))
            rows.append(whole_process_row(x, device, folder))
            for row in rows:
                row["size"] = f"{width}x{height}"
                gib = "" if row["gib"] is None else f"  {row['gib']:.2f} GiB"
                print(f"{row['size']:>10}  {row['pass']:<34} {row['kernels']:<9} "
                      f"{row['per_s']:8.1f} {row['unit']}{gib}", flush=True)
            report["results"] += rows
            del x
        report["warnings"] = sorted({str(w.message) for w in caught})
    for message in report["warnings"]:
        print("warning:", message, file=sys.stderr)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
