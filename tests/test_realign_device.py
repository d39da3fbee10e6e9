"""realign's device twins (framemend.realign.device) against the CPU path's host steps they
replace, on the same inputs: the masks and statistics agree to float rounding, the refit by
IRLS finds the similarity RANSAC finds, and "too little to measure" gives what the host's
None gives."""
import numpy as np
import pytest
import torch
from skimage import data

from framemend.realign import device as twins
from framemend.realign import evidence, filter as host, whole

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _photo(h: int = 96, w: int = 128) -> torch.Tensor:
    """``(1, 3, h, w)`` a textured photograph in [0, 1] (astronaut, area-reduced)."""
    x = torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None].float() / 255
    return torch.nn.functional.interpolate(x, size=(h, w), mode="area")


def _similarity(scale: float, angle: float, tx: float, ty: float) -> np.ndarray:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, tx], [s, c, ty], [0.0, 0.0, 1.0]])


def test_the_keyframe_footprint_and_the_subject_ellipse_match_the_host():
    m = _similarity(1.1, 0.05, -9.0, 4.0)
    device = twins.inside(torch.from_numpy(m), 72, 96)
    assert torch.equal(device, host._inside(m, 72, 96, "cpu"))
    box = np.array([[20.0, 10.0], [61.5, 50.0]])
    assert torch.allclose(twins.ellipse_mask(torch.from_numpy(box), 72, 96),
                          host.ellipse_mask(box, 72, 96), atol=1e-5)


def test_a_rolled_round_subject_keeps_its_box_on_either_path():
    """A round subject 60 pixels wide, rolled by 6 degrees, scaled by 1.2 and moved: its box
    moved by the similarity (:func:`framemend.realign.filter.moved_box`) is the rolled disc's
    bounding box within float rounding, on the host and on the device path (the box's corners
    mapped instead: 5.9 pixels off, the box 10 % narrower one way and wider the other)."""
    m = _similarity(1.2, np.deg2rad(6.0), 12.0, -5.0)
    box = np.array([[20.0, 10.0], [80.0, 70.0]])
    centre = m[:2, :2] @ box.mean(0) + m[:2, 2]
    want = np.array([centre - 36.0, centre + 36.0])  # the disc's radius 30, times 1.2
    assert np.abs(host.moved_box(box, m) - want).max() < 1e-9
    device = host.moved_box(torch.from_numpy(box), torch.from_numpy(m))
    assert np.abs(device.numpy() - want).max() < 1e-9


def test_the_share_of_the_subject_box_in_frame_matches_the_host():
    """Inside, straddling a corner, and outside the frame: the share of the box's area seen."""
    for corners, want in (([[10.0, 5.0], [40.0, 30.0]], 1.0),
                          ([[80.0, -10.0], [110.0, 10.0]], 16 * 10 / (30 * 20)),
                          ([[100.0, 80.0], [120.0, 90.0]], 0.0)):
        box = np.array(corners)
        assert abs(host.box_visible(box, 72, 96) - want) < 1e-9
        assert abs(float(twins.box_visible(torch.from_numpy(box), 72, 96)) - want) < 1e-9


def test_the_change_and_the_colour_step_match_the_host():
    """On a photograph and a copy with a cast (the step +0.03 in red) and noise: the jump
    statistic and the drift's step and deviation as the host's; with no cell covered the
    change is 0 and the step not measured (the host: 0 and None)."""
    frame = _photo()
    g = torch.Generator().manual_seed(0)
    reference = frame - torch.tensor([0.03, 0.0, -0.01])[None, :, None, None] \
        + 0.01 * torch.randn(frame.shape, generator=g)
    weight = (torch.rand(1, 1, 96, 128, generator=g) > 0.2).float()
    assert abs(float(twins.change(frame, reference, weight, host.CELL))
               - host._change(frame, reference, weight)) < 1e-6
    step, sd, measured = twins.colour_step(frame, reference, weight, host.CELL)
    want_step, want_sd = evidence.colour_step(frame, reference, weight, host.CELL)
    assert bool(measured) and abs(float(step[0]) - 0.03) < 0.005
    assert torch.allclose(step, want_step, atol=1e-6) and torch.allclose(sd, want_sd, atol=1e-6)
    none = torch.zeros_like(weight)
    assert float(twins.change(frame, reference, none, host.CELL)) == 0.0
    assert host._change(frame, reference, none) == 0.0
    assert evidence.colour_step(frame, reference, none, host.CELL) is None
    step, sd, measured = twins.colour_step(frame, reference, none, host.CELL)
    assert not bool(measured) and not step.any() and not sd.any()


