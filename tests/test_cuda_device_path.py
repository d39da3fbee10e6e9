"""The passes' device path (what runs on a GPU) checked on the CPU: it runs through the same
code as CUDA inside ``device_path_on_cpu``, cleans as well as the CPU path, keeps the frames
where they are (no per-frame host copies), and ``--device auto`` only picks a GPU that passes
its self-check."""
import collections
import contextlib
import functools
import warnings

import cv2
import numpy as np
import pytest
import torch

import fake_cuda
import framemend
from framemend import generate, metrics, pipeline
from framemend.chain.engine import run_stream
from framemend.chain.frames import Frame
from framemend.chain.parser import build_chain
from framemend.cuda import device_constant, device_path_on_cpu, selfcheck, transfer
from framemend.flow import estimate
from framemend.pipeline import resolve_device
from framemend.presets import DEFAULT_PRESET, PRESETS

CPU = torch.device("cpu")

# small tensors: torch's OpenMP threads waiting on a loaded 2-core machine took a stabilize
# trace from 0.9 s to 15 s of CPU time
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _glitchy(frames, seed):
    truth = generate.scene("subject", width=96, height=64, frames=frames, seed=seed)
    return truth.frames, generate.degrade(truth, "flicker,noise=20", seed=seed).frames


def test_the_flow_backend_follows_the_path(monkeypatch):
    calls = collections.Counter()
    for name in ("torch_flow", "dis_flow"):
        original = getattr(estimate, name)
        monkeypatch.setattr(estimate, name, functools.partial(
            lambda f, n, *a, **k: calls.update([n]) or f(*a, **k), original, name))
    x = torch.rand(2, 3, 32, 32)
    assert estimate.flow_backend(CPU) == "dis"
    estimate.estimate_flow(x[:1], x[1:])
    with device_path_on_cpu():
        assert estimate.flow_backend(CPU) == "torch"
        estimate.estimate_flow(x[:1], x[1:])
    assert calls == {"dis_flow": 1, "torch_flow": 1}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_default_chain_on_the_device_path_cleans_as_well_as_the_cpu_path(seed):
    """The default preset through torch flow, the torch references and the device-side
    choices (what CUDA runs) against the CPU path on the same clip: both gain over 4 dB, and
    the device path is within 0.5 dB of the CPU path (measured: +1.3 to +2.0 dB on seeds
    0-4)."""
    truth, glitchy = _glitchy(12, seed)
    host = framemend.clean(glitchy, chain=PRESETS[DEFAULT_PRESET], device="cpu")
    with device_path_on_cpu():
        device = framemend.clean(glitchy, chain=PRESETS[DEFAULT_PRESET], device="cpu")
    before = metrics.psnr(glitchy, truth)
    host_psnr, device_psnr = metrics.psnr(host, truth), metrics.psnr(device, truth)
    assert host_psnr > before + 4 and device_psnr > before + 4
    assert device_psnr > host_psnr - 0.5


_HOST_COPIES = ("cpu", "numpy", "item", "tolist", "__bool__", "__int__", "__float__",
                "__index__", "__array__")
# torch.linalg's functions that check their result on the host (their docs: "synchronizes that
# device with the CPU"); their ``_ex`` variants do not
_SYNCING_LINALG = ("cholesky", "cond", "eig", "eigh", "eigvals", "eigvalsh", "inv",
                   "ldl_factor", "lu_factor", "matrix_rank", "pinv", "solve", "svd", "svdvals")


