"""Metrics of video quality and temporal consistency, on numpy clips ``(T, H, W, 3)``
(float in [0, 1] or uint8).

Full reference: :func:`psnr`, :func:`ssim`. No reference: :func:`warping_error`,
:func:`flicker_index`, :func:`motion_smoothness`, :func:`jitter`, :func:`identity_drift`.
Each has a ``*_per_frame`` variant. Looking rather than reading: :func:`side_by_side`,
:func:`plot_per_frame`.

Without truth, for generated video (:mod:`.noref`, numpy and OpenCV only): ``noref.score(clip)``
and ``noref.compare(output, input)`` (warping error, flicker, boiling along the input's motion,
detail retention, colour shift, fidelity), along a :class:`Motion` from :func:`clip_motion`.
"""
from .camera import camera_path, jitter, jitter_per_frame
from .consistency import (estimate_motion, flicker_index, flicker_index_per_frame, motion_smoothness,
                          motion_smoothness_per_frame, warping_error, warping_error_per_frame)
from . import noref
from .identity import identity_drift, identity_drift_per_frame
from .noref import Motion, clip_motion
from .reference import psnr, psnr_per_frame, ssim, ssim_per_frame
from .visual import plot_per_frame, side_by_side

__all__ = ["psnr", "psnr_per_frame", "ssim", "ssim_per_frame", "warping_error",
           "warping_error_per_frame", "flicker_index", "flicker_index_per_frame",
           "motion_smoothness", "motion_smoothness_per_frame", "jitter", "jitter_per_frame",
           "camera_path", "identity_drift", "identity_drift_per_frame", "side_by_side",
           "plot_per_frame", "estimate_motion", "noref", "Motion", "clip_motion"]