def test_the_drift_and_its_shrinkage_add_up_as_on_the_host():
    """Steps measured both ways, one way, or not at all (and one a jump): the drift, its bound
    and the shrinkage as the host's (which never sees the jump's step)."""
    g = torch.Generator().manual_seed(1)
    on_host, on_device = evidence.DriftEvidence(), twins.DriftEvidence("cpu")
    no = torch.tensor(False)
    for k in range(6):
        b = (0.01 + 0.002 * torch.rand(3, generator=g), 0.002 * torch.rand(3, generator=g))
        f = (0.01 + 0.002 * torch.rand(3, generator=g), 0.002 * torch.rand(3, generator=g))
        backward, forward = (b if k != 2 else None), (f if k not in (2, 3) else None)
        jump = k == 4
        if not jump:
            on_host.add(evidence.both_ways(backward, forward))
        on_device.add(twins.both_ways(
            (*b, torch.tensor(backward is not None)) if backward else (*b, no),
            (*f, torch.tensor(forward is not None)) if forward else (*f, no)),
            torch.tensor(not jump))
        assert torch.allclose(on_device.drift, on_host.drift, atol=1e-7)
        assert torch.allclose(on_device.error, on_host.error, atol=1e-7)
        assert abs(float(on_device.shrinkage()) - on_host.shrinkage()) < 1e-6
    assert 0 < on_host.shrinkage() < 1


def test_the_whole_frame_map_matches_the_host():
    """A gain and offset per channel with a subject of its own colour, and half the frame
    otherwise but trusted too little to count: the same map as the host's (within float
    rounding); with too few cells trusted, the identity on both."""
    frame = _photo()
    gain = torch.tensor([1.1, 0.95, 1.0])[None, :, None, None]
    reference = frame * gain + 0.02
    reference[..., 30:60, 40:80] = 1 - reference[..., 30:60, 40:80]  # a subject of its own
    reference[..., :64] = 0.8 * frame[..., :64]
    weight = torch.ones_like(frame[:, :1])
    weight[..., :64] = 0.4  # under half of each cell: left out
    fitted = twins.fit_whole_map(frame, reference, weight)
    assert torch.allclose(fitted, whole.fit_whole_map(frame, reference, weight), atol=1e-4)
    assert abs(float(fitted[0, 0]) - 1.1) < 0.02
    few = torch.zeros_like(weight)
    few[..., :16, :32] = 1
    assert torch.equal(twins.fit_whole_map(frame, reference, few),
                       whole.fit_whole_map(frame, reference, few))
    assert torch.equal(twins.fit_whole_map(frame, reference, few)[0, :, 0, 0],
                       torch.tensor([1.0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]))


