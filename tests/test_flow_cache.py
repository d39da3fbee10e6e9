"""Flow reuse: two geometry-preserving filters of one chain estimate each flow once."""
import numpy as np
import pytest
import torch

import framemend.flow.cache as cache
from framemend.chain import Frame, TemporalFilter
from framemend.flow import backward_warp, cached_flow, estimate_flow
from framemend.generate import scene


class MotionCompensatedMean(TemporalFilter):
    """Test filter: mean of the frame and its next neighbour warped back onto it."""

    name = "test-mc-mean"
    preserves_geometry = True

    def __init__(self):
        super().__init__(None)
        self.past, self.future = 0, 1

    def process(self, window, center):
        if center + 1 >= len(window):
            return window[center].image
        flow = cached_flow(window, center, center + 1)
        warped = backward_warp(window[center + 1].image[None], flow[None])[0]
        return 0.5 * (window[center].image + warped)


def run_chain(filters, frames):
    stream = [Frame(frames[t], t / 24.0) for t in range(frames.shape[0])]
    for flt in filters:
        out = []
        for frame in stream:
            out += flt.push(frame)
        stream = out + flt.flush()
    return stream


@pytest.fixture
def counted(monkeypatch):
    calls = []

    def counting(src, dst, **kw):
        calls.append(src.shape[0])
        return estimate_flow(src, dst, **kw)

    monkeypatch.setattr(cache, "estimate_flow", counting)
    return calls


def frames():
    c = scene("handheld", 96, 64, frames=6, seed=2)
    return torch.from_numpy(np.ascontiguousarray(c.frames)).permute(0, 3, 1, 2).contiguous()


def test_second_filter_reuses_flow(counted):
    x = frames()
    out = run_chain([MotionCompensatedMean(), MotionCompensatedMean()], x)
    assert len(out) == x.shape[0]
    assert sum(counted) == x.shape[0] - 1  # one estimate per pair, not two


def test_cached_flow_is_the_flow_of_the_original_frames(counted):
    x = frames()
    out = run_chain([MotionCompensatedMean()], x)
    key = ("flow", 1, "dis", "medium", 1.0)
    cached_time, flow = out[2].aux[key]
    assert cached_time == out[3].time
    assert torch.equal(flow, estimate_flow(x[2:3], x[3:4])[0])


def test_stale_entry_recomputed(counted):
    """An entry made for another target frame (a different time) is not reused."""
    x = frames()
    window = [Frame(x[0], 0.0), Frame(x[1], 1 / 24)]
    cached_flow(window, 0, 1)
    window[1] = Frame(x[2], 2 / 24)
    flow = cached_flow(window, 0, 1)
    assert counted == [1, 1]
    assert (flow - estimate_flow(x[0:1], x[2:3])[0]).abs().max() < 1e-6


def test_default_chain_flow_count(monkeypatch):
    """In ``deboil,deflicker,denoise`` deboil estimates the full-size flow from each frame to
    the previous one once (auto strength included), and denoise its own from each frame to its
    previous estimate, plus its warm-up's (from each of the first ``lookahead`` frames to the
    next one) and one for its noise estimate (the shot's first frame to its second). Denoise does not follow deboil's flow: measured at the stop of 2026-12-05,
    sharing it saved 4 % of the chain's CPU time but cost denoise 0.1-0.25 dB (deboil's flow is
    between two noisy frames) and kept a flow per frame in deflicker's window (+0.7 GB peak at
    1920x1080). Deflicker's flow is a different one, on its analysis images: counted apart."""
    import framemend
    from framemend.flow import estimate
    from framemend.presets import DEFAULT_PRESET, PRESETS

    frames_count, h, w = 8, 96, 320  # deflicker analyses at half size
    clip = scene("pan", w, h, frames=frames_count, seed=4).frames
    noisy = np.clip(clip + np.random.default_rng(4).normal(0, 6 / 255, clip.shape), 0, 1)
    calls = {}
    dis_luma_flow = estimate.dis_luma_flow

    def counted(src, dst, *args, **kwargs):
        calls[src.shape] = calls.get(src.shape, 0) + 1
        return dis_luma_flow(src, dst, *args, **kwargs)

    monkeypatch.setattr(estimate, "dis_luma_flow", counted)
    framemend.clean(noisy.astype(np.float32), PRESETS[DEFAULT_PRESET], device="cpu")
    lookahead = 2  # denoise's default
    assert calls.pop((h, w)) == 2 * (frames_count - 1) + lookahead + 1
    assert list(calls.values()) == [2 * (frames_count - 1)]  # deflicker, both directions
