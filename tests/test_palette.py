"""GIF-like input: palette dither is not read as noise, repeated frames are detected and the
temporal passes work on the distinct ones (frame count and timing kept)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from framemend.chain.frames import Frame
from framemend.chain.options import make_options
from framemend.chain.palette import palette_limited
from framemend.chain.registry import get_filter
from framemend.denoise import estimate_sigma
from framemend.generate import artifacts, scene
from media import palette_frames

W, H = 320, 180


def _tensor(frames_u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames_u8 / np.float32(255)).permute(0, 3, 1, 2)


@pytest.fixture(scope="module")
def clean():
    return np.round(scene("subject", W, H, frames=2, seed=31).frames * 255).astype(np.uint8)


@pytest.mark.parametrize("dither, most", [("error-diffusion", 4.5), ("ordered", 7.0)])
def test_palette_dither_is_not_read_as_noise(clean, dither, most):
    gif = palette_frames(clean, dither)
    assert palette_limited(gif[0]) and not palette_limited(clean[0])
    # read as noise before: 4.0 (error diffusion) and 23 (ordered); measured 4.0 and 6.4 now,
    # on a floor of 2.1 for the clean frames themselves through the dedither
    assert estimate_sigma(_tensor(gif)) < most


@pytest.mark.parametrize("sigma", [10, 20])
def test_noise_under_a_palette_is_still_measured(clean, sigma):
    noisy = np.round(artifacts.gaussian_noise(clean / 255.0, sigma / 255, seed=2) * 255)
    gif = palette_frames(noisy.astype(np.uint8), "error-diffusion")
    assert estimate_sigma(_tensor(gif)) == pytest.approx(sigma, rel=0.2)


def _run(name: str, frames: np.ndarray, times: list[float], **options) -> list[Frame]:
    cls = get_filter(name)
    flt = cls(make_options(name, cls.Options, options), "cpu")
    out = []
    for frame, time in zip(frames, times):
        out += flt.push(Frame(raw=frame, time=time))
    return out + flt.flush()


@pytest.mark.parametrize("name, options", [("deboil", {"strength": 1.0}), ("denoise", {"sigma": 8.0}),
                                           ("deflicker", {})])
def test_repeated_frames_are_filtered_once_and_timing_kept(name, options):
    clip = scene("pan", W, H, frames=8, seed=32)
    distinct = np.round(artifacts.boiling(clip.frames, 8 / 255, seed=32) * 255).astype(np.uint8)
    repeated = [0, 1, 1, 2, 3, 4, 4, 4, 5, 6, 7]  # every picture, some shown 2 or 3 times
    times = [i / 12 for i in range(len(repeated))]
    out = _run(name, distinct[repeated], times, **options)
    alone = _run(name, distinct, [i / 8 for i in range(len(distinct))], **options)
    assert [f.time for f in out] == times
    for frame, source in zip(out, repeated):  # each copy is its original's output
        assert np.array_equal(frame.raw, alone[source].raw)


def test_repeated_frames_stay_copies_through_the_default_chain():
    """The engine drives filters through ``emit`` (not ``push``), and a filter that works in
    floats hands the next one tensors: repeats are still caught, so each copy comes out equal
    to its original (they differed by up to 20 levels when only ``push`` caught them)."""
    import framemend

    clip = scene("pan", W, H, frames=8, seed=33)
    distinct = np.round(artifacts.boiling(clip.frames, 8 / 255, seed=33) * 255).astype(np.uint8)
    repeated = [0, 1, 1, 2, 3, 4, 4, 4, 5, 6, 7]
    out = framemend.clean(distinct[repeated], chain="deboil,deflicker,denoise", input_fps=12.0,
                          device="cpu")
    equal = [t for t in range(len(out) - 1) if np.array_equal(out[t], out[t + 1])]
    assert equal == [1, 5, 6]


def test_denoise_after_deboil_still_reads_a_palette_clip_as_one():
    """Deboil removes the dither, so denoise after it no longer sees a palette; it must still
    measure the noise as on palette frames (in space, dither-aware), not in time, where texture
    re-drawn every frame (a GIF's own boiling, which deboil cannot align) reads as noise: luma
    σ 23 here without the finding carried in ``frame.aux``, and the texture came out smoothed
    (detail retention 0.82 of the input's, 0.84 of deboil's output; 0.98 and 1.00 with it)."""
    import framemend
    from framemend.metrics import noref

    clip = scene("pan", W, H, frames=8, seed=31).frames.astype(np.float32)
    rng = np.random.default_rng(5)
    for frame in clip:  # blotchy texture drawn anew each frame, 16 levels RMS
        texture = cv2.GaussianBlur(rng.standard_normal((H, W)).astype(np.float32), (0, 0), 1.5)
        frame += (16 / 255) * texture[..., None] / texture.std()
    gif = palette_frames(np.round(np.clip(clip, 0, 1) * 255).astype(np.uint8), "error-diffusion")
    deboiled = framemend.clean(gif, chain="deboil", input_fps=8.0, device="cpu")
    both = framemend.clean(gif, chain="deboil,denoise", input_fps=8.0, device="cpu")
    figures, _ = noref.compare(both, deboiled, noref.clip_motion(gif))
    assert figures["detail_retention"] > 0.95


def test_denoise_keeps_a_dark_gifs_mean_colour():
    """The declip table is for noise that was clipped, not for a palette's dither: declipping a
    dithered GIF moved its mean colour (darkened gamma-2.2 renderings, 44 % of the values below
    32, ordered dither: -0.27 to -0.51 levels per channel; 0.05 at most without)."""
    import framemend

    clip = scene("subject", W, H, frames=6, seed=31).frames ** 2.2
    gif = palette_frames(np.round(clip * 255).astype(np.uint8), "ordered")
    out = framemend.clean(gif, chain="denoise", input_fps=8.0, device="cpu")
    shift = (np.asarray(out, np.float64) - gif).mean((0, 1, 2))
    assert np.abs(shift).max() < 0.15
