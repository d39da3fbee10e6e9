"""The randomised degradation families draw within their documented ranges, deterministically."""
import numpy as np
import pytest

from framemend.generate import families
from framemend.metrics import psnr

W, H = 96, 64


@pytest.fixture(scope="module")
def content():
    clip, label = families.moving_content(np.random.default_rng(0), W, H, 6, subject="wheel")
    return clip.frames


@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_a_family_is_deterministic_and_changes_the_clip(content, name):
    family = families.FAMILIES[name]
    a, pa = family(content, np.random.default_rng(5))
    b, _ = family(content, np.random.default_rng(5))
    c, _ = family(content, np.random.default_rng(6))
    assert a.shape == content.shape and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert 12 < psnr(a, content) < 45, pa


def test_noise_families_reach_the_drawn_strength(content):
    grey = np.full((4, 64, 64, 3), 0.5, np.float32)
    for seed in range(3):
        noisy, p = families.gaussian_noise(grey, np.random.default_rng(seed))
        assert 5 <= p["sigma"] <= 30
        assert (noisy - grey).std() * 255 == pytest.approx(p["sigma"], rel=0.05)
        noisy, p = families.poisson_gaussian_noise(grey, np.random.default_rng(seed))
        assert (noisy - grey).std() * 255 == pytest.approx(np.hypot(p["sigma_mid"], p["read"]),
                                                           rel=0.05)
        noisy, p = families.chroma_noise(grey, np.random.default_rng(seed))
        luma = (noisy - grey) @ np.array([0.299, 0.587, 0.114], np.float32)
        assert luma.std() * 255 == pytest.approx(p["sigma"] / 4, rel=0.1)  # colour, not light


def test_local_flicker_fields_vary_slowly_or_per_frame():
    flat = np.full((12, 32, 48, 3), 0.5, np.float32)
    seen = set()
    for seed in range(12):
        out, p = families.local_flicker(flat, np.random.default_rng(seed))
        assert 2 <= p["cells"] <= 8 and 0.05 <= p["amplitude"] <= 0.25
        step = np.abs(np.diff(out, axis=0)).mean() / np.abs(out - 0.5).mean()
        assert (step < 0.7) == (p["time"] == "slow"), (p, step)
        seen.add(p["time"])
    assert seen == {"slow", "independent"}


def test_shake_records_the_homographies_it_applied(content):
    shaken, p = families.shake(content, np.random.default_rng(2))
    assert p["shake"].shape == (len(content), 3, 3)
    shift = p["shake"][:, :2, 2] - p["shake"][:, :2, 2].mean(0)
    assert 2 <= p["pixels"] <= 8 and np.abs(shift).max() > 1
