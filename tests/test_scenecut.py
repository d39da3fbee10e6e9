"""Scene cuts found automatically, on labelled generated clips and through the API and the CLI
(no ``cuts=`` given by hand)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import framemend
from framemend.chain.apply import apply_filter
from framemend.chain.frames import Frame
from framemend.chain.scenecut import SceneCutDetector
from framemend.cli import main as cli_main
from framemend.generate import scene
from framemend.generate.artifacts import gaussian_noise
from framemend.generate.shots import KINDS, shot_clip
from framemend.video import read_video, write_video


def _cuts(frames: np.ndarray) -> list[int]:
    x = torch.from_numpy(frames).permute(0, 3, 1, 2)
    marked = SceneCutDetector().mark(Frame(x[t], t / 24) for t in range(len(x)))
    return [t for t, f in enumerate(marked) if f.cut]


@pytest.mark.parametrize("kind", KINDS)
def test_cuts_found_and_nothing_else_on_held_back_clips(kind):
    # seeds 2000+ are neither the tuning seeds (0-9) nor the benchmark's held-back ones (1000+)
    for seed in (2000, 2001):
        frames, truth = shot_clip(kind, seed)
        assert _cuts(frames) == truth, (kind, seed)


def test_the_cut_of_the_generated_cut_scene_is_found():
    clip = scene("cut", 160, 90, frames=24, seed=0)
    assert _cuts(clip.frames) == clip.cuts


@pytest.fixture(scope="module")
def jump_clip():
    """A jump cut within one photograph, the hardest kind for a histogram detector."""
    frames, cuts = shot_clip("jump", 2100, width=128, height=72, frames=16)
    return frames, cuts[0]


def test_interpolate_through_the_api_mixes_nothing_across_the_cut(jump_clip):
    frames, cut = jump_clip
    out = framemend.interpolate(frames, factor=2)
    # the in-between of the last frame of the first shot and the cut repeats that frame
    np.testing.assert_allclose(out[2 * cut - 1], frames[cut - 1], atol=1e-6)
    np.testing.assert_allclose(out[2 * cut], frames[cut], atol=1e-6)
    # and a frame in mid-shot is a real in-between (not a repeat)
    assert np.abs(out[2 * cut + 3] - frames[cut + 1]).mean() > 1e-4


def test_interpolate_through_the_cli_mixes_nothing_across_the_cut(jump_clip, tmp_path):
    frames, cut = jump_clip
    src, dst = str(tmp_path / "in.mkv"), str(tmp_path / "out.mkv")
    write_video(src, frames, 24.0, lossless=True)
    assert cli_main(["clean", src, "-o", dst, "-f", "interpolate=2", "--lossless", "-q"]) == 0
    out = read_video(dst)[0].astype(np.float32) / 255
    decoded = read_video(src)[0].astype(np.float32) / 255
    assert np.abs(out[2 * cut - 1] - decoded[cut - 1]).max() <= 1 / 255
    assert np.abs(out[2 * cut] - decoded[cut]).max() <= 1 / 255


@pytest.mark.parametrize("name", ["deflicker", "denoise"])
def test_temporal_filters_reset_at_the_detected_cut(jump_clip, name):
    frames, cut = jump_clip
    frames = frames.copy()
    frames[cut:] *= 0.6  # the second shot darker, which deflicker would otherwise smooth over
    noisy = gaussian_noise(frames, 10 / 255, seed=3)
    x = torch.from_numpy(noisy).permute(0, 3, 1, 2).contiguous()
    api = torch.from_numpy(framemend.apply(name, noisy)).permute(0, 3, 1, 2)
    by_hand = apply_filter(name, x, cuts=[cut])
    without = apply_filter(name, x, cuts=[])  # told there is none: no detection
    # the same output to half an 8-bit level: a cut missed changes denoise's frames after it by
    # up to 0.06, one placed a frame early by 0.45 (deflicker 0.04). 1e-5 failed once in four
    # fresh-clone CI runs at stop 22 and never again in 60+ repetitions (cause not found, see
    # BENCHMARKS.md "make test")
    assert torch.allclose(api, by_hand, atol=2e-3)
    if name == "denoise":  # deflicker keeps a sudden step of brightness with or without a cut
        assert not torch.allclose(api[cut:], without[cut:], atol=1e-3)  # the cut matters here
