"""Interpolation's device path (:mod:`framemend.interpolate.device`, torch) against the CPU
path's numba kernels and OpenCV calls it twins, on the same inputs: a moving subject's pair
at flow size with DIS flows (what the CPU path sees)."""
import pytest
import torch

from framemend.generate import scene
from framemend.interpolate import device, neighbour_motion, quadratic, symmetric, synthesis


@pytest.fixture(scope="module")
def pair():
    """``planes`` ``(2, 4, h, w)`` of two frames of the subject scene 2 frames apart at a
    quarter of 320x180, their DIS flows ``(2, 2, h, w)`` and luma error ``(2, 1, h, w)``."""
    clip = scene("subject", width=320, height=180, frames=9, seed=4).frames
    small = [synthesis.flow_planes(torch.from_numpy(clip[t]).permute(2, 0, 1), 0.25)
             for t in (4, 6)]
    planes = torch.cat(small)
    u8 = planes[:, 0].mul(255).add(0.5).clamp(0, 255).to(torch.uint8).numpy()
    flows = synthesis._dis_both(u8, None, synthesis._DIS_TUNING)
    return planes, flows, synthesis._warp_error(planes, flows)


def test_warp_error_twins_opencv(pair):
    planes, flows, error = pair
    assert torch.allclose(device.warp_error(planes, flows), error, atol=1e-5)


def test_block_search_twins_the_numba_search(pair):
    """Every searched pixel finds the same offset (exact sums, ties to the first offset)."""
    planes, _, _ = pair
    luma = torch.nn.functional.avg_pool2d(planes[:, :1], 2)
    where = torch.rand(luma.shape, generator=torch.Generator().manual_seed(0)) < 0.3
    ours = device.search_blocks(luma, where)
    theirs = torch.from_numpy(synthesis._block_search(luma, where[:, 0].numpy()))
    assert torch.equal(ours, theirs)
    assert (theirs.abs().sum(1) > 0).sum() > 50  # the search moved blocks


def test_neighbour_flows_twin_the_numba_adoption(pair):
    """The same pixels take the same neighbour's flow (all but a few where two candidates'
    costs tie within float rounding), and the adoption changes a few dozen pixels."""
    planes, flows, error = pair
    box = synthesis._box3(error)
    ours = device.adopt_neighbour_flows(planes[:, 1:], flows, box)
    rgb = planes[:, 1:].permute(0, 2, 3, 1).contiguous().numpy()
    theirs = torch.from_numpy(neighbour_motion.adopt_neighbour_flows(rgb, flows.numpy(),
                                                                     box[:, 0].numpy()))
    changed = (theirs != flows).any(1)
    assert changed.sum() > 20
    differ = ((ours - theirs).abs() > 1e-4).any(1)
    assert differ.sum() <= 0.02 * changed.sum(), (differ.sum(), changed.sum())


def test_flows_averaged_both_ways_twin_opencv(pair):
    """:mod:`.symmetric`'s torch twin (grid_sample) averages the pair's flows as OpenCV's remap
    does: the mean difference 1 % of the averaging's mean change (remap samples at 1/32 px;
    measured 0.0005 against 0.05), and few pixels apart by more (those whose mismatch is within
    that of ``AGREE``: 19 of 7200 measured)."""
    _, flows, _ = pair
    ours = symmetric.average_both_ways_torch(flows)
    theirs = torch.from_numpy(symmetric.average_both_ways(flows.numpy()))
    change = (theirs - flows).abs().mean()
    assert change > 0.02  # measured 0.05: the averaging moves the flows
    assert (ours - theirs).abs().mean() < 0.03 * change
    assert ((ours - theirs).abs() > 1e-2).any(1).sum() <= 0.005 * flows[:, 0].numel()


def test_hidden_pixels_twin_the_cpu_fill(pair):
    """The same pixels are found hidden and filled (all but 1 % of them, whose mismatch is
    within float rounding of the threshold: 2 of 738 measured), with the same importance."""
    planes, flows, error = pair
    before, after = flows.flip(0) * 0.8, -flows * 1.1
    importance = error * -synthesis.ALPHA
    for around in ((before, after), (None, after), (before, None)):
        ours = device.fill_hidden(planes, flows, importance, *around)
        theirs = synthesis.fill_hidden(planes, flows, importance, *around)
        filled = (theirs[0] != flows).any(1)
        assert filled.sum() > 300
        same = ((ours[0] - theirs[0]).abs() <= 1e-4).all(1)
        assert (~same).sum() <= 0.01 * filled.sum()
        assert torch.allclose(ours[1][same[:, None]], theirs[1][same[:, None]], atol=1e-4)


def test_neighbour_checks_twin_the_device_check(pair):
    """The CPU path's accelerations read each neighbouring pair's check from its flows worker
    (:func:`.synthesis.hidden_pixels`, OpenCV) instead of checking the flows again (torch):
    the same accelerations but at the pixels whose mismatch is within the two samplers'
    rounding of the threshold."""
    _, flows, _ = pair
    before, after = flows.flip(0) * 0.8, flows * 1.1
    checks = (synthesis.hidden_pixels(before.numpy())[1:],  # F0,-1's, F12's
              synthesis.hidden_pixels(after.numpy())[:1])
    assert sum(int(c.sum()) for c in checks) > 300  # measured 692: the face's edges
    for sides in ((before, after, checks), (None, after, (None, checks[1])),
                  (before, None, (checks[0], None))):
        ours = quadratic.accelerations(flows, *sides)
        theirs = quadratic.accelerations(flows, *sides[:2])
        assert (theirs.abs() > 0.5).any(1).sum() > 100  # measured 127-553: the face
        differ = (~((ours - theirs).abs() <= 1e-6).all(1)).sum()
        assert differ <= 0.005 * ours[:, 0].numel()  # measured 2-6 of 3600-7200 (the other
        # side's check read instead: 346)


def test_intermediate_flows_twin_the_numba_splatting(pair):
    """Softmax splatting by scatter-add against the numba kernel at three times: the flows and
    weights agree to float rounding (the sums are taken in another order)."""
    planes, flows, error = pair
    importance = error * -synthesis.ALPHA
    times = [0.25, 0.5, 0.75]
    ours = device.intermediate_flows(flows, importance, times)
    theirs = synthesis.intermediate_flows(flows, importance, times)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert (a - b).abs().mean() < 1e-5 and (a - b).abs().max() < 1e-2


def test_quadratic_paths_twin_the_numba_splatting(pair):
    """With an acceleration (:mod:`.quadratic`, neighbouring pairs of a camera slowing down)
    the scatter-add and the numba kernel bend the paths alike: flows and weights agree to float
    rounding, and differ from linear motion's by up to 2 pixels (at the moving face)."""
    planes, flows, error = pair
    importance = error * -synthesis.ALPHA
    before, after = -flows.flip(0) * 0.2, -flows.flip(0) * 3.0  # F0,-1 = -0.2 F01, ...
    bend = quadratic.accelerations(flows, before, after)
    times = [0.25, 0.5, 0.75]
    ours = device.intermediate_flows(flows, importance, times, bend)
    theirs = synthesis.intermediate_flows(flows, importance, times, bend)
    for a, b in zip(ours, theirs):
        assert (a - b).abs().mean() < 1e-5 and (a - b).abs().max() < 1e-2
    linear = synthesis.intermediate_flows(flows, importance, times)
    assert (theirs[0] - linear[0]).abs().max() > 1.0  # measured 2.15 (the face)
