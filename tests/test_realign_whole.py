"""realign's whole-frame colour map and its textured cells, on rendered data with ground truth
(:mod:`framemend.realign.whole`, :func:`framemend.realign.evidence.textured_cells`)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from framemend.generate.artifacts import gaussian_noise
from framemend.generate.drift import drifting_scene
from framemend.metrics import psnr
from framemend.realign import realign
from framemend.realign.evidence import textured_cells
from framemend.realign.whole import fit_whole_map


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _image(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, np.float32)).permute(2, 0, 1)[None]


def _noisy(x: torch.Tensor, seed: int) -> torch.Tensor:
    return x + torch.randn(x.shape, generator=torch.Generator().manual_seed(seed)) * 3 / 255


def _gains(coeffs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    c = coeffs.reshape(-1).numpy()
    return c[[0, 4, 8]], c[9:]


def test_whole_map_recovers_a_cast_and_ignores_a_subject_of_its_own():
    """A per-channel gain and offset between a photograph and its noisy, one-pixel-shifted
    copy is recovered; a patch with a cast of its own (a subject) does not pull it."""
    photo = _image(data.astronaut()[::2, ::2] / 255.0)  # (1, 3, 256, 256)
    gain, offset = torch.tensor([0.85, 1.0, 1.15]), torch.tensor([0.03, 0.0, -0.02])
    reference = torch.roll(photo, 1, -1) * gain[:, None, None] + offset[:, None, None]
    reference[..., 64:128, 64:128] = 1.0 - reference[..., 64:128, 64:128]  # its own colours
    weight = torch.ones_like(photo[:, :1])
    g, b = _gains(fit_whole_map(_noisy(photo, 1), _noisy(reference, 2), weight))
    assert np.abs(g - gain.numpy()).max() < 0.02  # measured 0.010
    assert np.abs(b - offset.numpy()).max() < 0.01  # measured 0.005


def test_a_misaligned_ramp_is_not_read_as_a_change_of_colour():
    """A smooth ramp (a sky) shifted by two pixels changes each cell's mean as a cast would;
    its cells carry no texture, so no map is fitted; a textured image keeps its cells."""
    ys = np.linspace(0.2, 0.8, 120)[:, None, None] * np.ones((1, 160, 3))
    ramp = _image(ys * np.array([0.8, 0.9, 1.0]))
    weight = torch.ones_like(ramp[:, :1])
    g, b = _gains(fit_whole_map(_noisy(ramp, 3), _noisy(torch.roll(ramp, 2, -2), 4), weight))
    assert np.allclose(g, 1.0) and np.allclose(b, 0.0)
    cells = (8, 10)
    assert float(textured_cells(_noisy(ramp, 3), cells).max()) < 0.5
    photo = _image(data.chelsea()[:240:2, :320:2] / 255.0)
    textured = float((textured_cells(_noisy(photo, 5), cells) > 0.5).float().mean())
    assert textured > 0.4  # measured 0.61


def _gain(image: str, subject: str, motion: str, seed: int, where: str) -> float:
    clip, _ = drifting_scene(image, subject, motion, where=where, width=160, height=90,
                             seconds=4.0, fps=12, seed=seed)
    frames = gaussian_noise(clip.frames, 3 / 255, seed=seed)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    out = realign(x, fps=clip.fps).permute(0, 2, 3, 1).numpy()
    return psnr(out, clip.truth) - psnr(frames, clip.truth)


@pytest.mark.parametrize("image, subject, motion, seeds, bar", [
    # stars on a dark sky: 3.28, was 1.23
    ("hubble_deep_field", "colorwheel", "tilt", (308,), 2.5),
    # a pan over large flat areas, the median of six renderings: 6.21 (304-309: 5.56 / 6.76 /
    # 4.31 / 6.02 / 6.40 / 6.49 on OpenCV 5.1.0.95), 4.71 with the whole-frame map left out.
    # One rendering alone is no bar here: 306 reads 4.31 on OpenCV 5.1 and 5.57 on 5.0 (6.61
    # when this test was written), its warp differing by 1e-5 and its RANSAC fit by 5e-7
    ("camera", "rocket", "pan", (304, 305, 306, 307, 308, 309), 5.5),
])
def test_a_whole_frame_cast_is_corrected_on_content_that_enters(image, subject, motion, seeds,
                                                                  bar):
    """The whole frame's gain and offset, measured where the keyframe is seen, reach the
    content that enters as the camera moves (and sparse bright colours); measured before the
    whole-frame map (commit 95b6013's realign): see the parameters. Seeds apart from the
    benchmark's (0-9 tuning, 100-119 held back)."""
    assert np.median([_gain(image, subject, motion, seed, "frame") for seed in seeds]) >= bar


def test_a_tilt_over_a_sky_gradient_without_a_cast_is_left_alone():
    """The flow falls short on a sky's smooth gradient; the colour steps measured there read as
    a drift. Measured on textured cells only, they do not: -0.23 dB (was -5.0 dB)."""
    assert _gain("rocket", "coffee", "tilt", 304, "none") >= -0.5
