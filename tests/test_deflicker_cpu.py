"""deflicker's CPU path (:mod:`framemend.deflicker._host`: numpy, OpenCV and numba, no torch)
against the torch reference (the device path), step by step and whole, on a generated clip
with local flicker as decoded 8/16-bit pixels.

Tolerances: steps that read the same float32 values the same way are compared exactly; sums in
another order (OpenCV's area average, numpy's pairwise sums) to 1e-5 of values in [0, 1]; a
gain field within 1e-4 moves a pixel by under 0.03 of an 8-bit level, so outputs quantised the
writer's way may differ by one level where a value sits on a rounding tie, nowhere more.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from framemend.chain import Frame
from framemend.deflicker import _host, correction, motion
from framemend.deflicker.filter import Deflicker, _reference
from framemend.generate import artifacts, scene
from framemend.video.writer import rgb_array

W, H, T = 256, 144, 12

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """``(T, H, W, 3)`` uint8: a moving subject under local flicker."""
    frames = artifacts.local_flicker(scene("subject", W, H, frames=T, seed=0).frames, seed=1)
    return np.round(frames * 255).astype(np.uint8)


def _raw(pixels: np.ndarray, bits: int) -> Frame:
    """A decoded frame of 8-bit ``pixels`` at 8 or 16 bits (16: low bits filled in)."""
    if bits == 8:
        return Frame(raw=pixels, raw_scale=255.0)
    rng = np.random.default_rng(0)
    deep = pixels.astype(np.uint16) * 257 + rng.integers(0, 200, pixels.shape, np.uint16)
    return Frame(raw=deep, raw_scale=65535.0)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("factor", [1, 2, 4])
def test_analysis_matches_the_reference(clip, bits, factor):
    """Downscale (banded from raw pixels), flicker-invariant grey and summed-area table."""
    frame = _raw(clip[0], bits)
    small, table = _host.analysis(frame, factor)
    reference = motion.analysis_image(motion.downscale(frame.float_image(), factor), 1)
    torch.testing.assert_close(torch.from_numpy(small), reference, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.from_numpy(table), motion.summed_area(reference),
                               atol=1e-5, rtol=1e-6)
    # the same input: the same float64 running sums rounded to float32, bit for bit
    assert np.array_equal(_host.summed_area(reference[:3].numpy()),
                          motion.summed_area(reference[:3]).numpy())


@pytest.mark.parametrize("cell", [4, 7])
def test_cell_means_match_the_reference(clip, cell):
    """Partial edge cells (7 divides neither 72 nor 128) average over their own pixels."""
    image = torch.from_numpy(clip[0]).permute(2, 0, 1).float() / 255
    reference = motion.cell_means(image[None], torch.ones_like(image[None, :1]), cell)[0][0]
    torch.testing.assert_close(torch.from_numpy(_host.cell_means(image.numpy(), cell)),
                               reference, atol=1e-6, rtol=0)


def test_adjacent_steps_match_the_reference(clip):
    """DIS on the 8-bit greys and the per-pixel check, against the torch flow call and
    check."""
    a, b = (_host.analysis(Frame(raw=f), 2)[0] for f in clip[3:5])
    for host, ref in zip(_host.adjacent_steps(a, b, 6),
                         motion.adjacent_steps(torch.from_numpy(a), torch.from_numpy(b), 6)):
        torch.testing.assert_close(torch.from_numpy(host.flow), ref.flow, atol=1e-5, rtol=0)
        torch.testing.assert_close(torch.from_numpy(host.cover), ref.cover, atol=1e-5, rtol=0)
        assert 0.3 < ref.cover.mean() < 1  # some cells unreliable (the subject), most not


@pytest.mark.parametrize("mode", ["global", "local", "auto", "offset"])
def test_window_fields_match_the_reference(mode):
    """Temporal offset (median, step test, line fits, pooled slope, blur) and the gain and
    offset fields (offset and local modes' structure weights included), with a light switching on in
    part of the grid and one side cut short."""
    g = torch.Generator().manual_seed(0)
    current = 0.05 + 0.9 * torch.rand(3, 9, 16, generator=g)
    # the centre frame 0.05 darker than its neighbours, around which they flicker
    diffs = [0.05 + 0.03 * torch.randn(k, 3, 9, 16, generator=g) for k in (8, 3)]
    diffs[0][4:, :, :4] += 0.3
    covers = [torch.rand(k, 1, 9, 16, generator=g) for k in (8, 3)]
    reaches, options = [(1, 8), (-1, 3)], Deflicker.Options(mode=mode)
    # offset and local modes weight the samples by their structure mismatch
    scaled = (correction.structure_scaled(torch.rand(11, 1, 9, 16, generator=g))
              if mode in ("offset", "local") else None)
    ref = _reference.window_fields(diffs, covers, reaches, current, options, scaled)
    host = _host.window_fields([d.numpy() for d in diffs], [c.numpy() for c in covers],
                               reaches, current.numpy(), options,
                               None if scaled is None else scaled.numpy())
    for h, r in zip(host, ref):
        torch.testing.assert_close(torch.from_numpy(h), r, atol=1e-4, rtol=0)
    assert (ref[0] * current + ref[1] - current).mean() > 0.03  # a correction to match


@pytest.mark.parametrize("n", [1, 2, 5, 12, 23, 24])
def test_window_samples_are_numpys_steps(n):
    """The samples and weight exponents of the fused kernel equal numpy's element-wise steps
    with ``np.partition``'s lower median bit for bit: ties (covers at exactly 0.05, samples
    rounded to few values), NaNs (sorted last by numpy) and windows from 1 to 24 frames."""
    from framemend.deflicker import _cpu
    from framemend.kernels.median import lower_median

    rng = np.random.default_rng(n)
    diffs = rng.normal(0.0, 0.1, (n, 3, 7, 40)).astype(np.float32)
    diffs[:, :, :2] = np.round(diffs[:, :, :2] * 20) / 20  # ties
    diffs[rng.random(diffs.shape) < 0.1] = np.nan
    diffs[: n // 2 + 1, :, 2] = np.nan  # medians at and among the NaNs
    covers = rng.random((n, 1, 7, 40)).astype(np.float32)
    covers[rng.random(covers.shape) < 0.2] = np.float32(0.05)
    current = rng.random((3, 7, 40)).astype(np.float32)
    stacked = np.zeros((n + 2, 3, 7, 40), np.float32)
    np.multiply(diffs, covers > 0.05, out=stacked[2:])
    exponents = (stacked[1:] - lower_median(stacked, 0)) / (current + np.float32(0.05))
    exponents /= np.float32(0.25)
    exponents = exponents * exponents * np.float32(-0.5)
    samples, fused = _cpu.window_samples(diffs, covers, current, 0.25)
    np.testing.assert_array_equal(samples, stacked[1:])
    np.testing.assert_array_equal(fused, exponents)
    assert n < 3 or np.isnan(fused).all(0).any()  # a median among the NaNs was checked


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("strength", [1.0, 0.6])
def test_applied_fields_are_the_reference_quantised_by_the_writer(clip, bits, strength):
    frame = _raw(clip[0], bits)
    g = torch.Generator().manual_seed(0)
    gain = 0.7 + 0.6 * torch.rand(3, 9, 16, generator=g)
    offset = 0.1 * torch.rand(3, 9, 16, generator=g) - 0.05
    out = _host.apply_fields(frame, gain.numpy(), offset.numpy(), strength)
    reference = rgb_array(correction.apply_fields(frame.float_image(), gain, offset, strength),
                          frame.raw_scale)
    assert out.dtype == frame.raw.dtype and out.shape == frame.raw.shape
    diff = np.abs(out.astype(np.int64) - reference)
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 1e-3 * diff.size
    assert (reference == 0).any() and (reference == frame.raw_scale).any()  # clamped both ends


@pytest.mark.parametrize("mode", ["auto", "local", "offset"])
def test_the_cpu_path_gives_the_reference_output(clip, mode, monkeypatch):
    """The whole filter on decoded frames: the CPU path's integer output against the torch
    steps (on the CPU) quantised as the writer does. The torch box sums (``grid_sample``) and
    line fits differ from the numba loops by up to 1e-4 (tests in test_deflicker.py), which
    moves a few pixels of the frames at the shot's ends, whose window is one-sided, by up to
    two levels before rounding (six in local mode, whose structure weights read the box sums of
    the flicker-invariant grey too: 162 of the clip's 1.3 million values differ by 3 levels or
    more, all in its last two frames, 6 by 6); nearly all pixels come out the same."""
    from framemend.deflicker import filter as deflicker_filter

    outputs = []
    for host in (True, False):
        # the torch steps on CPU tensors, with DIS flow as on the CPU path
        monkeypatch.setattr(deflicker_filter, "host_kernels", lambda device, host=host: host)
        flt = Deflicker(Deflicker.Options(mode=mode, radius=4))
        frames = [Frame(raw=f.copy(), time=t / 24) for t, f in enumerate(clip)]
        outputs.append([o for f in frames for o in flt.push(f)] + flt.flush())
    host = np.stack([o.raw for o in outputs[0]]).astype(np.int64)
    reference = np.stack([rgb_array(o.image, 255.0) for o in outputs[1]])
    diff = np.abs(host - reference)
    assert diff.max() <= (6 if mode == "local" else 2)
    assert np.count_nonzero(diff) <= 0.02 * diff.size
    assert diff.mean() < 0.02
    assert np.abs(reference.astype(np.int64) - clip).mean() > 1.0  # flicker was removed


@pytest.mark.parametrize("mode", ["auto", "offset"])
def test_the_analysis_starts_as_frames_enter_the_window(clip, mode, monkeypatch):
    """Each frame's analysis image and the steps from the frame before it start as it enters
    the window, and a frame's fields as the frame ``radius`` after it enters, so the workers run
    while the earlier passes fill it (issue 18): before the first output all of them are under
    way, and the output is exactly that of starting them with the first output frame (a cut in
    the clip: no pair crosses it, and no frame's fields read a frame of the other shot)."""
    from framemend.chain import TemporalFilter

    outputs, started = [], []
    for early in (True, False):
        if not early:
            monkeypatch.setattr(Deflicker, "entered", TemporalFilter.entered)
        # the first output after 7 frames (10 in offset mode)
        flt = Deflicker(Deflicker.Options(mode=mode, radius=4))
        frames = [Frame(raw=f.copy(), time=t / 24, cut=t == 8) for t, f in enumerate(clip)]
        got = [o for f in frames[:6] for o in flt.push(f)]
        started.append((len(got), len(flt._small), len(flt._pairs), len(flt._fields)))
        got += [o for f in frames[6:] for o in flt.push(f)] + flt.flush()
        outputs.append(np.stack([o.raw for o in got]))
    assert started == [(0, 6, 5, 2), (0, 0, 0, 0)]
    assert outputs[0].shape == clip.shape and np.array_equal(outputs[0], outputs[1])
    assert np.abs(outputs[0].astype(np.int64) - clip).mean() > 1.0  # flicker was removed
