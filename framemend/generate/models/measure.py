"""Each family's signature artefact, measured against the procedural truth a clip followed.

``signature(clip) -> dict`` for a :func:`~framemend.generate.models.sampling.sample` clip (frames
and truth ``(T, H, W, 3)`` in [0, 1], with the truth's flow and occlusion):

- ``detail_ratio``: mid-band detail energy of the frames over the truth's
  (:func:`framemend.metrics.noref.detail_energy_per_frame`, summed over frames): blur < 1;
- ``error_first``, ``error_last``: RMS error against the truth (8-bit levels) over the first and
  last quarter of the frames, ``error_slope`` its least-squares growth per frame: drift;
- ``warping_error``, ``flicker``, ``boiling`` of the frames along the truth's motion (true flow,
  valid where not occluded; :func:`framemend.metrics.noref.temporal_per_frame`) and the same of
  the truth (``*_truth``): flicker and boiling;
- ``boiling_still``: the boiling figure with zero motion; below ``boiling`` when drawn detail
  stays put on the screen while the scene moves (texture sticking).
"""
from __future__ import annotations

import numpy as np

from ...metrics import noref


def signature(clip) -> dict:
    frames, truth = clip.frames, clip.truth
    count = len(frames)
    out = {"detail_ratio": float(noref.detail_energy_per_frame(frames).sum()
                                 / max(noref.detail_energy_per_frame(truth).sum(), 1e-12))}
    rms = 255.0 * np.sqrt(((frames - truth) ** 2).mean(axis=(1, 2, 3)))
    quarter = max(1, count // 4)
    out["error_first"], out["error_last"] = float(rms[:quarter].mean()), float(rms[-quarter:].mean())
    out["error_slope"] = float(np.polyfit(np.arange(count), rms, 1)[0])
    along = noref.Motion(clip.flow_fwd, ~clip.occluded)
    for name, series in noref.temporal_per_frame(frames, along).items():
        out[name] = float(np.nanmean(series))
    for name, series in noref.temporal_per_frame(truth, along).items():
        out[name + "_truth"] = float(np.nanmean(series))
    still = noref.Motion(np.zeros_like(clip.flow_fwd), np.ones_like(clip.occluded))
    out["boiling_still"] = float(np.nanmean(noref.temporal_per_frame(frames, still)["boiling"]))
    return out
