"""Liu et al.'s stabilization measures recover known paths and crops."""
import cv2
import numpy as np
import pytest

from framemend.generate import degrade, scene
from framemend.generate.camera import pose_homographies
from framemend.metrics.camera import (cropping_ratio, distortion, frame_motions,
                                      output_transforms, stability_score)

W, H = 160, 90


def _motions(tx, ty, roll) -> np.ndarray:
    """``(T-1, 3, 3)`` frame-to-frame similarities with these per-frame shifts and rolls."""
    return pose_homographies(W, H, tx, ty, roll, 1.0)


def test_a_steady_path_scores_one_and_a_random_walk_scores_low():
    n = 47
    steady = stability_score(_motions(np.full(n, 1.5), np.full(n, -0.5), np.zeros(n)), (W, H))
    assert steady["score"] > 0.999
    rng = np.random.default_rng(3)
    walk = stability_score(_motions(*(rng.standard_normal((2, n)) * 2), rng.standard_normal(n)),
                           (W, H))
    assert walk["score"] < 0.5 and walk["translation"] < 0.5 and walk["rotation"] < 0.5
    # a slow sway (one period over the clip) plus a little shake stays high
    sway = 3 * np.cos(2 * np.pi * np.arange(n) / n)
    swaying = stability_score(_motions(sway + 0.1 * rng.standard_normal(n), sway,
                                       0.1 * sway), (W, H))
    assert swaying["score"] > 0.9 > walk["score"] + 0.4


def test_stability_of_estimated_motion_ranks_shake_below_its_absence():
    clip = scene("handheld", W, H, 24, seed=1)
    shaken = degrade(clip, "jitter=3", seed=2).frames
    smooth = stability_score(frame_motions(clip.frames), (W, H))["score"]
    shaky = stability_score(frame_motions(shaken), (W, H))["score"]
    assert smooth > shaky + 0.3


def test_cropping_and_distortion_of_known_maps():
    zoom = pose_homographies(W, H, 0.0, 0.0, np.array([0.0, 3.0]), 1.25)  # out -> in, crop 1.25
    assert cropping_ratio(zoom) == pytest.approx(0.8, abs=1e-9)
    assert distortion(zoom) == pytest.approx(1.0, abs=1e-9)
    stretch = np.tile(np.eye(3), (3, 1, 1))
    stretch[1, 0, 0] = 0.9
    assert distortion(stretch) == pytest.approx(0.9, abs=1e-9)


def test_a_crop_is_recovered_from_the_frames():
    clip = scene("pan", W, H, 4, seed=0)
    z = 1.1
    crop = np.array([[1 / z, 0, (W - 1) / 2 * (1 - 1 / z)], [0, 1 / z, (H - 1) / 2 * (1 - 1 / z)]])
    out = np.stack([cv2.warpAffine(f, crop, (W, H), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
                    for f in clip.frames])
    maps = output_transforms(clip.frames, out)
    assert cropping_ratio(maps) == pytest.approx(1 / z, abs=0.01)
    assert distortion(maps) > 0.98
    assert cropping_ratio(output_transforms(clip.frames, clip.frames)) == pytest.approx(1, abs=0.005)
