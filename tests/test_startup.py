"""Start-up: commands that process no video import neither torch nor numba, and cleaning on the
CPU imports no torch (issue #18); the package imports and runs a numba filter where neither it
nor $HOME can be written (issue #17)."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import framemend
from framemend.pipeline import gpu_driver
from media import make_video, moving_frames

PACKAGE = os.path.dirname(framemend.__file__)
HEAVY = ("torch", "numba")


def imported_modules(args: list[str], cwd: str) -> tuple[int, set[str], str]:
    """Exit code, top-level modules imported (from ``-X importtime``) and stderr of
    ``python -m framemend ARGS``."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(PACKAGE))
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "framemend"] + args,
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    names, messages = set(), []
    for line in done.stderr.splitlines():
        if line.startswith("import time:"):
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
        else:
            messages.append(line)
    return done.returncode, names, "\n".join(messages)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("startup") / "in.mp4")
    make_video(path, moving_frames(4), 24)
    return path


@pytest.mark.parametrize("args, code, light", [
    (["--help"], 0, ("cv2", "av", "numpy")),
    (["--version"], 0, ("cv2", "av", "numpy")),
    (["filters"], 0, ("cv2", "av", "numpy")),
    (["clean", "{in}"], 2, ("cv2", "av", "numpy")),                         # -o missing
    (["clean", "{in}", "-o", "o.mp4", "-f", "denoize"], 2, ("cv2", "av")),   # unknown filter
    (["clean", "{in}", "-o", "o.mp4", "-f", "interpolate=99"], 2, ("cv2", "av")),
    (["clean", "{in}", "-o", "o.webm", "--codec", "libx264"], 2, ("cv2",)),
    (["clean", "{in}", "-o", "o.mp4", "--device", "tpu"], 2, ("cv2",)),
    (["clean", "{in}", "-o", "o.mp4", "--crf", "99"], 2, ("cv2",)),
    (["probe", "{in}"], 0, ()),
    (["warmup", "--help"], 0, ("cv2", "av", "numpy")),
])
def test_commands_without_video_work_import_no_torch_or_numba(clip, tmp_path, args, code, light):
    args = [a.format(**{"in": clip}) for a in args]
    got, modules, err = imported_modules(args, str(tmp_path))
    assert got == code, err
    assert not modules & set(HEAVY + light), sorted(modules & set(HEAVY + light))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["-f", "identity"], ["-f", "identity", "--device", "cpu"],
                                  ["-f", "deboil"], ["-f", "denoise"],
                                  ["-f", "deboil,denoise"], ["-f", "deflicker"],
                                  ["-f", "deboil,deflicker"], ["--preset", "default"],
                                  ["-f", "stabilize"], ["-f", "stabilize=mode=subject"]])
def test_cleaning_on_the_cpu_imports_torch_only_for_passes_that_use_it(clip, tmp_path, args):
    """identity, deboil, deflicker and denoise (the default chain) and stabilize on the CPU
    (``auto`` where no GPU driver is installed) never import torch (1.2 s of the 1.7 s an
    identity run of a 49-frame clip took with it)."""
    if gpu_driver():
        pytest.skip("a GPU driver is installed: auto may take the GPU")
    code, modules, err = imported_modules(["clean", clip, "-o", "out.mp4", "-q"] + args,
                                          str(tmp_path))
    assert code == 0, err
    assert os.path.getsize(tmp_path / "out.mp4") > 0
    assert "torch" not in modules


@pytest.mark.parametrize("args", [["-f", "stabilize"], ["-f", "stabilize=mode=subject"]])
def test_stabilize_on_the_cpu_imports_no_numba(clip, tmp_path, args):
    """stabilize's CPU path (OpenCV and numpy) does not import its device path, whose torch
    flow brings numba through :mod:`framemend.flow` (0.19 s of a 49-frame run's start-up)."""
    if gpu_driver():
        pytest.skip("a GPU driver is installed: auto may take the GPU")
    code, modules, err = imported_modules(["clean", clip, "-o", "out.mp4", "-q"] + args,
                                          str(tmp_path))
    assert code == 0, err
    assert "numba" not in modules


