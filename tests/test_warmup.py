"""Cold start (issue #18): ``framemend warmup`` (``framemend.api.warmup()``), which ``make venv``
runs after installing, reaches every kernel a first run needs, in every type a file can bring,
so no user waits for numba's compiler: 16-bit pixels (a 10-bit source), floats (after a filter
that returns them), denoise's wide chroma window (colour noise) and deboil's path for frames
over about 450 px on the short side."""
import subprocess
import sys
import textwrap

# Run in a fresh process: in this one, earlier tests have already compiled what they used.
# Numba compiles a kernel once per type of its arguments and records each as a signature of
# the kernel's dispatcher; a run that adds a signature after warmup() would have compiled it
# on a user's first run (or read it from a cache that warmup did not fill).
SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from numba.core.registry import CPUDispatcher
    from framemend import api
    from framemend.cli import main
    from framemend.generate import scene
    from framemend.generate.families import chroma_noise

    def signatures():
        return {f"{name}.{key}": len(value.signatures)
                for name, module in list(sys.modules.items()) if name.startswith("framemend")
                for key, value in vars(module).items() if isinstance(value, CPUDispatcher)}

    assert main(["warmup"]) == 0  # `framemend warmup`, as make venv runs it
    before = signatures()
    clip = scene("subject", 176, 104, frames=10, seed=4, image="coffee").frames
    fast = scene("fast-object", 176, 104, frames=10, seed=5).frames
    coloured = chroma_noise(clip, np.random.default_rng(11))[0]
    large = scene("subject", 464, 480, frames=3, seed=6).frames  # deboil's large-frame path
    for frames, chain in ((clip, "deboil,deflicker,denoise"), (fast, "interpolate"),
                          (coloured, "denoise"), (clip, "stabilize,denoise"), (large, "deboil")):
        for kind in (np.uint8, np.uint16, np.float32):
            scale = 1 if kind == np.float32 else np.iinfo(kind).max
            api.clean((frames * scale).astype(kind), chain=chain, device="cpu")
    after = signatures()
    print(sorted(k for k in after if after[k] > before.get(k, 0)))
""")


def test_first_runs_after_warmup_compile_nothing():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_warmup_shows_a_bar_of_its_runs(monkeypatch):
    """About a minute of compiling passed without a word until the summary line."""
    import io

    from framemend import api
    from framemend.cli import main

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    runs = []
    monkeypatch.setattr(api, "clean", lambda pixels, chain, device: runs.append(chain))
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert main(["warmup"]) == 0
    bar = sys.stderr.getvalue()
    assert len(runs) > 20 and f"{len(runs)}/{len(runs)}" in bar and "warmup" in bar, bar[-300:]