def _host_calls(frames: int, monkeypatch, device_path: bool,
                chain: str = "deboil,deflicker=mode=offset:rows=48:radius=3,denoise", palette: bool = False,
                decoded: bool = False) -> collections.Counter:
    """Calls that copy between host and device or wait for the device (tensor to CPU/numpy/
    Python values; tensors made from host data, which a GPU receives by a copy the host waits
    for; linear algebra that checks its result on the host; any OpenCV function) made while
    ``chain`` (default: the default preset with a shorter deflicker window) filters ``frames`` frames (with ``palette``, frames
    of at most 216 colours, as a GIF's). With ``decoded``, the frames are decoded uint8 pixels
    uploaded, and the output downloaded, through :mod:`framemend.cuda.transfer` on a fake GPU
    (tests/fake_cuda.py), as ``framemend clean`` does on a GPU; the numpy views of its pinned
    buffers, made once each, are not counted."""
    _, glitchy = _glitchy(frames, seed=3)
    if palette:
        glitchy = (glitchy * 5).round() / 5
    x = torch.from_numpy(glitchy).permute(0, 3, 1, 2).float()
    if decoded:
        pixels = (glitchy * 255).round().astype(np.uint8)
        todo = [Frame(raw=pixels[t], device=CPU, time=t / 24) for t in range(frames)]
    else:
        todo = [Frame(x[t].clone(), t / 24) for t in range(frames)]
    # (made on the device path: on the CPU path a pass reads the decoded pixels themselves)
    with device_path_on_cpu() if decoded else contextlib.nullcontext():
        filters = [cls(opts, CPU) for cls, opts in build_chain(chain)]
    device_constant.cache_clear()  # each trace makes the constants once, whatever ran before
    counts = collections.Counter()

    def count(owner, name):
        original = getattr(owner, name)

        @functools.wraps(original)
        def counted(*args, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)
        monkeypatch.setattr(owner, name, counted)

    with monkeypatch.context() as patch:
        monkeypatch = patch
        for name in _HOST_COPIES:
            count(torch.Tensor, name)
        for name in ("from_numpy", "tensor", "as_tensor"):
            count(torch, name)
        count(torch.Tensor, "new_tensor")
        for name in _SYNCING_LINALG:
            count(torch.linalg, name)
        for name in dir(cv2):
            if not name.startswith("_") and callable(getattr(cv2, name)) and not isinstance(
                    getattr(cv2, name), type):
                count(cv2, name)
        out, prepare, write = [], None, None
        if decoded:
            from framemend.video.writer import quantise

            _, copies = fake_cuda.install(patch)
            prepare = lambda frame: copies.download(quantise(frame.image, 255.0))  # noqa: E731
            write = lambda down: out.append(down.take())  # noqa: E731
        if device_path:
            with device_path_on_cpu():
                run_stream(todo, filters, write or out.append, detect_cuts=False,
                           prepare=prepare)
        else:
            run_stream(todo, filters, out.append, detect_cuts=False)
        if decoded:
            counts["numpy"] -= copies.uploads.made + copies.downloads.made
    assert len(out) >= frames
    return +counts


def test_decoded_frames_go_up_and_down_without_per_frame_host_copies(monkeypatch):
    """As below, on decoded uint8 frames that the engine uploads (its decode thread: pinned
    buffers, non-blocking copies, framemend.cuda.transfer) and whose output goes back to the
    host as a writer takes it, on the fake GPU: the same few calls for 8 and for 16 frames (a
    pageable upload, ``torch.from_numpy(raw).to(device)``, or a download by ``.cpu()`` would
    make one or two a frame)."""
    short, long = (_host_calls(n, monkeypatch, True, decoded=True) for n in (8, 16))
    assert short == long, (short, long)
    assert sum(long.values()) <= 10, long


@pytest.mark.parametrize("palette", [False, True])
def test_the_device_path_makes_no_per_frame_host_copies(monkeypatch, palette):
    """The trace of 8 and of 16 frames through deboil,deflicker,denoise on the device path: the
    same few calls (once per shot: whether the frames are a GIF's palette, deboil's strength,
    denoise's noise level and its declip table; the constants made on the device once), none
    per frame; the CPU path, traced the same way, makes them every frame (so the trace sees
    them); on a GIF's palette frames (dither removed on the device) as on true colour."""
    short, long = (_host_calls(n, monkeypatch, True, palette=palette) for n in (8, 16))
    assert short == long, (short, long)
    assert sum(long.values()) <= 10, long
    if palette:
        return
    host_short, host_long = (_host_calls(n, monkeypatch, device_path=False) for n in (8, 16))
    assert sum(host_long.values()) > sum(host_short.values()) + 8 * 5


