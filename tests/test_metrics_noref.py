"""No-reference scores (framemend.metrics.noref) read known artefacts injected into
photographs moved by framemend.generate, and read nothing where there is nothing."""
import cv2
import numpy as np
import pytest
from PIL import Image

from framemend.generate import artifacts, scene
from framemend.metrics import noref

W, H, T = 192, 128, 10


@pytest.fixture(scope="module")
def pan():
    return scene("pan", W, H, T, seed=1).frames


@pytest.fixture(scope="module")
def pan_motion(pan):
    return noref.clip_motion(pan)


@pytest.fixture(scope="module")
def static():
    return scene("static", W, H, T, seed=1).frames


def _temporal_box3(frames):
    """Mean of each frame with its neighbours (ends repeated)."""
    padded = np.concatenate([frames[:1], frames, frames[-1:]])
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3


def _palette_dither(frames, colours=256):
    """Each frame through a per-clip median-cut palette with Floyd-Steinberg dither (as a GIF)."""
    u8 = (np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8)
    palette = Image.fromarray(u8[0]).quantize(colours, method=Image.Quantize.MEDIANCUT)
    out = [np.asarray(Image.fromarray(f).quantize(palette=palette,
                                                  dither=Image.Dither.FLOYDSTEINBERG).convert("RGB"))
           for f in u8]
    return np.stack(out)


def test_identity_reads_as_unchanged(pan, pan_motion):
    u8 = (pan * 255 + 0.5).astype(np.uint8)
    clip, per_frame = noref.compare(u8, u8, pan_motion)
    assert clip["warp_ratio"] == clip["flicker_ratio"] == clip["boiling_ratio"] == 1.0
    assert clip["detail_retention"] == 1.0 and clip["fidelity"] == pytest.approx(1.0, abs=1e-9)
    assert clip["colour_shift"] == 0.0
    assert per_frame["warping_error"].shape == (T - 1,) and per_frame["fidelity"].shape == (T,)


def test_a_clean_pan_reads_near_zero_and_motion_does_not_change_the_scores(pan, pan_motion, static):
    clean, _ = noref.score(pan, pan_motion)
    boiled, _ = noref.score(artifacts.boiling(pan, 8 / 255, seed=2), pan_motion)
    # a bicubic warp of a photograph at 192x128 costs ~1.6e-4 with DIS flow (1.1e-4 with the truth)
    assert clean["warping_error"] < 0.25 * boiled["warping_error"]
    assert clean["boiling"] < 0.25 * boiled["boiling"]
    assert clean["flicker"] < 0.5  # 8-bit levels
    # the same flicker reads the same on a pan and on a static camera
    still_flicker, _ = noref.score(artifacts.global_flicker(static, 0.04, 0.0, seed=3))
    pan_flicker, _ = noref.score(artifacts.global_flicker(pan, 0.04, 0.0, seed=3), pan_motion)
    assert pan_flicker["flicker"] == pytest.approx(still_flicker["flicker"], rel=0.2)
    still_boiled, _ = noref.score(artifacts.boiling(static, 8 / 255, seed=2))
    still_clean, _ = noref.score(static)
    assert (boiled["boiling"] - clean["boiling"]
            == pytest.approx(still_boiled["boiling"] - still_clean["boiling"], rel=0.3))


def test_flicker_tracks_the_gain_flicker_amplitude(pan, pan_motion):
    reads = [noref.score(artifacts.global_flicker(pan, a, 0.0, seed=4), pan_motion)[0]["flicker"]
             for a in (0.02, 0.04, 0.08)]
    assert reads[0] > 5 * noref.score(pan, pan_motion)[0]["flicker"]
    assert 1.7 < reads[1] / reads[0] < 2.3 and 1.7 < reads[2] / reads[1] < 2.3
    local = noref.score(artifacts.local_flicker(pan, 0.04, seed=4), pan_motion)[0]["flicker"]
    assert local > 5 * noref.score(pan, pan_motion)[0]["flicker"]


