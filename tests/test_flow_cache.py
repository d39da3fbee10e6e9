"""Flow reuse: two geometry-preserving filters of one chain estimate each flow once."""
import cv2
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
    """In ``deboil,deflicker,denoise`` each frame pair's flow is estimated once: deboil's, from
    each frame to the previous one (auto strength included), published for the later passes
    (framemend.flow.motion). Deflicker's analysis steps and denoise's recursion, warm-up and
    noise measure follow it; alone, each estimates its own (counted below)."""
    import framemend
    from framemend.flow import estimate
    from framemend.presets import DEFAULT_PRESET, PRESETS

    frames_count, h, w = 8, 96, 320  # deflicker analyses at half size
    clip = scene("pan", w, h, frames=frames_count, seed=4).frames
    noisy = np.clip(clip + np.random.default_rng(4).normal(0, 6 / 255, clip.shape), 0, 1)
    dis_luma_flow = estimate.dis_luma_flow

    def count(chain: str) -> dict:
        calls = {}

        def counted(src, dst, *args, **kwargs):
            calls[src.shape] = calls.get(src.shape, 0) + 1
            return dis_luma_flow(src, dst, *args, **kwargs)

        monkeypatch.setattr(estimate, "dis_luma_flow", counted)
        framemend.clean(noisy.astype(np.float32), chain, device="cpu")
        return calls

    assert count(PRESETS[DEFAULT_PRESET]) == {(h, w): frames_count - 1}
    assert count("deboil,deboil,denoise") == {(h, w): frames_count - 1}
    lookahead = 2  # denoise's default: its warm-up, and one pair for its noise measure
    assert count("denoise") == {(h, w): frames_count - 1 + lookahead + 1}
    assert count("deflicker") == {(h // 2, w // 2): 2 * (frames_count - 1)}  # both directions


def test_published_motion_is_deboils_flow():
    """What denoise and deflicker read is the flow deboil followed, within 0.1 px, at any size,
    and its inverse maps each pixel back to where it came from."""
    from framemend.flow import motion
    from framemend.flow.estimate import motion_luma_flow
    from framemend.kernels.colour import luma_u8_hwc

    def published(kind: str) -> tuple[Frame, np.ndarray]:
        clip = scene(kind, w, h, frames=2, seed=3).frames
        luma = [luma_u8_hwc(np.ascontiguousarray(f, np.float32)) for f in clip]
        flow = motion_luma_flow(luma[1], luma[0])
        frame = Frame(torch.from_numpy(clip[1]).permute(2, 0, 1), 1 / 24)
        motion.publish(frame, 0.0, flow)
        return frame, flow

    h, w = 120, 200
    frame, flow = published("handheld")
    assert np.abs(motion.to_previous(frame, 0.0) - flow).mean() < 0.05
    frame, flow = published("zoom")
    read = motion.to_previous(frame, 0.0)
    assert np.abs(read - flow)[8:-8, 8:-8].mean() < 0.15
    assert motion.to_previous(frame, 2 / 24) is None  # another pair's
    half = motion.to_previous(frame, 0.0, (h // 2, w // 2))
    assert abs(half.mean() - flow.mean() / 2) < 0.05
    there = motion.from_previous(frame, 0.0)
    ys, xs = np.mgrid[:h, :w].astype(np.float32)

    def round_trip(there: np.ndarray) -> np.ndarray:
        """How far from p the previous frame's p comes back, along ``there`` then ``read``."""
        tx, ty = xs + there[..., 0], ys + there[..., 1]
        inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
        back = cv2.remap(read, tx, ty, cv2.INTER_LINEAR)
        return np.abs(there + back).sum(-1)[inside]

    # a zoom: the negated flow is not the inverse (its round trip misses by 0.86 px typically)
    assert np.median(round_trip(there)) < 0.2
    assert np.median(round_trip(-read)) > 0.5