def test_the_refit_finds_the_similarity_ransac_finds():
    """A dense correspondence from a known similarity with a quarter of it elsewhere (a subject
    moving on its own) and 0.2 px noise: the IRLS refit and RANSAC both land within 0.05 px of
    the truth over the frame; with too few trusted pixels, the prediction is kept."""
    h, w = 72, 96
    to_key_sim = _similarity(0.97, -0.03, 5.0, -3.0)  # frame pixel -> keyframe pixel
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64),
                            torch.arange(w, dtype=torch.float64), indexing="ij")
    kx = to_key_sim[0, 0] * xs + to_key_sim[0, 1] * ys + to_key_sim[0, 2]
    ky = to_key_sim[1, 0] * xs + to_key_sim[1, 1] * ys + to_key_sim[1, 2]
    g = torch.Generator().manual_seed(2)
    to_key = torch.stack([kx - xs, ky - ys])[None].float()
    to_key = to_key + 0.2 * torch.randn(to_key.shape, generator=g)
    to_key[..., 10:46, 20:68] += torch.tensor([6.0, -4.0])[None, :, None, None]
    weight = torch.ones(1, 1, h, w)
    predicted = torch.eye(3, dtype=torch.float64)
    key_to_frame = twins.refit(to_key, weight, predicted).numpy()
    ransac = np.linalg.inv(host.fit_similarity(to_key, weight))
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]]).T
    truth = np.linalg.inv(to_key_sim) @ corners
    assert np.abs(key_to_frame @ corners - truth).max() < 0.05
    assert np.abs(ransac @ corners - truth).max() < 0.05
    few = torch.zeros_like(weight)
    few[..., :8, :8] = 1  # 4 samples
    assert host.fit_similarity(to_key, few) is None
    assert torch.equal(twins.refit(to_key, few, predicted), predicted)


def test_the_global_shift_finds_a_pan_over_bricks_where_the_first_peak_is_a_period_off():
    """benchmarks/bench_realign's held-back rendering 101 (a pan of 9.2 px a frame over a brick
    wall, bricks 13.6 px apart, 192x108, 3/255 noise): the phase correlation's highest peak is a
    period away on every frame (:data:`.shift.CANDIDATES` 1: 12-13 px off, as the torch flow),
    its candidates tried on the frames find the motion within 1 px on most (measured: 25 of
    31)."""
    from framemend.generate.artifacts import gaussian_noise
    from framemend.generate.drift import drifting_scene
    from framemend.realign.shift import global_shift
    from framemend.stabilize.device import analysis_luma

    clip, _ = drifting_scene(image="brick", subject="rocket", motion="pan", where="none",
                             width=192, height=108, seconds=7.4, fps=32 / 7.4, seed=101)
    frames = torch.from_numpy(gaussian_noise(clip.frames, 3 / 255, seed=101)).permute(0, 3, 1, 2)
    lumas = [analysis_luma(f)[0] for f in frames]
    errors = [np.hypot(*(global_shift(lumas[t - 1], lumas[t]).numpy()
                         - np.median(clip.flow_fwd[t - 1].reshape(2, -1), 1)))
              for t in range(1, len(lumas))]
    assert np.mean(np.array(errors) < 1.0) > 2 / 3, np.round(errors, 1)


def test_a_colour_step_counts_only_where_the_flow_is_pinned():
    """:func:`.device.coherent`: the cells of a photograph moving by one similarity but for
    a subject (an eighth of the frame) moving its own way pass (measured: up to a threshold
    of 0.75); a field no similarity follows (a background dragged along with the subject,
    here a sway of 2 px across the frame) does not (it passes from 0.15 down).
    :func:`.device.follows`: a flow within 1.5 px of the global shift passes, one a period
    (13 px) off does not; nothing trusted does not."""
    frame = _photo()
    trust = torch.ones_like(frame[:, :1])
    ys, xs = torch.meshgrid(torch.arange(96.0), torch.arange(128.0), indexing="ij")
    camera = torch.stack([3.0 + 0.02 * (xs - 64), -1.0 + 0.02 * (ys - 48)])[None]
    subject = camera.clone()
    subject[..., 20:60, 30:70] += torch.tensor([4.0, -3.0])[:, None, None]
    dragged = camera + torch.stack([2.0 * torch.sin(xs / 20), torch.zeros_like(xs)])[None]
    assert twins.coherent(subject, trust, frame, 16)
    assert not twins.coherent(dragged, trust, frame, 16)
    shift = torch.tensor([3.0, -1.0])
    assert twins.follows(camera, trust, shift + torch.tensor([0.9, 0.9]), 1.0)
    assert not twins.follows(camera, trust, shift + torch.tensor([13.0, 0.0]), 1.0)
    assert not twins.follows(camera, torch.zeros_like(trust), shift, 1.0)