def test_auto_uses_a_gpu_only_when_it_passes_its_self_check(monkeypatch):
    """... and only where a GPU driver is installed: without one, auto is the CPU without
    asking torch (whatever it would say)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(selfcheck, "gpu_ready", lambda device: True)
    monkeypatch.setattr(pipeline, "gpu_driver", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device(None) == "cpu"
    monkeypatch.setattr(pipeline, "gpu_driver", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device(None) == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for ready, want in ((False, "cpu"), (True, torch.device("cuda", 0))):
        monkeypatch.setattr(selfcheck, "gpu_ready", lambda device, ready=ready: ready)
        assert resolve_device("auto") == want and resolve_device(None) == want


def test_the_self_check_rejects_a_device_whose_flow_is_wrong(monkeypatch):
    """gpu_ready compares the device's torch flow with the CPU's: run on the CPU itself it
    passes, and with the device's flow pushed 0.1 px off it fails with one warning."""
    selfcheck.gpu_ready.cache_clear()
    assert selfcheck.gpu_ready(torch.device("cpu", 0))
    from framemend.flow import torchflow
    honest, calls = torchflow.torch_flow, []

    def off_on_the_device(src, dst, quality):  # the CPU's flow comes first, then the device's
        calls.append(src.device)
        return honest(src, dst, quality) + (0.1 if len(calls) == 2 else 0.0)
    monkeypatch.setattr(torchflow, "torch_flow", off_on_the_device)
    selfcheck.gpu_ready.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not selfcheck.gpu_ready(torch.device("cpu", 0))
    assert len(caught) == 1 and "uses the CPU" in str(caught[0].message)
    selfcheck.gpu_ready.cache_clear()


@pytest.mark.parametrize("seed", [0, 1])
def test_interpolation_on_the_device_path_restores_dropped_frames_as_the_cpu_path(seed):
    """Every second frame of a moving subject dropped and made again (factor 2): the device
    path (torch flow, the torch twins of the CPU kernels) within 1 dB of the CPU path against
    the true frames (measured at 256x144: -0.6 dB on seeds 0 and 1), and over 4 dB above a
    plain blend of the neighbours."""
    clip = generate.scene("subject", width=256, height=144, frames=17, seed=seed).frames
    host = framemend.interpolate(clip[::2], factor=2)
    with device_path_on_cpu():
        device = framemend.interpolate(clip[::2], factor=2)
    new, truth = slice(1, 16, 2), clip[1:16:2]
    blend = (clip[0:15:2] + clip[2:17:2]) / 2
    host_psnr, device_psnr = metrics.psnr(host[new], truth), metrics.psnr(device[new], truth)
    assert device_psnr > host_psnr - 1.0, (device_psnr, host_psnr)
    assert device_psnr > metrics.psnr(blend, truth) + 4


@pytest.mark.parametrize("palette", [False, True])
def test_interpolation_on_the_device_path_makes_no_per_frame_host_copies(monkeypatch, palette):
    """The trace of 8 and of 16 input frames through interpolate on the device path: flow,
    lost motion, splatting, boundary choice and blend (and on a GIF's palette frames the
    dither kept on the screen) make the same calls (the palette check of the first frame, the
    constants made on the device once), none per frame."""
    short, long = (_host_calls(n, monkeypatch, True, "interpolate", palette) for n in (8, 16))
    assert short == long, (short, long)
    assert sum(long.values()) <= 3, long


@pytest.mark.parametrize("seed", [1, 2])
def test_stabilization_on_the_device_path_removes_shake_as_the_cpu_path(seed):
    """A handheld shot shaken by 2 px: the device path (the torch flow's robust similarity,
    the path and crop on tensors) leaves no more than 0.01 more of the jitter than the CPU path
    (tracked features, RANSAC) and keeps as much of the frame (measured at 192x108, 32
    frames: 0.019 vs 0.018 and 0.156 vs 0.156 of it)."""
    from framemend.metrics.camera import jitter

    clip = generate.degrade(generate.scene("handheld", 192, 108, frames=32, seed=seed),
                            "jitter=2", seed=seed).frames
    host = framemend.stabilize(clip)
    with device_path_on_cpu():
        device = framemend.stabilize(clip)
    before = jitter(clip)
    assert jitter(device) / before < jitter(host) / before + 0.01
    assert jitter(device) / before < 0.2


@pytest.mark.parametrize("mode", ["smooth", "lock", "subject"])
def test_stabilization_on_the_device_path_makes_no_per_frame_host_copies(monkeypatch, mode):
    """The trace of 8 and of 16 frames through stabilize (radius 2: frames leave while others
    come) on the device path: no call at all in modes smooth and lock, the motion, path, crop
    and warp on the device; in mode subject the same few once a shot (the luma the face is
    found on, made on the host, the box it gives, and whether the subject was found: one
    ``__bool__`` as the shot ends, for the note of a subject never told from the camera)."""
    short, long = (_host_calls(n, monkeypatch, True, f"stabilize=mode={mode}:radius=2")
                   for n in (8, 16))
    assert short == long, (short, long)
    assert sum(long.values()) <= (7 if mode == "subject" else 0), long


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_default_chain_on_a_gpu_matches_its_device_path_on_the_cpu():
    truth, glitchy = _glitchy(12, seed=1)
    gpu = framemend.clean(glitchy, chain="deflicker,denoise", device="cuda")
    with device_path_on_cpu():
        cpu = framemend.clean(glitchy, chain="deflicker,denoise", device="cpu")
    assert metrics.psnr(gpu, cpu) > 35