def test_boiling_reads_texture_not_tone(pan, pan_motion):
    clean = noref.score(pan, pan_motion)[0]
    flickered = noref.score(artifacts.global_flicker(pan, 0.04, 0.0, seed=5), pan_motion)[0]
    boiled = noref.score(artifacts.boiling(pan, 8 / 255, seed=5), pan_motion)[0]
    assert flickered["boiling"] < 1.5 * clean["boiling"] < 0.4 * boiled["boiling"]
    assert boiled["flicker"] < 1.0 < flickered["flicker"]  # 8 levels RMS of boiling: < 1 level


def test_a_temporal_blur_lowers_warping_error_and_boiling(static):
    boiled = artifacts.boiling(static, 8 / 255, seed=6)
    motion = noref.clip_motion(boiled)
    clip, _ = noref.compare(_temporal_box3(boiled), boiled, motion)
    assert clip["warp_ratio"] < 0.6 and clip["boiling_ratio"] < 0.6
    again, _ = noref.compare(_temporal_box3(boiled), boiled, motion,
                             input_scores=noref.score(boiled, motion))
    assert again == clip
    assert clip["fidelity"] > 0.98 and clip["colour_shift"] < 0.2


def _ordered_dither(frames, levels=8):
    """Each channel to ``levels`` levels through a 4x4 Bayer threshold matrix."""
    bayer = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]]) / 16 + 1 / 32
    h, w = frames.shape[1:3]
    threshold = np.tile(bayer, (h // 4 + 1, w // 4 + 1))[:h, :w, None].astype(np.float32)
    return np.floor(frames * (levels - 1) + threshold) / (levels - 1)


def test_detail_retention_falls_with_a_spatial_blur_and_ignores_palette_dither(pan, pan_motion):
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.0) for f in pan])
    assert noref.compare(blurred, pan, pan_motion)[0]["detail_retention"] < 0.85
    assert noref.compare(blurred, pan, pan_motion)[0]["fidelity"] > 0.97
    # removing a dither (what a perfect undithering gives back) is no loss of detail
    soft = np.stack([cv2.GaussianBlur(f, (0, 0), 1.5) for f in pan])  # dither shows on soft skin
    ordered = _ordered_dither(soft)
    assert np.abs(ordered - soft).mean() > 10 / 255
    assert noref.compare(soft, ordered)[0]["detail_retention"] == pytest.approx(1.0, abs=0.03)
    diffused = _palette_dither(soft)
    soft_u8 = (soft * 255 + 0.5).astype(np.uint8)
    assert np.abs(diffused.astype(int) - soft_u8).mean() > 2
    assert noref.compare(soft_u8, diffused)[0]["detail_retention"] == pytest.approx(1.0, abs=0.04)


def test_colour_shift_reads_levels(pan, pan_motion):
    shifted = pan.copy()
    shifted[..., 2] += 3 / 255
    clip, per_frame = noref.compare(shifted, pan, pan_motion)
    assert clip["colour_shift"] == pytest.approx(3.0, abs=0.3)
    assert clip["colour_shift_b"] == pytest.approx(3.0, abs=0.3) and abs(clip["colour_shift_r"]) < 0.01
    assert np.allclose(per_frame["colour_shift"], 3.0, atol=0.3)
    u8 = (pan * 255 + 0.5).astype(np.uint8)
    darker = (u8.astype(np.int16) - 3).clip(0, 255).astype(np.uint8)  # 8-bit, clipped at black
    assert noref.compare(darker, u8, pan_motion)[0]["colour_shift"] == pytest.approx(3.0, abs=0.3)
    doubled = np.repeat(shifted, 2, axis=0)  # another frame count, as after interpolation
    assert noref.clip_colour_shift(doubled, pan) == pytest.approx([0, 0, 3.0], abs=0.01)


def test_fidelity_falls_when_shapes_move(pan):
    moved = np.roll(pan, 4, axis=2)
    assert noref.fidelity_per_frame(moved, pan).mean() < 0.9


def test_a_misfitting_motion_or_clip_is_refused(pan, pan_motion):
    with pytest.raises(ValueError, match="does not fit"):
        noref.score(pan[:, :64], pan_motion)
    with pytest.raises(ValueError, match="differ in shape"):
        noref.compare(pan[:5], pan)
