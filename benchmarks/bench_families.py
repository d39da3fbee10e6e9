"""Randomised evaluation (issue 16): deflicker, denoise, stabilize and interpolate over many
renderings that vary the content and the degradation's parameters, against ffmpeg's filters.

Each pass renders 24 renderings (``--quick``: 5, smaller). Content: the photographs of
:data:`framemend.generate.families.CONTENT_PHOTOS` in turn, each under a camera path of
:mod:`framemend.generate.camera` (drawn) with a moving subject (drawn: none, the astronaut's
face, a spinning ball, a wheel of thin spokes), and every sixth rendering the real footage of
``/work/shared/data`` (bike-packing's camera frames, bedroom's original, centre-cropped and
resized; the interpolate pass uses them at native size in renderings 3, 7, 11, 15, 19 and 23). The degradation's parameters
are drawn by :mod:`framemend.generate.families`; everything is seeded by the rendering's index.
Renderings 0-5 are the **tuning set** (the only ones looked at to tune anything: the anchors'
settings where they are chosen once, and framemend's constants); 6-23 are the **held-back set**
on which the bars are judged: median and worst, and which rendering is the worst.

Passes and bars (median over the held-back renderings, worst in brackets):

- ``deflicker_global`` (480x270, 32 frames, family ``global_flicker``): framemend
  ``deflicker=mode=global`` (``auto`` reported beside it) against ffmpeg ``tmidequalizer``
  best-tuned per rendering over radius 3, 5, 10, 15 x sigma 0.25, 0.5, 1 (best PSNR against the
  truth). Bar: PSNR >= tmidequalizer + 2 dB (worst + 1 dB).
- ``deflicker_local`` (same, family ``local_flicker``): framemend ``mode=local`` (``auto``
  beside it). Bar: PSNR >= input + 8 dB (worst + 6 dB), warping error (along the true flow,
  occlusions masked; along the clean clip's DIS flow on real footage) <= 25 % of the input's.
- ``denoise`` (320x180, 16 frames, the four noise families in turn): framemend ``denoise``
  (``sigma=auto``) against ffmpeg ``bm3d`` (yuv420p) best-tuned per rendering over sigma = 1.5,
  2, 2.5, 3 x the measured noise sigma. Bar, per noise family: PSNR >= bm3d + 1 dB (worst
  + 0.5 dB).
- ``stabilize`` (640x360, 48 frames, smooth camera paths, family ``shake``): framemend
  ``stabilize`` (defaults) against ffmpeg ``deshake=rx=R:ry=R:edge=mirror`` with the R of 16, 32
  giving the least jitter per rendering. Jitter: :func:`framemend.metrics.camera.jitter` as a
  percentage of the input's; area: the frame area framemend keeps (``1 / zoom²``; deshake keeps
  the frame and fills the borders); Liu et al.'s cropping ratio, distortion and stability score
  (:mod:`framemend.metrics.camera`) for both. Bar: jitter <= 10 % of the input's keeping >= 85 %
  of the area; stability score above deshake's on every rendering.
- ``interpolate``: procedural clips at 480x270 with every 2nd, 3rd or 4th frame kept (restored
  with ``factor=2/3/4``) or 120 fps clips with every 5th kept (24 fps) converted to 60 fps; and
  real footage at native size (bike-packing 910x480, bedroom 800x450) at 2x, 3x, 4x. PSNR and
  SSIM of the new frames (not on an input frame, up to the last input frame: minterpolate stops
  there) against the truth. The anchor is ffmpeg ``minterpolate`` (``mi_mode=mci:me_mode=bidir``)
  with the ``mc_mode`` x ``vsbmc`` of the grid that scores best on the tuning set. Bars:
  PSNR >= minterpolate + 2 dB on the procedural clips, + 1.5 dB on real footage; SSIM higher.

Each bar is printed as PASS or FAIL (a report: nothing raises). Timings are not the point here
(see the per-pass benchmarks); torch runs one thread.

    python -m benchmarks.bench_families [--quick] [--pass NAME ...] [--set tune|held|all]
"""
from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from benchmarks.anchors import run_ffmpeg_filter
from benchmarks.bench_stabilize import _framemend as _stabilize_stream
from benchmarks.streaming import stream_frames
from framemend.chain.options import make_options
from framemend.deflicker import Deflicker
from framemend.denoise import Denoise
from framemend.generate import families
from framemend.interpolate import Interpolate
from framemend.metrics import psnr, ssim, warping_error
from framemend.metrics.camera import (cropping_ratio, distortion, frame_motions, jitter,
                                      output_transforms, stability_score)

