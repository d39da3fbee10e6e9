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
