"""Warping, splatting, occlusion masks and flow resizing, measured on scenes with known motion."""
from functools import lru_cache

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from framemend.flow import (backward_warp, estimate_flow, forward_splat, occlusion_mask,
                            outside_mask, resize_flow, splat_sum)
from framemend.generate import scene

W, H = 320, 180


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tensor(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).contiguous()


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (dB) over the pixels where ``mask`` ``(T, 1, H, W)`` is True."""
    mse = ((a - b) ** 2).mean(1, keepdim=True)[mask].mean().item()
    return 10 * np.log10(1.0 / mse)


@lru_cache(maxsize=None)
def clip(kind: str):
    c = scene(kind, W, H, frames=24, seed=1)
    return tensor(c.frames[8:10]), torch.from_numpy(c.flow_fwd[8:9])


@lru_cache(maxsize=None)
def sliding_square():
    """A textured square moving 10 px right over a static photo: in frame B it reveals
    x in [100, 110) of the photo, which frame A does not show."""
    bg = cv2.resize(data.astronaut(), (W, H)).astype(np.float32) / 255
    fg = cv2.resize(data.coffee(), (60, 60)).astype(np.float32) / 255
    frames = []
    for x0 in (100, 110):
        f = bg.copy()
        f[60:120, x0:x0 + 60] = fg
        frames.append(f)
    revealed = torch.zeros(1, 1, H, W, dtype=torch.bool)
    revealed[..., 60:120, 100:110] = True
    far = torch.ones(1, 1, H, W, dtype=torch.bool)  # 10+ px away from any motion boundary
    far[..., 50:130, 90:180] = False
    return tensor(np.stack(frames)), revealed, far


@pytest.mark.parametrize("kind", ["pan", "zoom", "rotate", "handheld"])
def test_warp_by_true_flow_reproduces_frame(kind):
    """``backward_warp(next, flow)`` rebuilds the frame wherever the flow stays in the frame."""
    x, truth = clip(kind)
    inside = ~outside_mask(truth)
    warped = backward_warp(x[1:], truth)
    assert psnr(warped, x[:1], inside) > 33.0
    assert psnr(x[1:], x[:1], inside) < 25.0  # the frames do differ


@pytest.mark.parametrize("backend", ["dis", "torch"])
def test_warp_by_estimated_flow_reproduces_frame(backend):
    x, truth = clip("handheld")
    flow = estimate_flow(x[:1], x[1:], backend=backend)
    assert psnr(backward_warp(x[1:], flow), x[:1], ~outside_mask(truth)) > 30.0


def test_outside_mask_flags_region_entering_the_frame():
    """A pan to the right: the content at the left edge of frame A leaves the frame in B."""
    _, truth = clip("pan")
    out = outside_mask(truth)[0, 0]
    dx = truth[0, 0].mean().item()  # the camera pans right: content moves left, dx < 0
    assert dx < -1
    cols = out.float().mean(0)
    assert out[:, : int(-dx)].all()  # the columns that were outside frame A
    assert not out[10:-10, int(-dx) + 1:].any()  # away from the edges it enters from


@pytest.mark.parametrize("backend,recall", [("dis", 0.8), ("torch", 0.35)])
def test_occlusion_mask_flags_revealed_region(backend, recall):
    x, revealed, far = sliding_square()
    fwd = estimate_flow(x[:1], x[1:], backend=backend)
    bwd = estimate_flow(x[1:], x[:1], backend=backend)
    occluded = occlusion_mask(bwd, fwd)  # pixels of B without a match in A
    assert occluded[revealed].float().mean() > recall
    assert occluded[far].float().mean() < 0.03


def test_splat_sum_conserves_mass():
    gen = torch.Generator().manual_seed(0)
    values = torch.rand(2, 3, 40, 50, generator=gen)
    flow = (torch.rand(2, 2, 40, 50, generator=gen) - 0.5) * 8
    out = splat_sum(values, flow)
    kept = ~outside_mask(flow)
    inside_total = (values * kept).sum(dim=(1, 2, 3))
    # Sources landing within a pixel of the border lose part of their weight: bound the gap.
    assert torch.allclose(out.sum(dim=(1, 2, 3)), inside_total, rtol=0.03)
    assert torch.allclose(splat_sum(values, torch.zeros_like(flow)), values)


def test_numba_splat_add_matches_the_torch_splat_sum():
    """The CPU kernel interpolate calls adds what the torch path sums, at ``reach`` times the
    flow."""
    from framemend.kernels.splat import splat_add

    gen = torch.Generator().manual_seed(1)
    values = torch.rand(3, 40, 50, generator=gen)
    flow = (torch.rand(2, 40, 50, generator=gen) - 0.5) * 8
    acc = np.ones((3, 40, 50), np.float32)
    splat_add(values.numpy(), flow.numpy(), 0.25, acc)
    expected = 1 + splat_sum(values[None], 0.25 * flow[None])[0]
    assert torch.allclose(torch.from_numpy(acc), expected, atol=1e-5)


def test_forward_splat_by_true_flow_reproduces_next_frame():
    """Average splatting frame A along the true flow lands on frame B where B is covered."""
    x, truth = clip("rotate")
    out, mass = forward_splat(x[:1], truth)
    covered = mass > 0.5
    assert covered.float().mean() > 0.9
    assert psnr(out, x[1:], covered) > 30.0


def test_softmax_splat_keeps_the_more_important_pixel():
    """Two sources land on the same pixel: average blends them, softmax follows the metric."""
    image = torch.zeros(1, 1, 1, 4)
    image[..., 0], image[..., 2] = 1.0, 0.0
    flow = torch.zeros(1, 2, 1, 4)
    flow[0, 0, 0, 0] = 2.0  # pixel 0 lands on pixel 2
    metric = torch.zeros(1, 1, 1, 4)
    metric[..., 0] = 5.0  # and is the nearer (more important) one
    avg, _ = forward_splat(image, flow)
    soft, mass = forward_splat(image, flow, metric, mode="softmax")
    assert avg[0, 0, 0, 2].item() == pytest.approx(0.5)
    assert soft[0, 0, 0, 2].item() > 0.99
    assert mass[0, 0, 0, 0].item() == 0  # a hole where pixel 0 left


def test_resize_flow_rescales_values():
    """Half-resolution true flow, brought back to full size, matches the full-size flow."""
    _, pan = clip("pan")
    half = resize_flow(pan, (H // 2, W // 2))
    assert (half.mean(dim=(2, 3)) / pan.mean(dim=(2, 3))).flatten().tolist() == \
        pytest.approx([0.5, 0.5], rel=0.02)
    _, zoom = clip("zoom")
    back = resize_flow(resize_flow(zoom, (H // 2, W // 2)), (H, W))
    assert (back - zoom).norm(dim=1)[..., 4:-4, 4:-4].mean() < 0.02
