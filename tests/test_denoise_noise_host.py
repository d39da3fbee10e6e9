"""The CPU path's noise model (:mod:`framemend.denoise._noise_cpu`, numpy and OpenCV, no torch)
reads the same noise levels as the torch reference (:func:`framemend.denoise.noise.
estimate_channel_noise`), and the filter on the CPU gives the video the reference's levels
give."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from framemend.denoise import _noise_cpu, filter as denoise_filter, noise
from framemend.denoise import denoise
from framemend.flow.estimate import motion_luma_flow
from framemend.generate.families import moving_content
from media import palette_frames

W, H = 320, 180
# 8-bit levels, plus a share of the level; measured within 4e-6 on the generated clips and
# these, but a pixel at the flattest third's threshold (its gradient summed in another order)
# can fall on either side: on the 16-bit σ 8 rendering one such pixel moved the reading in time
# by 0.003, and since the tone change is read over the flattest pixels around each one
# (noise._tone_change_removed) such a pixel moves its neighbours' readings too: up to 0.036 of
# σ 27.6 (0.13 %) on these renderings
TOLERANCE, RELATIVE_TOLERANCE = 5e-3, 2e-3


def _agree(host: np.ndarray, reference: np.ndarray) -> bool:
    """Whether the host's readings are the reference's to the tolerances above."""
    error = np.abs(host - reference)
    return bool((error < TOLERANCE + RELATIVE_TOLERANCE * np.abs(reference)).all())


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    """``(3, H, W, 3)`` float32 RGB in [0, 1]: a photograph panned, a ball across it."""
    rng = np.random.default_rng(5)
    return moving_content(rng, W, H, 3, photo="astronaut", camera="pan",
                          subject="ball")[0].frames


def _integers(clean: np.ndarray, sigma: float, bits: int = 8, blur: float = 0.0,
              seed: int = 0) -> np.ndarray:
    """``clean`` with Gaussian noise of ``sigma`` (8-bit levels; blurred by ``blur`` px)
    as decoded pixels of ``bits``."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(clean.shape).astype(np.float32)
    if blur:
        noise = np.stack([cv2.GaussianBlur(n, (0, 0), blur) for n in noise])
        noise /= noise.std()
    top = 2 ** bits - 1
    return np.round(np.clip(clean + noise * sigma / 255, 0, 1) * top).astype(
        np.uint8 if bits == 8 else np.uint16)


def _both(frames: np.ndarray, pair: bool = True, published: bool = False,
          palette: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(7,)`` σ of each channel, the luma's shear, the chroma radius and the luma's window
    share, of the reference and of the host path on the first frame (and the next)."""
    floats = frames[:2 if pair else 1] * np.float32(1 / np.iinfo(frames.dtype).max)
    motion = None
    if published:  # the flow deboil or deflicker publishes: from the next frame to this one
        lumas = [cv2.cvtColor(np.round(f * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
                 for f in (floats[1], floats[0])]
        motion = motion_luma_flow(*lumas)
    tensors = [torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1))) for f in floats]
    sigmas, shear, radius, share = noise.estimate_channel_noise(
        *tensors, palette=palette,
        motion=None if motion is None else torch.from_numpy(motion).permute(2, 0, 1))
    host, host_shear, host_radius, host_share = _noise_cpu.estimate_channel_noise(
        *floats, palette=palette, motion=motion)
    return (np.r_[sigmas, shear.numpy(), radius, share],
            np.r_[host, host_shear, host_radius, host_share])


@pytest.mark.parametrize("sigma, bits, blur", [(3, 8, 0.0), (12, 8, 0.0), (30, 8, 0.0),
                                               (12, 8, 1.0), (8, 16, 0.0)])
@pytest.mark.parametrize("pair, published", [(True, False), (True, True), (False, False)])
def test_host_noise_levels_match_the_reference(clean, sigma, bits, blur, pair, published):
    """White and blurred noise, 8- and 16-bit, in space only or also in time (along DIS or
    a published flow): the same σ to the tolerances, and near the truth."""
    frames = _integers(clean, sigma, bits, blur)
    reference, host = _both(frames, pair, published)
    assert _agree(host, reference), (reference, host)
    if pair and not blur:
        noise_added = frames[0] / (2 ** bits - 1) - clean[0]
        truth = np.einsum("oc,hwc->o", np.array(noise.OPPONENT) ** 2,
                          noise_added ** 2) / noise_added[..., 0].size
        assert host[:3] == pytest.approx(np.sqrt(truth) * 255, rel=0.25)


@pytest.mark.parametrize("dither", ["ordered", "error-diffusion"])
@pytest.mark.parametrize("palette", [None, True])
def test_host_noise_levels_of_palette_frames_match_the_reference(clean, dither, palette):
    """GIF-like frames: measured with their dither removed (OpenCV's separable filter against
    torch's convolutions) as the reference does."""
    frames = palette_frames(_integers(clean, 2), dither)
    reference, host = _both(frames, palette=palette)
    assert _agree(host, reference), (reference, host)
    assert reference[0] == reference[1] == reference[2]


def test_denoise_on_the_cpu_gives_the_video_of_the_reference_levels(clean, monkeypatch):
    """The filter on 8-bit frames with the host estimate and the reference's (its levels
    turned into the same float32 variances and declip table): the same pixels, to the bit (a
    level measured differently moves nearly every value: 2 % more, up to 18 levels). The
    filter once differed from itself, one value by one level in 3 of 200 runs beside two busy
    processes, as the allocator's placement of arrays sent a kernel loop to its scalar copy
    (:mod:`framemend.kernels.fastmath`; test_denoise_determinism)."""
    frames = _integers(np.concatenate([clean, clean[::-1]]), 10)
    host = denoise(frames, device="cpu")

    def reference(*pixels, palette, motion):
        tensors = [torch.from_numpy(np.ascontiguousarray(p.transpose(2, 0, 1)))
                   for p in pixels]
        sigmas, shear, radius, share = noise.estimate_channel_noise(
            *tensors, palette=palette,
            motion=None if motion is None else torch.from_numpy(motion).permute(2, 0, 1))
        return sigmas, shear.numpy(), radius, share

    monkeypatch.setattr(denoise_filter._noise_cpu, "estimate_channel_noise", reference)
    monkeypatch.setattr(denoise_filter._noise_cpu, "declip_table",
                        lambda sigma: noise.declip_table(sigma).numpy())
    difference = np.abs(host.astype(int) - denoise(frames, device="cpu"))
    assert difference.max() == 0
    assert np.abs(host.astype(int) - frames).mean() > 2  # it denoised
