"""Every script in examples/ runs with --quick and prints what it measured; the ComfyUI node
pack works on an IMAGE batch without ComfyUI installed."""
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import framemend
from framemend.generate import degrade, scene
from framemend.metrics import noref

REPO = os.path.dirname(os.path.dirname(os.path.abspath(framemend.__file__)))
EXAMPLES = os.path.join(REPO, "examples")


def run_example(name: str, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), "--quick", *args],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == code, done.stderr[-2000:]
    return done


def numbers(pattern: str, text: str) -> list[float]:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return [float(g) for g in found.groups()]


def test_every_script_is_tested():
    scripts = {n for n in os.listdir(EXAMPLES) if n.endswith(".py")}
    assert scripts == {"clean_diffusers_frames.py", "interpolate_with_audio.py",
                       "batch_folder.py", "plugin_filter.py", "score_and_plot.py"}


def test_clean_diffusers_frames():
    out = run_example("clean_diffusers_frames.py").stdout
    assert "16 PIL images 160x96 back" in out
    before, after = numbers(r"before ([\d.]+) dB, after ([\d.]+) dB", out)
    assert after > before + 4
    before, after = numbers(r"flicker \(8-bit levels\): before ([\d.]+), after ([\d.]+)", out)
    assert after < before / 4


def test_interpolate_with_audio_keeps_sound_in_sync():
    out = run_example("interpolate_with_audio.py").stdout
    pattern = (r"{}: (\d+) frames at ([\d.]+) fps, video ([\d.]+) s from ([-+\d.]+) s, "
               r"audio ([\d.]+) s from ([-+\d.]+) s, tone (\d+) Hz")
    frames_in, _, video_in, _, audio_in, _, _ = numbers(pattern.format("input "), out)
    frames, fps, video, video_start, audio, audio_start, tone = numbers(pattern.format("output"), out)
    assert (frames_in, frames, fps) == (16, 48, 24)
    assert abs(video - video_in) < 1e-3 and abs(audio - audio_in) < 0.01
    assert abs(audio - video) < 0.03 and abs(audio_start - video_start) < 0.01
    assert abs(tone - 440) <= 2


def test_interpolate_with_audio_on_a_silent_clip(tmp_path):
    """A clip without sound is interpolated and said to have none (an IndexError before)."""
    from media import make_video, moving_frames

    src, out = str(tmp_path / "silent.mp4"), str(tmp_path / "out.mp4")
    make_video(src, moving_frames(4, 48, 32), fps=8)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, "interpolate_with_audio.py"),
                           src, out], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "output: 12 frames at 24 fps" in done.stdout and "no audio" in done.stdout


@pytest.mark.parametrize("args, said", [
    (("interpolate_with_audio.py", "missing.mp4", "out.mp4"), "input 'missing.mp4' does not exist"),
    (("clean_diffusers_frames.py", "empty", "--output", "out"), "no PNG frames in 'empty'"),
])
def test_an_example_given_a_missing_input_ends_in_one_line(tmp_path, args, said):
    """A missing input file or a folder without frames ends in one line, exit 1 (a traceback
    before); the error types an example catches are framemend's top-level names."""
    (tmp_path / "empty").mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, args[0]), *args[1:]], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr == f"{args[0]}: error: {said}\n"
    assert issubclass(framemend.VideoError, RuntimeError) and issubclass(framemend.OptionError, ValueError)


def test_batch_folder():
    out = run_example("batch_folder.py").stdout
    rows = re.findall(r"(\w+)\.mkv: 12 frames, flicker ([\d.]+) -> ([\d.]+)", out)
    assert [r[0] for r in rows] == ["handheld", "pan", "zoom"]
    for _, before, after in rows:
        assert float(after) < float(before) / 3


def test_plugin_filter():
    out = run_example("plugin_filter.py").stdout
    before, after = numbers(r"API: median3 PSNR ([\d.]+) dB -> ([\d.]+) dB", out)
    assert after > before + 10
    assert re.search(r"framemend filters: median3 +Per-pixel temporal median", out)
    assert numbers(r"CLI: median3 PSNR ([\d.]+) dB", out) == [after]