@pytest.mark.parametrize("scale", [255.0, 65535.0])
def test_frames_are_quantised_on_the_device_as_on_the_host(scale):
    """The writer's device-side quantisation (what a GPU frame is downloaded as) gives the
    host path's pixels exactly: rounding half to even and saturating, values outside [0, 1]
    and exact halves included."""
    from framemend.video.writer import quantise, rgb_array

    g = torch.Generator().manual_seed(0)
    image = torch.rand(3, 37, 53, generator=g) * 1.2 - 0.1
    image[0, 0, :8] = (torch.arange(8) + 0.5) / scale  # exact halves
    device = quantise(image, scale).numpy()
    host = rgb_array(image, scale)
    assert device.dtype == host.dtype and device.shape == host.shape == (37, 53, 3)
    assert (device == host).all()


def _drifting(seed: int, motion: str, where: str):
    """A 128x72 rendering of :func:`framemend.generate.drift.drifting_scene` (16 frames at
    8 fps, a cast over the whole frame or none) with 3/255 noise, as benchmarks/bench_realign
    makes them, smaller: ``(T, 3, H, W)`` frames and the clean ``(T, H, W, 3)``. (At 96x56
    the torch flow's two pyramid levels cannot follow the pan: both paths' flow, not realign.)"""
    from framemend.generate.artifacts import gaussian_noise
    from framemend.generate.drift import drifting_scene

    clip, _ = drifting_scene(motion=motion, where=where, width=128, height=72, seconds=2.0,
                             fps=8.0, seed=seed)
    frames = gaussian_noise(clip.frames, 3 / 255, seed=seed)
    return torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous(), clip.truth, clip.fps


def _realign_by_hand(frames: torch.Tensor, fps: float) -> tuple[torch.Tensor, list[int]]:
    """realign (one shot, keyed on its first frame) frame by frame: the output and the
    frames after which the keyframe is the frame itself (its similarity to it the identity:
    the first, and each where the keyframe had left the view)."""
    from framemend.options.realign import RealignOptions
    from framemend.realign.filter import Realign

    realign, out, keyed = Realign(RealignOptions(), CPU), [], []
    for t in range(len(frames)):
        out += realign.push(Frame(frames[t], t / fps))
        m = realign._key_to_frame
        if ((m.numpy() if torch.is_tensor(m) else m) == torch.eye(3).numpy()).all():
            keyed.append(t)
    return torch.stack([f.image for f in out]), keyed


def _realign_gains(seed: int, motion: str, where: str) -> tuple[float, float, list, list]:
    """realign's PSNR gain on the CPU path and on the device path on the CPU, and the frames
    each keyed on (:func:`_realign_by_hand`)."""
    frames, truth, fps = _drifting(seed, motion, where)
    before = metrics.psnr(frames.permute(0, 2, 3, 1).numpy(), truth)
    host, host_keys = _realign_by_hand(frames, fps)
    with device_path_on_cpu():
        device, device_keys = _realign_by_hand(frames, fps)
    host, device = (metrics.psnr(x.permute(0, 2, 3, 1).numpy(), truth) - before
                    for x in (host, device))
    return host, device, host_keys, device_keys


@pytest.mark.parametrize("seed,motion", [(0, "pan"), (4, "zoom")])
def test_realign_on_the_device_path_pulls_a_drift_back_as_the_cpu_path(seed, motion):
    """A cast over the whole frame while the camera leaves its first view: the device path
    (torch flow, the similarity from it by IRLS, the drift statistic and the decisions on the
    device) gains over 4 dB and within 1.5 dB of the CPU path (measured: +6.55 vs +7.15 dB
    and +7.91 vs +8.06 dB; on seeds 0-5 from 1.8 dB below it to 0.5 dB above, the CPU path's
    own steps with the torch flow as far: the flow's share, not the twins'), and
    takes a new keyframe where the CPU path does (the pan: after frames 5, 10 and 15; the
    zoom keeps its first)."""
    host, device, host_keys, device_keys = _realign_gains(seed, motion, "frame")
    assert device > 4 and device > host - 1.5, (host, device)
    assert device_keys == host_keys, (host_keys, device_keys)


