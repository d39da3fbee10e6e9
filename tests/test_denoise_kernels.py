"""The fused CPU kernels of ``denoise`` agree with the torch reference, and the noise model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from framemend.denoise import _cpu, _noise_cpu, track
from framemend.denoise.noise import clipped_mean, declip_reference, declip_table
from framemend.denoise.recursive import recursive_step_reference
from framemend.denoise.track import TorchTrack
from framemend.flow import outside_mask
from framemend.generate import artifacts, scene
from framemend.generate.families import chroma_noise


def _pair(seed=0):
    clip = scene("rotate", 96, 64, frames=2, seed=seed)
    clean = torch.from_numpy(clip.frames).permute(0, 3, 1, 2).contiguous()
    noisy = torch.from_numpy(artifacts.gaussian_noise(clip.frames, 0.08, seed=seed))
    noisy = noisy.permute(0, 3, 1, 2).contiguous()
    flow = torch.from_numpy(clip.flow_fwd[0]).contiguous()  # frame 0 -> frame 1
    return clean, noisy, flow


def _psnr(a, b):
    return float(10 * torch.log10(1.0 / (a - b).pow(2).mean()))


def _cpu_variance(cpu_track: _cpu.CpuTrack) -> torch.Tensor:
    return torch.from_numpy(cpu_track.state[..., 3].copy())[None]


# noise variance of each opponent channel (luma, red-blue, green-magenta): unequal, so that a
# kernel that mixes up the channels shows
_VARIANCES = torch.tensor([0.08, 0.12, 0.05]) ** 2
_HOST_VARIANCES = _VARIANCES.numpy()  # the CPU track's: a float32 array
# the spatial stage's: the same channels' (the luma's a share of it), then the luma's coarse band
_WINDOW_VARIANCES = torch.tensor([0.05, 0.12, 0.05, 0.06]) ** 2


def test_recursive_step_matches_reference(monkeypatch):
    """One step of the CPU track (remap of the opponent state, fused update) against the torch
    reference, both along the true flow."""
    clean, noisy, flow = _pair()
    monkeypatch.setattr(_cpu, "motion_luma_flow", lambda *args: flow.permute(1, 2, 0).numpy())
    monkeypatch.setattr(track, "motion_flow", lambda *args: flow)
    variance = torch.rand(1, *clean.shape[-2:]) * 0.5
    reference = TorchTrack(clean[1], variance).step(noisy[0], _VARIANCES, 8)
    cpu = _cpu.CpuTrack.start(clean[1])
    cpu.state[..., 3] = variance[0].numpy()
    cpu = cpu.step(noisy[0], _HOST_VARIANCES, 8)
    assert _psnr(cpu.output(0.0, _HOST_VARIANCES, None), reference.estimate.clamp(0, 1)) > 50
    fresh = reference.variance > 0.99  # pixels whose source left the frame restart in both
    assert torch.equal(fresh, _cpu_variance(cpu) > 0.99)
    assert torch.allclose(_cpu_variance(cpu)[~fresh], reference.variance[~fresh], atol=2e-3)
    # a pixel with no usable history takes the new frame (gain FRESH / (FRESH + 1) ~ 1), not a
    # blend with a prediction from outside the frame
    out, frame = cpu.output(0.0, _HOST_VARIANCES, None), noisy[0].clamp(0, 1)
    gone = outside_mask(flow[None])[0, 0]  # where the flow's source lies outside the frame
    assert gone.sum() > 20
    assert (out - frame).abs()[:, gone].max() < 2e-3
    assert (reference.estimate.clamp(0, 1) - frame).abs()[:, gone].max() < 2e-3


def test_recursive_step_averages_along_true_motion():
    clean, noisy, flow = _pair()
    est, var = recursive_step_reference(noisy[1], torch.ones(1, *clean.shape[-2:]), noisy[0],
                                        flow, torch.full((3,), 0.08 ** 2), 8)
    inside = var[0] < 0.9
    err_in = (noisy[0] - clean[0]).pow(2).mean(0)[inside].mean()
    err_out = (est - clean[0]).pow(2).mean(0)[inside].mean()
    assert err_out < 0.7 * err_in  # two frames averaged: about half the noise variance


@pytest.mark.parametrize("chroma_radius", [2, 4])
def test_spatial_stage_matches_reference(chroma_radius):
    """Within 70 dB (measured 94-95; leaving out the luma's coarse band on either side gives
    51-53)."""
    _, noisy, _ = _pair(1)
    cpu, reference = _cpu.CpuTrack.start(noisy[0]), TorchTrack.start(noisy[0])
    host = _WINDOW_VARIANCES.numpy()
    assert _psnr(cpu.output(1.0, host, None, chroma_radius=chroma_radius),
                 reference.output(1.0, _WINDOW_VARIANCES, None,
                                  chroma_radius=chroma_radius)) > 70
    assert _psnr(cpu.output(1.0, host, _noise_cpu.declip_table(0.08),
                            chroma_radius=chroma_radius),
                 reference.output(1.0, _WINDOW_VARIANCES, declip_table(0.08),
                                  chroma_radius=chroma_radius)) > 70


@pytest.mark.parametrize("sigma", [5 / 255, 20 / 255, 30 / 255])
def test_declip_inverts_the_clipped_mean(sigma):
    truth = torch.linspace(0, 1, 101, dtype=torch.float64)
    averaged = clipped_mean(truth, sigma).float()
    table = declip_table(sigma)
    assert torch.allclose(declip_reference(averaged, table), truth.float(), atol=2e-3)
    host_table = _noise_cpu.declip_table(sigma)
    assert np.array_equal(host_table, table.numpy())  # the CPU path's, made without torch
    cpu = _cpu.CpuTrack.start(averaged.expand(3, 1, -1).contiguous()).output(
        0.0, np.zeros(3, np.float32), host_table)
    assert torch.allclose(cpu, truth.float().expand(3, 1, -1), atol=2e-3)


def test_clipped_noise_mean_matches_simulation():
    rng = np.random.default_rng(0)
    truth = np.array([0.0, 0.03, 0.5, 0.99])
    samples = np.clip(truth + rng.normal(0, 0.1, (200000, 4)), 0, 1).mean(0)
    model = clipped_mean(torch.from_numpy(truth), 0.1).numpy()
    assert np.allclose(samples, model, atol=2e-3)
    assert np.allclose(_noise_cpu.clipped_mean(truth, 0.1), model, rtol=0, atol=1e-12)


def _noisy_clip(frames=6):
    clip = scene("zoom", 160, 96, frames=frames, seed=0)
    noisy = artifacts.gaussian_noise(clip.frames, 20 / 255, seed=1)
    return torch.from_numpy(noisy).permute(0, 3, 1, 2).contiguous()


def _tensor(array):
    return None if array is None else torch.from_numpy(array)


class _TorchTrackOfArrays(TorchTrack):
    """:class:`TorchTrack` taking the CPU path's float32 arrays (variances, declip table,
    shear)."""

    @classmethod
    def start(cls, frame, shear=None):  # its state is RGB, in no basis
        return super().start(frame)

    def step(self, frame, noise_var, memory, flow=None, shear=None, share=None):
        track = super().step(frame, torch.from_numpy(noise_var), memory, flow, _tensor(shear),
                             share)
        return _TorchTrackOfArrays(track.estimate, track.variance, track.shift, track.lag)

    def output(self, spatial, noise_var, table, levels=None, shear=None, chroma_radius=2,
               halves=False):
        return super().output(spatial, torch.from_numpy(noise_var), _tensor(table), levels,
                              _tensor(shear), chroma_radius, halves)


def test_a_steps_bands_made_on_two_threads_give_the_bits_of_one_band(monkeypatch):
    """The filter's thread makes bands of each step's update while it waits for the step
    (:class:`framemend.kernels.pools.RowShare`): the video is the same bits as with each
    update in one band, however many bands."""
    from framemend.denoise import denoise
    noisy = (_noisy_clip(8) * 255).round().clamp(0, 255).to(torch.uint8)
    pixels = noisy.permute(0, 2, 3, 1).contiguous().numpy()  # decoded pixels: the CPU kernels
    monkeypatch.setattr(_cpu, "_STEP_BANDS", 1)
    whole = denoise(pixels)
    for bands in (2, 4, 7):
        monkeypatch.setattr(_cpu, "_STEP_BANDS", bands)
        assert np.array_equal(denoise(pixels), whole), bands


@pytest.mark.parametrize("noise", ["white", "chroma"])
def test_whole_filter_on_the_torch_reference_matches_the_cpu_path(monkeypatch, noise):
    """The torch functions (what CUDA runs) and the fused CPU kernels give the same video, on
    white noise (σ given) and on colour noise (measured: a sheared basis)."""
    from framemend.denoise import denoise, filter as denoise_filter
    if noise == "white":
        noisy, options = _noisy_clip(), {"sigma": 20}
    else:
        clip = scene("zoom", 160, 96, frames=6, seed=0)
        frames = chroma_noise(clip.frames, np.random.default_rng(3))[0]
        noisy, options = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous(), {}
    fast = denoise(noisy, **options)
    monkeypatch.setattr(denoise_filter, "start_track", _TorchTrackOfArrays.start)
    reference = denoise(noisy, **options)
    assert _psnr(fast, reference) > 40


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    from framemend.denoise import denoise
    noisy = _noisy_clip()
    assert _psnr(denoise(noisy.cuda(), sigma=20).cpu(), denoise(noisy, sigma=20)) > 35


def test_recursion_ahead_on_a_worker_thread_gives_the_same_video_as_inline(monkeypatch):
    """The recursion running ahead on its own thread changes nothing, cuts included."""
    from concurrent.futures import Future

    from framemend.denoise import denoise, filter as denoise_filter

    class Inline:
        def __init__(self, *args, **kwargs):
            pass

        def submit(self, fn, *args):
            done = Future()
            done.set_result(fn(*args))
            return done

    noisy = _noisy_clip(frames=10)
    pipelined = denoise(noisy, sigma=20, cuts=[5])
    monkeypatch.setattr(denoise_filter, "ThreadPoolExecutor", Inline)
    assert torch.equal(pipelined, denoise(noisy, sigma=20, cuts=[5]))
