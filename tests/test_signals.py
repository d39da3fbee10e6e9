"""SIGTERM and SIGINT mid-run: nothing under the output's name, no temporary file, a one-line
message, exit 130/143 promptly; temporary files of killed runs are removed by the next run."""
import os
import signal
import subprocess
import sys
import time

import pytest

from framemend.cli import main
from media import make_video, moving_frames, stream_summary

CLI = [sys.executable, "-m", "framemend"]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """1200 frames at 320x192 (50 s at 24 fps): long enough to be signalled mid-run even where
    plain decode+encode runs at several hundred frames/s (an idle CI machine)."""
    path = str(tmp_path_factory.mktemp("signals") / "long.mkv")
    make_video(path, moving_frames(1200, width=320, height=192), 24, codec="ffv1",
               pix_fmt="yuv420p")
    return path


def _signals_as_a_terminal_gives() -> None:
    """In the child: SIGINT's default action, as a shell gives a foreground command. A run
    started in the background of a non-interactive shell (a CI job launched with ``&``)
    inherits SIGINT ignored, and Python then installs no KeyboardInterrupt for it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_temp_file(folder, name: str, proc: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while not any(p.name.startswith(f".{name}.") for p in folder.iterdir()):
        assert proc.poll() is None and time.time() < deadline, "the run never started writing"
        time.sleep(0.05)


@pytest.mark.parametrize("sig, code, words, chain", [
    (signal.SIGTERM, 143, "terminated (SIGTERM)", "identity"),
    (signal.SIGINT, 130, "interrupted", "identity"),
    (signal.SIGTERM, 143, "terminated (SIGTERM)", "deflicker,denoise"),
])
def test_signal_mid_run_leaves_nothing(long_clip, tmp_path, sig, code, words, chain):
    out = tmp_path / "o.mp4"
    proc = subprocess.Popen(CLI + ["clean", long_clip, "-o", str(out), "-f", chain],
                            stderr=subprocess.PIPE, preexec_fn=_signals_as_a_terminal_gives)
    wait_for_temp_file(tmp_path, "o.mp4", proc)
    time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be signalled"
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == code, err.decode()
    assert err.decode().strip().endswith(f"framemend: {words}; no output was left behind")
    assert list(tmp_path.iterdir()) == []
    # a hang guard at 2.5x the 1 s bar (measured 0.1-0.6 s at 1080p, loaded 2-core machine)
    assert took < 2.5


def test_stale_temp_files_of_dead_runs_are_removed(tmp_path):
    src = str(tmp_path / "in.mp4")
    make_video(src, moving_frames(6), 24)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    dead = tmp_path / f".o.mp4.{gone}.k1ll3d00.part.mp4"
    alive = tmp_path / f".o.mp4.{os.getpid()}.running.part.mp4"  # a run still going
    other = tmp_path / f".other.mp4.{gone}.k1ll3d00.part.mp4"  # another output's
    for p in (dead, alive, other):
        p.write_bytes(b"half a video")
    assert main(["clean", src, "-o", str(tmp_path / "o.mp4"), "-f", "identity", "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["in.mp4", "o.mp4", alive.name, other.name])
    assert stream_summary(str(tmp_path / "o.mp4"))["frames"] == 6


def test_sigint_with_output_to_a_pipe_says_the_stream_is_cut(long_clip, tmp_path):
    """``-o -``: the frames sent before Ctrl-C are already down the pipe, so the message does
    not claim that no output was left behind."""
    with open(tmp_path / "piped", "wb") as sink:
        proc = subprocess.Popen(CLI + ["clean", long_clip, "-o", "-", "-f", "identity"],
                                stdout=sink, stderr=subprocess.PIPE,
                                preexec_fn=_signals_as_a_terminal_gives)
        deadline = time.time() + 120
        while os.path.getsize(tmp_path / "piped") == 0:
            assert proc.poll() is None and time.time() < deadline, "nothing was sent"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode().strip() == "framemend: interrupted; the output stream sent so far is cut short"


@pytest.mark.parametrize("api_call", [
    "framemend.clean({src!r}, chain='identity', output={out!r})",
    "framemend.write({out!r}, framemend.read({src!r}), lossless=True)",
])
def test_sigterm_to_a_script_in_the_api_leaves_nothing(long_clip, tmp_path, api_call):
    """A script in ``framemend.clean(path)`` or ``framemend.write`` died on the spot at SIGTERM
    (``docker stop``, ``timeout``), leaving ``.o.mkv.PID.XXXXXXXX.part.mkv`` beside the output;
    it still ends by SIGTERM, with nothing left."""
    out = tmp_path / "o.mkv"
    code = "import framemend; " + api_call.format(src=long_clip, out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    wait_for_temp_file(tmp_path, "o.mkv", proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, err.decode()
    assert list(tmp_path.iterdir()) == []


def test_a_signal_inside_llvmlites_callback_is_raised_after_it():
    """A handler runs at the main thread's next bytecode, often the first of llvmlite's
    object-cache callback while numba compiles, where LLVM (C) drops what it raises: Ctrl-C on
    a first run was lost (the run went on) or ended in numba's "no compiled object yet"
    traceback. The handler sends the signal again after the callback instead."""
    from framemend.interrupts import raising

    fake = {}  # a function named and filed as llvmlite's callback, signalled inside
    exec(compile("def _raw_object_cache_notify(signum):\n"
                 "    signal.raise_signal(signum)\n"
                 "    return 'finished'\n",
                 os.path.join("site-packages", "llvmlite", "binding", "executionengine.py"),
                 "exec"), {"signal": signal}, fake)
    previous = signal.signal(signal.SIGINT, raising(KeyboardInterrupt))
    try:
        try:
            assert fake["_raw_object_cache_notify"](signal.SIGINT) == "finished"
        except KeyboardInterrupt:
            pytest.fail("raised inside the callback, where LLVM would drop it")
        with pytest.raises(KeyboardInterrupt):
            time.sleep(5)
    finally:
        signal.signal(signal.SIGINT, previous)


CTRL_C_AT_IMPORT = """
import os, signal, sys
class CtrlC:  # Ctrl-C as {module} is looked for: while the command line's modules load
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, CtrlC())
sys.argv = ["framemend", "clean", {src!r}, "-o", {out!r}]
{start}
"""


@pytest.mark.parametrize("start", [
    "import runpy; runpy.run_module('framemend', run_name='__main__')",  # python -m framemend
    "from framemend.entry import run; run()"])  # the framemend script
@pytest.mark.parametrize("module", ["framemend.batch", "framemend.chain.registry", "ctypes"])
def test_ctrl_c_while_the_command_line_loads_is_one_line(tmp_path, start, module):
    """Ctrl-C in the first ~0.3 s of ``framemend clean`` (``python -m framemend`` and the
    ``framemend`` script's entry point), while framemend.cli imports or sets itself up, printed
    a KeyboardInterrupt traceback (exit 1 from a script, 130 from -m); it ends as a Ctrl-C later
    in the run does."""
    src, out = str(tmp_path / "in.mp4"), str(tmp_path / "out.mp4")
    make_video(src, moving_frames(2, 32, 24), 24)
    code = CTRL_C_AT_IMPORT.format(module=module, src=src, out=out, start=start)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, preexec_fn=_signals_as_a_terminal_gives)
    assert (done.returncode, done.stderr) == (130, "framemend: interrupted; no output was left "
                                                   "behind\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
