"""The fused CUDA kernels without a GPU: each agrees with its torch reference under numba's CUDA
simulator, each compiles for sm_80 and sm_90 with the installed CUDA toolkit, and a kernel that
disagrees with its reference on a device is replaced by the reference with one warning."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from types import SimpleNamespace

import pytest
import torch

from framemend.cuda import fused
from framemend.cuda.checked import CheckedKernel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Each kernel runs on the self-check's input (seed 19) and on another (seed 7) under the
# simulator, then as a CheckedKernel allowed on the CPU, which must trust it without a warning.
_SIMULATED = """
import json, warnings, torch
from framemend.cuda import fused
from framemend.cuda.checked import CheckedKernel, _tensors
cpu, report = torch.device("cpu"), {}
for k in fused.KERNELS:
    worst = 0.0
    for seed in (19, 7):
        args, kwargs = k.sample(cpu, seed)
        got, want = _tensors(k.fused(*args, **kwargs)), _tensors(k.reference(*args, **kwargs))
        assert [g.shape for g in got] == [w.shape for w in want], k.name
        worst = max([worst] + [float((g - w).abs().max()) for g, w in zip(got, want)])
    on_cpu = CheckedKernel(k.name, k.reference, k.fused, k.sample, k.tolerance, devices=("cpu",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trusted = on_cpu.trusted(cpu)
    report[k.name] = {"worst": worst, "tolerance": k.tolerance, "trusted": trusted,
                      "warnings": len(caught)}
print(json.dumps(report))
"""


def test_every_kernel_matches_its_reference_in_the_cuda_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=ROOT)
    run = subprocess.run([sys.executable, "-c", _SIMULATED], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(report) == {k.name for k in fused.KERNELS}
    for name, r in report.items():
        assert r["worst"] <= r["tolerance"], (name, r)
        assert r["trusted"] and r["warnings"] == 0, (name, r)


def _nvvm_missing() -> str | None:
    """Why the kernels cannot be compiled here, or None."""
    if shutil.which("ptxas") is None:
        return "the CUDA toolkit (nvcc, ptxas) is not installed"
    from numba.cuda.cudadrv import nvvm
    if not nvvm.is_available():
        return "numba finds no NVVM (libnvvm of the CUDA toolkit)"
    return None


def _signatures():
    """Each kernel with the argument types its launcher gives it."""
    from numba import float32, int64

    from framemend.cuda import boxes, denoise_step, sor
    a1, a2 = float32[::1], float32[:, ::1]
    a3, a4 = float32[:, :, ::1], float32[:, :, :, ::1]
    return [(denoise_step._predict, (a3, a3, a3, a3)),
            (denoise_step._sharpen, (a3, a3, a3, a1, a2, a3)),
            (denoise_step._update, (a3, a3, a3, a3, float32, float32, float32, a3, a3)),
            (sor._half_sweep, (a4, a4, a4, a4, int64, float32)),
            (boxes._box_differences, (a4, a3, a4, float32, a4))]


@pytest.mark.parametrize("cc", [(8, 0), (9, 0)], ids=["sm_80", "sm_90"])
def test_every_kernel_compiles_for_the_gpus_it_targets(cc, monkeypatch):
    """NVVM builds each kernel's PTX and ptxas assembles it for the architecture: a kernel that
    does not compile cannot land."""
    reason = _nvvm_missing()
    if reason:
        pytest.skip(reason)
    from numba import cuda
    from numba.cuda import dispatcher
    # device functions are built for the current device's architecture: there is none here
    monkeypatch.setattr(dispatcher, "get_current_device",
                        lambda: SimpleNamespace(compute_capability=cc))
    arch = f"sm_{cc[0]}{cc[1]}"
    kernels = _signatures()
    assert {k.py_func.__module__ for k, _ in kernels} == {
        k._fused.split(":")[0] for k in fused.KERNELS}
    with tempfile.TemporaryDirectory() as tmp:
        for kernel, signature in kernels:
            ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=cc)
            assert not re.search(r"\.f64\b", ptx), f"{kernel.py_func.__name__} uses float64"
            path = os.path.join(tmp, kernel.py_func.__name__ + ".ptx")
            with open(path, "w") as f:
                f.write(ptx)
            run = subprocess.run(["ptxas", f"-arch={arch}", path, "-o", path + ".cubin"],
                                 capture_output=True, text=True)
            assert run.returncode == 0, (kernel.py_func.__name__, run.stderr)


def _scaled(factor):
    """A 'fused' denoise step that is wrong by ``factor`` and counts its calls."""
    def step(*args, **kwargs):
        step.calls += 1
        estimate, variance = fused.recursive_step.reference(*args, **kwargs)
        return estimate * factor, variance
    step.calls = 0
    return step


def _on_cpu(kernel):
    k = fused.recursive_step
    return CheckedKernel(k.name, k.reference, kernel, k.sample, k.tolerance, devices=("cpu",))


def _inputs():
    return fused.recursive_step.sample(torch.device("cpu"), seed=3)[0]


def test_a_wrong_kernel_falls_back_to_its_reference_with_one_warning():
    wrong = _scaled(1.001)  # 0.1 % off: more than the tolerance
    checked = _on_cpu(wrong)
    want = fused.recursive_step.reference(*_inputs())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outs = [checked(*_inputs()) for _ in range(3)]
    assert len(caught) == 1 and "using the torch reference" in str(caught[0].message)
    assert wrong.calls == 1  # the self-check only
    for out in outs:
        assert all(torch.equal(o, w) for o, w in zip(out, want))


def test_a_kernel_that_raises_falls_back_with_one_warning():
    def broken(*args, **kwargs):
        raise RuntimeError("no kernel image is available for execution on the device")
    checked = _on_cpu(broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = [checked(*_inputs()) for _ in range(2)][-1]
    assert len(caught) == 1 and "RuntimeError" in str(caught[0].message)
    assert torch.equal(out[0], fused.recursive_step.reference(*_inputs())[0])


def test_a_right_kernel_is_used_and_the_reference_switch_turns_it_off(monkeypatch):
    right = _scaled(1.0)
    checked = _on_cpu(right)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checked(*_inputs())
        checked(*_inputs())
    assert right.calls == 3  # the self-check, then both calls
    monkeypatch.setenv("FRAMEMEND_KERNELS", "reference")
    checked(*_inputs())
    assert right.calls == 3
    monkeypatch.setenv("FRAMEMEND_KERNELS", "fast")
    with pytest.raises(ValueError, match="FRAMEMEND_KERNELS"):
        checked(*_inputs())


def test_kernels_stay_off_the_cpu():
    """On the CPU every fused kernel is its reference: the passes' CPU paths are not touched."""
    assert not any(k.trusted(torch.device("cpu")) for k in fused.KERNELS)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_every_kernel_passes_its_self_check_on_the_gpu():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(k.trusted(torch.device("cuda", 0)) for k in fused.KERNELS)
