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

What a faithful cleaner could show on the no-reference bar (issue 21 scores ``framemend.clean``
against its input along the *input's* own motion, :func:`framemend.metrics.noref.compare`):
:func:`carried` is the clip's first frame carried along the true camera, a clip as steady as the
scene with the model's own detail; :func:`reach` scores it and the clip along the input's motion.
Where the model's detail does not move as the scene does (drawn afresh on its 32-pixel grid,
stuck to the screen), the input's motion follows the detail and a clip that follows the scene
reads *worse* there than the input: ``reach`` < 0.
"""
from __future__ import annotations

import cv2
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


def carried(clip) -> tuple[np.ndarray, np.ndarray]:
    """``clip.frames[0]`` carried along the true camera to every frame (bicubic, edges
    replicated): ``(T, H, W, 3)`` float32 frames and ``(T, H, W)`` bool, True where the carried
    pixel comes from inside the first frame. ``clip.camera[t]`` maps frame t's pixels to the
    reference frame's, so frame t at ``q`` shows the first frame at ``camera[0]^-1 camera[t] q``.
    """
    count, h, w, _ = clip.frames.shape
    first = np.ascontiguousarray(clip.frames[0], np.float32)
    ones = np.ones((h, w), np.float32)
    cam = clip.camera.astype(np.float64)
    frames, inside = [], []
    for t in range(count):
        to_first = np.linalg.inv(cam[0]) @ cam[t]
        frames.append(cv2.warpPerspective(first, to_first, (w, h), borderMode=cv2.BORDER_REPLICATE,
                                          flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP))
        inside.append(cv2.warpPerspective(ones, to_first, (w, h), borderValue=0.0,
                                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP) > 0.999)
    return np.clip(np.stack(frames), 0.0, 1.0), np.stack(inside)


def reach(clip, motion: noref.Motion) -> dict:
    """Warping errors along ``motion`` (the bar's measure: the uint8 input's
    :func:`~framemend.metrics.noref.clip_motion`) of the clip's frames (``warping_error``) and
    of :func:`carried` (``warping_error_carried``), both where the carried pixels of the pair's
    two frames come from inside the first frame; ``reach`` = 1 - carried / frames: the warp gain
    a faithful, perfectly steady clip with the model's detail would score on the bar (< 0.5:
    the bar's 50 % is out of reach of a pass that moves the detail as the scene moves). The
    carried clip keeps the first frame's detail: where the model's detail drifts over the clip
    (the autoregressive model's grows up to 6x on a handheld shot over grass), reaching
    ``reach`` would cost the detail retention that the bar also asks for.
    """
    frames, inside = carried(clip)
    along = noref.Motion(motion.flow, motion.valid & inside[:-1] & inside[1:])
    u8 = np.round(clip.frames * 255).astype(np.uint8)
    steady = np.round(frames * 255).astype(np.uint8)
    mine = float(np.nanmean(noref.temporal_per_frame(u8, along)["warping_error"]))
    theirs = float(np.nanmean(noref.temporal_per_frame(steady, along)["warping_error"]))
    return {"warping_error": mine, "warping_error_carried": theirs, "reach": 1.0 - theirs / mine}
