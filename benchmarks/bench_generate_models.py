"""Tiny generative models (issue 21): each family's signature artefact, and what cleaning does.

For each family (``vae``, ``autoregressive``, ``diffusion``, ``flow``) and each clip of
:data:`CLIPS` (scenes the models were not trained on), at 128x128 and 16 frames:

- the signature against the truth the model followed
  (:func:`framemend.generate.models.measure.signature`): ``detail`` ratio to the truth, RMS
  error (8-bit) over the first and last quarter and its slope per frame, warping error
  (``warp``, x1e4), ``flicker`` (8-bit) and ``boiling`` (x1e4) along the true motion (the truth's
  own on the ``truth`` rows), and ``boil_still`` (boiling with zero motion; below ``boiling``:
  texture stuck to the screen);
- ``framemend.clean`` with the default chain on the uint8 frames, scored against its input along
  the input's motion (:func:`framemend.metrics.noref.compare`): ``warp_gain`` = 1 - warping
  error ratio (the bar: >= 0.5), ``retention`` = detail retention (the bar: >= 0.9);
- ``reach``: the warp gain that the clip's first frame carried along the true camera (as steady
  as the scene, the model's own detail) scores on the same measure
  (:func:`framemend.generate.models.measure.reach`): the most a pass that moves the detail as
  the scene moves could show; ``true_gain``: the chain's warp gain along the true motion instead;
- ``sample_cpu_s``: CPU seconds to sample the clip (model at 32x32, enlargement included).

    python -m benchmarks.bench_generate_models [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import framemend
from framemend.generate import sample
from framemend.generate.models import MODELS
from framemend.generate.models.measure import reach, signature
from framemend.metrics import noref

#: (motion, picture, seed) of the clips measured, none in training: a handheld path and the
#: ``texture`` picture are drawn from the scene seed (the models trained on seeds below 10), while a
#: pan, zoom or rotation over a photograph is a training clip whatever the seed (so clip 100, a pan
#: over the astronaut until stop 40, was one).
CLIPS = (("handheld", "astronaut", 100), ("handheld", "texture", 101), ("zoom", "texture", 102))
SIZE = 128


def measure(model: str, kind: str, image: str, seed: int) -> dict:
    start = time.process_time()
    clip = sample(model, kind, image, seed, 16, SIZE, SIZE)
    row = {"pass": "generate", "clip": f"{kind}/{image}/{seed}", "method": model,
           "sample_cpu_s": time.process_time() - start}
    sig = signature(clip)
    u8 = np.round(clip.frames * 255).astype(np.uint8)
    cleaned = framemend.clean(u8)
    motion = noref.clip_motion(u8)
    cmp, _ = noref.compare(cleaned, u8, motion)
    true = noref.Motion(clip.flow_fwd, ~clip.occluded)
    true_in, true_out = (noref.score(x, true)[0]["warping_error"] for x in (u8, cleaned))
    row.update(detail=sig["detail_ratio"], err_first=sig["error_first"],
               err_last=sig["error_last"], err_slope=sig["error_slope"],
               warp_error=1e4 * sig["warping_error"], flicker=sig["flicker"],
               boiling=1e4 * sig["boiling"], boil_still=1e4 * sig["boiling_still"],
               truth_warp=1e4 * sig["warping_error_truth"], truth_flicker=sig["flicker_truth"],
               truth_boiling=1e4 * sig["boiling_truth"],
               warp_gain=1.0 - cmp["warp_ratio"], retention=cmp["detail_retention"],
               flicker_gain=1.0 - cmp["flicker_ratio"], boiling_gain=1.0 - cmp["boiling_ratio"],
               reach=reach(clip, motion)["reach"], true_gain=1.0 - true_out / true_in)
    return row


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    clips = CLIPS[:1] if quick else CLIPS
    return [measure(m, *c) for m in MODELS for c in clips]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    rows = run(p.parse_args().quick)
    keys = [k for k in rows[0] if k not in ("pass",)]
    print(" ".join(f"{k:>13}" for k in keys))
    for r in rows:
        print(" ".join(f"{r[k]:>13.4g}" if isinstance(r[k], float) else f"{r[k]:>13}" for k in keys))


if __name__ == "__main__":
    main()
