"""The tiny VAE (issue 21): a spatial latent in use, blur against the truth, the default chain's
warp gain on its clip, determinism by seed.

Thresholds were read off the benchmark's clips (scene seeds 100-102) and held-back seeds
110-117 and 150-157 (BENCHMARKS.md, "The VAE with a spatial latent"); the tests assert on
handheld clips of seeds 130-133 and 140, which none of those used: a handheld path is drawn from
the scene seed, while a pan, zoom or rotation over a photograph is a training clip whatever the
seed.
"""
import numpy as np
import pytest
import torch

import framemend
from framemend.generate import sample
from framemend.generate.models import load
from framemend.generate.models.conditioning import condition
from framemend.generate.models.measure import signature
from framemend.metrics import noref

#: Unseen scenes (motion, picture, seed): handheld paths drawn by seeds no training clip used.
BLUR_CLIPS = (("handheld", "coffee", 130), ("handheld", "brick", 131),
              ("handheld", "astronaut", 132), ("handheld", "gravel", 133))


def _levels(x: torch.Tensor) -> float:
    """RMS of ``x`` (model units, [-1, 1]) in 8-bit levels."""
    return float(127.5 * x.square().mean().sqrt())


def test_the_decoded_frame_follows_its_spatial_latent():
    vae = load("vae")
    c = condition("handheld", "coins", 130)
    with torch.no_grad():
        mu, logvar = vae.encode(c.truth, c.guide)
        assert mu.shape == (16, 4, 8, 8)
        kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).mean()
        assert kl > 0.2  # 0.57 nats a latent cell; the collapsed 16-number latent read 0.000
        posterior = _levels(vae.decode(c.guide, mu) - c.truth)
        prior = _levels(vae.decode(c.guide, torch.zeros_like(mu)) - c.truth)
        g = torch.Generator().manual_seed(0)
        a, b = (vae.decode(c.guide[:1], torch.randn(mu[:1].shape, generator=g)) for _ in range(2))
    assert posterior < 0.6 * prior  # 6.8 against 19.7 levels
    assert _levels(a - b) > 4.0  # 8.4 levels: two prior draws decode frames apart


@pytest.fixture(scope="module")
def blur_signatures():
    return [signature(sample("vae", *c, frames=16, width=128, height=128)) for c in BLUR_CLIPS]


def test_the_vae_blurs_against_the_truth_on_unseen_scenes(blur_signatures):
    detail = np.array([s["detail_ratio"] for s in blur_signatures])
    # 0.96 / 0.58 / 0.90 / 0.40; held back and bench: median 0.86, max 0.98
    assert detail.max() < 1.0 and np.median(detail) < 0.85


def test_the_default_chain_meets_the_warp_bar_on_an_unseen_vae_clip():
    clip = sample("vae", "handheld", "rocket", seed=140, frames=16, width=128, height=128)
    u8 = np.round(clip.frames * 255).astype(np.uint8)
    cmp, _ = noref.compare(framemend.clean(u8), u8, noref.clip_motion(u8))
    assert 1.0 - cmp["warp_ratio"] > 0.6  # 0.76; the bar 0.5; held back and bench: worst 0.67
    assert cmp["detail_retention"] > 0.95  # 1.06; the bar 0.9


def test_a_vae_clip_is_the_same_for_a_seed_and_its_noise_differs_by_seed():
    vae = load("vae")
    c = condition("pan", "coffee", 130, frames=6)
    with torch.no_grad():
        first, again, other = (vae.generate(c, s) for s in (3, 3, 4))
    assert torch.equal(first, again)
    assert 0.5 < _levels(first - other) < 10.0  # 2.7 levels: posterior noise, the same scene
