"""Generators: exact ground truth, deterministic by seed, artifacts of the size their strength says."""
import re

import numpy as np
import pytest
import torch

from framemend.flow import backward_warp, camera_flow
from framemend.generate import SCENES, artifacts, degrade, scene
from framemend.generate.camera import apply_homography
from framemend.metrics import psnr

W, H, T = 128, 72, 8


def _warp_back(frames, flow):
    """frames[t+1] warped onto frames[t] along ``flow`` (T-1, 2, H, W)."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2)
    return backward_warp(x[1:], torch.from_numpy(flow)).permute(0, 2, 3, 1).numpy()


def _interior(a, margin=12):
    return a[:, margin:-margin, margin:-margin]


def _visible_psnr(a, b, occluded):
    """PSNR over the pixels that are not occluded (one number for the clip)."""
    keep = ~occluded
    mse = ((a - b) ** 2).mean(-1)[keep].mean()
    return 10 * np.log10(1 / mse)


@pytest.mark.parametrize("kind", ["pan", "zoom", "rotate", "handheld", "fast-object", "subject"])
def test_true_flow_reconstructs_the_previous_frame(kind):
    clip = scene(kind, W, H, T, seed=3)
    warped = _warp_back(clip.frames, clip.flow_fwd)
    moved = _visible_psnr(warped, clip.frames[:-1], clip.occluded)
    still = _visible_psnr(clip.frames[1:], clip.frames[:-1], clip.occluded)
    # the residue is bicubic resampling and layer edges; without the flow it is far worse
    assert moved > 30.0
    assert moved > still + 8.0
    hidden = _visible_psnr(warped, clip.frames[:-1], ~clip.occluded)
    if kind in ("fast-object", "subject"):  # what the mask hides, the flow cannot explain
        assert hidden < moved - 8.0


@pytest.mark.parametrize("kind", ["pan", "zoom", "rotate", "handheld"])
def test_camera_matches_the_flow_of_rigid_scenes(kind):
    clip = scene(kind, W, H, T)
    np.testing.assert_allclose(clip.camera[0], np.eye(3), atol=1e-6)
    flow = camera_flow(clip.camera, H, W).numpy()
    np.testing.assert_allclose(flow, clip.flow_fwd, atol=2e-3)


def test_same_seed_same_clip_other_seed_other_clip():
    a, b = scene("handheld", W, H, T, seed=5), scene("handheld", W, H, T, seed=5)
    c = scene("handheld", W, H, T, seed=6)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.flow_fwd, b.flow_fwd)
    assert not np.array_equal(a.frames, c.frames)
    d1 = degrade(a, "flicker,noise=20,jitter,boiling", seed=1)
    d2 = degrade(b, "flicker,noise=20,jitter,boiling", seed=1)
    assert np.array_equal(d1.frames, d2.frames)
    assert not np.array_equal(d1.frames, degrade(a, "flicker,noise=20,jitter,boiling", 2).frames)


@pytest.mark.parametrize("kind", SCENES)
def test_every_scene_has_the_requested_shape_and_range(kind):
    clip = scene(kind, 96, 54, 6, fps=30.0)
    assert clip.frames.shape == (6, 54, 96, 3) and clip.frames.dtype == np.float32
    assert 0.0 <= clip.frames.min() and clip.frames.max() <= 1.0
    assert clip.flow_fwd.shape == (5, 2, 54, 96) and clip.camera.shape == (6, 3, 3)
    assert clip.fps == 30.0
    assert clip.frames.std() > 0.05  # a picture, not a blank


def test_subject_moves_across_and_its_box_follows():
    clip = scene("subject", 160, 90, 12)
    box = clip.subject_box
    centre_x = (box[:, 0] + box[:, 2]) / 2
    assert centre_x[-1] - centre_x[0] > 0.4 * 160
    # the face is in the box: its pixels differ from the same place with no subject (static scene)
    bare = scene("static", 160, 90, 12).frames
    x0, y0, x1, y1 = box[0].astype(int)
    inside = np.abs(clip.frames[0, y0:y1, x0:x1] - bare[0, y0:y1, x0:x1]).mean()
    assert inside > 0.1


def test_lighting_changes_are_real():
    fade = scene("fade", W, H, 12)
    ratio = fade.frames[-1].mean() / fade.frames[0].mean()
    assert ratio == pytest.approx(0.15, abs=0.02)
    lamp = scene("light-on", W, H, 12).frames.mean((1, 2, 3))
    steps = np.abs(np.diff(lamp))
    assert steps.argmax() == 12 // 2 - 1 and steps.max() > 0.1
    assert np.delete(steps, steps.argmax()).max() < 1e-6


def test_cut_has_two_shots_and_no_flow_across():
    clip = scene("cut", W, H, 10)
    assert clip.cuts == [5]
    assert not clip.flow_fwd[4].any()
    assert np.abs(clip.frames[5] - clip.frames[4]).mean() > 0.1
    np.testing.assert_allclose(clip.camera[5], np.eye(3), atol=1e-6)


GREY = np.full((400, 8, 8, 3), 0.5, np.float32)


def test_global_flicker_has_the_gain_and_offset_it_says():
    out = artifacts.global_flicker(GREY, gain_sigma=0.12, offset_sigma=0.03, seed=0)
    measured = out[:, 0, 0, :].std(0)
    expected = np.sqrt((0.5 * 0.12) ** 2 + 0.03 ** 2)
    np.testing.assert_allclose(measured, expected, rtol=0.12)
    assert out[0].std(axis=(0, 1)).max() < 1e-6  # global: one gain per frame and channel


def test_local_flicker_gain_field_has_the_amplitude_it_says():
    grey = np.full((20, 36, 64, 3), 0.5, np.float32)
    out = artifacts.local_flicker(grey, amplitude=0.2, seed=0)
    gain = out / 0.5 - 1.0
    assert np.sqrt((gain ** 2).mean()) == pytest.approx(0.2, rel=0.05)
    assert gain[0].std() > 0.1  # varies over the frame ...
    assert np.abs(np.diff(gain[0], axis=1)).mean() < 0.25 * 0.2  # ... smoothly (noise: ~1.1)
    assert np.abs(gain[1] - gain[0]).mean() > 0.05  # and changes every frame


def test_gaussian_noise_has_the_sigma_it_says():
    out = artifacts.gaussian_noise(GREY[:20], sigma=20 / 255, seed=0)
    assert (out - GREY[:20]).std() == pytest.approx(20 / 255, rel=0.03)
    d = degrade(scene("static", W, H, 4), "noise=10")
    grey_part = (d.truth > 0.1) & (d.truth < 0.9)
    assert (d.frames - d.truth)[grey_part].std() == pytest.approx(10 / 255, rel=0.05)


def test_boiling_changes_fine_texture_by_its_strength_and_keeps_the_picture():
    clip = scene("static", W, H, 6, image="texture")
    out = artifacts.boiling(clip.frames, strength=8 / 255, seed=0)
    rms = np.sqrt(((out - clip.frames) ** 2).mean())
    assert rms == pytest.approx(8 / 255, rel=0.1)
    assert np.abs(out[1] - out[0]).mean() > 0.5 * 8 / 255  # re-synthesised each frame
    import cv2
    low = [cv2.GaussianBlur(x, (0, 0), 3.0) for x in (out[0], clip.frames[0])]
    assert np.abs(low[0] - low[1]).mean() < 0.2 * 8 / 255  # mostly fine texture moves


def test_jitter_shakes_by_the_pixels_it_says_and_is_invertible():
    shake = artifacts.shake_homographies(2000, W, H, pixels=3.0, roll_degrees=0.5, seed=0)
    shift = np.stack([apply_homography(s, np.array([(W - 1) / 2, (H - 1) / 2]))
                      for s in shake]) - [(W - 1) / 2, (H - 1) / 2]
    assert np.sqrt((shift ** 2).sum(1).mean()) == pytest.approx(3.0, rel=0.05)
    roll = np.degrees(np.arctan2(shake[:, 1, 0], shake[:, 0, 0]))
    assert roll.std() == pytest.approx(0.5, rel=0.05)
    clip = scene("pan", W, H, T)
    d = degrade(clip, "jitter=3")
    warped = _warp_back(d.frames, d.flow_fwd)
    assert _visible_psnr(warped, d.frames[:-1], d.occluded) > 30.0
    assert np.array_equal(d.truth, clip.frames)


def test_identity_drift_grows_inside_the_box_only():
    clip = scene("subject", W, H, 10)
    out = artifacts.identity_drift(clip.frames, amount=0.5, box=clip.subject_box)
    diff = np.abs(out - clip.frames).mean(-1)
    assert diff[0].max() < 1e-5
    x0, y0, x1, y1 = clip.subject_box[-1].astype(int)
    assert diff[-1, y0:y1, x0:x1].mean() > 0.05
    outside = diff[-1].copy()
    outside[y0:y1 + 1, x0:x1 + 1] = 0
    assert outside.max() < 1e-5
    per_frame = [diff[t, int(b[1]):int(b[3]), int(b[0]):int(b[2])].mean()
                 for t, b in enumerate(clip.subject_box)]
    assert per_frame[-1] > per_frame[len(per_frame) // 2] > per_frame[1]


def _undo_tone(frames, k, sign):
    """Turn the hue back by ``sign * 90 k`` degrees and divide the saturation by ``1 + 0.3 k``."""
    import cv2
    hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in frames])
    hsv[..., 0] = (hsv[..., 0] - sign * 90.0 * k) % 360.0
    hsv[..., 1] /= 1.0 + 0.3 * k
    return np.stack([cv2.cvtColor(f, cv2.COLOR_HSV2RGB) for f in hsv])


def test_tone_drift_changes_colour_by_its_amount_and_leaves_geometry_alone():
    clip = scene("subject", W, H, 10, seed=1)
    toned = degrade(clip, "tone-drift=0.25", seed=1)
    stretched = degrade(clip, "drift=0.25", seed=1)
    x0, y0, x1, y1 = clip.subject_box[-1]
    ys, xs = np.mgrid[0:H, 0:W]
    core = np.hypot((xs - (x0 + x1) / 2) / ((x1 - x0) / 2), (ys - (y0 + y1) / 2) / ((y1 - y0) / 2)) < 0.6
    last, clean = toned.frames[-1:], clip.frames[-1:]
    assert psnr(last[:, core], clean[:, core]) < 30.0  # the colour did change...
    # ... by a hue turn of 22.5 degrees and 7.5 % more saturation, with nothing moved
    undone = max(psnr(_undo_tone(last, 0.25, s)[:, core], clean[:, core]) for s in (-1, 1))
    assert undone > 40.0
    moved = max(psnr(_undo_tone(stretched.frames[-1:], 0.25, s)[:, core], clean[:, core])
                for s in (-1, 1))
    assert moved < undone - 10.0  # the full drift also stretches the head
    # the clean motion still predicts the drifting frames
    warped = _warp_back(toned.frames, toned.flow_fwd)
    assert _visible_psnr(warped, toned.frames[:-1], toned.occluded) > 30.0


def test_drop_frames_lowers_the_rate_and_keeps_the_truth():
    clip = scene("pan", W, H, 9)
    d = degrade(clip, "drop=2")
    assert len(d) == 5 and d.fps == clip.fps / 2
    assert np.array_equal(d.frames, clip.frames[::2]) and np.array_equal(d.truth, clip.frames)
    assert d.flow_fwd is None and d.camera.shape == (5, 3, 3)


def test_compress_loses_more_at_higher_crf():
    clip = scene("handheld", W, H, 6)
    light, heavy = (artifacts.compress(clip.frames, crf) for crf in (18, 40))
    q_light, q_heavy = psnr(light, clip.frames), psnr(heavy, clip.frames)
    assert 30.0 < q_light and q_heavy < q_light - 5.0 and q_heavy > 20.0


def test_degrade_parses_strengths_and_rejects_bad_names():
    clip = scene("static", 32, 18, 3)
    assert np.array_equal(degrade(clip, "").frames, clip.frames)
    for bad in ("sparkle", "noise=loud", "drop=0"):
        with pytest.raises(ValueError):
            degrade(clip, bad)


def test_degrade_given_frames_says_it_takes_a_clip():
    """An array met "'numpy.ndarray' object has no attribute 'truth'"."""
    with pytest.raises(TypeError, match="degrade\\(\\) takes a generate.Clip .* not ndarray"):
        degrade(np.zeros((3, 16, 16, 3), np.float32), "flicker")


def test_degrade_takes_its_artifacts_listed_as_a_chain_may_be():
    """["flicker", "noise=20"] met "'list' object has no attribute 'split'" (framemend.clean
    takes its chain so listed); now it is the comma string's clip, and another type is a
    TypeError that says what artifacts are."""
    clip = scene("static", 32, 18, 3)
    listed = degrade(clip, ["flicker", "noise=20"], seed=4)
    assert np.array_equal(listed.frames, degrade(clip, "flicker,noise=20", seed=4).frames)
    assert not np.array_equal(listed.frames, clip.frames)
    for bad in (3, ["flicker", 20], {"noise": 20}):
        with pytest.raises(TypeError, match="artifacts are a string such as 'flicker,noise=20'"):
            degrade(clip, bad)


@pytest.mark.parametrize("fps", [0, -24.0, float("nan")])
def test_a_scene_at_no_frame_rate_is_refused_as_generate_fps_is(fps):
    """``scene(..., fps=0)`` divided by zero in the handheld camera's shake (a RuntimeWarning),
    and -24 or NaN gave a clip of that rate that only the writer refused; ``framemend generate
    --fps 0`` says "needs a frame rate above 0"."""
    said = re.escape(f"fps must be a frame rate above 0, got {fps!r}")
    with pytest.raises(ValueError, match=said):
        scene("handheld", 32, 18, 3, fps=fps)