PASSES = ("deflicker_global", "deflicker_local", "denoise", "stabilize", "interpolate")
TUNING = 6          # renderings 0..5 are the tuning set
RENDERINGS = 24
REAL_EVERY = 6      # rendering i uses real footage when i % 6 == 5 (and the footage exists)
MCI = "minterpolate=fps={fps}:mi_mode=mci:me_mode=bidir:mc_mode={mc}:me=epzs:vsbmc={vsbmc}"
MCI_GRID = [{"mc": mc, "vsbmc": v} for mc, v in itertools.product(("obmc", "aobmc"), (0, 1))]


def _u8(frames: np.ndarray) -> np.ndarray:
    return np.round(np.clip(frames, 0, 1) * 255).astype(np.uint8)


def _f(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float32) / 255.0


def _rng(pass_name: str, index: int) -> np.random.Generator:
    return np.random.default_rng([PASSES.index(pass_name), index])


def _use_real(index: int) -> bool:
    return index % REAL_EVERY == REAL_EVERY - 1 and families.REAL.exists()


def _content(pass_name: str, index: int, width: int, height: int, frames: int,
             cameras=families.CAMERAS):
    """``(clean (T, H, W, 3), flow or None, occluded or None, label)`` of rendering ``index``:
    real footage (a segment that moves with the index) or a photograph in motion."""
    rng = _rng(pass_name, index)
    if _use_real(index):
        name = ("bike-packing", "bedroom")[(index // REAL_EVERY) % 2]
        clip, _ = families.real_footage(name, width, height)
        start = int(rng.integers(0, len(clip) - frames + 1))
        return clip[start:start + frames], None, None, f"{name}[{start}:]"
    photo = families.CONTENT_PHOTOS[index % len(families.CONTENT_PHOTOS)]
    clip, label = families.moving_content(rng, width, height, frames, photo=photo,
                                          camera=str(rng.choice(cameras)))
    return clip.frames, clip.flow_fwd, clip.occluded, label


def _describe(params: dict) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in params.items() if k != "shake")


def _record(pass_name, index, label, params, **figures) -> dict:
    return {"pass": pass_name, "clip": f"#{index} {label}", "params": _describe(params),
            **figures}


# --- deflicker ---------------------------------------------------------------------------------

def _deflicker(frames: np.ndarray, mode: str) -> np.ndarray:
    return stream_frames(Deflicker(make_options("deflicker", Deflicker.Options, {"mode": mode})),
                         frames, 24.0)[0]


def _deflicker_case(pass_name: str, index: int, quick: bool) -> dict:
    family, mode = {"deflicker_global": ("global_flicker", "global"),
                    "deflicker_local": ("local_flicker", "local")}[pass_name]
    clean, flow, occluded, label = _content(pass_name, index, *((320, 180, 16) if quick
                                                                else (480, 270, 32)))
    degraded, params = families.FAMILIES[family](clean, _rng(pass_name, 1000 + index))
    flickered = _u8(degraded)

    def warp(out):
        if flow is None:
            return warping_error(_f(out), flow_from=clean)
        return warping_error(_f(out), flow=flow, occluded=occluded)

    ours, auto = _deflicker(flickered, mode), _deflicker(flickered, "auto")
    grid = [f"tmidequalizer=radius={r}:sigma={s}" for r, s in
            itertools.product((3, 5, 10, 15), (0.25, 0.5, 1.0)) if 2 * r + 1 <= len(clean)]
    anchor = max((psnr(_f(run_ffmpeg_filter(flickered, 24.0, g)[0]), clean), g) for g in grid)
    return _record(pass_name, index, label, params,
                   input=psnr(_f(flickered), clean), ours=psnr(_f(ours), clean),
                   auto=psnr(_f(auto), clean), anchor=anchor[0], anchor_setting=anchor[1],
                   ssim_ours=ssim(_f(ours), clean), warp_input=warp(flickered),
                   warp_ours=warp(ours))


# --- denoise -----------------------------------------------------------------------------------

def _denoise_case(index: int, quick: bool) -> dict:
    family = families.NOISE_FAMILIES[index % len(families.NOISE_FAMILIES)]
    clean, _, _, label = _content("denoise", index, 320, 180, 12 if quick else 16)
    degraded, params = families.FAMILIES[family](clean, _rng("denoise", 1000 + index))
    noisy = _u8(degraded)
    sigma = float((_f(noisy) - clean).std() * 255)
    ours = stream_frames(Denoise(make_options("denoise", Denoise.Options, {})), noisy, 24.0)[0]
    anchor = max((psnr(_f(run_ffmpeg_filter(noisy, 24.0, f"bm3d=sigma={k * sigma:.1f}")[0]),
                       clean), k) for k in (1.5, 2.0, 2.5, 3.0))
    return _record("denoise", index, f"{family} {label}", params, family=family,
                   measured_sigma=sigma, input=psnr(_f(noisy), clean),
                   ours=psnr(_f(ours), clean), anchor=anchor[0],
                   anchor_setting=f"bm3d=sigma={anchor[1] * sigma:.1f}",
                   ssim_ours=ssim(_f(ours), clean))


# --- stabilize ---------------------------------------------------------------------------------

def _liu(inputs: np.ndarray, out: np.ndarray) -> dict:
    """Liu et al.'s three measures of a stabilized ``out`` of ``inputs`` (both uint8)."""
    maps = output_transforms(_f(inputs), _f(out))
    h, w = out.shape[1:3]
    return {"cropping": cropping_ratio(maps), "distortion": distortion(maps),
            "stability": stability_score(frame_motions(_f(out)), (w, h))["score"]}


def _stabilize_case(index: int, quick: bool) -> dict:
    clean, _, _, label = _content("stabilize", index, *((480, 270, 32) if quick
                                                        else (640, 360, 48)),
                                  cameras=("static", "pan", "zoom", "rotate", "handheld"))
    degraded, params = families.shake(clean, _rng("stabilize", 1000 + index))
    shaken = _u8(degraded)
    before = jitter(_f(shaken))
    ours, _, area = _stabilize_stream(shaken, 24.0)
    tried = []
    for r in (16, 32):
        out = run_ffmpeg_filter(shaken, 24.0, f"deshake=rx={r}:ry={r}:edge=mirror")[0]
        tried.append((jitter(_f(out)), r, out))
    theirs_jitter, r, theirs = min(tried, key=lambda x: x[0])
    ours_liu, theirs_liu = _liu(shaken, ours), _liu(shaken, theirs)
    return _record("stabilize", index, label, params,
                   jitter_input=before, jitter_pct=100 * jitter(_f(ours)) / before, area=area,
                   deshake_jitter_pct=100 * theirs_jitter / before, deshake_setting=f"rx={r}",
                   input_stability=stability_score(frame_motions(_f(shaken)),
                                                   shaken.shape[2:0:-1])["score"],
                   **{f"ours_{k}": v for k, v in ours_liu.items()},
                   **{f"deshake_{k}": v for k, v in theirs_liu.items()})


# --- interpolate -------------------------------------------------------------------------------

REAL_INTERPOLATION = {3: ("bike-packing", 2), 7: ("bedroom", 3), 11: ("bike-packing", 4),
                      15: ("bedroom", 2), 19: ("bike-packing", 3), 23: ("bedroom", 4)}


def _interpolation_case(index: int, quick: bool):
    """``(truth, keep, fps_in, fps_out, step, label, real)``: the input is ``truth[::keep]`` at
    ``fps_in``; the output at ``fps_out`` shows ``truth[::step]``."""
    rng = _rng("interpolate", index)
    if index in REAL_INTERPOLATION and families.REAL.exists():
        name, k = REAL_INTERPOLATION[index]
        truth, fps = families.real_footage(name, frames=49 if quick else 81)
        return truth, k, fps / k, fps, 1, f"{name} {k}x", True
    procedural = index - sum(i < index for i in REAL_INTERPOLATION)
    mode = (2, 3, 4, "60")[procedural % 4]
    subject = ("wheel", "face", "ball", "wheel", "none")[index % 5]
    photo = families.CONTENT_PHOTOS[index % len(families.CONTENT_PHOTOS)]
    w, h = (320, 180) if quick else (480, 270)
    if mode == "60":
        clip, label = families.moving_content(rng, w, h, 41 if quick else 61, fps=120.0,
                                              photo=photo, subject=subject)
        return clip.frames, 5, 24.0, 60.0, 2, f"{label} 24->60", False
    clip, label = families.moving_content(rng, w, h, (8 if quick else 12) * mode + 1,
                                          photo=photo, subject=subject)
    return clip.frames, mode, 24.0 / mode, 24.0, 1, f"{label} {mode}x", False


def _new_frames(truth_count: int, kept: int, keep: int, step: int) -> np.ndarray:
    """Output indices of the new frames up to the last input frame."""
    n = np.arange(((kept - 1) * keep) // step + 1)
    n = n[(n * step) % keep != 0]
    return n[n * step < truth_count]


def _interpolate_case(index: int, quick: bool, mci: dict) -> dict:
    truth, keep, fps_in, fps_out, step, label, real = _interpolation_case(index, quick)
    kept = _u8(truth[::keep])
    options = {"fps": fps_out} if keep * fps_in != fps_out else {"factor": keep}
    flt = Interpolate(make_options("interpolate", Interpolate.Options, options))
    ours = stream_frames(flt, kept, fps_in)[0]
    theirs = run_ffmpeg_filter(kept, fps_in, MCI.format(fps=f"{fps_out:g}", **mci))[0]
    new = _new_frames(len(truth), len(kept), keep, step)
    new = new[new < min(len(ours), len(theirs))]
    ref = truth[new * step]
    return _record("interpolate", index, label, {"real": real}, real=real,
                   ours=psnr(_f(ours[new]), ref), anchor=psnr(_f(theirs[new]), ref),
                   ssim_ours=ssim(_f(ours[new]), ref), ssim_anchor=ssim(_f(theirs[new]), ref),
                   anchor_setting=MCI.format(fps=f"{fps_out:g}", **mci))


def _tune_minterpolate(indices, quick: bool) -> dict:
    """The ``MCI_GRID`` setting with the best mean PSNR over the tuning renderings."""
    scores = {i: [] for i in range(len(MCI_GRID))}
    for index in indices:
        truth, keep, fps_in, fps_out, step, _, _ = _interpolation_case(index, quick)
        kept = _u8(truth[::keep])
        new = _new_frames(len(truth), len(kept), keep, step)
        for i, mci in enumerate(MCI_GRID):
            out = run_ffmpeg_filter(kept, fps_in, MCI.format(fps=f"{fps_out:g}", **mci))[0]
            n = new[new < len(out)]
            scores[i].append(psnr(_f(out[n]), truth[n * step]))
    return MCI_GRID[max(scores, key=lambda i: np.mean(scores[i]))]


# --- bars --------------------------------------------------------------------------------------

def _bar(name: str, records: list[dict], value, median_min=None, worst_min=None,
         median_max=None, worst_max=None, unit: str = "dB") -> dict:
    """Median and worst of ``value(record)`` over held-back ``records`` against the bar."""
    held = [r for r in records if r["set"] == "held"]
    if not held:
        return {"pass": "bar", "clip": name, "method": "no held-back rendering"}
    values = np.array([value(r) for r in held])
    low = median_min is not None or worst_min is not None
    worst_i = int(np.argmin(values) if low else np.argmax(values))
    median, worst = float(np.median(values)), float(values[worst_i])
    ok = ((median_min is None or median >= median_min) and (worst_min is None or worst >= worst_min)
          and (median_max is None or median <= median_max)
          and (worst_max is None or worst <= worst_max))
    target = " ".join(s for s in (
        f"median>={median_min}" if median_min is not None else "",
        f"worst>={worst_min}" if worst_min is not None else "",
        f"median<={median_max}" if median_max is not None else "",
        f"worst<={worst_max}" if worst_max is not None else "") if s)
    return {"pass": "bar", "clip": name, "method": "PASS" if ok else "FAIL", "target": target,
            "unit": unit, "median": round(median, 3), "worst": round(worst, 3),
            "worst_rendering": f"{held[worst_i]['clip']} ({held[worst_i]['params']})",
            "held": len(held)}


def _count_bar(name: str, records: list[dict], holds) -> dict:
    held = [r for r in records if r["set"] == "held"]
    failed = [r["clip"] for r in held if not holds(r)]
    return {"pass": "bar", "clip": name, "method": "FAIL" if failed else "PASS",
            "target": "every held-back rendering", "median": f"{len(held) - len(failed)}/{len(held)}",
            "worst_rendering": ", ".join(failed) or None, "held": len(held)}


def bars(records: list[dict]) -> list[dict]:
    """The bars of issue 16 judged on the held-back records present."""
    by = {p: [r for r in records if r["pass"] == p] for p in PASSES}
    out = []
    if by["deflicker_global"]:
        out.append(_bar("deflicker global: mode=global - best tmidequalizer", by["deflicker_global"],
                        lambda r: r["ours"] - r["anchor"], 2.0, 1.0))
        out.append(_bar("deflicker global: mode=auto - best tmidequalizer", by["deflicker_global"],
                        lambda r: r["auto"] - r["anchor"], 2.0, 1.0))
    if by["deflicker_local"]:
        recs = by["deflicker_local"]
        out.append(_bar("deflicker local: mode=local - input", recs,
                        lambda r: r["ours"] - r["input"], 8.0, 6.0))
        out.append(_bar("deflicker local: mode=auto - input", recs,
                        lambda r: r["auto"] - r["input"], 8.0, 6.0))
        out.append(_bar("deflicker local: warping error / input's (mode=local)", recs,
                        lambda r: r["warp_ours"] / r["warp_input"], median_max=0.25,
                        unit="ratio"))
    for family in families.NOISE_FAMILIES:
        recs = [r for r in by["denoise"] if r["family"] == family]
        if recs:
            out.append(_bar(f"denoise {family}: framemend - best bm3d", recs,
                            lambda r: r["ours"] - r["anchor"], 1.0, 0.5))
    if by["stabilize"]:
        recs = by["stabilize"]
        out.append(_bar("stabilize: jitter % of input's", recs, lambda r: r["jitter_pct"],
                        median_max=10.0, unit="%"))
        out.append(_bar("stabilize: area kept", recs, lambda r: r["area"], worst_min=0.85,
                        unit="fraction"))
        out.append(_count_bar("stabilize: stability score above deshake's", recs,
                              lambda r: r["ours_stability"] > r["deshake_stability"]))
    if by["interpolate"]:
        for real, target in ((False, 2.0), (True, 1.5)):
            recs = [r for r in by["interpolate"] if r["real"] == real]
            if recs:
                kind = "real footage" if real else "procedural"
                out.append(_bar(f"interpolate {kind}: framemend - minterpolate", recs,
                                lambda r: r["ours"] - r["anchor"], target))
                out.append(_count_bar(f"interpolate {kind}: SSIM higher", recs,
                                      lambda r: r["ssim_ours"] > r["ssim_anchor"]))
    return out


def evaluate(passes=PASSES, quick: bool = False, which: str = "all") -> list[dict]:
    """One record per rendering of each pass in ``passes`` (``which``: tune, held or all)."""
    count, tuning = (5, 1) if quick else (RENDERINGS, TUNING)
    indices = {"tune": range(tuning), "held": range(tuning, count),
               "all": range(count)}[which]
    records = []
    for pass_name in passes:
        start = time.process_time()
        if pass_name == "interpolate":
            mci = _tune_minterpolate(range(tuning), quick)
        for index in indices:
            if pass_name.startswith("deflicker"):
                records.append(_deflicker_case(pass_name, index, quick))
            elif pass_name == "denoise":
                records.append(_denoise_case(index, quick))
            elif pass_name == "stabilize":
                records.append(_stabilize_case(index, quick))
            else:
                records.append(_interpolate_case(index, quick, mci))
            records[-1]["set"] = "tune" if index < tuning else "held"
            print(_short(records[-1]), flush=True)
        print(f"[{pass_name}: {time.process_time() - start:.0f} CPU s]", flush=True)
    return records


def _short(record: dict) -> str:
    return "  ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in record.items())


def run(quick: bool = False) -> list[dict]:
    """Records of every pass and the bars (printed as a PASS/FAIL report too)."""
    torch.set_num_threads(1)
    records = evaluate(quick=quick)
    verdicts = bars(records)
    print(report(verdicts))
    return [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
            for r in records] + verdicts


def report(verdicts: list[dict]) -> str:
    lines = []
    for v in verdicts:
        lines.append(f"{v['method']:4}  {v['clip']}: median {v.get('median')} worst "
                     f"{v.get('worst', '')} {v.get('unit', '')} [{v.get('target', '')}] over "
                     f"{v.get('held')} held back; worst: {v.get('worst_rendering')}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 small renderings per pass")
    parser.add_argument("--pass", dest="passes", action="append", choices=PASSES,
                        help="run only this pass (repeatable)")
    parser.add_argument("--set", dest="which", choices=("tune", "held", "all"), default="all",
                        help="the tuning renderings, the held-back ones or both")
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = evaluate(tuple(args.passes or PASSES), args.quick, args.which)
    print(report(bars(records)))


if __name__ == "__main__":
    main()