def test_cleaning_skips_numbas_blas_probe(clip, tmp_path):
    """The default chain runs without numba's BLAS probe importing ``scipy.linalg`` (0.1 s of
    CPU before the first frame, :mod:`framemend._numba_blas`)."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(PACKAGE))
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "framemend", "clean", clip,
                           "-o", "out.mp4", "-q", "--device", "cpu"], capture_output=True,
                          text=True, env=env, cwd=str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stderr[-800:]
    names = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:")}
    assert "numba.np.arraymath" in names and "scipy.linalg" not in names


def test_numba_without_its_blas_probe_still_does_linear_algebra():
    """With the probe skipped, numba's ``np.dot`` and ``np.convolve`` in compiled code give
    numpy's values (the dot product loads scipy's BLAS when it is compiled), and the module
    hidden from the probe is importable again."""
    code = ("import sys, numpy as np\n"
            "from framemend import _numba_blas\n"
            "_numba_blas.install()\n"
            "import numba\n"
            "from numba.np import arraymath\n"
            "print(arraymath._HAVE_BLAS, 'scipy.linalg' in sys.modules)\n"
            "a, b = np.arange(5.0), np.linspace(0, 1, 5)\n"
            "dot = numba.njit(lambda x, y: np.dot(x, y))(a, b)\n"
            "conv = numba.njit(lambda x, y: np.convolve(x, y))(a, b)\n"
            "print(abs(dot - np.dot(a, b)) < 1e-12, np.allclose(conv, np.convolve(a, b)),\n"
            "      type(sys.modules['scipy.linalg.cython_blas']).__name__)\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(PACKAGE))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.split("\n")[:2] == ["False False", "True True module"]


def test_the_api_imports_torch_only_for_a_tensor():
    """``framemend.clean`` of 8-bit numpy frames on the CPU imports no torch through a chain
    of passes that do not use it, nor ``framemend.denoise`` of them; a tensor's does (and
    comes back a tensor)."""
    code = ("import sys, framemend\n"
            "from media import moving_frames\n"
            "frames = moving_frames(6)\n"
            "for chain in ('identity', 'deboil', 'deflicker'):\n"
            "    out = framemend.clean(frames, chain=chain, device='cpu')\n"
            "    print(chain, out.shape == frames.shape, 'torch' in sys.modules)\n"
            "out = framemend.denoise(frames, device='cpu')\n"
            "print('denoise', out.dtype == frames.dtype and out.shape == frames.shape,\n"
            "      'torch' in sys.modules)\n"
            "import torch\n"
            "out = framemend.clean(torch.from_numpy(frames).permute(0, 3, 1, 2), 'deboil')\n"
            "print(type(out).__name__, tuple(out.shape))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(PACKAGE),
                                                        os.path.dirname(__file__)]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.split("\n")[:5] == ["identity True False", "deboil True False",
                                           "deflicker True False", "denoise True False",
                                           "Tensor (6, 3, 64, 96)"]


def test_python_dash_m_framemend_is_the_cli(tmp_path):
    code, _, _ = imported_modules(["--version"], str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "framemend", "--version"], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=os.path.dirname(PACKAGE)))
    assert code == 0 and done.stdout.strip() == f"framemend {framemend.__version__}"


def run_read_only(code: str, package_copy: str, home: str) -> subprocess.CompletedProcess:
    """Run ``code`` with ``package_copy`` (holding framemend) and ``home`` read-only and no numba
    cache folder set: as another user when not root, else in a user and mount namespace with
    both folders bind-mounted read-only (root writes through permissions)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")
           and k != "XDG_CACHE_HOME"}
    env.update(HOME=home, PYTHONPATH=package_copy)
    if os.getuid() != 0:
        for folder in (package_copy, home):
            for d, _, _ in os.walk(folder):
                os.chmod(d, 0o555)
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, cwd="/", timeout=600)
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare: cannot make a folder read-only to numba")
    mounts = " && ".join(f"mount --bind {d} {d} && mount -o remount,bind,ro {d}"
                         for d in (package_copy, home))
    done = subprocess.run(["unshare", "-rm", "sh", "-c", mounts + ' && exec "$0" -c "$1"',
                           sys.executable, code], env=env, capture_output=True, text=True,
                          cwd="/", timeout=600)
    if "unshare failed" in done.stderr or "mount:" in done.stderr:
        pytest.skip(f"no user namespaces here: {done.stderr.strip()[:80]}")
    return done


def test_numba_filter_runs_with_package_and_home_read_only():
    root = tempfile.mkdtemp(prefix="framemend-ro-")
    try:
        os.chmod(root, 0o755)
        shutil.copytree(PACKAGE, os.path.join(root, "pkg", "framemend"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(os.path.join(PACKAGE, "..", "setup.cfg"), os.path.join(root, "pkg"))
        os.makedirs(os.path.join(root, "home"))
        # every filter imported (each numba kernel is set up for caching as it is defined),
        # then one kernel compiled and cached: a whole filter compiles for 20-30 s cold
        code = ("import os, framemend\n"
                "assert framemend.__file__.startswith(%r)\n"
                "from framemend.chain.registry import all_filters\n"
                "assert {'deflicker', 'denoise', 'interpolate'} <= set(all_filters())\n"
                "from framemend.denoise._cpu import _inv_axis\n"
                "print([round(float(v), 3) for v in _inv_axis(5, 1)])\n"
                "cached = [f for _, _, fs in os.walk(os.environ['NUMBA_CACHE_DIR']) for f in fs]\n"
                "print(any(f.startswith('_cpu._inv_axis') for f in cached))" % root)
        done = run_read_only(code, os.path.join(root, "pkg"), os.path.join(root, "home"))
        assert done.returncode == 0, done.stderr[-800:]
        assert done.stdout.split("\n")[:2] == ["[0.5, 0.333, 0.333, 0.333, 0.5]",
                                               "True"]
    finally:
        for d, _, _ in os.walk(root):
            os.chmod(d, 0o755)
        shutil.rmtree(root, ignore_errors=True)