def test_score_and_plot():
    out = run_example("score_and_plot.py").stdout
    before, after = numbers(r"flicker: ([\d.]+) -> ([\d.]+)", out)
    assert after < before / 4
    assert numbers(r"plot: \S+scores\.png \((\d+) bytes\)", out)[0] > 10_000
    # the path printed was gone when the user looked for it
    assert "removed with its temporary folder at the end (--plot PNG keeps it)" in out


def test_score_and_plot_keeps_a_plot_that_exists(tmp_path):
    """The example ends with framemend's one line, not a traceback, when the plot it is asked
    for exists (the CLI refuses to replace it without -y), and the file stays as it was."""
    plot = tmp_path / "scores.png"
    plot.write_bytes(b"mine")
    done = run_example("score_and_plot.py", "--plot", str(plot), code=1)
    assert "exists" in done.stderr and "Traceback" not in done.stderr
    assert plot.read_bytes() == b"mine"


@pytest.fixture(scope="module")
def comfy_nodes():
    spec = importlib.util.spec_from_file_location(
        "framemend_comfyui", os.path.join(EXAMPLES, "comfyui", "__init__.py"),
        submodule_search_locations=[os.path.join(EXAMPLES, "comfyui")])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name], sys.modules[spec.name + ".nodes"]


def test_comfyui_nodes_follow_the_conventions(comfy_nodes):
    assert set(comfy_nodes.NODE_CLASS_MAPPINGS) == set(comfy_nodes.NODE_DISPLAY_NAME_MAPPINGS)
    for cls in comfy_nodes.NODE_CLASS_MAPPINGS.values():
        inputs = cls.INPUT_TYPES()["required"]
        assert inputs["images"] == ("IMAGE",) and cls.RETURN_TYPES == ("IMAGE",)
        assert callable(getattr(cls(), cls.FUNCTION)) and cls.CATEGORY.startswith("video/")


def test_comfyui_deflicker_node_on_a_flickering_batch(comfy_nodes):
    clip = degrade(scene("pan", width=128, height=80, frames=12), "flicker=0.15", seed=3)
    images = torch.from_numpy(clip.frames)  # (B, H, W, C) float32 in [0, 1], as ComfyUI's IMAGE
    node = comfy_nodes.NODE_CLASS_MAPPINGS["FramemendDeflicker"]()
    (out,) = getattr(node, node.FUNCTION)(images, strength=1.0)
    assert out.shape == images.shape and out.dtype == torch.float32
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    flicker_before = noref.score(clip.frames)[0]["flicker"]
    flicker_after = noref.score(out.numpy())[0]["flicker"]
    assert flicker_after < flicker_before / 4
    assert np.abs(out.numpy() - clip.truth).mean() < np.abs(clip.frames - clip.truth).mean() / 2

    node = comfy_nodes.NODE_CLASS_MAPPINGS["FramemendInterpolate"]()
    (doubled,) = getattr(node, node.FUNCTION)(out, factor=2)
    assert doubled.shape == (24, 80, 128, 3)


def test_batch_folder_scores_the_good_clips_when_one_fails(tmp_path):
    """A folder with a damaged clip: framemend lists it and exits 1, the example still scores
    the others and exits 1 (was a CalledProcessError traceback, nothing scored)."""
    src = tmp_path / "in"
    src.mkdir()
    clip = degrade(scene("pan", width=64, height=48, frames=6, fps=12, seed=0), "flicker", seed=0)
    framemend.write(str(src / "pan.mkv"), clip.frames, fps=12, lossless=True)
    (src / "broken.mp4").write_text("not a video")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, "batch_folder.py"), str(src),
                           str(tmp_path / "out")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "broken.mp4: no output" in done.stdout and "pan.mkv: 6 frames" in done.stdout
    assert "Traceback" not in done.stderr and "broken.mp4" in done.stderr
