"""The CPU paths of denoise and deboil give the same bits whichever copy of a loop LLVM runs.

LLVM keeps a scalar copy of each loop it vectorises and picks one at run time from the arrays'
addresses (:mod:`framemend.kernels.fastmath`); the allocator's placement, which other threads
move, must not change the output. Here every kernel of a pass's ``_cpu`` module is built a
second time with loop vectorisation off (only the scalar copies) and the pass must come out bit
for bit the same. Under ``fastmath=True`` it did not: denoise's update gain differed by an ulp
(a division as a reciprocal estimate in the vector loop), and denoise gave one 8-bit level more
or less in 3 of 200 runs beside two busy processes; deboil's reductions, summed lane by lane in
the vector copy under ``reassoc``, moved 2 of 1.4 M values of a 320x180 clip.
"""
from __future__ import annotations

import numba
import numpy as np
import pytest

import framemend
from framemend.deboil import _cpu as deboil_cpu
from framemend.denoise import _cpu
from framemend.flow.estimate import motion_luma_flow
from framemend.generate import artifacts, scene
from framemend.generate.families import moving_content

W, H = 320, 180
SIGMA = 10.0  # 8-bit levels
VARIANCES = np.square(np.array([SIGMA, 0.8 * SIGMA, 0.8 * SIGMA, 0.5 * SIGMA], np.float32)
                      / np.float32(255.0))
SHEAR = np.array([0.12, -0.05], np.float32)


def _run(frames: np.ndarray, flows: list[np.ndarray]) -> list[np.ndarray]:
    """A track's start, its steps along ``flows`` ``(H, W, 2)`` (one per frame after the
    first) and its float outputs with and without the spatial stage (the 8-bit ones are the
    same arithmetic through a table, the wide chroma window the same loops: each of those
    builds would add 3 s to the test)."""
    track = _cpu.CpuTrack.start(frames[0], SHEAR)
    results = [track.state.copy(), track.luma.copy()]
    for frame, flow in zip(frames[1:], flows):
        track = track.step(frame, VARIANCES[:3], 8, flow, SHEAR)
        results += [track.state.copy(), track.luma.copy()]
    for spatial in (1.0, 0.0):
        results.append(track.output(spatial, VARIANCES, None, None, SHEAR).numpy())
    return results


def _scalar_builds(module, monkeypatch) -> None:
    """Every numba kernel of ``module`` replaced by a build with loop vectorisation off (for
    this test only: ``monkeypatch`` undoes it). All are replaced before any is compiled, so
    each resolves its callees to their scalar builds (the ``inline="always"`` option is not
    carried over: inlining does not change the rounding)."""
    kernels = {name: kernel for name, kernel in vars(module).items()
               if isinstance(kernel, numba.core.registry.CPUDispatcher)}
    for name, kernel in kernels.items():
        options = {k: v for k, v in kernel.targetoptions.items() if k not in ("nopython", "cache")}
        monkeypatch.setattr(module, name, numba.njit(**options)(kernel.py_func))
    vectorise = numba.config.LOOP_VECTORIZE
    monkeypatch.setattr(numba.config, "LOOP_VECTORIZE", 0)
    for name, kernel in kernels.items():
        for signature in kernel.signatures:
            getattr(module, name).compile(signature)
    monkeypatch.setattr(numba.config, "LOOP_VECTORIZE", vectorise)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """``(3, H, W, 3)`` uint8: a photograph panned with a ball across it, noise of SIGMA."""
    clean = moving_content(np.random.default_rng(5), W, H, 3, photo="astronaut", camera="pan",
                           subject="ball")[0].frames
    noisy = clean * 255 + SIGMA * np.random.default_rng(0).standard_normal(clean.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def test_denoise_gives_the_bits_of_its_scalar_loops(frames, monkeypatch):
    lumas = [_cpu.CpuTrack.start(frame).luma for frame in frames]
    flows = [motion_luma_flow(luma, previous) for luma, previous in zip(lumas[1:], lumas)]
    vectorised = _run(frames, flows)

    _scalar_builds(_cpu, monkeypatch)
    scalar = _run(frames, flows)

    differing = [int(np.count_nonzero(a != b)) for a, b in zip(vectorised, scalar)]
    assert differing == [0] * len(differing)
    # the spatial stage did something, so the comparison covers its loops
    assert np.abs(vectorised[-2] - vectorised[-1]).mean() > 1 / 255


@pytest.mark.parametrize("width, height, frames", [(W, H, 8), (720, 480, 4)])
def test_deboil_gives_the_bits_of_its_scalar_loops(monkeypatch, width, height, frames):
    """Deboil on a boiling clip, through the API's raw-pixel path, vectorised and scalar: at
    320x180 its small-frame path (which carries the texture's contrast), at 720x480 the large
    one (the weights, their energies' box and the blend in one pass)."""
    clip = scene("handheld", width, height, frames=frames, seed=3)
    boiled = np.round(artifacts.boiling(clip.frames, 6 / 255, seed=3) * 255)
    boiled = np.clip(boiled, 0, 255).astype(np.uint8)
    vectorised = framemend.clean(boiled, "deboil", device="cpu")
    _scalar_builds(deboil_cpu, monkeypatch)
    scalar = framemend.clean(boiled, "deboil", device="cpu")
    assert np.count_nonzero(vectorised != scalar) == 0
    # deboil acted on most values, so the comparison covers its loops
    assert np.count_nonzero(vectorised != boiled) > 0.5 * boiled.size
