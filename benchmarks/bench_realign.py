"""Realign on randomised renderings: colour drift while the camera leaves its first view.

Each rendering (:func:`framemend.generate.drift.drifting_scene`) is a photograph from
scikit-image seen through a camera that pans, tilts or zooms far enough that the first frame's
content leaves the frame, with another photograph (cut out in an ellipse) crossing it, and a
colour cast (per-channel gain up to +-25 %, offset up to +-5 %, saturation up to +-20 %) growing
linearly over 2-10 s, over the whole frame or the subject only, at 8-24 fps. Each is also run
without the cast (``none``): realign must then leave it alone. Seeds ``TUNING`` chose the
constants of :mod:`framemend.realign`; the report is on the held-back seeds ``HELD_BACK``.

Columns: ``psnr`` of realign's output and ``psnr_in`` of the input against the clean frames
(mean over frames), ``gain`` = the difference; on renderings whose cast covers the subject,
``subject_gain`` the same inside the subject and ``boxed_gain`` that of realign told where the
subject is (``region=face`` with ``box`` the subject's bounding box at frame 0, as a user
would); ``fps`` input frames per second of realign alone
(CPU, one torch thread, wall time on a shared machine). The summary rows give the median and
the worst gain over the drifting renderings and over the clean ones.

    python -m benchmarks.bench_realign [--quick] [--seeds tuning|held-back]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from framemend.generate.artifacts import gaussian_noise
from framemend.generate.drift import MOTIONS, drifting_scene
from framemend.metrics import psnr
from framemend.realign import realign

#: Backgrounds (colour and grey photographs) and subjects the renderings draw from.
BACKGROUNDS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry",
               "hubble_deep_field", "brick", "grass", "gravel")
SUBJECTS = ("astronaut", "coffee", "chelsea", "rocket", "colorwheel")
TUNING = range(0, 10)
#: The clips' own noise (sigma, [0, 1] units), so that a clip left unchanged has a finite PSNR.
NOISE = 3 / 255
HELD_BACK = range(100, 120)


def rendering(seed: int, width: int = 320, height: int = 180, max_frames: int = 72) -> dict:
    """The parameters of rendering ``seed``: photographs, camera move, cast region, length."""
    rng = np.random.default_rng(seed + 7919)
    seconds = float(rng.uniform(2.0, 10.0))
    fps = float(min(rng.choice([8.0, 12.0, 24.0]), max_frames / seconds))
    image = str(rng.choice(BACKGROUNDS))
    subject = str(rng.choice([s for s in SUBJECTS if s != image]))
    return {"image": image, "subject": subject, "motion": str(rng.choice(MOTIONS)),
            "where": ("frame", "subject")[seed % 2], "seconds": seconds, "fps": fps,
            "width": width, "height": height, "seed": seed}


def masked_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean over frames of the PSNR of ``a`` against ``b`` ``(T, H, W, 3)`` inside ``mask``
    ``(T, H, W)`` (frames where the mask is empty are left out)."""
    values = [10 * np.log10(1 / max(float(((x[m] - y[m]) ** 2).mean()), 1e-10))
              for x, y, m in zip(a, b, mask) if m.any()]
    return float(np.mean(values))


def subject_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)``: the bounding box of ``mask`` ``(H, W)`` bool, in pixels."""
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def measure(params: dict) -> dict:
    """Realign one rendering (with its cast as drawn, and without any); PSNR before and after."""
    row = {"pass": "realign"}
    for where in (params["where"], "none"):
        clip, coverage = drifting_scene(**{**params, "where": where})
        frames = gaussian_noise(clip.frames, NOISE, seed=params["seed"])
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
        start = time.perf_counter()
        out = realign(x, fps=clip.fps).permute(0, 2, 3, 1).numpy()
        seconds = time.perf_counter() - start
        before, after = psnr(frames, clip.truth), psnr(out, clip.truth)
        key = "drift" if where != "none" else "clean"
        row.update({f"{key}_psnr_in": round(before, 2), f"{key}_psnr": round(after, 2),
                    f"{key}_gain": round(after - before, 2)})
        if params["where"] == "subject":  # where the cast is (a subject is a small part)
            inside = coverage > 0.5
            before = masked_psnr(frames, clip.truth, inside)
            after = masked_psnr(out, clip.truth, inside)
            # as a user corrects a subject: realign=region=face:box=... around it at frame 0
            boxed = realign(x, fps=clip.fps, region="face", box=subject_box(inside[0]))
            boxed = masked_psnr(boxed.permute(0, 2, 3, 1).numpy(), clip.truth, inside)
            row.update({f"{key}_subject_psnr_in": round(before, 2),
                        f"{key}_subject_gain": round(after - before, 2),
                        f"{key}_boxed_gain": round(boxed - before, 2)})
    row["fps"] = round(len(clip) / seconds, 1)
    return row


def run(quick: bool = False, seeds: range = HELD_BACK) -> list[dict]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        size = dict(width=192, height=108, max_frames=32) if quick else {}
        rows = []
        for seed in (seeds[:6] if quick else seeds):
            p = rendering(seed, **size)
            clip = (f"{seed} {p['image']}+{p['subject']} {p['motion']} {p['where']} "
                    f"{p['seconds']:.1f}s@{p['fps']:.0f}")
            rows.append({"clip": clip, **measure(p)})
    finally:
        torch.set_num_threads(threads)
    rows = [{"pass": "realign", "clip": r.pop("clip"), "method": "framemend realign", **r}
            for r in rows]
    renderings = list(rows)
    summaries = (("frame casts, whole frame", "drift_gain", "frame"),
                 ("subject casts, subject region", "drift_subject_gain", "subject"),
                 ("subject casts, whole frame", "drift_gain", "subject"),
                 ("subject casts, subject region, region=face:box", "drift_boxed_gain", "subject"),
                 ("no cast, subject region, region=face:box", "clean_boxed_gain", "subject"),
                 ("no cast, whole frame", "clean_gain", None))
    for name, column, where in summaries:
        gains = np.array([r[column] for r in renderings if where is None or where in r["clip"].split()])
        if len(gains):
            rows.append({"pass": "realign", "clip": f"{len(gains)} renderings, {name}",
                         "method": "median (worst) gain",
                         column: f"{np.median(gains):+.2f} ({gains.min():+.2f})"})
    return rows


def main() -> None:
    from benchmarks.run import table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", choices=("tuning", "held-back"), default="held-back")
    args = parser.parse_args()
    print(table(run(args.quick, TUNING if args.seeds == "tuning" else HELD_BACK)))


if __name__ == "__main__":
    main()