def test_realign_on_the_device_path_leaves_a_clip_without_a_cast_alone():
    """The same tilt without a cast: within 0.3 dB of the input (measured: -0.08 dB, the worst
    of seeds 0-5; the CPU path -0.00)."""
    host, device, _, _ = _realign_gains(5, "tilt", "none")
    assert device > -0.3 and host > -0.3, (host, device)


@pytest.mark.parametrize("image,subject,motion,size,frames,seconds,seed", [
    ("rocket", "coffee", "tilt", (128, 72), 16, 3.5, 0),
    ("brick", "rocket", "pan", (192, 108), 32, 7.4, 101)])
def test_realign_on_the_device_path_leaves_alone_what_the_torch_flow_misreads(
        image, subject, motion, size, frames, seconds, seed):
    """No cast where the torch flow is wrong, within 0.3 dB of the input: a fast tilt over a
    photograph with a large flat sky (the flow drags the background along with the subject;
    without the check of :func:`framemend.realign.device.coherent`: -9.83 dB, -9.12 with
    :func:`.device.follows` alone) and a fast pan over a brick wall (benchmarks/bench_realign's
    held-back rendering 101 at its quick size: the flow settles a brick's period from the
    motion; without either check -3.34 dB; each alone rejects all 31 of its frames). The
    colour steps of such frames are no evidence of drift, and without evidence nothing is
    corrected."""
    from framemend.generate.artifacts import gaussian_noise
    from framemend.generate.drift import drifting_scene

    clip, _ = drifting_scene(image=image, subject=subject, motion=motion, where="none",
                             width=size[0], height=size[1], seconds=seconds,
                             fps=frames / seconds, seed=seed)
    noisy = gaussian_noise(clip.frames, 3 / 255, seed=seed)
    with device_path_on_cpu():
        out, _ = _realign_by_hand(torch.from_numpy(noisy).permute(0, 3, 1, 2).contiguous(),
                                  clip.fps)
    change = (metrics.psnr(out.permute(0, 2, 3, 1).numpy(), clip.truth)
              - metrics.psnr(noisy, clip.truth))
    assert change > -0.3, change


def test_realign_on_the_device_path_leaves_alone_a_pan_over_a_repeating_texture():
    """A pan of 9 px a frame over a texture repeating every 14 px (a tile of a photograph under
    a light gradient), 160x90, 3/255 noise, no cast: within 0.3 dB of the input. The torch flow
    settles a period from the motion alike over the frame, which the cells' coherence does not
    see; the global shift by phase correlation does (:func:`framemend.realign.device.follows`;
    without it: -17.6 dB)."""
    from skimage import data
    from framemend.generate.artifacts import gaussian_noise

    tile = cv2.resize(data.astronaut()[100:300, 150:350].astype("float32") / 255, (14, 14),
                      interpolation=cv2.INTER_AREA)
    wall = np.tile(tile, (7, 22, 1)) * np.linspace(0.7, 1.1, 308, dtype="float32")[None, :, None]
    clean = np.stack([cv2.warpAffine(wall, np.float32([[1, 0, 9 * t], [0, 1, 0]]), (160, 90),
                                     flags=cv2.INTER_LINEAR) for t in range(16)])
    noisy = gaussian_noise(clean, 3 / 255, seed=0)
    with device_path_on_cpu():
        out, _ = _realign_by_hand(torch.from_numpy(noisy).permute(0, 3, 1, 2).contiguous(), 8.0)
    change = metrics.psnr(out.permute(0, 2, 3, 1).numpy(), clean) - metrics.psnr(noisy, clean)
    assert change > -0.3, change


@pytest.mark.parametrize("options", ["", "=region=face:box=20+10+60+50"])
def test_realign_on_the_device_path_makes_no_per_frame_host_copies(monkeypatch, options):
    """The trace of 8 and of 16 frames through realign on the device path: the motion, the
    refit, the masks, the drift statistic, the jump, the keyframe's visibility and the
    shrinkage stay on the device (a subject's box, given, made there once a shot; the
    Laplacian of the drift statistic made there once); the CPU path makes its host calls every
    frame."""
    chain = "realign" + options
    short, long = (_host_calls(n, monkeypatch, True, chain) for n in (8, 16))
    assert short == long, (short, long)
    assert sum(long.values()) <= 1, long
    host_short, host_long = (_host_calls(n, monkeypatch, False, chain) for n in (8, 16))
    assert sum(host_long.values()) > sum(host_short.values()) + 8 * 5
